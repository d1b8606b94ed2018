//! A panic anywhere in an actor is a crash of that actor only.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::atomic::Ordering;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{
    Cmd, Knobs, Log, Worker, is_restarted, is_stopped, quiet_panics, wait_for, worker, worker_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_restarted_and_siblings_keep_going() {
    quiet_panics();
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    let sibling = root.add_child(worker("sibling", &log)).await.unwrap();
    let crasher = root.add_child(worker("crasher", &log)).await.unwrap();
    sibling.ask(Cmd::Add(3)).await.unwrap();
    let mut events = system.subscribe();

    let reply = crasher.ask(Cmd::Panic).await;
    match reply {
        Err(AskError::Panicked { actor, message }) => {
            assert_eq!(actor, "crasher");
            assert_eq!(message, "boom: crasher panicked");
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    let restarted = wait_for(&mut events, is_restarted("crasher")).await;
    assert!(
        matches!(restarted, LifecycleEvent::Restarted { reason, .. } if reason.contains("boom"))
    );
    assert_eq!(crasher.ask(Cmd::Add(1)).await.unwrap(), 1);
    assert_eq!(sibling.ask(Cmd::Get).await.unwrap(), 3, "sibling untouched");
    assert_eq!(
        log.entries()
            .iter()
            .filter(|e| *e == "stop:crasher")
            .count(),
        1,
        "post_stop ran after the panic"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_tell_crashes_and_the_next_message_reaches_the_fresh_instance() {
    quiet_panics();
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let actor = root.add_child(worker("w", &Log::default())).await.unwrap();
    actor.tell(Cmd::Add(5)).await.unwrap();
    actor.tell(Cmd::Panic).await.unwrap();
    assert_eq!(actor.ask(Cmd::Add(1)).await.unwrap(), 1);
    assert_eq!(actor.ask(Cmd::Restarts).await.unwrap(), 1);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupervised_actor_that_panics_stops_and_the_runtime_goes_on() {
    quiet_panics();
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let actor = system
        .spawn()
        .name("lonely")
        .spawn(Worker::new("lonely", &log))
        .await
        .unwrap();
    let mut events = system.subscribe();
    assert!(matches!(
        actor.ask(Cmd::Panic).await,
        Err(AskError::Panicked { .. })
    ));
    let stopped = wait_for(&mut events, is_stopped("lonely")).await;
    assert!(
        matches!(stopped, LifecycleEvent::Stopped { reason: StopReason::Failed(r), .. } if r.contains("boom"))
    );
    assert!(matches!(
        actor.ask(Cmd::Get).await,
        Err(AskError::Stopped { .. })
    ));
    let other = system
        .spawn()
        .name("lonely")
        .spawn(Worker::new("lonely", &log))
        .await
        .unwrap();
    assert_eq!(
        other.ask(Cmd::Add(2)).await.unwrap(),
        2,
        "name reusable, runtime alive"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_pre_start_is_a_failed_start() {
    quiet_panics();
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let knobs = Knobs::default();
    knobs.panic_start.store(true, Ordering::SeqCst);
    let err = root
        .add_child(worker_with("bad", &Log::default(), &knobs))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActorError::StartFailed { actor, reason } if actor == "bad" && reason.contains("pre_start panicked")),
        "{err:?}"
    );
    assert!(
        root.children().is_empty(),
        "a child that failed to start is not added"
    );
    assert!(
        system.lookup::<Worker>("bad").is_none(),
        "its name is released"
    );
    let err = system
        .spawn()
        .spawn(Worker::with_knobs("bad", &Log::default(), &knobs))
        .await
        .unwrap_err();
    assert!(matches!(err, ActorError::StartFailed { .. }));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_factory_is_a_failed_start() {
    quiet_panics();
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let spec = ChildSpec::new("factory", || -> Worker { panic!("boom: factory") });
    let err = root.add_child(spec).await.unwrap_err();
    assert!(
        matches!(&err, ActorError::StartFailed { reason, .. } if reason.contains("factory panicked")),
        "{err:?}"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_post_stop_is_contained() {
    quiet_panics();
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    let knobs = Knobs::default();
    knobs.panic_stop.store(true, Ordering::SeqCst);
    let fragile = root
        .add_child(worker_with("fragile", &log, &knobs).restart_transient())
        .await
        .unwrap();
    let sibling = root.add_child(worker("sibling", &log)).await.unwrap();
    let mut events = system.subscribe();
    // A normal stop whose post_stop panics counts as a crash: Transient restarts it.
    fragile.ask(Cmd::StopSelf).await.unwrap();
    let restarted = wait_for(&mut events, is_restarted("fragile")).await;
    assert!(
        matches!(restarted, LifecycleEvent::Restarted { reason, .. } if reason.contains("post_stop panicked"))
    );
    assert_eq!(fragile.ask(Cmd::Add(1)).await.unwrap(), 1);
    assert_eq!(sibling.ask(Cmd::Add(1)).await.unwrap(), 1);
    root.remove_child("fragile").await.unwrap();
    assert!(!fragile.is_alive());
    system.shutdown().await.unwrap();
}
