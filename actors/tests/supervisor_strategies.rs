//! Which siblings each strategy restarts, and in what order.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Arc;
use std::time::Duration;

use airssys_wasm_actors::ChildStatus;
use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{
    Cmd, Log, WAIT, Worker, is_restarted, until_mailbox_len, wait_for, within, worker,
};
use tokio::sync::Notify;

async fn tree(strategy: Strategy) -> (ActorSystem, SupervisorRef, Log, [ActorRef<Worker>; 3]) {
    tree_with(strategy, |spec| spec).await
}

/// As [`tree`], with `c`'s spec adjusted by `adjust_c`.
async fn tree_with(
    strategy: Strategy,
    adjust_c: impl FnOnce(ChildSpec<Worker>) -> ChildSpec<Worker>,
) -> (ActorSystem, SupervisorRef, Log, [ActorRef<Worker>; 3]) {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::new(strategy))
        .name("root")
        .await
        .unwrap();
    let log = Log::default();
    let a = root.add_child(worker("a", &log)).await.unwrap();
    let b = root.add_child(worker("b", &log)).await.unwrap();
    let c = root.add_child(adjust_c(worker("c", &log))).await.unwrap();
    for child in [&a, &b, &c] {
        child.ask(Cmd::Add(5)).await.unwrap();
    }
    (system, root, log, [a, b, c])
}

