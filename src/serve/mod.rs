//! The serve layer: a host file deployed into an actor system (contract section 5).
//!
//! [`Deployment::load`] reads every manifest the host file names and loads every component
//! (all errors at once: a manifest whose name differs from its `[components]` key, one that
//! asks for more than the host's caps, a component that fails to compile or link); then
//! [`Deployment::start`] starts the supervision tree in order, each top-level supervisor
//! under the actor system and each child in its supervisor's start order, with its restart
//! policy. A user can deploy a host file into their own `ActorSystem`, beside native actors,
//! exactly as `airssys-wasm serve` does.
//!
//! ```no_run
//! use airssys_wasm::manifest::HostFile;
//! use airssys_wasm::serve::Deployment;
//! use airssys_wasm::{EngineConfig, Host};
//! use airssys_wasm_actors::{ActorSystem, SystemConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let file = HostFile::from_file("examples/hosts/host.toml").map_err(|errors| errors[0].clone())?;
//! let system = ActorSystem::new(SystemConfig::default());
//! let host = Host::start(&system, EngineConfig::default()).await?;
//! let deployment = Deployment::load(&host, &file).await?.start().await?;
//! let reply = host.ask("echo", "greet", b"hi").await?;
//! println!("{}", deployment.tree());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use airssys_wasm_actors::{RestartPolicy, Strategy, SupervisorConfig, SupervisorRef};

use crate::engine::LoadedComponent;
use crate::error::{Error, ErrorKind};
use crate::host::{Host, SpawnOptions};
use crate::manifest::host_file::{Caps, HostFile, RestartName, StrategyName, SupervisorDecl};
use crate::manifest::{Manifest, ManifestError};

pub use reload::Reload;
pub use service::Service;

mod reload;
mod service;

/// A deployment that failed: every error found (each manifest's, then each component's
/// load).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", lines(.errors))]
pub struct DeployError {
    /// The errors, at least one.
    pub errors: Vec<Error>,
}

impl DeployError {
    /// The kind of the first error (the command line's exit status follows it).
    pub fn kind(&self) -> ErrorKind {
        self.errors.first().map_or(ErrorKind::Manifest, Error::kind)
    }
}

impl From<Vec<ManifestError>> for DeployError {
    fn from(errors: Vec<ManifestError>) -> Self {
        DeployError {
            errors: errors.into_iter().map(Error::from).collect(),
        }
    }
}

fn lines(errors: &[Error]) -> String {
    let mut text = String::new();
    for (i, error) in errors.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let _ = write!(text, "{error}");
    }
    text
}

/// A host file whose components are all loaded, ready to start.
#[derive(Debug)]
pub struct Deployment {
    host: Host,
    file: HostFile,
    loaded: Vec<Arc<LoadedComponent>>,
    /// What each component was loaded from: its manifest and its wasm's digest (a change
    /// of either is an upgrade on reload).
    versions: BTreeMap<String, Version>,
    top: Vec<SupervisorRef>,
    /// Every supervisor started, top-level and nested, by name.
    supervisors: BTreeMap<String, SupervisorRef>,
}

/// A component's manifest and the SHA-256 of its wasm file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    manifest: Manifest,
    wasm: Option<[u8; 32]>,
}

impl Version {
    fn of(manifest: &Manifest) -> Version {
        use sha2::Digest;
        let wasm = std::fs::read(&manifest.component.wasm)
            .ok()
            .map(|bytes| sha2::Sha256::digest(bytes).into());
        Version {
            manifest: manifest.clone(),
            wasm,
        }
    }
}

