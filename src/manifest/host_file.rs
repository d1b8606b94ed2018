//! The host file (`serve HOSTFILE`, contract section 5): what one host process runs, its
//! supervision tree and the caps it puts on what a manifest may ask for.
//!
//! Read like a `Component.toml` (through `from_toml`: serde with `deny_unknown_fields`,
//! the dotted key of every error), then checked as a whole by `validate`: the tree's rules
//! need every section at once (a child named twice, an unknown name, a cycle, a supervisor
//! with no children, a component in no supervisor), so they are hand-written, and every
//! broken rule of a file is reported, not only the first.
//!
//! `[http]` (its listener and `[[http.route]]`, contract section 6), `[metrics]` (section
//! 7) and `[lattice]` (section 8) are read here too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::toml_file::{KeyDoc, from_toml, optional_count, optional_size};
use super::{MAX_EXECUTION_TIME_MS, MAX_MEMORY_LIMIT, ManifestError, NAME, is_valid_name};

/// `drain_timeout_ms` when the host file does not say: 5 s.
pub const DEFAULT_DRAIN_TIMEOUT_MS: u64 = 5_000;
/// `[http] max_request_body` when the host file does not say: 1 MiB.
pub const DEFAULT_MAX_REQUEST_BODY: u64 = 1 << 20;
/// `[http] max_connections` when the host file does not say.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 1024;
/// A supervisor's `restarts` when the host file does not say.
pub const DEFAULT_RESTARTS: u32 = 3;
/// A supervisor's `within_ms` when the host file does not say: 60 s.
pub const DEFAULT_WITHIN_MS: u64 = 60_000;

/// A validated host file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[host]`: the host's name, caps and drain timeout.
    pub host: HostSettings,
    /// `[components]`: each component's name and its manifest, resolved against the host
    /// file's folder, in file order.
    pub components: Vec<(String, PathBuf)>,
    /// `[supervisors.NAME]`, in file order.
    pub supervisors: Vec<SupervisorDecl>,
    /// `[http]`: HTTP is off without it.
    pub http: Option<HttpSettings>,
    /// `[metrics]`: the listener of `/metrics`, `/healthz` and `/readyz`; off without it.
    pub metrics: Option<MetricsSettings>,
    /// `[lattice]`: the NATS servers through which this host and others serve each other;
    /// the host is on its own without it.
    pub lattice: Option<LatticeSettings>,
}

/// `[lattice] name` when the host file does not say.
pub const DEFAULT_LATTICE: &str = "default";

/// The `[lattice]` section (contract section 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatticeSettings {
    /// The lattice's name: hosts with the same name and NATS servers serve each other.
    pub name: String,
    /// The NATS servers' URLs (`nats://HOST:PORT`, `tls://HOST:PORT`).
    pub nats: Vec<String>,
    /// How the host proves who it is to the servers.
    pub auth: LatticeAuth,
    /// `tls = { ca, cert, key }`; TLS is also used when a URL is `tls://` or the server
    /// asks for it.
    pub tls: Option<LatticeTls>,
    /// The components other hosts reach; `None`: all of this host's.
    pub export: Option<Vec<String>>,
}

impl LatticeSettings {
    /// Whether other hosts of the lattice may reach the component `name` of this host.
    pub fn exports(&self, name: &str) -> bool {
        self.export
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }
}

/// A lattice's credentials: at most one way, each a file resolved against the host file's
/// folder (read when the host starts, never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatticeAuth {
    /// No credentials.
    None,
    /// `credentials = "host.creds"`: a NATS `.creds` file (JWT and NKey seed).
    Credentials(PathBuf),
    /// `token_file = "token"`: a file holding the token.
    Token(PathBuf),
    /// `nkey_seed_file = "host.nk"`: a file holding an NKey seed (`SU...`).
    NkeySeed(PathBuf),
}

/// `[lattice] tls`: the CA that signs the servers' certificates, and the client's own
/// certificate and key for servers that verify clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatticeTls {
    /// PEM file of the CA certificates the servers' certificates are checked against.
    pub ca: Option<PathBuf>,
    /// PEM file of the client certificate (with `key`).
    pub cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key (with `cert`).
    pub key: Option<PathBuf>,
}

/// The `[http]` section (contract section 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The largest request body, in bytes; a larger one gets 413.
    pub max_request_body: u64,
    /// Connections served at once; past it, new connections wait.
    pub max_connections: u64,
    /// `[[http.route]]`, in file order.
    pub routes: Vec<RouteDecl>,
}

