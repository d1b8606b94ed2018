//! Asks to an idle component run on the caller's task (direct calls). What must still
//! hold: order with queued messages, a crash restarts the component and the queue goes to
//! the fresh instance, a caller that gives up midway does not tear the component's state,
//! and a stop abandons a direct call only past its shutdown deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use airssys_wasm::{ErrorKind, Host};
use airssys_wasm_actors::{Strategy, SupervisorRef};
use airssys_wasm_test_support::{
    FAULTY, Resources, TempDir, eventually, faulty_with, host, limits, logs, reply_text,
    supervisor, until_call_started,
};

/// What a test works with: the system, the host, the supervisor and the manifests' folder.
type Setup = (
    airssys_wasm_actors::ActorSystem,
    Host,
    SupervisorRef,
    TempDir,
);

/// A host, a supervisor of `strategy` and the faulty guest under it once per
/// `(name, resources)`. The log capture is on: the tests wait for calls to start.
async fn components(strategy: Strategy, components: &[(&str, Resources)]) -> Setup {
    logs();
    let (system, host) = host().await;
    let sup = supervisor(&system, strategy, 10).await;
    let dir = TempDir::new();
    for (name, resources) in components {
        faulty_with(&host, &sup, &dir, name, *resources).await;
    }
    (system, host, sup, dir)
}

