//! Stopping a supervisor and shutting the host down while messages are in flight: every
//! waiting caller gets an answer (`stopped` for those that never ran), and shutdown keeps
//! its deadline even with guests that would run for seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use airssys_wasm::{Error, ErrorKind, Host, Reply};
use airssys_wasm_actors::{ActorError, Strategy, SystemConfig};
use airssys_wasm_test_support::{
    Resources, TempDir, faulty_with, host, host_in, limits, logs, supervisor, until_call_started,
};
use tokio::task::JoinHandle;

const SLEEPER: Resources = limits("32MiB", "512KiB").fuel(10_000_000).time_ms(60_000);
/// Spins for up to 30 s: only the shutdown deadline can end it sooner.
const SPINNER: Resources = limits("32MiB", "512KiB")
    .fuel(1_000_000_000_000_000)
    .time_ms(30_000);

/// `count` asks of `topic`/`payload` to `name`, each enqueued now and awaited in a task.
fn asks(
    host: &Host,
    name: &str,
    count: usize,
    topic: &str,
    payload: &[u8],
) -> Vec<JoinHandle<Result<Reply, Error>>> {
    (0..count)
        .map(|_| tokio::spawn(host.ask(name, topic, payload)))
        .collect()
}

/// Waits for every ask (none may hang) and counts the replies and `stopped` errors; any
/// other outcome fails the test.
async fn answers(asks: Vec<JoinHandle<Result<Reply, Error>>>) -> (usize, usize) {
    let (mut replies, mut stopped) = (0, 0);
    for ask in asks {
        let outcome = tokio::time::timeout(Duration::from_secs(10), ask)
            .await
            .expect("an ask was never answered")
            .unwrap();
        match outcome {
            Ok(_) => replies += 1,
            Err(e) if e.kind() == ErrorKind::Stopped => stopped += 1,
            Err(e) => panic!("unexpected outcome: {e}"),
        }
    }
    (replies, stopped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_supervisor_answers_every_waiting_caller_with_stopped() {
    logs();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let dir = TempDir::new();
    let names: Vec<String> = (0..4).map(|i| format!("busy-{i}")).collect();
    for name in &names {
        faulty_with(&host, &sup, &dir, name, SLEEPER).await;
    }
    // 50 messages of 20 ms each per component: a second of work queued.
    let pending: Vec<_> = names
        .iter()
        .flat_map(|name| asks(&host, name, 50, "sleep", b"20"))
        .collect();
    for name in &names {
        until_call_started(name, "sleep").await;
    }

    let started = Instant::now();
    sup.stop().await;
    let took = started.elapsed();
    let (replies, stopped) = answers(pending).await;
    assert_eq!(replies + stopped, 200);
    // Children stop one by one in reverse start order, each finishing the message it is
    // running; the queue behind it (most of the 200) is answered `stopped`.
    assert!(stopped >= 150, "{replies} replies, {stopped} stopped");
    assert!(took < Duration::from_secs(1), "stop took {took:?}");
    for name in &names {
        let err = host.ask(name, "ok", b"").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
    }
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_messages_in_flight_finishes_cleanly_and_answers_everyone() {
    logs();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let dir = TempDir::new();
    for i in 0..3 {
        faulty_with(&host, &sup, &dir, &format!("worker-{i}"), SLEEPER).await;
    }
    let pending: Vec<_> = (0..3)
        .flat_map(|i| asks(&host, &format!("worker-{i}"), 20, "sleep", b"5"))
        .collect();
    for i in 0..3 {
        until_call_started(&format!("worker-{i}"), "sleep").await;
    }

    let started = Instant::now();
    system.shutdown().await.unwrap();
    assert!(started.elapsed() < system.config().shutdown_timeout);
    let (replies, stopped) = answers(pending).await;
    assert_eq!(replies + stopped, 60);
    assert!(
        stopped > 0,
        "the queue was not drained: it was answered `stopped`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_its_deadline_with_guests_that_would_run_for_seconds() {
    logs();
    let deadline = Duration::from_millis(500);
    let (system, host) = host_in(SystemConfig::default().shutdown_timeout(deadline)).await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let dir = TempDir::new();
    faulty_with(&host, &sup, &dir, "spinner", SPINNER).await;
    faulty_with(&host, &sup, &dir, "sleeper", SLEEPER).await;
    let mut pending = asks(&host, "spinner", 5, "spin", b"");
    pending.extend(asks(&host, "sleeper", 5, "sleep", b"30000"));
    until_call_started("spinner", "spin").await;
    until_call_started("sleeper", "sleep").await;

    let started = Instant::now();
    let result = system.shutdown().await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(ActorError::ShutdownTimedOut { .. })),
        "{result:?}"
    );
    assert!(
        took < deadline + Duration::from_millis(500),
        "shutdown took {took:?}"
    );
    // The two running messages were cut off and everything queued behind them: all stopped.
    let (replies, stopped) = answers(pending).await;
    assert_eq!((replies, stopped), (0, 10));
}
