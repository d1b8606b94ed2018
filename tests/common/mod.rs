//! Helpers shared by the integration tests: the example components, temporary manifests,
//! and a host engine with a private compilation cache.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use airssys_wasm::{EngineConfig, Engines, Host, Manifest};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SupervisorRef, SystemConfig};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The manifest of an example component, checking its wasm was built.
pub fn manifest_path(name: &str) -> PathBuf {
    let dir = root().join("examples/components").join(name);
    let wasm = dir.join(format!("{name}.wasm"));
    assert!(
        wasm.is_file(),
        "{} is missing: run scripts/build-guests first",
        wasm.display()
    );
    dir.join("Component.toml")
}

/// The built wasm of an example component.
pub fn wasm_path(name: &str) -> PathBuf {
    manifest_path(name).with_file_name(format!("{name}.wasm"))
}

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "airssys-wasm-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` inside the folder and returns its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a manifest named `name` for the example guest `guest`, with these `[resources]`
/// lines and any extra sections, into `dir`.
pub fn manifest_for(
    dir: &TempDir,
    guest: &str,
    name: &str,
    resources: &str,
    extra: &str,
) -> PathBuf {
    dir.write(
        &format!("{name}.toml"),
        manifest_text(guest, name, resources, extra),
    )
}

/// The text of a manifest named `name` for the example guest `guest`, with these
/// `[resources]` lines and any extra sections.
pub fn manifest_text(guest: &str, name: &str, resources: &str, extra: &str) -> String {
    format!(
        "[component]\nname = \"{name}\"\nversion = \"1.0.0\"\nwasm = \"{}\"\n\n[resources]\n{resources}\n\n{extra}\n",
        wasm_path(guest).display()
    )
}

/// A host engine using the tests' compilation cache.
pub fn engine() -> Engines {
    Engines::new(EngineConfig::default().cache_dir(Some(cache_dir()))).unwrap()
}

/// The compilation cache shared by all test processes (inside `target/`, so a clean build
/// starts it afresh): each component compiles once per test run, not once per test binary.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compile-cache")
}

/// The host's logs (debug and up), captured once for the whole test binary by a global
/// `tracing` subscriber. Filter the lines by a marker unique to the test.
pub fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Capture(buffer))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
}

/// The captured log lines that mention `component=<name>`.
pub fn log_lines_of(name: &str) -> Vec<String> {
    let text = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    let tags = [format!("component={name}"), format!("component=\"{name}\"")];
    text.lines()
        .filter(|l| l.split_whitespace().any(|w| tags.iter().any(|t| t == w)))
        .map(str::to_string)
        .collect()
}

struct Capture(&'static Mutex<Vec<u8>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

/// A top-level supervisor allowing `restarts` restarts a minute.
pub async fn supervisor(system: &ActorSystem, strategy: Strategy, restarts: u32) -> SupervisorRef {
    system
        .spawn_supervisor(
            SupervisorConfig::new(strategy).restart_limit(restarts, Duration::from_secs(60)),
        )
        .start()
        .await
        .unwrap()
}

/// Spawns the faulty guest as `name` under `sup`, with these `[resources]` and messaging to
/// any component.
pub async fn faulty_with(
    host: &Host,
    sup: &SupervisorRef,
    dir: &TempDir,
    name: &str,
    resources: &str,
) {
    let path = manifest_for(
        dir,
        "faulty",
        name,
        resources,
        "[capabilities]\nmessaging = [\"*\"]",
    );
    host.spawn_component(sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap();
}

/// Waits until `check` holds, failing after 5 s.
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The reply's payload as text; panics on an error or a payload that is not UTF-8.
pub fn reply_text(reply: Result<airssys_wasm::Reply, airssys_wasm::Error>) -> String {
    String::from_utf8(reply.unwrap().payload).unwrap()
}
