//! Component actors under supervision, with real components: restarts after every crash
//! kind with state reset, no queued message lost, strategies, intensity, the registry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use airssys_wasm::{ErrorKind, Host, Manifest};
use airssys_wasm_actors::{LifecycleEvent, Strategy, SupervisorConfig, SupervisorRef};
use airssys_wasm_test_support::{
    FAULTY, Resources, TempDir, eventually, faulty_with, host, limits, logs, manifest_for,
    manifest_path, reply_text, supervisor, until_call_started, until_mailbox_len,
};

/// Fuel enough that a spinning guest meets its deadline first.
const SPINNER: Resources = limits("32MiB", "512KiB")
    .fuel(1_000_000_000_000)
    .time_ms(100);

/// Spawns a faulty-based component named `name` under `sup`.
async fn faulty(host: &Host, sup: &SupervisorRef, dir: &TempDir, name: &str) {
    faulty_with(host, sup, dir, name, FAULTY).await;
}

async fn count(host: &Host, name: &str) -> String {
    reply_text(host.ask(name, "count", b"").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_kind_restarts_the_component_with_fresh_state() {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 100).await;
    let dir = TempDir::new();
    for (topic, kind) in [
        ("trap", ErrorKind::Trap),
        ("burn", ErrorKind::Fuel),
        ("grow", ErrorKind::Memory),
        ("spin", ErrorKind::Timeout),
    ] {
        let name = format!("crash-{topic}");
        faulty_with(
            &host,
            &sup,
            &dir,
            &name,
            if topic == "spin" { SPINNER } else { FAULTY },
        )
        .await;
        assert_eq!(count(&host, &name).await, "1");
        assert_eq!(count(&host, &name).await, "2");
        let err = host.ask(&name, topic, b"").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{topic}: {err}");
        assert_eq!(
            count(&host, &name).await,
            "1",
            "{topic}: state reset by the restart"
        );
        assert_eq!(host.metrics(&name).unwrap().restarts, 1, "{topic}");
    }
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_error_is_not_a_crash() {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 3).await;
    let dir = TempDir::new();
    faulty(&host, &sup, &dir, "steady").await;
    assert_eq!(count(&host, "steady").await, "1");
    assert_eq!(
        host.ask("steady", "error", b"").await.unwrap_err().kind(),
        ErrorKind::Handler
    );
    assert_eq!(
        count(&host, "steady").await,
        "2",
        "same instance, state kept"
    );
    assert_eq!(host.metrics("steady").unwrap().restarts, 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_queued_messages_with_a_crash_in_the_middle_are_all_answered_in_order() {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 3).await;
    let dir = TempDir::new();
    faulty(&host, &sup, &dir, "queue").await;
    // Enqueue all 100 before awaiting any: message 50 traps, the rest queue behind it.
    let pending: Vec<_> = (1..=100)
        .map(|i| host.ask("queue", if i == 50 { "trap" } else { "count" }, b""))
        .collect();
    let mut replies = Vec::new();
    for reply in pending {
        replies.push(reply.await);
    }
    for (i, reply) in replies.iter().enumerate().take(49) {
        assert_eq!(
            reply.as_ref().unwrap().payload,
            (i + 1).to_string().as_bytes()
        );
    }
    assert_eq!(replies[49].as_ref().unwrap_err().kind(), ErrorKind::Trap);
    for (i, reply) in replies.iter().enumerate().skip(50) {
        // The fresh instance counts from 1 again, in order.
        assert_eq!(
            reply.as_ref().unwrap().payload,
            (i - 49).to_string().as_bytes(),
            "message {}",
            i + 1
        );
    }
    system.shutdown().await.unwrap();
}

/// Three components a, b, c under `strategy`; b crashes. Returns which were restarted
/// (their counter was reset).
async fn restarted_siblings(strategy: Strategy) -> Vec<&'static str> {
    let (system, host) = host().await;
    let sup = supervisor(&system, strategy, 10).await;
    let dir = TempDir::new();
    for name in ["a", "b", "c"] {
        faulty(&host, &sup, &dir, name).await;
        count(&host, name).await;
        count(&host, name).await;
    }
    let mut events = system.subscribe();
    host.ask("b", "trap", b"").await.unwrap_err();
    // Siblings restart asynchronously; by b's restart every stop of the strategy is done.
    eventually("b to restart", || {
        let restarted_b = std::iter::from_fn(|| events.try_recv().ok())
            .any(|e| matches!(&e, LifecycleEvent::Restarted { actor, .. } if actor == "b"));
        async move { restarted_b }
    })
    .await;
    let mut restarted = Vec::new();
    for name in ["a", "b", "c"] {
        if count(&host, name).await == "1" {
            restarted.push(name);
        }
    }
    system.shutdown().await.unwrap();
    restarted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_restart_the_right_siblings() {
    assert_eq!(restarted_siblings(Strategy::OneForOne).await, ["b"]);
    assert_eq!(
        restarted_siblings(Strategy::OneForAll).await,
        ["a", "b", "c"]
    );
    assert_eq!(restarted_siblings(Strategy::RestForOne).await, ["b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_restart_intensity_callers_get_stopped() {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 2).await;
    let dir = TempDir::new();
    faulty(&host, &sup, &dir, "fragile").await;
    let mut events = system.subscribe();
    for _ in 0..3 {
        assert_eq!(
            host.ask("fragile", "trap", b"").await.unwrap_err().kind(),
            ErrorKind::Trap
        );
    }
    // The third crash exceeds 2 restarts in the window: the supervisor gives up.
    eventually("the supervisor to give up", || {
        let gave_up = matches!(
            events.try_recv(),
            Ok(LifecycleEvent::SupervisorGaveUp { .. })
        );
        async move { gave_up }
    })
    .await;
    let err = host.ask("fragile", "count", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_routes_by_name_and_reports_not_found_and_overloaded() {
    logs();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 3).await;
    let dir = TempDir::new();
    host.spawn_component(&sup, Manifest::from_file(manifest_path("echo")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        host.ask("echo", "t", b"routed").await.unwrap().payload,
        b"routed"
    );
    let err = host.ask("nobody", "t", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("nobody"));
    // A second component with the same name is refused.
    let dup = host
        .spawn_component(&sup, Manifest::from_file(manifest_path("echo")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::Manifest, "{dup}");

    // A mailbox of 2: one message sleeping on its caller's task, one taken by the actor
    // (waiting for the instance), two queued; the next is overloaded.
    let small = host.with_mailbox_capacity(2);
    let path = manifest_for(
        &dir,
        "faulty",
        "slow",
        limits("32MiB", "512KiB").time_ms(2_000),
        "",
    );
    let slow = small
        .spawn_component(&sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap();
    let busy = tokio::spawn({
        let small = small.clone();
        async move { small.ask("slow", "sleep", b"300").await }
    });
    until_call_started("slow", "sleep").await;
    let taken = small.ask("slow", "ok", b"");
    until_mailbox_len(&slow, 0).await;
    let queued: Vec<_> = (0..2).map(|_| small.ask("slow", "ok", b"")).collect();
    let err = small.ask("slow", "ok", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overloaded, "{err}");
    assert_eq!(
        small.try_tell("slow", "ok", b"").unwrap_err().kind(),
        ErrorKind::Overloaded
    );
    assert_eq!(busy.await.unwrap().unwrap().payload, b"slept");
    taken.await.unwrap();
    for reply in queued {
        reply.await.unwrap();
    }
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened() {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let dir = TempDir::new();
    faulty(&host, &sup, &dir, "counted").await;
    host.ask("counted", "ok", b"").await.unwrap();
    host.ask("counted", "error", b"").await.unwrap_err();
    host.ask("counted", "trap", b"").await.unwrap_err();
    host.ask("counted", "burn", b"").await.unwrap_err();
    host.ask("counted", "grow", b"").await.unwrap_err();
    // Blocked in a host call past the deadline: a timeout that uses no fuel.
    host.ask("counted", "sleep", b"5000").await.unwrap_err();
    let m = host.metrics("counted").unwrap();
    assert_eq!((m.handled, m.handler_errors), (2, 1));
    assert_eq!(
        (m.traps, m.fuel_exhausted, m.memory_exhausted, m.timeouts),
        (1, 1, 1, 1)
    );
    // The last restart may still be under way when the caller has its error.
    eventually("four restarts", || {
        let restarts = host.metrics("counted").unwrap().restarts;
        async move { restarts == 4 }
    })
    .await;
    assert!(
        m.fuel_consumed > 10_000_000,
        "the burn's fuel is counted too"
    );
    assert!(
        m.max_latency >= Duration::from_millis(100),
        "the sleep's latency"
    );
    assert_eq!(
        host.metrics("nobody").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_supervisor_that_gives_up_is_restarted_and_its_components_stay_reachable() {
    let (system, host) = host().await;
    let root = supervisor(&system, Strategy::OneForOne, 5).await;
    let nested = root
        .add_supervisor(
            "workers",
            SupervisorConfig::new(Strategy::OneForOne).restart_limit(1, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let dir = TempDir::new();
    faulty(&host, &nested, &dir, "worker").await;
    assert_eq!(count(&host, "worker").await, "1");
    let mut events = system.subscribe();
    // Two crashes exceed the nested supervisor's intensity of 1: it fails to root, which
    // restarts the whole subtree with fresh actors under the same names.
    for _ in 0..2 {
        assert_eq!(
            host.ask("worker", "trap", b"").await.unwrap_err().kind(),
            ErrorKind::Trap
        );
    }
    let mut seen = Vec::new();
    eventually("the subtree to restart", || {
        seen.extend(std::iter::from_fn(|| events.try_recv().ok()));
        let restarted = seen
            .iter()
            .filter(|e| matches!(e, LifecycleEvent::Restarted { actor, .. } if actor == "worker"))
            .count();
        async move { restarted >= 2 }
    })
    .await;
    eventually("the worker to answer again", || {
        let reply = host.ask("worker", "count", b"");
        async move { matches!(reply.await, Ok(r) if r.payload == b"1") }
    })
    .await;
    system.shutdown().await.unwrap();
}
