//! Reads a `Component.toml` into a [`Manifest`], checking every rule of the contract (section 2).
//!
//! Serde's (through [`from_toml`]): TOML syntax (toml, with line and column), the type of
//! every key, required keys and sections, unknown keys anywhere (`deny_unknown_fields`),
//! the `access` values (an enum), defaults of the optional keys and sections, and the dotted
//! key of each error (`serde_path_to_error`).
//!
//! Hand-written, each for a contract message serde cannot produce:
//! - in `toml_file.rs`: serde's messages mapped to the file/key/expected/found fields, the
//!   sizes and counts (units and ranges, with the range in the expected text); see there.
//! - [`key_doc`]: what a key holds, in the contract's words where serde has only "missing
//!   field `x`" or "a string"; for `[resources]` and its `max_memory` and `max_stack`, the
//!   example section the contract asks for.
//! - [`validate`], the rules on values of the right type, which serde's types do not
//!   express: the name's charset and length, semver, the wasm file and the filesystem
//!   grants' host folders existing relative to the manifest (file system, not text),
//!   `initial_memory` at most `max_memory` (two keys), absolute guest paths, environment
//!   variable names without `=`, network `host:port`, and messaging's component names or `"*"`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::toml_file::{KeyDoc, count, from_toml, optional_count, optional_size, size};
use super::*;

const RESOURCES_EXAMPLE: &str = "\n\nEvery component must declare its memory and stack limits, for example:\n\n\
    [resources]\n\
    max_memory = \"128MB\"   # required: linear memory the component may grow to\n\
    max_stack = \"2MB\"      # required: wasm stack limit\n\
    initial_memory = \"16MB\" # optional\n";

const VERSION: &str = "a semantic version such as \"1.0.0\"";
const WASM: &str = "the path of a .wasm component or .cwasm file, relative to the manifest";
const HOST: &str = "a host directory, relative to the manifest";
const GUEST: &str = "an absolute guest path such as \"/data\"";
const ACCESS: &str = "\"read-only\" or \"read-write\"";
/// `max_fuel_per_execution` has no bound but `u64`'s.
const MAX_FUEL: u64 = u64::MAX;

pub(super) fn parse(text: &str, file: &Path) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = from_toml(file, text, key_doc)?;
    validate(raw, file)
}

/// What a key holds, for a missing key and a wrong type (see [`KeyDoc`]).
fn key_doc(key: &str) -> Option<KeyDoc> {
    let (expected, example) = match key {
        "component" => ("[component]: a table with name, version and wasm", ""),
        "resources" => (
            "[resources]: a table with max_memory and max_stack",
            RESOURCES_EXAMPLE,
        ),
        "component.name" => (NAME, ""),
        "component.version" => (VERSION, ""),
        "component.wasm" => (WASM, ""),
        "resources.max_memory" => ("a size such as \"128MB\"", RESOURCES_EXAMPLE),
        "resources.max_stack" => ("a size such as \"2MB\"", RESOURCES_EXAMPLE),
        "capabilities.filesystem" => (
            "an array of { host = \"dir\", guest = \"/dir\", access = \"read-only\" | \"read-write\" }",
            "",
        ),
        "capabilities.filesystem[].host" => (HOST, ""),
        "capabilities.filesystem[].guest" => (GUEST, ""),
        "capabilities.filesystem[].access" => (ACCESS, ""),
        "capabilities.network.connect" | "capabilities.messaging" => ("an array of strings", ""),
        _ => return None,
    };
    Some(KeyDoc { expected, example })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    component: RawComponent,
    resources: RawResources,
    #[serde(default)]
    capabilities: RawCapabilities,
    #[serde(default)]
    config: BTreeMap<String, String>,
    http: Option<RawHttp>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with instance and concurrency"
)]
struct RawHttp {
    #[serde(default)]
    instance: InstanceMode,
    #[serde(default, deserialize_with = "optional_count::<_, 65_536>")]
    concurrency: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with name, version and wasm")]
struct RawComponent {
    name: String,
    version: String,
    wasm: String,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with max_memory and max_stack"
)]
struct RawResources {
    #[serde(deserialize_with = "size::<_, MAX_MEMORY_LIMIT>")]
    max_memory: u64,
    #[serde(deserialize_with = "size::<_, MAX_STACK_LIMIT>")]
    max_stack: u64,
    #[serde(default, deserialize_with = "optional_size::<_, MAX_MEMORY_LIMIT>")]
    initial_memory: Option<u64>,
    #[serde(default = "default_fuel", deserialize_with = "count::<_, MAX_FUEL>")]
    max_fuel_per_execution: u64,
    #[serde(
        default = "default_time",
        deserialize_with = "count::<_, MAX_EXECUTION_TIME_MS>"
    )]
    max_execution_time_ms: u64,
}