/// One faulty component `name` under a OneForOne supervisor.
async fn setup(name: &str) -> Setup {
    components(Strategy::OneForOne, &[(name, FAULTY)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_in_a_direct_call_hands_the_queue_to_a_fresh_instance() {
    let (system, host, _sup, _dir) = setup("direct-crash").await;
    assert_eq!(
        reply_text(host.ask("direct-crash", "count", b"").await),
        "1"
    );
    assert_eq!(
        reply_text(host.ask("direct-crash", "count", b"").await),
        "2"
    );
    // The component is idle: this ask reserves it. The five asks made after it are queued
    // behind it. Awaited first, it runs on this task and times out (100 ms deadline)
    // while the actor, holding the first queued ask, waits for it.
    let crash = host.ask("direct-crash", "sleep", b"5000");
    let queued: Vec<_> = (0..5)
        .map(|_| host.ask("direct-crash", "count", b""))
        .collect();
    let err = crash.await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    for (i, ask) in queued.into_iter().enumerate() {
        let reply = tokio::time::timeout(Duration::from_secs(5), ask)
            .await
            .expect("answered");
        assert_eq!(
            reply_text(reply),
            (i + 1).to_string(),
            "fresh state, in order"
        );
    }
    let metrics = host.metrics("direct-crash").unwrap();
    assert_eq!((metrics.restarts, metrics.timeouts), (1, 1));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_keeps_its_place_when_a_later_one_is_awaited_first() {
    let (system, host, _sup, _dir) = setup("direct-order").await;
    let first = host.ask("direct-order", "count", b"");
    let second = host.ask("direct-order", "count", b"");
    // The first reserved the idle component; the second queued. Awaited first, the
    // second is answered after the actor ran the first in its place.
    let second = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("no deadlock on an unpolled direct call");
    assert_eq!(reply_text(second), "2");
    assert_eq!(reply_text(first.await), "1");
    // Dropped before it is polled, a direct call is still handled.
    drop(host.ask("direct-order", "count", b""));
    assert_eq!(
        reply_text(host.ask("direct-order", "count", b"").await),
        "4"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_that_traps_in_the_actor_restarts_the_component() {
    let (system, host, _sup, _dir) = setup("direct-trap").await;
    assert_eq!(reply_text(host.ask("direct-trap", "count", b"").await), "1");
    let trap = host.ask("direct-trap", "trap", b"");
    let next = host.ask("direct-trap", "count", b"");
    let next = tokio::time::timeout(Duration::from_secs(5), next)
        .await
        .expect("answered");
    assert_eq!(reply_text(next), "1", "answered by the fresh instance");
    let err = trap.await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap, "{err}");
    let metrics = host.metrics("direct-trap").unwrap();
    assert_eq!((metrics.restarts, metrics.traps), (1, 1));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_dropped_midway_still_finishes() {
    let (system, host, _sup, _dir) = setup("direct-drop").await;
    assert_eq!(reply_text(host.ask("direct-drop", "count", b"").await), "1");
    let gave_up = tokio::time::timeout(
        Duration::from_millis(10),
        host.ask("direct-drop", "sleep", b"40"),
    )
    .await;
    assert!(gave_up.is_err(), "the caller gave up while the guest slept");
    // The call went on by itself: the component was not torn down and keeps its state.
    assert_eq!(reply_text(host.ask("direct-drop", "count", b"").await), "2");
    let metrics = host.metrics("direct-drop").unwrap();
    assert_eq!((metrics.restarts, metrics.handled), (0, 3));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_a_direct_call_finish_within_the_shutdown_policy() {
    let (system, host, sup, _dir) = setup("direct-stop").await;
    let call = tokio::spawn({
        let host = host.clone();
        async move { host.ask("direct-stop", "sleep", b"50").await }
    });
    until_call_started("direct-stop", "sleep").await;
    sup.stop().await;
    assert_eq!(
        reply_text(call.await.unwrap()),
        "slept",
        "finished before the stop"
    );
    let err = host.ask("direct-stop", "count", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
    system.shutdown().await.unwrap();
}

/// A OneForAll pair: `name` and a sibling `<name>-sib` whose trap restarts both.
async fn pair(name: &str) -> Setup {
    let sibling = format!("{name}-sib");
    components(Strategy::OneForAll, &[(name, FAULTY), (&sibling, FAULTY)]).await
}

async fn restarted(host: &Host, name: &str) {
    eventually("the restart", || async {
        host.metrics(name).unwrap().restarts == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_is_answered_when_a_sibling_restart_stops_its_component() {
    let (system, host, _sup, _dir) = pair("direct-sib").await;
    assert_eq!(reply_text(host.ask("direct-sib", "count", b"").await), "1");
    // Reserved while idle, not polled yet; then the sibling traps and OneForAll stops
    // this incarnation. The message came before the stop: it is handled, not dropped.
    let reserved = host.ask("direct-sib", "count", b"");
    let err = host.ask("direct-sib-sib", "trap", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap, "{err}");
    restarted(&host, "direct-sib").await;
    let reply = tokio::time::timeout(Duration::from_secs(5), reserved)
        .await
        .expect("answered");
    assert_eq!(
        reply_text(reply),
        "2",
        "run by the incarnation it was reserved in"
    );
    assert_eq!(reply_text(host.ask("direct-sib", "count", b"").await), "1");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_the_actor_runs_a_direct_call_lets_it_finish() {
    let (system, host, _sup, _dir) = pair("direct-busy").await;
    // Reserved, not polled: the queued ask behind it makes the actor run it (it sleeps
    // 60 ms). A stop arriving meanwhile must not cut it short or lose it.
    let reserved = host.ask("direct-busy", "sleep", b"60");
    let queued = tokio::spawn({
        let host = host.clone();
        async move { host.ask("direct-busy", "count", b"").await }
    });
    until_call_started("direct-busy", "sleep").await;
    let err = host.ask("direct-busy-sib", "trap", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap, "{err}");
    let reply = tokio::time::timeout(Duration::from_secs(5), reserved)
        .await
        .expect("answered");
    assert_eq!(reply_text(reply), "slept");
    let queued = tokio::time::timeout(Duration::from_secs(5), queued)
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(
        reply_text(queued),
        "1",
        "the queued ask goes to the fresh instance"
    );
    restarted(&host, "direct-busy").await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_polled_once_and_put_aside_does_not_hold_the_component() {
    let (system, host, _sup, _dir) = setup("direct-aside").await;
    // Reserved, polled once (the guest blocks in its sleep), then kept without polling:
    // the call must go on without its caller, or the next ask waits for it forever.
    let mut aside = std::pin::pin!(host.ask("direct-aside", "sleep", b"30"));
    let early = tokio::time::timeout(Duration::from_millis(5), &mut aside).await;
    assert!(early.is_err(), "still sleeping after 5 ms");
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        host.ask("direct-aside", "count", b""),
    )
    .await
    .expect("not held by a future nobody polls");
    assert_eq!(reply_text(next), "1");
    assert_eq!(
        reply_text(aside.await),
        "slept",
        "and not timed out meanwhile"
    );
    assert_eq!(host.metrics("direct-aside").unwrap().timeouts, 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_waiting_for_the_lane_and_put_aside_does_not_hold_it() {
    // A 5 s limit, so that the sleep below may hold the lane for a whole second: long
    // enough that the lane is still busy when the test sees the sleep start, however
    // loaded the machine.
    let (system, host, _sup, _dir) = components(
        Strategy::OneForOne,
        &[("direct-queue", FAULTY.time_ms(5_000))],
    )
    .await;
    // Waiting in the lane, not polled; a queued sleep makes the actor run it, then hold
    // the lane for 1 s. Polled once meanwhile, the direct call waits in the lane's queue;
    // put aside, it must not keep the lane when the sleep ends.
    let mut aside = std::pin::pin!(host.ask("direct-queue", "count", b""));
    let sleeper = tokio::spawn({
        let host = host.clone();
        async move { host.ask("direct-queue", "sleep", b"1000").await }
    });
    eventually("the actor to run the direct call", || async {
        host.metrics("direct-queue").unwrap().handled == 1
    })
    .await;
    until_call_started("direct-queue", "sleep").await;
    let early = tokio::time::timeout(Duration::from_millis(1), &mut aside).await;
    assert!(early.is_err(), "the lane was busy");
    assert_eq!(reply_text(sleeper.await.unwrap()), "slept");
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        host.ask("direct-queue", "count", b""),
    )
    .await
    .expect("not held by a future nobody polls");
    assert_eq!(reply_text(next), "2");
    assert_eq!(reply_text(aside.await), "1");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sibling_restart_waits_for_a_call_as_long_as_its_time_limit() {
    // A 6 s limit: past the runtime's default 5 s shutdown timeout.
    let slow = limits("32MiB", "512KiB").time_ms(6_000);
    let (system, host, _sup, _dir) = components(
        Strategy::OneForAll,
        &[("direct-slow", slow), ("direct-slow-sib", FAULTY)],
    )
    .await;
    let call = tokio::spawn({
        let host = host.clone();
        async move { host.ask("direct-slow", "sleep", b"5300").await }
    });
    until_call_started("direct-slow", "sleep").await;
    let err = host.ask("direct-slow-sib", "trap", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap, "{err}");
    assert_eq!(
        reply_text(call.await.unwrap()),
        "slept",
        "not cut short at 5 s"
    );
    restarted(&host, "direct-slow").await;
    system.shutdown().await.unwrap();
}
