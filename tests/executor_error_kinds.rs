//! Every error kind the executor owns, produced by a real component: handler, trap, fuel,
//! timeout (spinning and blocked in a host call), memory; and the reply with its costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use airssys_wasm::{ComponentInstance, Error, ErrorKind, LoadedComponent, Manifest};
use airssys_wasm_test_support::{TempDir, engine, limits, manifest_for, manifest_path};

async fn load(path: &std::path::Path) -> Arc<LoadedComponent> {
    LoadedComponent::load(&engine(), Manifest::from_file(path).unwrap())
        .await
        .unwrap()
}

async fn instance(name: &str) -> ComponentInstance {
    load(&manifest_path(name))
        .await
        .instantiate(None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_replies_with_its_payload_and_the_call_costs() {
    let mut echo = instance("echo").await;
    let reply = echo.call("greet", b"hello", None).await.unwrap();
    assert_eq!(reply.payload, b"hello");
    assert!(reply.fuel_consumed > 0, "fuel is recorded");
    assert!(reply.elapsed > Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_keeps_state_between_messages() {
    let mut counter = instance("counter").await;
    counter.call("increment", b"", None).await.unwrap();
    counter.call("increment", b"41", None).await.unwrap();
    assert_eq!(counter.call("get", b"", None).await.unwrap().payload, b"42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_error_is_a_reply_and_the_instance_lives_on() {
    let mut echo = instance("echo").await;
    let err = echo.call("fail", b"on purpose", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Handler);
    assert!(
        err.to_string().contains("echo asked to fail: on purpose"),
        "{err}"
    );
    assert_eq!(echo.call("again", b"x", None).await.unwrap().payload, b"x");
    assert!(!echo.has_crashed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_panic_are_traps_and_finish_the_instance() {
    for topic in ["trap", "panic"] {
        let mut faulty = instance("faulty").await;
        let err = faulty.call(topic, b"", None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Trap, "{topic}: {err}");
        assert!(err.to_string().contains("unreachable"), "{err}");
        assert!(faulty.has_crashed());
        let after = faulty.call("ok", b"", None).await.unwrap_err();
        assert_eq!(after.kind(), ErrorKind::Stopped);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_overflow_is_a_trap() {
    let mut faulty = instance("faulty").await;
    let err = faulty.call("recurse", b"10000000", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert!(err.to_string().contains("call stack exhausted"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_stack_decides_how_deep_a_guest_may_recurse() {
    // faulty uses ~120 bytes of wasm stack per level: 2,000 levels fit in 512 KiB, not in 64 KiB.
    let dir = TempDir::new();
    let small = manifest_for(&dir, "faulty", "small-stack", limits("32MiB", "64KiB"), "");
    let mut small = load(&small).await.instantiate(None).await.unwrap();
    assert_eq!(
        small
            .call("recurse", b"2000", None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Trap
    );
    let mut big = instance("faulty").await;
    assert_eq!(
        big.call("recurse", b"2000", None).await.unwrap().payload,
        b"2000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burning_past_the_fuel_limit_is_fuel() {
    let mut faulty = instance("faulty").await;
    let err = faulty.call("burn", b"", None).await.unwrap_err();
    match &err {
        Error::Fuel { component, limit } => {
            assert_eq!(component, "faulty");
            assert_eq!(*limit, 10_000_000);
        }
        other => panic!("expected fuel, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_is_refilled_before_every_message() {
    let mut faulty = instance("faulty").await;
    // Size one burn to about 40% of the 10M budget: three in a row exceed one budget.
    let probe = faulty
        .call("burn", b"10000", None)
        .await
        .unwrap()
        .fuel_consumed;
    let iterations = 4_000_000 * 10_000 / probe;
    let mut total = 0;
    for _ in 0..3 {
        let reply = faulty
            .call("burn", iterations.to_string().as_bytes(), None)
            .await
            .unwrap();
        assert!(reply.fuel_consumed < 10_000_000);
        total += reply.fuel_consumed;
    }
    assert!(total > 10_000_000, "three calls used {total} fuel in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_guest_is_stopped_near_its_deadline() {
    let dir = TempDir::new();
    let path = manifest_for(
        &dir,
        "faulty",
        "spinner",
        limits("32MiB", "512KiB")
            .fuel(1_000_000_000_000_000)
            .time_ms(50),
        "",
    );
    let mut spinner = load(&path).await.instantiate(None).await.unwrap();
    let started = std::time::Instant::now();
    let err = spinner.call("spin", b"", None).await.unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Timeout {
            component,
            limit_ms,
            budget,
            elapsed,
        } => {
            assert_eq!(component, "spinner");
            assert_eq!(*limit_ms, 50);
            assert!(!budget, "the manifest's limit, not a caller's budget");
            assert!(*elapsed >= Duration::from_millis(50), "{elapsed:?}");
        }
        other => panic!("expected timeout, got {other:?}"),
    }
    assert!(
        took < Duration::from_millis(90),
        "stopped {took:?} after a 50 ms deadline"
    );
}

/// Each `log` of a 4 MiB line costs the host a copy and a UTF-8 check, and the guest
/// almost no fuel: its fuel yields come seconds apart, and only the clock read on the way
/// back from each host call stops it in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_looping_on_an_expensive_host_call_is_stopped_at_its_deadline() {
    let dir = TempDir::new();
    let path = manifest_for(
        &dir,
        "faulty",
        "host-spinner",
        limits("64MiB", "512KiB")
            .fuel(1_000_000_000_000_000)
            .time_ms(50),
        "",
    );
    let mut spinner = load(&path).await.instantiate(None).await.unwrap();
    let started = std::time::Instant::now();
    let err = spinner.call("host-spin", b"", None).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        took < Duration::from_millis(500),
        "stopped {took:?} after a 50 ms deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_blocked_in_a_host_call_is_stopped_at_its_deadline() {
    let dir = TempDir::new();
    let path = manifest_for(
        &dir,
        "faulty",
        "sleeper",
        limits("32MiB", "512KiB").time_ms(50),
        "",
    );
    let mut sleeper = load(&path).await.instantiate(None).await.unwrap();
    let started = std::time::Instant::now();
    let err = sleeper.call("sleep", b"5000", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_past_max_memory_is_memory_even_though_the_guest_traps() {
    let mut faulty = instance("faulty").await;
    let err = faulty.call("grow", b"", None).await.unwrap_err();
    match &err {
        Error::Memory {
            component,
            limit,
            requested,
        } => {
            assert_eq!(component, "faulty");
            assert_eq!(*limit, 32 << 20);
            assert!(*requested > *limit);
        }
        other => panic!("expected memory, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocation_within_the_limit_succeeds() {
    let mut faulty = instance("faulty").await;
    assert_eq!(
        faulty
            .call("alloc", b"8000000", None)
            .await
            .unwrap()
            .payload,
        b"ok"
    );
    assert!(faulty.memory_size() >= 8_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_values_and_the_sender_reach_the_guest() {
    let mut faulty = instance("faulty").await;
    assert_eq!(
        faulty
            .call("config", b"greeting", None)
            .await
            .unwrap()
            .payload,
        b"hello"
    );
    assert_eq!(
        faulty.call("config-all", b"", None).await.unwrap().payload,
        b"color=blue\ngreeting=hello\n"
    );
    assert_eq!(
        faulty
            .call("config", b"missing", None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Handler
    );
    assert_eq!(
        faulty
            .call("sender", b"", Some("alice"))
            .await
            .unwrap()
            .payload,
        b"alice"
    );
    assert_eq!(
        faulty.call("sender", b"", None).await.unwrap().payload,
        b"none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messaging_without_a_router_is_not_found_and_ungranted_is_denied() {
    let mut faulty = instance("faulty").await;
    let err = faulty
        .call("request", b"echo greet hi", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not-found"), "{err}");
    // echo has no messaging grant at all: use a manifest for faulty without one.
    let dir = TempDir::new();
    let path = manifest_for(&dir, "faulty", "lonely", limits("32MiB", "512KiB"), "");
    let mut lonely = load(&path).await.instantiate(None).await.unwrap();
    let err = lonely
        .call("send", b"echo greet hi", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Handler);
    assert!(
        err.to_string()
            .contains("denied: `lonely` may not send to `echo`"),
        "{err}"
    );
    assert_eq!(lonely.component().metrics().snapshot().denied, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_outcomes() {
    let loaded = load(&manifest_path("faulty")).await;
    let mut faulty = loaded.instantiate(None).await.unwrap();
    faulty.call("ok", b"", None).await.unwrap();
    faulty.call("error", b"", None).await.unwrap_err();
    faulty.call("trap", b"", None).await.unwrap_err();
    let m = loaded.metrics().snapshot();
    assert_eq!((m.handled, m.handler_errors, m.traps), (2, 1, 1));
    assert!(m.fuel_consumed > 0);
}
