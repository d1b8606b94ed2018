//! A restarted actor keeps its mailbox: nothing queued is lost, and every ask is
//! answered exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{
    Cmd, Knobs, Log, Worker, WorkerError, is_restarted, quiet_panics, wait_for, within, worker,
    worker_with,
};
use tokio::sync::Notify;

/// 100 asks queued behind a gate; the 10th crashes the actor.
async fn hundred_asks_with_a_crash_on_the_tenth(
    crash: Cmd,
) -> Vec<Result<u64, AskError<WorkerError>>> {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    let actor = root
        .add_child(worker("w", &log).mailbox_capacity(128))
        .await
        .unwrap();
    let gate = Arc::new(Notify::new());
    actor.tell(Cmd::Wait(Arc::clone(&gate))).await.unwrap();
    let mut crash = Some(crash);
    let asks: Vec<_> = (1..=100)
        .map(|i| match i {
            10 => actor.try_ask(crash.take().unwrap()).unwrap(),
            _ => actor.try_ask(Cmd::Add(1)).unwrap(),
        })
        .collect();
    assert!(actor.mailbox_len() >= 100, "all queued behind the gate");
    gate.notify_one();
    let mut replies = Vec::new();
    for ask in asks {
        replies.push(within(ask).await);
    }
    assert!(actor.is_alive());
    assert_eq!(actor.ask(Cmd::Restarts).await.unwrap(), 1);
    system.shutdown().await.unwrap();
    replies
}

fn check(replies: &[Result<u64, AskError<WorkerError>>]) {
    assert_eq!(replies.len(), 100);
    for (i, reply) in replies[..9].iter().enumerate() {
        assert_eq!(
            reply.as_ref().ok(),
            Some(&(i as u64 + 1)),
            "before the crash"
        );
    }
    for (i, reply) in replies[10..].iter().enumerate() {
        assert_eq!(
            reply.as_ref().ok(),
            Some(&(i as u64 + 1)),
            "after the crash: fresh state, same order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_on_the_tenth_of_100_asks_error_then_99_answered_in_order() {
    let replies = hundred_asks_with_a_crash_on_the_tenth(Cmd::Fail(ErrorAction::Restart)).await;
    check(&replies);
    match &replies[9] {
        Err(AskError::Failed { actor, error }) => {
            assert_eq!(actor, "w");
            assert_eq!(error.worker, "w", "the actor's own typed error");
        }
        other => panic!("expected the typed error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_on_the_tenth_of_100_asks_panic_message_then_99_answered_in_order() {
    quiet_panics();
    let replies = hundred_asks_with_a_crash_on_the_tenth(Cmd::Panic).await;
    check(&replies);
    match &replies[9] {
        Err(AskError::Panicked { message, .. }) => assert!(message.contains("boom"), "{message}"),
        other => panic!("expected the panic, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_incarnation_stops_before_the_new_one_starts() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(
            SupervisorConfig::new(Strategy::OneForAll)
                .restart_limit(100, std::time::Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let log = Log::default();
    let knobs = Knobs::default();
    let actor = root
        .add_child(worker_with("w", &log, &knobs))
        .await
        .unwrap();
    let sibling = root.add_child(worker("s", &log)).await.unwrap();
    let mut events = system.subscribe();
    // Ten crashes, each restarting both children (w first, then s).
    for _ in 0..5 {
        for target in [&actor, &sibling] {
            let _ = target.ask(Cmd::Fail(ErrorAction::Restart)).await;
            wait_for(&mut events, is_restarted("s")).await;
        }
    }
    assert!(
        !knobs.overlapped.load(Ordering::SeqCst),
        "pre_start ran before post_stop finished"
    );
    let entries = log.entries();
    let w: Vec<_> = entries.iter().filter(|e| e.ends_with(":w")).collect();
    for pair in w.chunks(2) {
        assert_eq!(pair[0], "start:w");
        if pair.len() == 2 {
            assert_eq!(pair[1], "stop:w");
        }
    }
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_top_level_actor_keeps_its_address_and_mailbox() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let factory_log = log.clone();
    let actor = system
        .spawn()
        .name("top")
        .restart_policy(RestartPolicy::Permanent)
        .spawn_with(move || Worker::new("top", &factory_log))
        .await
        .unwrap();
    let gate = Arc::new(Notify::new());
    actor.tell(Cmd::Add(7)).await.unwrap();
    actor.tell(Cmd::Wait(Arc::clone(&gate))).await.unwrap();
    let crash = actor.try_ask(Cmd::Fail(ErrorAction::Restart)).unwrap();
    let after = actor.try_ask(Cmd::Add(1)).unwrap();
    gate.notify_one();
    assert!(matches!(within(crash).await, Err(AskError::Failed { .. })));
    assert_eq!(within(after).await.unwrap(), 1);
    assert_eq!(system.lookup::<Worker>("top"), Some(actor.clone()));
    system.shutdown().await.unwrap();
}