/// One `[[http.route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecl {
    /// `/hello` matches exactly that path; `/api/...` matches `/api` and everything under it.
    pub path: String,
    /// The component it reaches (one of `[components]`).
    pub component: String,
    /// The message's topic, for message components; `None`: the request path.
    pub topic: Option<String>,
}

impl RouteDecl {
    /// The path without its `/...` suffix, and whether it is a prefix route.
    pub fn pattern(&self) -> (&str, bool) {
        match self.path.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None => (self.path.as_str(), false),
        }
    }
}

/// The `[metrics]` section (contract section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The address of `/metrics`, `/healthz` and `/readyz`.
    pub listen: SocketAddr,
}

/// The `[host]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    /// The host's name: `[host] name`, or the machine's host name made into a valid name.
    pub name: String,
    /// The caps on what a component's manifest may ask for (a limit it leaves out counts at
    /// its default).
    pub caps: Caps,
    /// How long in-flight work may finish on SIGTERM, in milliseconds.
    pub drain_timeout_ms: u64,
}

/// Caps on a manifest's `[resources]`; `None` is no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// The largest `max_memory`, in bytes.
    pub max_memory: Option<u64>,
    /// The largest `max_fuel_per_execution`.
    pub max_fuel_per_execution: Option<u64>,
    /// The largest `max_execution_time_ms`.
    pub max_execution_time_ms: Option<u64>,
}

/// One `[supervisors.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorDecl {
    /// Its name (the table's), unique among supervisors and components.
    pub name: String,
    /// How a crash of one child affects the others.
    pub strategy: StrategyName,
    /// At most `restarts` restarts within `within_ms`, or the supervisor gives up.
    pub restarts: u32,
    /// The intensity's window, in milliseconds.
    pub within_ms: u64,
    /// Its children (components and supervisors), in start order, each with its restart
    /// policy.
    pub children: Vec<(String, RestartName)>,
}

/// A supervisor's `strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// Restart the crashed child only (the default).
    #[default]
    OneForOne,
    /// Restart every child.
    OneForAll,
    /// Restart the crashed child and those started after it.
    RestForOne,
}

/// A child's restart policy (`restart = { child = "..." }`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartName {
    /// Always restarted (the default).
    #[default]
    Permanent,
    /// Restarted after a crash only.
    Transient,
    /// Never restarted.
    Temporary,
}

impl StrategyName {
    /// The name as the host file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyName::OneForOne => "one-for-one",
            StrategyName::OneForAll => "one-for-all",
            StrategyName::RestForOne => "rest-for-one",
        }
    }
}

impl RestartName {
    /// The name as the host file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartName::Permanent => "permanent",
            RestartName::Transient => "transient",
            RestartName::Temporary => "temporary",
        }
    }
}

impl HostFile {
    /// Reads and validates a host file.
    ///
    /// # Errors
    ///
    /// The file's errors, every one of them (a file with several broken rules reports them
    /// all), each a [`ManifestError`] naming the file and the dotted key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<HostFile, Vec<ManifestError>> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ManifestError::Read {
                file: path.to_path_buf(),
                reason: e.to_string(),
            }]
        })?;
        HostFile::parse(&text, path)
    }

    /// Validates host-file text; `path` names it in errors and anchors relative paths.
    ///
    /// # Errors
    ///
    /// As [`HostFile::from_file`].
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<HostFile, Vec<ManifestError>> {
        let path = path.as_ref();
        let raw: RawHostFile = from_toml(path, text, key_doc).map_err(|e| vec![e])?;
        validate(raw, path)
    }

    /// The supervisors that are nobody's child, in file order: they sit directly under the
    /// host.
    pub fn top_level(&self) -> Vec<&SupervisorDecl> {
        let children: BTreeSet<&str> = self
            .supervisors
            .iter()
            .flat_map(|s| s.children.iter().map(|(child, _)| child.as_str()))
            .collect();
        self.supervisors
            .iter()
            .filter(|s| !children.contains(s.name.as_str()))
            .collect()
    }

    /// The supervisor named `name`.
    pub fn supervisor(&self, name: &str) -> Option<&SupervisorDecl> {
        self.supervisors.iter().find(|s| s.name == name)
    }

    /// The manifest of the component named `name`.
    pub fn component(&self, name: &str) -> Option<&Path> {
        self.components
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_path())
    }
}

