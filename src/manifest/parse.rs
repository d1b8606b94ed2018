//! Walks the TOML table of a manifest and checks every rule of the contract.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::*;

const RESOURCES_EXAMPLE: &str = "\n\nEvery component must declare its memory and stack limits, for example:\n\n\
    [resources]\n\
    max_memory = \"128MB\"   # required: linear memory the component may grow to\n\
    max_stack = \"2MB\"      # required: wasm stack limit\n\
    initial_memory = \"16MB\" # optional\n";

pub(super) fn parse(text: &str, file: &Path) -> Result<Manifest, ManifestError> {
    let root: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ManifestError::Syntax {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let doc = Section {
        file,
        prefix: String::new(),
        table: &root,
    };
    doc.only_keys(&["component", "resources", "capabilities", "config"])?;

    let component = doc.required_table("component", "a table with name, version and wasm", "")?;
    let resources = doc.required_table(
        "resources",
        "a table with max_memory and max_stack",
        RESOURCES_EXAMPLE,
    )?;
    let manifest = Manifest {
        path: file.to_path_buf(),
        component: component_info(&component, base)?,
        resources: resources_of(&resources)?,
        capabilities: match doc.table("capabilities")? {
            Some(caps) => capabilities_of(&caps, base)?,
            None => Capabilities::default(),
        },
        config: match doc.table("config")? {
            Some(config) => config.string_map()?,
            None => BTreeMap::new(),
        },
    };
    Ok(manifest)
}

fn component_info(s: &Section<'_>, base: &Path) -> Result<ComponentInfo, ManifestError> {
    s.only_keys(&["name", "version", "wasm"])?;
    let name = s.required_str("name", "a name of 1-64 characters of [a-z0-9_-]")?;
    if !is_valid_name(name) {
        return Err(s.invalid(
            "name",
            "a name of 1-64 characters of [a-z0-9_-]",
            format!("{name:?}"),
        ));
    }
    let version = s.required_str("version", "a semantic version such as \"1.0.0\"")?;
    if !is_semver(version) {
        return Err(s.invalid(
            "version",
            "a semantic version such as \"1.0.0\"",
            format!("{version:?}"),
        ));
    }
    let wasm = s.required_str(
        "wasm",
        "the path of a .wasm component or .cwasm file, relative to the manifest",
    )?;
    if wasm.is_empty() {
        return Err(s.invalid(
            "wasm",
            "the path of a .wasm component or .cwasm file",
            "an empty string".into(),
        ));
    }
    let path = base.join(wasm);
    if !path.is_file() {
        return Err(ManifestError::MissingPath {
            file: s.file.to_path_buf(),
            key: s.key("wasm"),
            what: "the wasm file".into(),
            path,
        });
    }
    Ok(ComponentInfo {
        name: name.to_string(),
        version: version.to_string(),
        wasm: path,
    })
}

fn resources_of(s: &Section<'_>) -> Result<Resources, ManifestError> {
    s.only_keys(&[
        "max_memory",
        "max_stack",
        "initial_memory",
        "max_fuel_per_execution",
        "max_execution_time_ms",
    ])?;
    let max_memory = s
        .size("max_memory", MAX_MEMORY_LIMIT)?
        .ok_or_else(|| s.missing("max_memory", "a size such as \"128MB\"", RESOURCES_EXAMPLE))?;
    let max_stack = s
        .size("max_stack", MAX_STACK_LIMIT)?
        .ok_or_else(|| s.missing("max_stack", "a size such as \"2MB\"", RESOURCES_EXAMPLE))?;
    let initial_memory = s.size("initial_memory", MAX_MEMORY_LIMIT)?;
    if let Some(initial) = initial_memory
        && initial > max_memory
    {
        return Err(s.invalid(
            "initial_memory",
            &format!("at most max_memory ({max_memory} bytes)"),
            format!("{initial} bytes"),
        ));
    }
    let max_fuel_per_execution = s
        .positive_int("max_fuel_per_execution", u64::MAX)?
        .unwrap_or(DEFAULT_FUEL_PER_EXECUTION);
    let max_execution_time_ms = s
        .positive_int("max_execution_time_ms", MAX_EXECUTION_TIME_MS)?
        .unwrap_or(DEFAULT_EXECUTION_TIME_MS);
    Ok(Resources {
        max_memory,
        max_stack,
        initial_memory,
        max_fuel_per_execution,
        max_execution_time_ms,
    })
}

fn capabilities_of(s: &Section<'_>, base: &Path) -> Result<Capabilities, ManifestError> {
    s.only_keys(&["filesystem", "env", "network", "messaging"])?;
    let mut caps = Capabilities::default();
    if let Some(value) = s.table.get("filesystem") {
        let expected = "an array of { host = \"dir\", guest = \"/dir\", access = \"read-only\" | \"read-write\" }";
        let Value::Array(grants) = value else {
            return Err(s.invalid("filesystem", expected, describe(value)));
        };
        for (i, grant) in grants.iter().enumerate() {
            let Value::Table(table) = grant else {
                return Err(s.invalid(&format!("filesystem[{i}]"), expected, describe(grant)));
            };
            let prefix = format!("{}filesystem[{i}].", s.prefix);
            let g = Section {
                file: s.file,
                prefix,
                table,
            };
            caps.filesystem.push(filesystem_grant(&g, base)?);
        }
    }
    if let Some(env) = s.table("env")? {
        caps.env = env.string_map()?;
        for key in caps.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(env.invalid(key, "a variable name without `=`", format!("{key:?}")));
            }
        }
    }
    if let Some(network) = s.table("network")? {
        network.only_keys(&["connect"])?;
        for (i, text) in network.string_array("connect")?.into_iter().enumerate() {
            let endpoint = parse_endpoint(&text).ok_or_else(|| {
                network.invalid(
                    &format!("connect[{i}]"),
                    "\"host:port\" with a port of 1-65535",
                    format!("{text:?}"),
                )
            })?;
            caps.network.push(endpoint);
        }
    }
    if s.table.contains_key("messaging") {
        let names = s.string_array("messaging")?;
        caps.messaging = if names.iter().any(|n| n == "*") {
            MessagingGrant::Any
        } else {
            for (i, name) in names.iter().enumerate() {
                if !is_valid_name(name) {
                    return Err(s.invalid(
                        &format!("messaging[{i}]"),
                        "a component name or \"*\"",
                        format!("{name:?}"),
                    ));
                }
            }
            if names.is_empty() {
                MessagingGrant::None
            } else {
                MessagingGrant::Only(names)
            }
        };
    }
    Ok(caps)
}

