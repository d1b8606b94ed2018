//! Which siblings each strategy restarts, and in what order.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use common::{Cmd, Log, is_restarted, wait_for, within, worker};

async fn tree(
    strategy: Strategy,
) -> (
    ActorSystem,
    SupervisorRef,
    Log,
    [ActorRef<common::Worker>; 3],
) {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::new(strategy))
        .with_name("root")
        .await
        .unwrap();
    let log = Log::default();
    let a = root.add_child(worker("a", &log)).await.unwrap();
    let b = root.add_child(worker("b", &log)).await.unwrap();
    let c = root.add_child(worker("c", &log)).await.unwrap();
    for child in [&a, &b, &c] {
        child.ask(Cmd::Add(5)).await.unwrap();
    }
    (system, root, log, [a, b, c])
}

async fn crash(child: &ActorRef<common::Worker>) {
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
    let (system, _root, _log, [_a, b, c]) = tree(Strategy::OneForAll).await;
    let mut events = system.subscribe();
    // Keep c busy so that asks pile up in its mailbox; the restart's stop command
    // reaches c during the 300 ms it spends on this message, and the supervisor waits
    // for the message to finish before stopping c.
    c.tell(Cmd::Sleep(Duration::from_millis(300)))
        .await
        .unwrap();
    let queued: Vec<_> = (0..5).map(|_| c.try_ask(Cmd::Add(1))).collect();
    common::until_mailbox_len(&c, 5).await;
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
