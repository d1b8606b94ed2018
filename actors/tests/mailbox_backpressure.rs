//! Bounded mailboxes: `try_tell` / `try_ask` fail at once when full, `tell` waits
//! for room, a stopped actor refuses messages.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Arc;
use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{
    Cmd, Log, Worker, is_stopped, poll_once, until_mailbox_len, wait_for, within,
};
use tokio::sync::Notify;

/// A worker with a 2-slot mailbox, busy on a gate, with its mailbox full.
async fn full_mailbox() -> (ActorSystem, ActorRef<Worker>, Arc<Notify>) {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let actor = system
        .spawn()
        .name("small")
        .mailbox_capacity(2)
        .spawn(Worker::new("small", &log))
        .await
        .unwrap();
    assert_eq!(actor.mailbox_capacity(), 2);
    let gate = Arc::new(Notify::new());
    // Once the actor is inside `Wait`, it has taken it out of the mailbox.
    actor.tell(Cmd::Wait(Arc::clone(&gate))).await.unwrap();
    until_mailbox_len(&actor, 0).await;
    actor.try_tell(Cmd::Add(1)).unwrap();
    actor.try_tell(Cmd::Add(1)).unwrap();
    assert_eq!(actor.mailbox_len(), 2);
    (system, actor, gate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_tell_on_a_full_mailbox_is_overloaded_and_gives_the_message_back() {
    let (system, actor, gate) = full_mailbox().await;
    let err = actor.try_tell(Cmd::Add(40)).unwrap_err();
    assert!(err.is_overloaded());
    assert_eq!(err.actor(), "small");
    assert!(matches!(err.into_inner(), Cmd::Add(40)));
    gate.notify_one();
    assert_eq!(
        actor.ask(Cmd::Get).await.unwrap(),
        2,
        "the refused message was not delivered"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_ask_on_a_full_mailbox_fails_at_once_with_overloaded() {
    let (system, actor, gate) = full_mailbox().await;
    // Refused at once, with the message given back: no need to release the gate first.
    let refused = actor.try_ask(Cmd::Add(7)).map(|_| ()).unwrap_err();
    assert!(
        matches!(refused, SendError::Overloaded { ref actor, .. } if actor == "small"),
        "{refused:?}"
    );
    assert!(matches!(refused.into_inner(), Cmd::Add(7)));
    gate.notify_one();
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tell_and_ask_wait_for_room_then_deliver() {
    let (system, actor, gate) = full_mailbox().await;
    let mut tell = std::pin::pin!(actor.tell(Cmd::Add(10)));
    let mut ask = std::pin::pin!(actor.ask(Cmd::Get));
    // Both stay pending while the mailbox is full (a send that did not wait would
    // complete at once, on its first poll)...
    assert!(poll_once(tell.as_mut()).await.is_pending());
    assert!(poll_once(ask.as_mut()).await.is_pending());
    assert_eq!(actor.mailbox_len(), 2);
    // ...and the very same futures deliver once there is room.
    gate.notify_one();
    within(tell).await.unwrap();
    assert_eq!(within(ask).await.unwrap(), 12);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_timeout_reports_timeout_and_the_actor_goes_on() {
    let system = ActorSystem::new(SystemConfig::default());
    let actor = system
        .spawn()
        .shutdown_policy(ShutdownPolicy::Immediate)
        .spawn(Worker::new("slow", &Log::default()))
        .await
        .unwrap();
    // A handler slower than the ask's timeout is the behaviour under test.
    let reply = actor
        .ask_timeout(
            Cmd::Sleep(Duration::from_secs(60)),
            Duration::from_millis(20),
        )
        .await;
    assert!(
        matches!(reply, Err(AskError::Timeout { after, .. }) if after == Duration::from_millis(20)),
        "{reply:?}"
    );
    assert!(actor.is_alive());
    // Immediate: the sleeping handler is cancelled at once.
    within(system.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_actor_refuses_every_kind_of_send() {
    let system = ActorSystem::new(SystemConfig::default());
    let actor = system
        .spawn()
        .name("gone")
        .spawn(Worker::new("gone", &Log::default()))
        .await
        .unwrap();
    let mut events = system.subscribe();
    assert_eq!(actor.ask(Cmd::StopSelf).await.unwrap(), 0);
    wait_for(&mut events, is_stopped("gone")).await;
    assert!(!actor.is_alive());
    let err = actor.tell(Cmd::Add(3)).await.unwrap_err();
    assert!(err.is_stopped());
    assert!(matches!(err.into_inner(), Cmd::Add(3)));
    assert!(actor.try_tell(Cmd::Get).unwrap_err().is_stopped());
    assert!(matches!(
        actor.ask(Cmd::Get).await,
        Err(AskError::Stopped { .. })
    ));
    assert!(matches!(
        actor.try_ask(Cmd::Get).map(|_| ()),
        Err(SendError::Stopped {
            message: Cmd::Get,
            ..
        })
    ));
    assert!(
        system.lookup::<Worker>("gone").is_none(),
        "the name is released"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test]
async fn zero_capacity_is_rejected() {
    let system = ActorSystem::new(SystemConfig::default());
    let err = system
        .spawn()
        .mailbox_capacity(0)
        .spawn(Worker::new("zero", &Log::default()))
        .await
        .unwrap_err();
    assert!(matches!(err, ActorError::InvalidConfig { .. }), "{err:?}");
}

#[tokio::test]
async fn the_system_default_capacity_applies() {
    let system = ActorSystem::new(SystemConfig::default().default_mailbox_capacity(7));
    let actor = system
        .spawn()
        .spawn(Worker::new("d", &Log::default()))
        .await
        .unwrap();
    assert_eq!(actor.mailbox_capacity(), 7);
    system.shutdown().await.unwrap();
}
