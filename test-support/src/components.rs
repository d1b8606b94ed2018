//! Hosts and components (feature `host`): a host using the tests' compilation cache, the
//! `faulty` guest spawned under a supervisor, the wait for a call to start, and the
//! `airssys-wasm` binary with the tests' cache.

use std::ffi::OsStr;
use std::fmt::Display;
use std::process::Command;

use airssys_wasm::{EngineConfig, Engines, Host, Manifest, WasmComponentActor};
use airssys_wasm_actors::{ActorRef, ActorSystem, SupervisorRef, SystemConfig};

use crate::files::{TempDir, cache_dir, manifest_for};
use crate::logs::{calls_started, capturing};
use crate::wait::{WAIT, wait_until};

/// A host engine using the tests' compilation cache.
pub fn engine() -> Engines {
    Engines::new(EngineConfig::default().cache_dir(Some(cache_dir())))
}

/// An actor system and a host in it, using the tests' compilation cache.
pub async fn host() -> (ActorSystem, Host) {
    host_in(SystemConfig::default()).await
}

/// As [`host`], in a system with this configuration.
pub async fn host_in(config: SystemConfig) -> (ActorSystem, Host) {
    let system = ActorSystem::new(config);
    let host = Host::start(
        &system,
        EngineConfig::default().cache_dir(Some(cache_dir())),
    )
    .await
    .unwrap();
    (system, host)
}

/// Spawns the faulty guest as `name` under `sup`, with these `[resources]` and messaging to
/// any component; returns its actor (for its mailbox length).
pub async fn faulty_with(
    host: &Host,
    sup: &SupervisorRef,
    dir: &TempDir,
    name: &str,
    resources: impl Display,
) -> ActorRef<WasmComponentActor> {
    let path = manifest_for(
        dir,
        "faulty",
        name,
        resources,
        "[capabilities]\nmessaging = [\"*\"]",
    );
    host.spawn_component(sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap()
}

/// Waits (up to [`WAIT`]) until `component` has started handling a message of `topic`:
/// from then on it is running it (on its actor's task or its caller's), until the message
/// ends. Needs the log capture, installed by [`crate::logs()`] before the message is sent.
pub async fn until_call_started(component: &str, topic: &str) {
    assert!(
        capturing(),
        "call logs() before sending the message: calls are seen in the host's spans"
    );
    wait_until(WAIT, || calls_started(component, topic) > 0).await;
}

/// The `airssys-wasm` binary `bin` (pass `env!("CARGO_BIN_EXE_airssys-wasm")`, which only
/// a test target of the root crate has), using the tests' compilation cache and without
/// the caller's `RUST_LOG`.
pub fn airssys_wasm_command(bin: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(bin);
    command
        .env_remove("RUST_LOG")
        .env("AIRSSYS_WASM_CACHE_DIR", cache_dir());
    command
}
