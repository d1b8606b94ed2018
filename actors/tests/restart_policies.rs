//! Permanent / Transient / Temporary, `on_error` actions, and top-level restart policies.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{Cmd, Log, Worker, is_restarted, is_stopped, wait_for, worker};

async fn root(system: &ActorSystem) -> SupervisorRef {
    system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap()
}

fn stop_reason(event: LifecycleEvent) -> StopReason {
    match event {
        LifecycleEvent::Stopped { reason, .. } => reason,
        other => panic!("not a stop: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_is_not_restarted_after_a_normal_stop() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = root(&system).await;
    let log = Log::default();
    let t = root
        .add_child(worker("t", &log).restart_transient())
        .await
        .unwrap();
    let mut events = system.subscribe();
    t.ask(Cmd::StopSelf).await.unwrap();
    let stopped = wait_for(&mut events, is_stopped("t")).await;
    assert_eq!(stop_reason(stopped), StopReason::Normal);
    assert!(!t.is_alive());
    assert!(
        root.children().is_empty(),
        "a child that stays stopped is removed"
    );
    assert_eq!(log.entries(), ["start:t", "stop:t"]);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_is_restarted_after_a_crash() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = root(&system).await;
    let t = root
        .add_child(worker("t", &Log::default()).restart_transient())
        .await
        .unwrap();
    let mut events = system.subscribe();
    let _ = t.ask(Cmd::Fail(ErrorAction::Restart)).await;
    wait_for(&mut events, is_restarted("t")).await;
    assert_eq!(t.ask(Cmd::Restarts).await.unwrap(), 1);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_action_stop_is_a_normal_stop_so_transient_stays_stopped() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = root(&system).await;
    let t = root
        .add_child(worker("t", &Log::default()).restart_transient())
        .await
        .unwrap();
    let mut events = system.subscribe();
    let reply = t.ask(Cmd::Fail(ErrorAction::Stop)).await;
    assert!(
        matches!(reply, Err(AskError::Failed { .. })),
        "the failing ask still gets the error"
    );
    let stopped = wait_for(&mut events, is_stopped("t")).await;
    assert_eq!(stop_reason(stopped), StopReason::Normal);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_is_never_restarted() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = root(&system).await;
    let t = root
        .add_child(worker("t", &Log::default()).restart_temporary())
        .await
        .unwrap();
    let mut events = system.subscribe();
    let _ = t.ask(Cmd::Fail(ErrorAction::Restart)).await;
    let stopped = wait_for(&mut events, is_stopped("t")).await;
    assert!(matches!(stop_reason(stopped), StopReason::Failed(_)));
    assert!(matches!(
        t.ask(Cmd::Get).await,
        Err(AskError::Stopped { .. })
    ));
    assert!(root.children().is_empty());
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_siblings_are_removed_not_restarted_by_one_for_all() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::new(Strategy::OneForAll))
        .await
        .unwrap();
    let log = Log::default();
    let tmp = root
        .add_child(worker("tmp", &log).restart_temporary())
        .await
        .unwrap();
    let p = root.add_child(worker("p", &log)).await.unwrap();
    let mut events = system.subscribe();
    let _ = p.ask(Cmd::Fail(ErrorAction::Restart)).await;
    wait_for(&mut events, is_restarted("p")).await;
    assert!(!tmp.is_alive());
    let ids: Vec<_> = root.children().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["p"]);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_is_restarted_even_after_a_normal_stop() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = root(&system).await;
    let p = root.add_child(worker("p", &Log::default())).await.unwrap();
    let mut events = system.subscribe();
    p.ask(Cmd::StopSelf).await.unwrap();
    let restarted = wait_for(&mut events, is_restarted("p")).await;
    assert!(
        matches!(restarted, LifecycleEvent::Restarted { reason, .. } if reason == "stopped normally")
    );
    assert!(p.is_alive());
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_keeps_the_state() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = root(&system).await;
    let r = root.add_child(worker("r", &Log::default())).await.unwrap();
    r.ask(Cmd::Add(4)).await.unwrap();
    assert!(matches!(
        r.ask(Cmd::Fail(ErrorAction::Resume)).await,
        Err(AskError::Failed { .. })
    ));
    assert_eq!(r.ask(Cmd::Get).await.unwrap(), 4);
    assert_eq!(r.ask(Cmd::Restarts).await.unwrap(), 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_default_policy_stops_on_crash() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let factory_log = log.clone();
    let a = system
        .spawn()
        .name("a")
        .spawn_with(move || Worker::new("a", &factory_log))
        .await
        .unwrap();
    let mut events = system.subscribe();
    let _ = a.ask(Cmd::Fail(ErrorAction::Restart)).await;
    let stopped = wait_for(&mut events, is_stopped("a")).await;
    assert!(matches!(stop_reason(stopped), StopReason::Failed(_)));
    assert_eq!(log.entries(), ["start:a", "stop:a"]);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_transient_restarts_after_a_crash_until_its_limit() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let factory_log = log.clone();
    let a = system
        .spawn()
        .name("a")
        .restart_policy(RestartPolicy::Transient)
        .restart_limit(2, Duration::from_secs(60))
        .spawn_with(move || Worker::new("a", &factory_log))
        .await
        .unwrap();
    let mut events = system.subscribe();
    for _ in 0..2 {
        let _ = a.ask(Cmd::Fail(ErrorAction::Restart)).await;
        wait_for(&mut events, is_restarted("a")).await;
    }
    assert_eq!(a.ask(Cmd::Restarts).await.unwrap(), 2);
    let _ = a.ask(Cmd::Fail(ErrorAction::Restart)).await;
    let stopped = wait_for(&mut events, is_stopped("a")).await;
    assert!(
        matches!(stop_reason(stopped), StopReason::Failed(r) if r.contains("restart intensity exceeded"))
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_transient_stays_stopped_after_a_normal_stop() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let factory_log = log.clone();
    let a = system
        .spawn()
        .name("a")
        .restart_policy(RestartPolicy::Transient)
        .spawn_with(move || Worker::new("a", &factory_log))
        .await
        .unwrap();
    let mut events = system.subscribe();
    a.ask(Cmd::StopSelf).await.unwrap();
    let stopped = wait_for(&mut events, is_stopped("a")).await;
    assert_eq!(stop_reason(stopped), StopReason::Normal);
    system.shutdown().await.unwrap();
}
