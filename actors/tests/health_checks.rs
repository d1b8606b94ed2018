//! Health checks: `failure_threshold` consecutive failures or timeouts restart a child.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::atomic::Ordering;
use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{
    Cmd, Knobs, Log, WAIT, is_restarted, wait_for, wait_until, worker_with,
};

fn fast_checks() -> HealthConfig {
    HealthConfig {
        check_interval: Duration::from_millis(10),
        check_timeout: Duration::from_millis(30),
        failure_threshold: 3,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_child_is_restarted() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let knobs = Knobs::default();
    let child = root
        .add_child(worker_with("h", &Log::default(), &knobs).health(fast_checks()))
        .await
        .unwrap();
    child.ask(Cmd::Add(5)).await.unwrap();
    let mut events = system.subscribe();
    knobs.unhealthy.store(true, Ordering::SeqCst);
    let restarted = wait_for(&mut events, is_restarted("h")).await;
    knobs.unhealthy.store(false, Ordering::SeqCst);
    assert!(
        matches!(&restarted, LifecycleEvent::Restarted { reason, .. } if reason.contains("3 consecutive") && reason.contains("knob set")),
        "{restarted:?}"
    );
    assert!(
        child.ask(Cmd::Get).await.unwrap() == 0,
        "fresh state after the restart"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_that_time_out_count_as_failures() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let knobs = Knobs::default();
    root.add_child(worker_with("slow", &Log::default(), &knobs).health(fast_checks()))
        .await
        .unwrap();
    let mut events = system.subscribe();
    knobs.health_delay_ms.store(1_000, Ordering::SeqCst);
    let restarted = wait_for(&mut events, is_restarted("slow")).await;
    knobs.health_delay_ms.store(0, Ordering::SeqCst);
    assert!(
        matches!(&restarted, LifecycleEvent::Restarted { reason, .. } if reason.contains("timed out")),
        "{restarted:?}"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_child_is_checked_but_never_restarted() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let knobs = Knobs::default();
    let child = root
        .add_child(worker_with("fine", &Log::default(), &knobs).health(fast_checks()))
        .await
        .unwrap();
    // Wait until many checks have run (proof the checks happen), then look for restarts.
    wait_until(WAIT, || knobs.health_checks.load(Ordering::SeqCst) >= 10).await;
    assert_eq!(child.ask(Cmd::Restarts).await.unwrap(), 0);
    assert_eq!(root.children()[0].restarts, 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_failures_below_the_threshold_do_not_restart() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let knobs = Knobs::default();
    let config = HealthConfig {
        failure_threshold: 1_000,
        ..fast_checks()
    };
    let child = root
        .add_child(worker_with("flaky", &Log::default(), &knobs).health(config))
        .await
        .unwrap();
    knobs.unhealthy.store(true, Ordering::SeqCst);
    wait_until(WAIT, || knobs.health_checks.load(Ordering::SeqCst) >= 5).await;
    assert_eq!(child.ask(Cmd::Restarts).await.unwrap(), 0);
    system.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_zero_check_interval_is_rejected() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let config = HealthConfig {
        check_interval: Duration::ZERO,
        ..HealthConfig::default()
    };
    let err = root
        .add_child(worker_with("z", &Log::default(), &Knobs::default()).health(config))
        .await
        .unwrap_err();
    assert!(matches!(err, ActorError::InvalidConfig { .. }), "{err:?}");
    system.shutdown().await.unwrap();
}