impl Deployment {
    /// Reads every manifest of `file` and loads its component in `host` (compiling it, or
    /// taking it from the cache).
    ///
    /// # Errors
    ///
    /// Every error found, not only the first: `manifest` for a manifest that is invalid,
    /// whose `[component].name` is not its `[components]` key, or that asks for more than
    /// a cap of `[host]`; `component` or `link` for a component that does not load.
    pub async fn load(host: &Host, file: &HostFile) -> Result<Deployment, DeployError> {
        let mut errors = Vec::new();
        let mut manifests = Vec::new();
        for (name, path) in &file.components {
            if let Some(manifest) = read_manifest(file, name, path, &mut errors) {
                manifests.push(manifest);
            }
        }
        let mut loaded = Vec::new();
        let mut versions = BTreeMap::new();
        for manifest in manifests {
            let version = Version::of(&manifest);
            match host.load(manifest).await {
                Ok(component) => {
                    versions.insert(component.name().to_string(), version);
                    loaded.push(component);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(DeployError { errors });
        }
        Ok(Deployment {
            host: host.clone(),
            file: file.clone(),
            loaded,
            versions,
            top: Vec::new(),
            supervisors: BTreeMap::new(),
        })
    }

    /// Starts the tree: each top-level supervisor in file order, each supervisor's
    /// children in their start order.
    ///
    /// # Errors
    ///
    /// `stopped` naming the first child that does not start (a component whose instance
    /// fails at its start, a supervisor the runtime refuses); what started before it keeps
    /// running, for the caller to shut down with its actor system.
    pub async fn start(mut self) -> Result<Deployment, DeployError> {
        let one = |error: Error| DeployError {
            errors: vec![error],
        };
        let top: Vec<SupervisorDecl> = self.file.top_level().into_iter().cloned().collect();
        for decl in &top {
            let supervisor = self
                .host
                .system()
                .spawn_supervisor(supervisor_config(decl))
                .name(decl.name.clone())
                .start()
                .await
                .map_err(|e| one(start_failed(&decl.name, &e)))?;
            self.supervisors
                .insert(decl.name.clone(), supervisor.clone());
            self.start_children(&supervisor, decl).await.map_err(one)?;
            self.top.push(supervisor);
        }
        tracing::info!(host = %self.file.host.name, components = self.loaded.len(), "deployment started");
        Ok(self)
    }

    async fn start_children(
        &mut self,
        supervisor: &SupervisorRef,
        decl: &SupervisorDecl,
    ) -> Result<(), Error> {
        for (child, restart) in &decl.children {
            if let Some(nested) = self.file.supervisor(child).cloned() {
                let nested_ref = supervisor
                    .add_supervisor(child.clone(), supervisor_config(&nested))
                    .await
                    .map_err(|e| start_failed(child, &e))?;
                self.supervisors.insert(child.clone(), nested_ref.clone());
                Box::pin(self.start_children(&nested_ref, &nested)).await?;
            } else if let Some(loaded) = self.loaded.iter().find(|l| l.name() == child) {
                self.host
                    .spawn_loaded_with(supervisor, loaded.clone(), spawn_options(*restart))
                    .await?;
            }
        }
        Ok(())
    }

    /// The host it is deployed in.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The host file deployed.
    pub fn file(&self) -> &HostFile {
        &self.file
    }

    /// The top-level supervisors started, in file order (empty before [`start`](Self::start)).
    pub fn supervisors(&self) -> &[SupervisorRef] {
        &self.top
    }

    /// The tree, a line per supervisor and per component, children indented below their
    /// parent (what `airssys-wasm serve --check` prints).
    pub fn tree(&self) -> String {
        let mut text = format!("host {}\n", self.file.host.name);
        for decl in self.file.top_level() {
            self.write_supervisor(&mut text, decl, 1);
        }
        text
    }

    fn write_supervisor(&self, text: &mut String, decl: &SupervisorDecl, depth: usize) {
        let indent = "  ".repeat(depth);
        let _ = writeln!(
            text,
            "{indent}supervisor {} ({}, at most {} restarts in {} ms)",
            decl.name,
            decl.strategy.as_str(),
            decl.restarts,
            decl.within_ms
        );
        for (child, restart) in &decl.children {
            if let Some(nested) = self.file.supervisor(child) {
                self.write_supervisor(text, nested, depth + 1);
            } else if let Some(loaded) = self.loaded.iter().find(|l| l.name() == child) {
                let manifest = loaded.manifest();
                let _ = writeln!(
                    text,
                    "{indent}  component {} {} ({}, {})",
                    child,
                    manifest.component.version,
                    restart.as_str(),
                    manifest.path.display()
                );
            }
        }
    }
}

fn supervisor_config(decl: &SupervisorDecl) -> SupervisorConfig {
    let strategy = match decl.strategy {
        StrategyName::OneForOne => Strategy::OneForOne,
        StrategyName::OneForAll => Strategy::OneForAll,
        StrategyName::RestForOne => Strategy::RestForOne,
    };
    SupervisorConfig::new(strategy)
        .restart_limit(decl.restarts, Duration::from_millis(decl.within_ms))
}

fn spawn_options(name: RestartName) -> SpawnOptions {
    let policy = match name {
        RestartName::Permanent => RestartPolicy::Permanent,
        RestartName::Transient => RestartPolicy::Transient,
        RestartName::Temporary => RestartPolicy::Temporary,
    };
    SpawnOptions::default().restart_policy(policy)
}

/// Reads the manifest of component `name` and checks it against the host file (its name,
/// the caps); `None` after pushing its errors.
fn read_manifest(
    file: &HostFile,
    name: &str,
    path: &std::path::Path,
    errors: &mut Vec<Error>,
) -> Option<Manifest> {
    match Manifest::from_file(path) {
        Ok(manifest) => {
            let before = errors.len();
            check_name(file, name, &manifest, errors);
            check_caps(&file.host.caps, &file.path, &manifest, errors);
            (errors.len() == before).then_some(manifest)
        }
        Err(e) => {
            errors.push(e.into());
            None
        }
    }
}

fn start_failed(name: &str, error: &airssys_wasm_actors::ActorError) -> Error {
    Error::Stopped {
        component: name.to_string(),
        reason: format!("it could not be started: {error}"),
    }
}

/// The manifest's `[component].name` must be its `[components]` key.
fn check_name(file: &HostFile, key: &str, manifest: &Manifest, errors: &mut Vec<Error>) {
    if manifest.component.name != key {
        errors.push(
            ManifestError::Invalid {
                file: file.path.clone(),
                key: format!("components.{key}"),
                expected: format!("the manifest of a component named `{key}`"),
                found: format!(
                    "{}, whose [component].name is {:?}",
                    manifest.path.display(),
                    manifest.component.name
                ),
            }
            .into(),
        );
    }
}

/// A manifest may ask for no more than the host's caps; a limit it leaves out counts at its
/// default.
fn check_caps(
    caps: &Caps,
    host_file: &std::path::Path,
    manifest: &Manifest,
    errors: &mut Vec<Error>,
) {
    let resources = &manifest.resources;
    let checks = [
        (
            "max_memory",
            caps.max_memory,
            resources.max_memory,
            " bytes",
        ),
        (
            "max_fuel_per_execution",
            caps.max_fuel_per_execution,
            resources.max_fuel_per_execution,
            "",
        ),
        (
            "max_execution_time_ms",
            caps.max_execution_time_ms,
            resources.max_execution_time_ms,
            " ms",
        ),
    ];
    for (key, cap, value, unit) in checks {
        if let Some(cap) = cap
            && value > cap
        {
            errors.push(
                ManifestError::Invalid {
                    file: manifest.path.clone(),
                    key: format!("resources.{key}"),
                    expected: format!(
                        "at most {cap}{unit}, the cap of host.{key} in {}",
                        host_file.display()
                    ),
                    found: format!("{value}{unit}"),
                }
                .into(),
            );
        }
    }
}