fn key_doc(key: &str) -> Option<KeyDoc> {
    // `supervisors.NAME.children` is documented as `supervisors.children`.
    let generic;
    let key = match key
        .strip_prefix("supervisors.")
        .and_then(|rest| rest.split_once('.'))
    {
        Some((_, field)) => {
            generic = format!("supervisors.{field}");
            generic.as_str()
        }
        None => key,
    };
    let expected = match key {
        "host" => "[host]: a table",
        "host.name" => NAME,
        "components" => "[components]: a table of name = \"path/to/Component.toml\"",
        "supervisors" => "[supervisors.NAME] tables",
        "supervisors.children" => "an array of component and supervisor names, in start order",
        "supervisors.restart" => "a table of child = \"permanent\" | \"transient\" | \"temporary\"",
        "http" => "[http]: a table with listen = \"IP:PORT\" and [[http.route]] tables",
        "http.route" => "[[http.route]] tables with path, component and an optional topic",
        "http.max_connections" => "a whole number of connections, at least 1",
        "http.max_request_body" => "a size such as \"1MB\", or a number of bytes",
        "metrics" => "[metrics]: a table with listen = \"IP:PORT\"",
        "lattice" => "[lattice]: a table with name and nats = [\"nats://HOST:PORT\"]",
        "lattice.name" => NAME,
        "lattice.nats" => "an array of NATS server URLs such as \"nats://127.0.0.1:4222\"",
        "lattice.export" => "an array of component names",
        "lattice.tls" => {
            "a table { ca = \"ca.pem\", cert = \"client.pem\", key = \"client-key.pem\" }"
        }
        _ => return None,
    };
    Some(KeyDoc {
        expected,
        example: "",
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHostFile {
    #[serde(default)]
    host: RawHost,
    #[serde(default, deserialize_with = "in_order")]
    components: Vec<(String, String)>,
    #[serde(default, deserialize_with = "in_order")]
    supervisors: Vec<(String, RawSupervisor)>,
    http: Option<RawHttp>,
    metrics: Option<RawMetrics>,
    lattice: Option<RawLattice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLattice {
    name: Option<String>,
    nats: Vec<String>,
    credentials: Option<String>,
    token_file: Option<String>,
    nkey_seed_file: Option<String>,
    tls: Option<RawTls>,
    export: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: String,
    #[serde(default, deserialize_with = "optional_size::<_, { u64::MAX }>")]
    max_request_body: Option<u64>,
    #[serde(default, deserialize_with = "optional_count::<_, 1_000_000>")]
    max_connections: Option<u64>,
    #[serde(default)]
    route: Vec<RawRoute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: String,
    component: String,
    topic: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Option<String>,
    #[serde(default, deserialize_with = "optional_size::<_, MAX_MEMORY_LIMIT>")]
    max_memory: Option<u64>,
    #[serde(default, deserialize_with = "optional_count::<_, { u64::MAX }>")]
    max_fuel_per_execution: Option<u64>,
    #[serde(
        default,
        deserialize_with = "optional_count::<_, MAX_EXECUTION_TIME_MS>"
    )]
    max_execution_time_ms: Option<u64>,
    #[serde(
        default,
        deserialize_with = "optional_count::<_, MAX_EXECUTION_TIME_MS>"
    )]
    drain_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    #[serde(default)]
    strategy: StrategyName,
    #[serde(default, deserialize_with = "optional_count::<_, { u32::MAX as u64 }>")]
    restarts: Option<u64>,
    #[serde(
        default,
        deserialize_with = "optional_count::<_, MAX_EXECUTION_TIME_MS>"
    )]
    within_ms: Option<u64>,
    children: Vec<String>,
    #[serde(default)]
    restart: BTreeMap<String, RestartName>,
}

/// A TOML table as its pairs, in file order (serde's maps would sort or hash them, and the
/// start order of top-level supervisors follows the file).
fn in_order<'de, D, V>(d: D) -> Result<Vec<(String, V)>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Pairs<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Pairs<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a table")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut pairs = Vec::new();
            while let Some(pair) = map.next_entry()? {
                pairs.push(pair);
            }
            Ok(pairs)
        }
    }
    d.deserialize_map(Pairs(std::marker::PhantomData))
}

/// The machine's host name made into a valid host name: lowercased, other characters
/// replaced by `-`, cut to 64 (contract section 5); `host` when it has none.
pub fn default_host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if matches!(c, 'a'..='z' | '0'..='9' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() { "host".into() } else { name }
}

