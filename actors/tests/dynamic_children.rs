//! Children added and removed at runtime, heterogeneous children, lookup by name.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::Arc;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_actors::{ChildKind, ChildStatus};
use airssys_wasm_test_support::{
    Cmd, Log, Worker, is_restarted, until_mailbox_len, wait_for, within, worker,
};
use tokio::sync::Notify;

/// A second actor type, to sit next to `Worker` under one supervisor.
#[derive(Default)]
struct Greeter;

impl Actor for Greeter {
    type Message = String;
    type Reply = String;
    type Error = std::io::Error;

    async fn handle_message(
        &mut self,
        name: String,
        _: &mut ActorContext<Self>,
    ) -> Result<String, Self::Error> {
        Ok(format!("hello {name}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_of_different_types_live_side_by_side() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    let w = root.add_child(worker("w", &log)).await.unwrap();
    let g = root
        .add_child(ChildSpec::new("greeter", Greeter::default))
        .await
        .unwrap();
    assert_eq!(w.ask(Cmd::Add(2)).await.unwrap(), 2);
    assert_eq!(g.ask("you".to_owned()).await.unwrap(), "hello you");
    let children = root.children();
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].id, "w");
    assert_eq!(children[1].id, "greeter");
    assert!(
        children
            .iter()
            .all(|c| c.kind == ChildKind::Actor && c.status == ChildStatus::Running)
    );
    assert_eq!(children[1].actor_id, Some(g.id()));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_child_runs_post_stop_and_answers_waiting_asks_stopped() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    let keep = root.add_child(worker("keep", &log)).await.unwrap();
    let gone = root
        .add_child(worker("gone", &log).shutdown_policy(ShutdownPolicy::Immediate))
        .await
        .unwrap();
    let gate = Arc::new(Notify::new());
    let in_flight = gone.try_ask(Cmd::Wait(gate)).unwrap();
    let queued = gone.try_ask(Cmd::Get).unwrap();
    until_mailbox_len(&gone, 1).await;
    root.remove_child("gone").await.unwrap();
    assert!(!gone.is_alive());
    assert!(matches!(
        within(in_flight).await,
        Err(AskError::Stopped { .. })
    ));
    assert!(matches!(
        within(queued).await,
        Err(AskError::Stopped { .. })
    ));
    assert!(system.lookup::<Worker>("gone").is_none());
    assert_eq!(root.children().len(), 1);
    assert_eq!(keep.ask(Cmd::Add(1)).await.unwrap(), 1);
    assert!(matches!(
        root.remove_child("gone").await,
        Err(ActorError::NotFound { name }) if name == "gone"
    ));
    // The name can be used again.
    let again = root.add_child(worker("gone", &log)).await.unwrap();
    assert_eq!(system.lookup::<Worker>("gone"), Some(again));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_child_with_graceful_policy_runs_post_stop() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    root.add_child(worker("a", &log)).await.unwrap();
    root.remove_child("a").await.unwrap();
    assert_eq!(log.entries(), ["start:a", "stop:a"]);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_per_system() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .name("root")
        .await
        .unwrap();
    let top = system
        .spawn()
        .name("x")
        .spawn(Worker::new("x", &log))
        .await
        .unwrap();
    assert!(matches!(
        system.spawn().name("x").spawn(Worker::new("x", &log)).await,
        Err(ActorError::NameTaken { name }) if name == "x"
    ));
    assert!(matches!(
        root.add_child(worker("x", &log)).await,
        Err(ActorError::NameTaken { .. })
    ));
    assert!(matches!(
        system
            .spawn_supervisor(SupervisorConfig::default())
            .name("root")
            .await,
        Err(ActorError::NameTaken { .. })
    ));
    // Same id twice in one supervisor, even when anonymous.
    root.add_child(worker("dup", &log).anonymous())
        .await
        .unwrap();
    assert!(matches!(
        root.add_child(worker("dup", &log).anonymous()).await,
        Err(ActorError::DuplicateChild { .. })
    ));
    // A custom registered name.
    let custom = root
        .add_child(worker("id", &log).name("alias"))
        .await
        .unwrap();
    assert_eq!(custom.name(), Some("alias"));
    assert_eq!(system.lookup::<Worker>("alias"), Some(custom));
    assert!(system.lookup::<Worker>("id").is_none());
    assert_eq!(system.lookup::<Worker>("x"), Some(top));
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_is_typed() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .name("root")
        .await
        .unwrap();
    root.add_child(ChildSpec::new("greeter", Greeter::default))
        .await
        .unwrap();
    assert!(system.lookup::<Greeter>("greeter").is_some());
    assert!(system.lookup::<Worker>("greeter").is_none(), "wrong type");
    assert!(system.lookup::<Greeter>("nobody").is_none());
    assert_eq!(
        system.lookup_supervisor("root").map(|s| s.id()),
        Some(root.id())
    );
    let anon = system.spawn().spawn(Greeter).await.unwrap();
    assert_eq!(anon.name(), None);
    assert_eq!(anon.label(), anon.id().to_string());
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_supervisors_can_be_added_and_removed_at_runtime() {
    let system = ActorSystem::new(SystemConfig::default());
    let log = Log::default();
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let nested = root
        .add_supervisor("nested", SupervisorConfig::new(Strategy::RestForOne))
        .await
        .unwrap();
    let a = nested.add_child(worker("na", &log)).await.unwrap();
    let b = nested.add_child(worker("nb", &log)).await.unwrap();
    assert_eq!(root.children()[0].kind, ChildKind::Supervisor);
    assert_eq!(nested.children().len(), 2);
    let mark = log.len();
    root.remove_child("nested").await.unwrap();
    assert_eq!(log.since(mark), ["stop:nb", "stop:na"]);
    assert!(!nested.is_alive() && !a.is_alive() && !b.is_alive());
    assert!(root.children().is_empty());
    // `stop` on a nested supervisor removes it from its parent.
    let other = root
        .add_supervisor("other", SupervisorConfig::default())
        .await
        .unwrap();
    other.add_child(worker("o", &log)).await.unwrap();
    other.stop().await;
    assert!(!other.is_alive());
    assert!(root.children().is_empty());
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_can_use_their_context_to_reach_the_system() {
    struct Spawner;
    impl Actor for Spawner {
        type Message = ();
        type Reply = String;
        type Error = ActorError;
        async fn handle_message(
            &mut self,
            (): (),
            ctx: &mut ActorContext<Self>,
        ) -> Result<String, ActorError> {
            let child = ctx.system().spawn().spawn(Greeter).await?;
            child
                .ask(ctx.name().unwrap_or("?").to_owned())
                .await
                .map_err(|_| ActorError::NotFound {
                    name: "greeter".into(),
                })
        }
    }
    let system = ActorSystem::new(SystemConfig::default());
    let spawner = system.spawn().name("spawner").spawn(Spawner).await.unwrap();
    assert_eq!(spawner.ask(()).await.unwrap(), "hello spawner");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_children_snapshot_follows_adds_removals_and_restarts() {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let log = Log::default();
    let mut refs = Vec::new();
    for i in 0..20 {
        refs.push(
            root.add_child(worker(&format!("w{i}"), &log))
                .await
                .unwrap(),
        );
    }
    root.remove_child("w5").await.unwrap();
    root.remove_child("w12").await.unwrap();
    let mut events = system.subscribe();
    let _ = refs[7].ask(Cmd::Panic).await;
    assert_eq!(refs[7].ask(Cmd::Restarts).await.unwrap(), 1);
    // The supervisor updates its snapshot once the fresh incarnation has started, and
    // before it publishes `Restarted`.
    wait_for(&mut events, is_restarted("w7")).await;
    assert!(
        root.children()
            .iter()
            .any(|c| c.id == "w7" && c.restarts == 1),
        "w7's restart published"
    );
    let children = root.children();
    let ids: Vec<_> = children.iter().map(|c| c.id.as_str()).collect();
    let expected: Vec<String> = (0..20)
        .filter(|i| *i != 5 && *i != 12)
        .map(|i| format!("w{i}"))
        .collect();
    assert_eq!(ids, expected);
    for (child, address) in children.iter().zip(
        refs.iter()
            .enumerate()
            .filter(|(i, _)| *i != 5 && *i != 12)
            .map(|(_, r)| r),
    ) {
        assert_eq!(child.actor_id, Some(address.id()), "{}", child.id);
        assert_eq!(child.status, ChildStatus::Running, "{}", child.id);
        let restarts = if child.id == "w7" { 1 } else { 0 };
        assert_eq!(child.restarts, restarts, "{}", child.id);
    }
    system.shutdown().await.unwrap();
}
