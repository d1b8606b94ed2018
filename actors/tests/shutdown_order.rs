//! Graceful shutdown: reverse start order, `post_stop` run, queued asks answered,
//! and abort past the deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Arc;
use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{
    Cmd, Log, WAIT, Worker, poll_once, until_mailbox_len, wait_until, within, worker,
};
use tokio::sync::Notify;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_everything_in_reverse_start_order() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let first = system
        .spawn()
        .name("t1")
        .spawn(Worker::new("t1", &log))
        .await
        .unwrap();
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .name("root")
        .await
        .unwrap();
    let a = root.add_child(worker("a", &log)).await.unwrap();
    let nested = root
        .add_supervisor("nested", SupervisorConfig::default())
        .await
        .unwrap();
    let n1 = nested.add_child(worker("n1", &log)).await.unwrap();
    let b = root.add_child(worker("b", &log)).await.unwrap();
    let last = system
        .spawn()
        .name("t2")
        .spawn(Worker::new("t2", &log))
        .await
        .unwrap();
    let mut events = system.subscribe();
    let mark = log.len();

    system.shutdown().await.unwrap();

    assert_eq!(
        log.since(mark),
        ["stop:t2", "stop:b", "stop:n1", "stop:a", "stop:t1"]
    );
    for actor in [&first, &a, &n1, &b, &last] {
        assert!(!actor.is_alive());
        assert!(matches!(
            actor.ask(Cmd::Get).await,
            Err(AskError::Stopped { .. })
        ));
    }
    assert!(!root.is_alive() && !nested.is_alive());
    assert!(system.lookup::<Worker>("a").is_none());
    assert!(system.lookup_supervisor("root").is_none());
    let mut stopped = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let LifecycleEvent::Stopped { actor, reason } = event {
            assert_eq!(reason, StopReason::Shutdown);
            stopped.push(actor);
        }
    }
    assert_eq!(stopped, ["t2", "b", "n1", "nested", "a", "root", "t1"]);
    assert!(matches!(
        system.spawn().spawn(Worker::new("late", &log)).await,
        Err(ActorError::ShuttingDown)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_current_message_finish_and_answers_queued_asks_stopped() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let actor = system
        .spawn()
        .shutdown_policy(ShutdownPolicy::Graceful(Duration::from_secs(5)))
        .spawn(Worker::new("busy", &log))
        .await
        .unwrap();
    let gate = Arc::new(Notify::new());
    let current = actor.try_ask(Cmd::Wait(gate.clone())).unwrap();
    let queued: Vec<_> = (0..3)
        .map(|_| actor.try_ask(Cmd::Add(1)).unwrap())
        .collect();
    until_mailbox_len(&actor, 3).await;
    // The first poll of `shutdown` sends the actor its stop command: it reaches the
    // actor while this message runs, and only then may the message finish.
    let mut shutdown = std::pin::pin!(system.shutdown());
    assert!(poll_once(shutdown.as_mut()).await.is_pending());
    gate.notify_one();
    within(shutdown).await.unwrap();
    assert_eq!(
        within(current).await.unwrap(),
        0,
        "the message in flight finished"
    );
    for ask in queued {
        assert!(matches!(within(ask).await, Err(AskError::Stopped { .. })));
    }
    assert_eq!(log.entries(), ["start:busy", "stop:busy"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_timeout_cancels_a_stuck_message_and_still_runs_post_stop() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let actor = system
        .spawn()
        .shutdown_policy(ShutdownPolicy::Graceful(Duration::from_millis(50)))
        .spawn(Worker::new("stuck", &log))
        .await
        .unwrap();
    let stuck = actor.try_ask(Cmd::Wait(Arc::new(Notify::new()))).unwrap();
    let queued = actor.try_ask(Cmd::Get).unwrap();
    until_mailbox_len(&actor, 1).await;
    within(system.shutdown()).await.unwrap();
    assert!(matches!(within(stuck).await, Err(AskError::Stopped { .. })));
    assert!(matches!(
        within(queued).await,
        Err(AskError::Stopped { .. })
    ));
    // The deadline passed while the handler ran: post_stop had no time left.
    assert_eq!(log.entries(), ["start:stuck"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_deadline_remaining_tasks_are_aborted() {
    let system =
        ActorSystem::new(SystemConfig::default().shutdown_timeout(Duration::from_millis(100)));
    let log = Log::default();
    let polite = system
        .spawn()
        .name("polite")
        .spawn(Worker::new("polite", &log))
        .await
        .unwrap();
    let stubborn = system
        .spawn()
        .name("stubborn")
        .shutdown_policy(ShutdownPolicy::Infinity)
        .spawn(Worker::new("stubborn", &log))
        .await
        .unwrap();
    let stuck = stubborn
        .try_ask(Cmd::Wait(Arc::new(Notify::new())))
        .unwrap();
    let queued = stubborn.try_ask(Cmd::Get).unwrap();
    until_mailbox_len(&stubborn, 1).await;
    let err = within(system.shutdown()).await.unwrap_err();
    match err {
        ActorError::ShutdownTimedOut { after, remaining } => {
            assert_eq!(after, Duration::from_millis(100));
            assert!(remaining.contains(&"stubborn".to_owned()), "{remaining:?}");
            assert!(remaining.contains(&"polite".to_owned()), "{remaining:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(within(stuck).await, Err(AskError::Stopped { .. })));
    assert!(matches!(
        within(queued).await,
        Err(AskError::Stopped { .. })
    ));
    wait_until(WAIT, || !polite.is_alive()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_supervisor_stops_its_children_in_reverse_order() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    for name in ["a", "b", "c"] {
        root.add_child(worker(name, &log)).await.unwrap();
    }
    let mark = log.len();
    root.stop().await;
    assert_eq!(log.since(mark), ["stop:c", "stop:b", "stop:a"]);
    assert!(!root.is_alive());
    assert!(root.children().is_empty());
    assert!(matches!(
        root.add_child(worker("d", &log)).await,
        Err(ActorError::SupervisorStopped { .. })
    ));
    system.shutdown().await.unwrap();
}