/// An `IP:PORT` (port 0: any free port).
fn listen_address(
    key: &str,
    text: &str,
    errors: &mut Vec<ManifestError>,
    invalid: &impl Fn(String, &str, String) -> ManifestError,
) -> SocketAddr {
    text.parse().unwrap_or_else(|_| {
        errors.push(invalid(
            key.into(),
            "an IP address and port, such as \"127.0.0.1:8080\" or \"[::1]:8080\"",
            format!("{text:?}"),
        ));
        SocketAddr::from(([127, 0, 0, 1], 0))
    })
}

/// `[http]`: its listener, and routes whose paths are well formed and unique and whose
/// components exist.
fn validate_http(
    raw: &RawHttp,
    components: &BTreeSet<&str>,
    errors: &mut Vec<ManifestError>,
    invalid: &impl Fn(String, &str, String) -> ManifestError,
) -> HttpSettings {
    let listen = listen_address("http.listen", &raw.listen, errors, invalid);
    let mut seen = BTreeSet::new();
    let mut routes = Vec::new();
    for (i, route) in raw.route.iter().enumerate() {
        let key = format!("http.route[{i}]");
        let exact = route.path.strip_suffix("/...").unwrap_or(&route.path);
        let well_formed = route.path.starts_with('/')
            && !exact.contains("...")
            && !route
                .path
                .contains(|c: char| c == '?' || c == '#' || c.is_whitespace());
        if !well_formed {
            errors.push(invalid(
                format!("{key}.path"),
                "a path such as \"/hello\" (exact) or \"/api/...\" (it and everything under it), without a query",
                format!("{:?}", route.path),
            ));
        } else if !seen.insert(route.path.as_str()) {
            errors.push(invalid(
                format!("{key}.path"),
                "a path no other route has",
                format!("{:?}, already the path of an earlier route", route.path),
            ));
        }
        if !components.contains(route.component.as_str()) {
            errors.push(invalid(
                format!("{key}.component"),
                "the name of one of [components]",
                format!("{:?}, not in [components]", route.component),
            ));
        }
        routes.push(RouteDecl {
            path: route.path.clone(),
            component: route.component.clone(),
            topic: route.topic.clone(),
        });
    }
    HttpSettings {
        listen,
        max_request_body: raw.max_request_body.unwrap_or(DEFAULT_MAX_REQUEST_BODY),
        max_connections: raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        routes,
    }
}