fn filesystem_grant(g: &Section<'_>, base: &Path) -> Result<FilesystemGrant, ManifestError> {
    g.only_keys(&["host", "guest", "access"])?;
    let host = g.required_str("host", "a host directory, relative to the manifest")?;
    let guest = g.required_str("guest", "an absolute guest path such as \"/data\"")?;
    if !guest.starts_with('/') {
        return Err(g.invalid(
            "guest",
            "an absolute guest path such as \"/data\"",
            format!("{guest:?}"),
        ));
    }
    let access = match g.required_str("access", "\"read-only\" or \"read-write\"")? {
        "read-only" => Access::ReadOnly,
        "read-write" => Access::ReadWrite,
        other => {
            return Err(g.invalid(
                "access",
                "\"read-only\" or \"read-write\"",
                format!("{other:?}"),
            ));
        }
    };
    let path: PathBuf = base.join(host);
    if !path.is_dir() {
        return Err(ManifestError::MissingPath {
            file: g.file.to_path_buf(),
            key: g.key("host"),
            what: "the host directory".into(),
            path,
        });
    }
    Ok(FilesystemGrant {
        host: path,
        guest: guest.to_string(),
        access,
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

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?}"),
        Value::Integer(i) => format!("the integer {i}"),
        Value::Float(f) => format!("the float {f}"),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Datetime(d) => format!("the datetime {d}"),
        Value::Array(_) => "an array".to_string(),
        Value::Table(_) => "a table".to_string(),
    }
}

