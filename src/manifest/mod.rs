//! `Component.toml`: what a component is, the limits it runs under and what it may reach.
//!
//! [`Manifest::from_file`] reads and validates a manifest in one step; every rule of the
//! contract (section 2) is checked here, so a [`Manifest`] in hand is always valid: sizes are
//! resolved to bytes, defaults are filled in and paths are resolved against the manifest's
//! folder. See `Component.toml.example` at the repository's root for every key.
//!
//! ```no_run
//! use airssys_wasm::manifest::Manifest;
//! let manifest = Manifest::from_file("examples/components/echo/Component.toml")?;
//! println!("{} may use {} bytes", manifest.component.name, manifest.resources.max_memory);
//! # Ok::<(), airssys_wasm::manifest::ManifestError>(())
//! ```

mod error;
pub mod host_file;
mod parse;
mod size;
pub(crate) mod toml_file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::ManifestError;
pub use host_file::{
    HostFile, HttpSettings, LatticeAuth, LatticeSettings, LatticeTls, MetricsSettings, RouteDecl,
};
pub use size::{SizeError, parse_size};

/// What a component, supervisor or host name must be, in the files' error messages.
const NAME: &str = "a name of 1-64 characters of [a-z0-9_-]";

/// Fuel per message when the manifest does not say: 1,000,000.
pub const DEFAULT_FUEL_PER_EXECUTION: u64 = 1_000_000;
/// Wall-clock time per message when the manifest does not say: 100 ms.
pub const DEFAULT_EXECUTION_TIME_MS: u64 = 100;
/// The largest `max_memory` a manifest may ask for: 4 GiB.
pub const MAX_MEMORY_LIMIT: u64 = 4 << 30;
/// The largest `max_stack` a manifest may ask for: 512 MiB.
pub const MAX_STACK_LIMIT: u64 = 512 << 20;
/// The longest `max_execution_time_ms` a manifest may ask for: one day.
pub const MAX_EXECUTION_TIME_MS: u64 = 24 * 60 * 60 * 1000;

/// A validated `Component.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest file it was read from (or the path given to [`Manifest::parse`]).
    pub path: PathBuf,
    /// `[component]`: identity and code.
    pub component: ComponentInfo,
    /// `[resources]`: the limits the host enforces.
    pub resources: Resources,
    /// `[capabilities]`: what the component may reach; everything else is denied.
    pub capabilities: Capabilities,
    /// `[config]`: string pairs the component reads through the `config` import.
    pub config: BTreeMap<String, String>,
    /// `[http]`: how a `wasi:http` component serves requests; `None` when the manifest has
    /// no `[http]` table (the defaults apply).
    pub http: Option<HttpOptions>,
}

/// The `[http]` section of a `wasi:http/proxy` component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpOptions {
    /// A fresh instance per request, or instances that serve request after request.
    pub instance: InstanceMode,
    /// Requests served at once (with `reuse`: up to this many instances).
    pub concurrency: u32,
}

/// `[http] concurrency` when the manifest does not say.
pub const DEFAULT_HTTP_CONCURRENCY: u32 = 16;

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            instance: InstanceMode::PerRequest,
            concurrency: DEFAULT_HTTP_CONCURRENCY,
        }
    }
}

/// `[http] instance`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceMode {
    /// A fresh instance for every request (the default).
    #[default]
    PerRequest,
    /// Instances serve request after request, one at a time each.
    Reuse,
}

/// The `[component]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    /// 1-64 characters of `[a-z0-9_-]`; unique within a host.
    pub name: String,
    /// A semantic version, e.g. `1.0.0`.
    pub version: String,
    /// The `.wasm` component or precompiled `.cwasm`, resolved against the manifest's folder.
    pub wasm: PathBuf,
}

/// The `[resources]` section, sizes in bytes, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Linear memory the component may grow to, in bytes (required; at most 4 GiB).
    pub max_memory: u64,
    /// The wasm stack limit, in bytes (required).
    pub max_stack: u64,
    /// Memory the component expects to start with, in bytes (optional; at most `max_memory`).
    pub initial_memory: Option<u64>,
    /// Fuel for one message (default [`DEFAULT_FUEL_PER_EXECUTION`]).
    pub max_fuel_per_execution: u64,
    /// Wall-clock time for one message in milliseconds (default [`DEFAULT_EXECUTION_TIME_MS`]).
    pub max_execution_time_ms: u64,
}

/// The `[capabilities]` section: grants; what is not granted is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Host directories preopened in the guest.
    pub filesystem: Vec<FilesystemGrant>,
    /// The exact environment variables the guest sees.
    pub env: BTreeMap<String, String>,
    /// Outbound TCP/UDP endpoints the guest may reach.
    pub network: Vec<Endpoint>,
    /// Components this one may `send`/`request` to.
    pub messaging: MessagingGrant,
    /// Origins (scheme, host and port) outgoing `wasi:http` requests may go to.
    pub http: Vec<HttpOrigin>,
}

/// An origin an outgoing `wasi:http` request may go to: scheme, host and port must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOrigin {
    /// `http` or `https`.
    pub scheme: String,
    /// The host name or IP address, lowercased.
    pub host: String,
    /// The port (the scheme's default when the grant leaves it out).
    pub port: u16,
}

impl std::fmt::Display for HttpOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// One `filesystem` grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesystemGrant {
    /// The host directory, resolved against the manifest's folder.
    pub host: PathBuf,
    /// The absolute path the guest sees it at.
    pub guest: String,
    /// Read-only or read-write.
    pub access: Access,
}

/// How a filesystem grant may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read files and list directories; no writes, creation or deletion.
    ReadOnly,
    /// Everything inside the directory.
    ReadWrite,
}

/// An outbound `host:port` the guest may connect or send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// An IP address or a host name.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// Which components a component may message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MessagingGrant {
    /// None (the default).
    #[default]
    None,
    /// Any component (`"*"`).
    Any,
    /// Only these names.
    Only(Vec<String>),
}

impl MessagingGrant {
    /// Whether messages to `target` are allowed.
    pub fn allows(&self, target: &str) -> bool {
        match self {
            MessagingGrant::None => false,
            MessagingGrant::Any => true,
            MessagingGrant::Only(names) => names.iter().any(|n| n == target),
        }
    }
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    ///
    /// # Errors
    ///
    /// A [`ManifestError`] naming the file, the key and what was expected.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError::Read {
            file: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Manifest::parse(&text, path)
    }

    /// Validates manifest text as if it were read from `path` (relative paths in it are
    /// resolved against `path`'s folder, and the files they name must exist).
    ///
    /// # Errors
    ///
    /// A [`ManifestError`] naming the file, the key and what was expected.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        parse::parse(text, path.as_ref())
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.component.name
    }
}

/// Checks a component name: 1-64 characters of `[a-z0-9_-]`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