/// `url` without the user, password or token it may carry (`nats://***@HOST:PORT`), for
/// messages and logs.
pub(crate) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn validate_lattice(
    raw: &RawLattice,
    file: &Path,
    base: &Path,
    errors: &mut Vec<ManifestError>,
    invalid: &impl Fn(String, &str, String) -> ManifestError,
) -> LatticeSettings {
    let name = raw.name.clone().unwrap_or_else(|| DEFAULT_LATTICE.into());
    if !is_valid_name(&name) {
        errors.push(invalid("lattice.name".into(), NAME, format!("{name:?}")));
    }
    if raw.nats.is_empty() {
        errors.push(invalid(
            "lattice.nats".into(),
            "at least one NATS server URL such as \"nats://127.0.0.1:4222\"",
            "[]".into(),
        ));
    }
    for (i, url) in raw.nats.iter().enumerate() {
        let rest = url
            .strip_prefix("nats://")
            .or_else(|| url.strip_prefix("tls://"));
        let host_port = rest.map(|rest| rest.rsplit('@').next().unwrap_or(rest));
        if !host_port.is_some_and(|hp| {
            hp.rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        }) {
            errors.push(invalid(
                format!("lattice.nats[{i}]"),
                "a NATS server URL: nats://HOST:PORT or tls://HOST:PORT",
                format!("{:?}", redacted(url)),
            ));
        }
    }
    let file_at = |errors: &mut Vec<ManifestError>, key: &str, value: &str, what: &str| {
        let path = base.join(value);
        if !path.is_file() {
            errors.push(ManifestError::MissingPath {
                file: file.to_path_buf(),
                key: key.into(),
                what: what.into(),
                path: path.clone(),
            });
        }
        path
    };
    let mut ways = Vec::new();
    if let Some(creds) = &raw.credentials {
        ways.push((
            "credentials",
            LatticeAuth::Credentials(file_at(
                errors,
                "lattice.credentials",
                creds,
                "the NATS .creds file",
            )),
        ));
    }
    if let Some(token) = &raw.token_file {
        ways.push((
            "token_file",
            LatticeAuth::Token(file_at(
                errors,
                "lattice.token_file",
                token,
                "the NATS token file",
            )),
        ));
    }
    if let Some(seed) = &raw.nkey_seed_file {
        ways.push((
            "nkey_seed_file",
            LatticeAuth::NkeySeed(file_at(
                errors,
                "lattice.nkey_seed_file",
                seed,
                "the NKey seed file",
            )),
        ));
    }
    if ways.len() > 1 {
        errors.push(invalid(
            "lattice".into(),
            "at most one of credentials, token_file and nkey_seed_file",
            ways.iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(" and "),
        ));
    }
    let auth = ways.pop().map_or(LatticeAuth::None, |(_, auth)| auth);
    let tls = raw.tls.as_ref().map(|tls| {
        if tls.cert.is_some() != tls.key.is_some() {
            errors.push(invalid(
                "lattice.tls".into(),
                "cert and key together (a client certificate and its private key)",
                if tls.cert.is_some() {
                    "cert without key"
                } else {
                    "key without cert"
                }
                .into(),
            ));
        }
        LatticeTls {
            ca: tls
                .ca
                .as_ref()
                .map(|ca| file_at(errors, "lattice.tls.ca", ca, "the CA certificates (PEM)")),
            cert: tls.cert.as_ref().map(|cert| {
                file_at(
                    errors,
                    "lattice.tls.cert",
                    cert,
                    "the client certificate (PEM)",
                )
            }),
            key: tls
                .key
                .as_ref()
                .map(|key| file_at(errors, "lattice.tls.key", key, "the client key (PEM)")),
        }
    });
    if let Some(export) = &raw.export {
        for (i, name) in export.iter().enumerate() {
            if !is_valid_name(name) {
                errors.push(invalid(
                    format!("lattice.export[{i}]"),
                    NAME,
                    format!("{name:?}"),
                ));
            }
        }
    }
    LatticeSettings {
        name,
        nats: raw.nats.clone(),
        auth,
        tls,
        export: raw.export.clone(),
    }
}