fn default_fuel() -> u64 {
    DEFAULT_FUEL_PER_EXECUTION
}

fn default_time() -> u64 {
    DEFAULT_EXECUTION_TIME_MS
}

#[derive(Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of grants: filesystem, env, network, messaging"
)]
struct RawCapabilities {
    #[serde(default)]
    filesystem: Vec<RawGrant>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    messaging: Vec<String>,
    #[serde(default)]
    http: Vec<String>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a grant { host = \"dir\", guest = \"/dir\", access = \"read-only\" | \"read-write\" }"
)]
struct RawGrant {
    host: String,
    guest: String,
    access: RawAccess,
}

#[derive(Deserialize)]
#[serde(
    rename_all = "kebab-case",
    expecting = "\"read-only\" or \"read-write\""
)]
enum RawAccess {
    ReadOnly,
    ReadWrite,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with connect")]
struct RawNetwork {
    #[serde(default)]
    connect: Vec<String>,
}

/// The rules serde's types do not express, in the order of the file's sections.
fn validate(raw: RawManifest, file: &Path) -> Result<Manifest, ManifestError> {
    let base = file.parent().unwrap_or(Path::new("."));
    let invalid = |key: &str, expected: &str, found: String| ManifestError::Invalid {
        file: file.to_path_buf(),
        key: key.to_string(),
        expected: expected.to_string(),
        found,
    };
    let missing_path = |key: String, what: &str, path: PathBuf| ManifestError::MissingPath {
        file: file.to_path_buf(),
        key,
        what: what.to_string(),
        path,
    };

    let RawComponent {
        name,
        version,
        wasm,
    } = raw.component;
    if !is_valid_name(&name) {
        return Err(invalid("component.name", NAME, format!("{name:?}")));
    }
    if !is_semver(&version) {
        return Err(invalid(
            "component.version",
            VERSION,
            format!("{version:?}"),
        ));
    }
    if wasm.is_empty() {
        return Err(invalid(
            "component.wasm",
            "the path of a .wasm component or .cwasm file",
            "an empty string".into(),
        ));
    }
    let wasm = base.join(wasm);
    if !wasm.is_file() {
        return Err(missing_path("component.wasm".into(), "the wasm file", wasm));
    }

    let r = raw.resources;
    if let Some(initial) = r.initial_memory
        && initial > r.max_memory
    {
        return Err(invalid(
            "resources.initial_memory",
            &format!("at most max_memory ({} bytes)", r.max_memory),
            format!("{initial} bytes"),
        ));
    }

    let caps = raw.capabilities;
    let mut filesystem = Vec::with_capacity(caps.filesystem.len());
    for (i, grant) in caps.filesystem.into_iter().enumerate() {
        let key = |k: &str| format!("capabilities.filesystem[{i}].{k}");
        if !grant.guest.starts_with('/') {
            return Err(invalid(&key("guest"), GUEST, format!("{:?}", grant.guest)));
        }
        let host = base.join(&grant.host);
        if !host.is_dir() {
            return Err(missing_path(key("host"), "the host directory", host));
        }
        filesystem.push(FilesystemGrant {
            host,
            guest: grant.guest,
            access: match grant.access {
                RawAccess::ReadOnly => Access::ReadOnly,
                RawAccess::ReadWrite => Access::ReadWrite,
            },
        });
    }
    if let Some(key) = caps
        .env
        .keys()
        .find(|k| k.is_empty() || k.contains('=') || k.contains('\0'))
    {
        return Err(invalid(
            &format!("capabilities.env.{key}"),
            "a variable name without `=`",
            format!("{key:?}"),
        ));
    }
    let mut network = Vec::with_capacity(caps.network.connect.len());
    for (i, text) in caps.network.connect.iter().enumerate() {
        let endpoint = parse_endpoint(text).ok_or_else(|| {
            invalid(
                &format!("capabilities.network.connect[{i}]"),
                "\"host:port\" with a port of 1-65535",
                format!("{text:?}"),
            )
        })?;
        network.push(endpoint);
    }
    let names = caps.messaging;
    let messaging = if names.iter().any(|n| n == "*") {
        MessagingGrant::Any
    } else if let Some((i, name)) = names.iter().enumerate().find(|(_, n)| !is_valid_name(n)) {
        return Err(invalid(
            &format!("capabilities.messaging[{i}]"),
            "a component name or \"*\"",
            format!("{name:?}"),
        ));
    } else if names.is_empty() {
        MessagingGrant::None
    } else {
        MessagingGrant::Only(names)
    };

    let mut http = Vec::with_capacity(caps.http.len());
    for (i, text) in caps.http.iter().enumerate() {
        let origin = parse_origin(text).ok_or_else(|| {
            invalid(
                &format!("capabilities.http[{i}]"),
                "an origin \"http://host[:port]\" or \"https://host[:port]\", without a path",
                format!("{text:?}"),
            )
        })?;
        http.push(origin);
    }

    Ok(Manifest {
        path: file.to_path_buf(),
        component: ComponentInfo {
            name,
            version,
            wasm,
        },
        resources: Resources {
            max_memory: r.max_memory,
            max_stack: r.max_stack,
            initial_memory: r.initial_memory,
            max_fuel_per_execution: r.max_fuel_per_execution,
            max_execution_time_ms: r.max_execution_time_ms,
        },
        capabilities: Capabilities {
            filesystem,
            env: caps.env,
            network,
            messaging,
            http,
        },
        config: raw.config,
        http: raw.http.map(|h| HttpOptions {
            instance: h.instance,
            concurrency: h.concurrency.map_or(DEFAULT_HTTP_CONCURRENCY, |n| {
                u32::try_from(n).unwrap_or(u32::MAX)
            }),
        }),
    })
}

/// `scheme://host[:port]`, with an empty path or `/` only.
fn parse_origin(text: &str) -> Option<HttpOrigin> {
    let uri: hyper::Uri = text.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = uri.authority()?;
    let bare = !authority.as_str().contains('@')
        && uri.query().is_none()
        && matches!(uri.path(), "" | "/");
    if !bare || authority.port_u16() == Some(0) {
        return None;
    }
    Some(HttpOrigin {
        scheme,
        host: authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
        port: authority.port_u16().unwrap_or(default_port),
    })
}

fn parse_endpoint(text: &str) -> Option<Endpoint> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let ok_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'));
    ok_host.then(|| Endpoint {
        host: host.to_string(),
        port,
    })
}

/// `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` as in semver.org.
fn is_semver(v: &str) -> bool {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || numeric(i)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_rules() {
        for ok in [
            "1.0.0",
            "0.1.2",
            "10.20.30",
            "1.0.0-alpha.1",
            "1.0.0+build.5",
            "1.0.0-rc.1+x-y",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "1", "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "a.b.c", "1.0.0.0", "1.0.0+",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("127.0.0.1:6379"),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 6379
            })
        );
        assert_eq!(
            parse_endpoint("[::1]:80"),
            Some(Endpoint {
                host: "::1".into(),
                port: 80
            })
        );
        assert_eq!(parse_endpoint("db.local:5432").map(|e| e.port), Some(5432));
        for bad in [
            "localhost",
            ":80",
            "host:0",
            "host:70000",
            "ho st:1",
            "host:-1",
        ] {
            assert_eq!(parse_endpoint(bad), None, "{bad}");
        }
    }
}