/// One table of the manifest, with the dotted prefix that names its keys in errors.
struct Section<'a> {
    file: &'a Path,
    prefix: String,
    table: &'a Table,
}

impl<'a> Section<'a> {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn invalid(&self, key: &str, expected: &str, found: String) -> ManifestError {
        ManifestError::Invalid {
            file: self.file.to_path_buf(),
            key: self.key(key),
            expected: expected.to_string(),
            found,
        }
    }

    fn missing(&self, key: &str, expected: &str, example: &str) -> ManifestError {
        ManifestError::Missing {
            file: self.file.to_path_buf(),
            key: self.key(key),
            expected: expected.to_string(),
            example: example.to_string(),
        }
    }

    fn only_keys(&self, allowed: &[&str]) -> Result<(), ManifestError> {
        match self.table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ManifestError::UnknownKey {
                file: self.file.to_path_buf(),
                key: self.key(unknown),
                allowed: allowed
                    .iter()
                    .map(|k| format!("`{}`", self.key(k)))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
            None => Ok(()),
        }
    }

    fn table(&self, key: &str) -> Result<Option<Section<'a>>, ManifestError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Table(table)) => Ok(Some(Section {
                file: self.file,
                prefix: format!("{}.", self.key(key)),
                table,
            })),
            Some(other) => Err(self.invalid(key, "a table", describe(other))),
        }
    }

    fn required_table(
        &self,
        key: &str,
        expected: &str,
        example: &str,
    ) -> Result<Section<'a>, ManifestError> {
        self.table(key)?
            .ok_or_else(|| self.missing(key, &format!("[{key}]: {expected}"), example))
    }

    fn required_str(&self, key: &str, expected: &str) -> Result<&'a str, ManifestError> {
        match self.table.get(key) {
            None => Err(self.missing(key, expected, "")),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(self.invalid(key, expected, describe(other))),
        }
    }

    fn size(&self, key: &str, max: u64) -> Result<Option<u64>, ManifestError> {
        let expected = format!(
            "a size of 1 byte to {} (an integer in bytes, or a string with unit B, KB/KiB, MB/MiB, GB/GiB)",
            human(max)
        );
        let bytes = match self.table.get(key) {
            None => return Ok(None),
            Some(Value::Integer(i)) => u64::try_from(*i)
                .map_err(|_| self.invalid(key, &expected, format!("the integer {i}")))?,
            Some(Value::String(s)) => {
                parse_size(s).map_err(|e| self.invalid(key, &expected, format!("{s:?} ({e})")))?
            }
            Some(other) => return Err(self.invalid(key, &expected, describe(other))),
        };
        if bytes == 0 || bytes > max {
            return Err(self.invalid(key, &expected, format!("{bytes} bytes")));
        }
        Ok(Some(bytes))
    }

    fn positive_int(&self, key: &str, max: u64) -> Result<Option<u64>, ManifestError> {
        let expected = format!("a whole number from 1 to {max}");
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => match u64::try_from(*i) {
                Ok(n) if n >= 1 && n <= max => Ok(Some(n)),
                _ => Err(self.invalid(key, &expected, format!("the integer {i}"))),
            },
            Some(other) => Err(self.invalid(key, &expected, describe(other))),
        }
    }

    fn string_map(&self) -> Result<BTreeMap<String, String>, ManifestError> {
        self.table
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(self.invalid(k, "a string", describe(other))),
            })
            .collect()
    }

    fn string_array(&self, key: &str) -> Result<Vec<String>, ManifestError> {
        let expected = "an array of strings";
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.invalid(&format!("{key}[{i}]"), "a string", describe(other))),
                })
                .collect(),
            Some(other) => Err(self.invalid(key, expected, describe(other))),
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b => format!("{b} bytes"),
    }
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
