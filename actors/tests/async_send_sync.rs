//! Compile-time checks: handles are `Send + Sync + Clone`, futures are `Send`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{Cmd, Log, Worker, WorkerError, worker};

fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
fn send<T: Send>(_: &T) {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn handles_are_send_sync_and_clone() {
    send_sync_clone::<ActorRef<Worker>>();
    send_sync_clone::<SupervisorRef>();
    send_sync_clone::<ActorSystem>();
    send_sync_clone::<ActorError>();
    send_sync_clone::<LifecycleEvent>();
}

#[test]
fn errors_are_std_errors() {
    error::<ActorError>();
    error::<AskError<WorkerError>>();
    error::<SendError<Cmd>>();
}

#[allow(dead_code, reason = "only type-checked")]
fn futures_are_send(system: &ActorSystem, actor: &ActorRef<Worker>, root: &SupervisorRef) {
    send(&actor.tell(Cmd::Get));
    send(&actor.ask(Cmd::Get));
    send(&actor.try_ask(Cmd::Get));
    send(&actor.ask_timeout(Cmd::Get, std::time::Duration::from_secs(1)));
    send(&root.add_child(worker("x", &Log::default())));
    send(&root.remove_child("x"));
    send(&system.shutdown());
    send(&system.spawn().spawn(Worker::new("y", &Log::default())));
    send(&std::future::IntoFuture::into_future(
        system.spawn_supervisor(SupervisorConfig::default()),
    ));
}