/// The rules over the whole file; every broken one is reported.
fn validate(raw: RawHostFile, file: &Path) -> Result<HostFile, Vec<ManifestError>> {
    let mut errors = Vec::new();
    let invalid = |key: String, expected: &str, found: String| ManifestError::Invalid {
        file: file.to_path_buf(),
        key,
        expected: expected.to_string(),
        found,
    };
    let name = match raw.host.name {
        Some(name) if !is_valid_name(&name) => {
            errors.push(invalid("host.name".into(), NAME, format!("{name:?}")));
            name
        }
        Some(name) => name,
        None => default_host_name(),
    };
    let base = file.parent().unwrap_or(Path::new("."));

    let mut components = Vec::new();
    for (name, manifest) in &raw.components {
        let key = format!("components.{name}");
        if !is_valid_name(name) {
            errors.push(invalid(key.clone(), NAME, format!("{name:?}")));
        }
        let path = base.join(manifest);
        if !path.is_file() {
            errors.push(ManifestError::MissingPath {
                file: file.to_path_buf(),
                key,
                what: "the component's manifest".into(),
                path: path.clone(),
            });
        }
        components.push((name.clone(), path));
    }
    let component_names: BTreeSet<&str> = raw.components.iter().map(|(n, _)| n.as_str()).collect();
    let supervisor_names: BTreeSet<&str> =
        raw.supervisors.iter().map(|(n, _)| n.as_str()).collect();

    // Who is whose child: a name given twice (in one supervisor or two) is an error.
    let mut parent_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut supervisors = Vec::new();
    for (name, sup) in &raw.supervisors {
        let key = format!("supervisors.{name}");
        if !is_valid_name(name) {
            errors.push(invalid(key.clone(), NAME, format!("{name:?}")));
        }
        if component_names.contains(name.as_str()) {
            errors.push(invalid(
                key.clone(),
                "a name no component has: supervisors and components share one namespace",
                format!("{name:?}, also in [components]"),
            ));
        }
        if sup.children.is_empty() {
            errors.push(invalid(
                format!("{key}.children"),
                "at least one component or supervisor",
                "[]".into(),
            ));
        }
        for child in &sup.children {
            let known = component_names.contains(child.as_str())
                || supervisor_names.contains(child.as_str());
            if !known {
                errors.push(invalid(
                    format!("{key}.children"),
                    "names of [components] or [supervisors.NAME]",
                    format!("{child:?}, which is neither"),
                ));
            } else if child == name {
                errors.push(invalid(
                    format!("{key}.children"),
                    "children other than the supervisor itself",
                    format!("{child:?}"),
                ));
            } else if let Some(first) = parent_of.get(child.as_str()) {
                // The first parent stays: the cycle check below follows it.
                errors.push(invalid(
                    format!("{key}.children"),
                    "each child under exactly one supervisor, once",
                    format!("{child:?}, already a child of `{first}`"),
                ));
            } else {
                parent_of.insert(child.as_str(), name.as_str());
            }
        }
        for child in sup.restart.keys() {
            if supervisor_names.contains(child.as_str()) && sup.children.contains(child) {
                errors.push(invalid(
                    format!("{key}.restart.{child}"),
                    "a policy for a component child (a supervisor is restarted as its parent's strategy says)",
                    format!("{child:?}, a supervisor"),
                ));
            } else if !sup.children.contains(child) {
                errors.push(invalid(
                    format!("{key}.restart.{child}"),
                    "a policy for one of this supervisor's children",
                    format!("{child:?}, not in {key}.children"),
                ));
            }
        }
        // `restarts` is read with `u32::MAX` as its bound.
        let restarts = sup
            .restarts
            .map_or(DEFAULT_RESTARTS, |n| u32::try_from(n).unwrap_or(u32::MAX));
        supervisors.push(SupervisorDecl {
            name: name.clone(),
            strategy: sup.strategy,
            restarts,
            within_ms: sup.within_ms.unwrap_or(DEFAULT_WITHIN_MS),
            children: sup
                .children
                .iter()
                .map(|c| (c.clone(), sup.restart.get(c).copied().unwrap_or_default()))
                .collect(),
        });
    }
    for (name, _) in &raw.components {
        if !parent_of.contains_key(name.as_str()) {
            errors.push(invalid(
                format!("components.{name}"),
                "a component that is the child of a supervisor ([supervisors.NAME] children)",
                format!("{name:?}, in no supervisor"),
            ));
        }
    }
    if raw.components.is_empty() {
        errors.push(ManifestError::Missing {
            file: file.to_path_buf(),
            key: "components".into(),
            expected: "[components]: at least one name = \"path/to/Component.toml\"".into(),
            example: String::new(),
        });
    }
    // A cycle: following parents from a supervisor comes back to it.
    for name in supervisor_names.iter().copied() {
        let mut seen = BTreeSet::from([name]);
        let mut at = name;
        while let Some(parent) = parent_of.get(at).copied() {
            if !seen.insert(parent) {
                if parent == name {
                    errors.push(invalid(
                        format!("supervisors.{name}.children"),
                        "a tree: no supervisor may be its own ancestor",
                        format!("a cycle through `{name}`"),
                    ));
                }
                break;
            }
            at = parent;
        }
    }
    let http = raw
        .http
        .as_ref()
        .map(|http| validate_http(http, &component_names, &mut errors, &invalid));
    let metrics = raw.metrics.as_ref().map(|metrics| MetricsSettings {
        listen: listen_address("metrics.listen", &metrics.listen, &mut errors, &invalid),
    });
    if let (Some(http), Some(metrics)) = (&http, &metrics)
        && http.listen == metrics.listen
        && http.listen.port() != 0
    {
        errors.push(invalid(
            "metrics.listen".into(),
            "an address other than http.listen (metrics are served on a listener of their own)",
            format!("{:?}, also http.listen", metrics.listen.to_string()),
        ));
    }
    let lattice = raw
        .lattice
        .as_ref()
        .map(|lattice| validate_lattice(lattice, file, base, &mut errors, &invalid));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(HostFile {
        http,
        metrics,
        lattice,
        path: file.to_path_buf(),
        host: HostSettings {
            name,
            caps: Caps {
                max_memory: raw.host.max_memory,
                max_fuel_per_execution: raw.host.max_fuel_per_execution,
                max_execution_time_ms: raw.host.max_execution_time_ms,
            },
            drain_timeout_ms: raw
                .host
                .drain_timeout_ms
                .unwrap_or(DEFAULT_DRAIN_TIMEOUT_MS),
        },
        components,
        supervisors,
    })
}
