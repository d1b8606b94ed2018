//! Restart intensity: past N restarts in the window a supervisor fails to its parent,
//! whose strategy applies; a top-level supervisor gives up.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::{Duration, Instant};

use airssys_wasm_actors::prelude::*;
use airssys_wasm_actors::{Backoff, ChildStatus};
use airssys_wasm_test_support::{
    Cmd, Log, WAIT, Worker, is_restarted, is_stopped, wait_for, within, worker,
};

async fn crash(actor: &ActorRef<Worker>) {
    assert!(matches!(
        actor.ask(Cmd::Fail(ErrorAction::Restart)).await,
        Err(AskError::Failed { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_supervisor_past_its_intensity_is_restarted_fresh_by_its_parent() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .name("root")
        .await
        .unwrap();
    let workers = root
        .add_supervisor(
            "workers",
            SupervisorConfig::default().restart_limit(1, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let w = workers.add_child(worker("w", &log)).await.unwrap();
    let mut events = system.subscribe();

    crash(&w).await; // restart 1 of 1: fine
    wait_for(&mut events, is_restarted("w")).await;
    let queued_before_failure = {
        crash(&w).await; // one too many: `workers` fails to `root`
        w.try_ask(Cmd::Get)
    };
    let restarted = wait_for(&mut events, is_restarted("workers")).await;
    assert!(
        matches!(&restarted, LifecycleEvent::Restarted { reason, .. } if reason.contains("restart intensity exceeded")),
        "{restarted:?}"
    );
    // The subtree was stopped (asks answered) and started fresh, under the same names.
    // Refused at the call if the subtree had already stopped, else queued and answered
    // `Stopped`: either way, stopped.
    match queued_before_failure {
        Ok(ask) => assert!(matches!(ask.await, Err(AskError::Stopped { .. }))),
        Err(refused) => assert!(refused.is_stopped(), "{refused:?}"),
    }
    assert!(!w.is_alive(), "the old incarnation's mailbox is closed");
    let fresh = system.lookup::<Worker>("w").unwrap();
    assert_ne!(fresh.id(), w.id());
    assert_eq!(fresh.ask(Cmd::Get).await.unwrap(), 0);
    assert!(
        workers.is_alive(),
        "the supervisor's address survives its restart"
    );
    assert_eq!(workers.children().len(), 1);
    assert_eq!(root.children()[0].restarts, 1);
    // Its intensity was reset: one more crash is allowed again.
    crash(&fresh).await;
    wait_for(&mut events, is_restarted("w")).await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parent_strategy_applies_to_a_failed_nested_supervisor() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::new(Strategy::OneForAll))
        .await
        .unwrap();
    let sibling = root.add_child(worker("sibling", &log)).await.unwrap();
    let workers = root
        .add_supervisor(
            "workers",
            SupervisorConfig::default().restart_limit(0, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let w = workers.add_child(worker("w", &log)).await.unwrap();
    sibling.ask(Cmd::Add(9)).await.unwrap();
    let mut events = system.subscribe();
    let mark = log.len();
    crash(&w).await; // workers gives up at once and fails to root (one_for_all)
    wait_for(&mut events, is_restarted("workers")).await;
    assert_eq!(
        log.since(mark),
        ["stop:w", "stop:sibling", "start:sibling", "start:w"]
    );
    assert_eq!(
        sibling.ask(Cmd::Get).await.unwrap(),
        0,
        "sibling restarted by one_for_all, same mailbox"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_level_supervisor_past_its_intensity_gives_up() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default().restart_limit(2, Duration::from_secs(60)))
        .name("root")
        .await
        .unwrap();
    let a = root.add_child(worker("a", &log)).await.unwrap();
    let b = root.add_child(worker("b", &log)).await.unwrap();
    let mut events = system.subscribe();
    for _ in 0..2 {
        crash(&a).await;
        wait_for(&mut events, is_restarted("a")).await;
    }
    crash(&a).await;
    let gave_up = wait_for(&mut events, |e| {
        matches!(e, LifecycleEvent::SupervisorGaveUp { .. })
    })
    .await;
    match gave_up {
        LifecycleEvent::SupervisorGaveUp { supervisor, reason } => {
            assert_eq!(supervisor, "root");
            assert!(
                reason.contains("restart intensity exceeded") && reason.contains("`a`"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Children stay stopped; asks get Stopped; the supervisor is gone.
    for child in [&a, &b] {
        assert!(!child.is_alive());
        assert!(matches!(
            child.ask(Cmd::Get).await,
            Err(AskError::Stopped { .. })
        ));
    }
    wait_for(&mut events, is_stopped("root")).await;
    assert!(!root.is_alive());
    assert!(matches!(
        root.add_child(worker("c", &log)).await,
        Err(ActorError::SupervisorStopped { .. })
    ));
    assert!(system.lookup_supervisor("root").is_none());
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalate_makes_the_supervisor_fail_without_restarting() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .name("root")
        .await
        .unwrap();
    let a = root.add_child(worker("a", &log)).await.unwrap();
    let mut events = system.subscribe();
    let reply = a.ask(Cmd::Fail(ErrorAction::Escalate)).await;
    assert!(
        matches!(reply, Err(AskError::Failed { .. })),
        "the ask still gets the error"
    );
    let gave_up = wait_for(&mut events, |e| {
        matches!(e, LifecycleEvent::SupervisorGaveUp { .. })
    })
    .await;
    assert!(
        matches!(gave_up, LifecycleEvent::SupervisorGaveUp { reason, .. } if reason.contains("escalated"))
    );
    assert!(!a.is_alive());
    assert_eq!(log.entries(), ["start:a", "stop:a"], "never restarted");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_climbs_two_levels_to_the_root() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default().restart_limit(0, Duration::from_secs(60)))
        .name("root")
        .await
        .unwrap();
    let mid = root
        .add_supervisor(
            "mid",
            SupervisorConfig::default().restart_limit(0, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let leaf = mid.add_child(worker("leaf", &log)).await.unwrap();
    let mut events = system.subscribe();
    crash(&leaf).await;
    let gave_up = wait_for(&mut events, |e| {
        matches!(e, LifecycleEvent::SupervisorGaveUp { .. })
    })
    .await;
    assert!(
        matches!(gave_up, LifecycleEvent::SupervisorGaveUp { supervisor, reason } if supervisor == "root" && reason.contains("`mid`"))
    );
    assert!(!leaf.is_alive());
    wait_for(&mut events, is_stopped("root")).await;
    assert!(!mid.is_alive());
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_delays_restarts() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(
            SupervisorConfig::default().backoff(Backoff::fixed(Duration::from_millis(150))),
        )
        .await
        .unwrap();
    let a = root.add_child(worker("a", &Log::default())).await.unwrap();
    let mut events = system.subscribe();
    let crashed_at = Instant::now();
    crash(&a).await;
    // While waiting, the child is between incarnations.
    assert!(matches!(
        root.children()[0].status,
        ChildStatus::Running | ChildStatus::Restarting
    ));
    wait_for(&mut events, is_restarted("a")).await;
    assert!(crashed_at.elapsed() >= Duration::from_millis(150));
    assert_eq!(a.ask(Cmd::Get).await.unwrap(), 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_interrupts_a_backoff() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(
            SupervisorConfig::default().backoff(Backoff::fixed(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    let a = root.add_child(worker("a", &Log::default())).await.unwrap();
    crash(&a).await;
    let queued = a.try_ask(Cmd::Get).unwrap();
    within(system.shutdown()).await.unwrap();
    assert!(matches!(
        within(queued).await,
        Err(AskError::Stopped { .. })
    ));
}

/// A supervisor that fails stops its actors for good (`Stopped`), and a nested
/// supervisor's own `Started` is published by its parent: a task reading the
/// supervisors' `children()` the moment each event arrives sees the snapshot agree.
async fn snapshot_matches_events_of_a_failing_subtree() {
    let system = ActorSystem::new(SystemConfig::default());
    // The 60 s backoff keeps `workers` failed (not yet restarted) while we look.
    let root = system
        .spawn_supervisor(
            SupervisorConfig::default().backoff(Backoff::fixed(Duration::from_secs(60))),
        )
        .name("root")
        .await
        .unwrap();
    let mut events = system.subscribe();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let observer = tokio::spawn({
        let (system, root) = (system.clone(), root.clone());
        async move {
            loop {
                let event = events.recv().await.expect("event stream");
                let (actor, expected) = match &event {
                    LifecycleEvent::Started { actor } => (actor.clone(), ChildStatus::Running),
                    LifecycleEvent::Stopped { actor, .. } => (actor.clone(), ChildStatus::Stopped),
                    _ => continue,
                };
                let parent = match actor.as_str() {
                    "workers" => root.clone(),
                    _ => system
                        .lookup_supervisor("workers")
                        .expect("workers registered"),
                };
                // Read the snapshot before anything else: this is the racing read.
                let children = parent.children();
                let info = children.iter().find(|info| info.id == actor);
                assert!(
                    info.is_some_and(|info| info.status == expected),
                    "after {event:?} children() shows {info:?}"
                );
                if seen_tx.send(actor).is_err() {
                    return;
                }
            }
        }
    });
    let mut next = async || match tokio::time::timeout(WAIT, seen.recv()).await {
        Ok(Some(actor)) => actor,
        Ok(None) => panic!("the observer failed (its panic is printed above)"),
        Err(_) => panic!("timed out waiting for the observer"),
    };
    let workers = root
        .add_supervisor(
            "workers",
            SupervisorConfig::default().restart_limit(0, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(next().await, "workers");
    let w = workers
        .add_child(worker("w", &Log::default()))
        .await
        .unwrap();
    assert_eq!(next().await, "w");
    crash(&w).await; // `workers` may not restart: it stops `w` for good and fails
    assert_eq!(next().await, "w");
    assert_eq!(workers.children()[0].status, ChildStatus::Stopped);
    observer.abort();
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn children_snapshot_shows_a_failing_subtree_before_its_events_single_thread() {
    snapshot_matches_events_of_a_failing_subtree().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_snapshot_shows_a_failing_subtree_before_its_events() {
    snapshot_matches_events_of_a_failing_subtree().await;
}