async fn crash(child: &ActorRef<Worker>) {
    let err = child
        .ask(Cmd::Fail(ErrorAction::Restart))
        .await
        .unwrap_err();
    assert!(matches!(err, AskError::Failed { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_one_restarts_only_the_crashed_child() {
    let (system, _root, log, [a, b, c]) = tree(Strategy::OneForOne).await;
    let mut events = system.subscribe();
    let mark = log.len();
    crash(&b).await;
    wait_for(&mut events, is_restarted("b")).await;
    assert_eq!(log.since(mark), ["stop:b", "start:b"]);
    assert_eq!(a.ask(Cmd::Get).await.unwrap(), 5);
    assert_eq!(b.ask(Cmd::Get).await.unwrap(), 0, "fresh state");
    assert_eq!(c.ask(Cmd::Get).await.unwrap(), 5);
    assert_eq!(b.ask(Cmd::Restarts).await.unwrap(), 1);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_all_stops_all_in_reverse_then_starts_all_in_order() {
    let (system, root, log, [a, b, c]) = tree(Strategy::OneForAll).await;
    let mut events = system.subscribe();
    let mark = log.len();
    crash(&b).await;
    let mut restarted = Vec::new();
    while restarted.len() < 3 {
        if let LifecycleEvent::Restarted { actor, reason } = wait_for(&mut events, |e| {
            matches!(e, LifecycleEvent::Restarted { .. })
        })
        .await
        {
            if actor != "b" {
                assert!(
                    reason.contains("one_for_all") && reason.contains("`b`"),
                    "{reason}"
                );
            }
            restarted.push(actor);
        }
    }
    assert_eq!(restarted, ["a", "b", "c"]);
    assert_eq!(
        log.since(mark),
        [
            "stop:b", "stop:c", "stop:a", "start:a", "start:b", "start:c"
        ]
    );
    for child in [&a, &b, &c] {
        assert_eq!(child.ask(Cmd::Get).await.unwrap(), 0);
        assert_eq!(child.ask(Cmd::Restarts).await.unwrap(), 1);
    }
    assert!(root.children().iter().all(|info| info.restarts == 1));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_for_one_restarts_the_crashed_child_and_later_ones() {
    let (system, _root, log, [a, b, c]) = tree(Strategy::RestForOne).await;
    let mut events = system.subscribe();
    let mark = log.len();
    crash(&b).await;
    wait_for(&mut events, is_restarted("c")).await;
    assert_eq!(log.since(mark), ["stop:b", "stop:c", "start:b", "start:c"]);
    assert_eq!(
        a.ask(Cmd::Get).await.unwrap(),
        5,
        "started before b: untouched"
    );
    assert_eq!(b.ask(Cmd::Get).await.unwrap(), 0);
    assert_eq!(c.ask(Cmd::Get).await.unwrap(), 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_for_one_crash_of_the_last_child_restarts_only_it() {
    let (system, _root, log, [_a, _b, c]) = tree(Strategy::RestForOne).await;
    let mut events = system.subscribe();
    let mark = log.len();
    crash(&c).await;
    wait_for(&mut events, is_restarted("c")).await;
    assert_eq!(log.since(mark), ["stop:c", "start:c"]);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn siblings_restarted_by_one_for_all_keep_their_mailboxes() {
    // c's stop may take 10 ms: its blocked message is then cancelled.
    let (system, _root, _log, [_a, b, c]) = tree_with(Strategy::OneForAll, |spec| {
        spec.shutdown_timeout(Duration::from_millis(10))
    })
    .await;
    let mut events = system.subscribe();
    // Keep c busy so that asks pile up in its mailbox: this message never finishes by
    // itself, so c is still on it when the restart's stop command reaches c, which
    // cancels it once c's shutdown timeout has passed.
    let gate = Arc::new(Notify::new());
    c.tell(Cmd::Wait(gate)).await.unwrap();
    let queued: Vec<_> = (0..5).map(|_| c.try_ask(Cmd::Add(1)).unwrap()).collect();
    until_mailbox_len(&c, 5).await;
    crash(&b).await;
    wait_for(&mut events, is_restarted("c")).await;
    let mut replies = Vec::new();
    for reply in queued {
        replies.push(within(reply).await.unwrap());
    }
    assert_eq!(
        replies,
        [1, 2, 3, 4, 5],
        "handled in order by the fresh instance"
    );
    system.shutdown().await.unwrap();
}

/// Restarts `tree`'s children again and again while a task subscribed to the events
/// reads `root.children()` the moment each `Started` / `Restarted` arrives: the
/// snapshot must already show what the event announces.
async fn snapshot_matches_every_start_event(rounds: u32) {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(
            SupervisorConfig::new(Strategy::OneForAll)
                .restart_limit(rounds + 1, Duration::from_secs(600)),
        )
        .name("root")
        .await
        .unwrap();
    let mut events = system.subscribe();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let observer = tokio::spawn({
        let root = root.clone();
        async move {
            let mut expected = std::collections::HashMap::<String, u32>::new();
            loop {
                let (actor, restarted) = match events.recv().await {
                    Ok(LifecycleEvent::Started { actor }) => (actor, false),
                    Ok(LifecycleEvent::Restarted { actor, .. }) => (actor, true),
                    Ok(_) => continue,
                    Err(error) => panic!("event stream: {error}"),
                };
                // Read the snapshot before anything else: this is the racing read.
                let children = root.children();
                let restarts = expected.entry(actor.clone()).or_insert(0);
                if restarted {
                    *restarts += 1;
                }
                let info = children.iter().find(|info| info.id == actor);
                assert!(
                    info.is_some_and(
                        |info| info.restarts == *restarts && info.status == ChildStatus::Running
                    ),
                    "after {} of `{actor}` (restart {restarts}) children() shows {info:?}",
                    if restarted { "Restarted" } else { "Started" },
                );
                if seen_tx.send(actor).is_err() {
                    return;
                }
            }
        }
    });
    let log = Log::default();
    let children = [
        root.add_child(worker("a", &log)).await.unwrap(),
        root.add_child(worker("b", &log)).await.unwrap(),
        root.add_child(worker("c", &log)).await.unwrap(),
    ];
    let mut next = async || match tokio::time::timeout(WAIT, seen.recv()).await {
        Ok(Some(actor)) => actor,
        Ok(None) => panic!("the observer failed (its panic is printed above)"),
        Err(_) => panic!("timed out waiting for the observer"),
    };
    for id in ["a", "b", "c"] {
        assert_eq!(next().await, id);
    }
    for round in 0..rounds {
        crash(&children[(round % 3) as usize]).await;
        for id in ["a", "b", "c"] {
            assert_eq!(next().await, id, "round {round}");
        }
    }
    assert!(
        !observer.is_finished(),
        "the observer saw every event in time"
    );
    observer.abort();
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn children_snapshot_shows_each_restart_before_its_event_single_thread() {
    snapshot_matches_every_start_event(30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_snapshot_shows_each_restart_before_its_event() {
    snapshot_matches_every_start_event(100).await;
}
