//! Every rule of `Component.toml` (contract section 2): a bad file and the message it gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use airssys_wasm::manifest::{
    Access, DEFAULT_EXECUTION_TIME_MS, DEFAULT_FUEL_PER_EXECUTION, InstanceMode, Manifest,
    ManifestError, MessagingGrant,
};
use airssys_wasm_test_support::{TempDir, root};

const GOOD_COMPONENT: &str =
    "[component]\nname = \"echo\"\nversion = \"1.0.0\"\nwasm = \"echo.wasm\"\n";
const GOOD_RESOURCES: &str = "[resources]\nmax_memory = \"128MB\"\nmax_stack = \"2MB\"\n";

fn dir() -> TempDir {
    let dir = TempDir::new();
    dir.write("echo.wasm", b"\0asm\x0d\0\x01\0");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    dir
}

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    let dir = dir();
    let path = dir.write("Component.toml", text);
    Manifest::from_file(path)
}

/// Parses `text`, expects an error about `key`, and checks its message holds every `needle`.
fn rejects(text: &str, key: Option<&str>, needles: &[&str]) {
    let err = parse(text).expect_err("the manifest should be rejected");
    let message = err.to_string();
    assert_eq!(err.key(), key, "{message}");
    assert!(
        message.contains("Component.toml"),
        "the file is named: {message}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "expected {needle:?} in: {message}"
        );
    }
}

#[test]
fn a_complete_manifest_resolves_sizes_defaults_and_paths() {
    let text = format!(
        "{GOOD_COMPONENT}\n[resources]\nmax_memory = \"128MB\"\nmax_stack = 2097152\ninitial_memory = \"16 mib\"\n\n\
         [capabilities]\nfilesystem = [{{ host = \"data\", guest = \"/data\", access = \"read-only\" }}]\n\
         env = {{ GREETING = \"hello\" }}\nnetwork = {{ connect = [\"127.0.0.1:6379\"] }}\nmessaging = [\"counter\", \"logger\"]\n\n\
         [config]\ngreeting = \"hello\"\n"
    );
    let m = parse(&text).unwrap();
    assert_eq!(m.component.name, "echo");
    assert!(m.component.wasm.is_absolute() || m.component.wasm.ends_with("echo.wasm"));
    assert_eq!(m.resources.max_memory, 128 << 20);
    assert_eq!(m.resources.max_stack, 2 << 20);
    assert_eq!(m.resources.initial_memory, Some(16 << 20));
    assert_eq!(
        m.resources.max_fuel_per_execution,
        DEFAULT_FUEL_PER_EXECUTION
    );
    assert_eq!(m.resources.max_execution_time_ms, DEFAULT_EXECUTION_TIME_MS);
    assert_eq!(m.capabilities.filesystem[0].access, Access::ReadOnly);
    assert_eq!(m.capabilities.filesystem[0].guest, "/data");
    assert_eq!(m.capabilities.env["GREETING"], "hello");
    assert_eq!(m.capabilities.network[0].port, 6379);
    assert_eq!(
        m.capabilities.messaging,
        MessagingGrant::Only(vec!["counter".into(), "logger".into()])
    );
    assert_eq!(m.config["greeting"], "hello");
}

#[test]
fn the_star_grants_messaging_to_any_component() {
    let m = parse(&format!(
        "{GOOD_COMPONENT}{GOOD_RESOURCES}[capabilities]\nmessaging = [\"*\"]\n"
    ))
    .unwrap();
    assert!(m.capabilities.messaging.allows("anyone"));
}

#[test]
fn missing_max_memory_shows_an_example_resources_section() {
    rejects(
        &format!("{GOOD_COMPONENT}[resources]\nmax_stack = \"2MB\"\n"),
        Some("resources.max_memory"),
        &[
            "missing required key",
            "[resources]",
            "max_memory = \"128MB\"",
            "max_stack = \"2MB\"",
        ],
    );
}

#[test]
fn missing_max_stack_shows_an_example_resources_section() {
    rejects(
        &format!("{GOOD_COMPONENT}[resources]\nmax_memory = \"2MB\"\n"),
        Some("resources.max_stack"),
        &["missing required key", "[resources]", "max_stack = \"2MB\""],
    );
}

#[test]
fn a_missing_resources_section_shows_the_example_too() {
    rejects(
        GOOD_COMPONENT,
        Some("resources"),
        &["[resources]", "max_memory = \"128MB\""],
    );
}

#[test]
fn required_component_keys() {
    for key in ["name", "version", "wasm"] {
        let text: String = GOOD_COMPONENT
            .lines()
            .filter(|l| !l.starts_with(key))
            .map(|l| format!("{l}\n"))
            .collect();
        rejects(
            &format!("{text}{GOOD_RESOURCES}"),
            Some(&format!("component.{key}")),
            &["missing required key"],
        );
    }
}

#[test]
fn name_rules() {
    for bad in ["", "Echo", "has space", "dot.ted", &"x".repeat(65)] {
        let text = GOOD_COMPONENT.replace("\"echo\"", &format!("{bad:?}"));
        rejects(
            &format!("{text}{GOOD_RESOURCES}"),
            Some("component.name"),
            &["[a-z0-9_-]"],
        );
    }
    let text = GOOD_COMPONENT.replace("\"echo\"", &format!("{:?}", "a-b_c9".repeat(10) + "abcd"));
    parse(&format!("{text}{GOOD_RESOURCES}")).unwrap();
}

#[test]
fn version_must_be_semver() {
    let text = GOOD_COMPONENT.replace("1.0.0", "1.0");
    rejects(
        &format!("{text}{GOOD_RESOURCES}"),
        Some("component.version"),
        &["semantic version", "\"1.0\""],
    );
}

#[test]
fn a_missing_wasm_file_is_named() {
    let text = GOOD_COMPONENT.replace("echo.wasm", "nope.wasm");
    rejects(
        &format!("{text}{GOOD_RESOURCES}"),
        Some("component.wasm"),
        &["does not exist", "nope.wasm"],
    );
}

#[test]
fn unknown_keys_are_refused_where_they_stand() {
    rejects(
        &format!("{GOOD_COMPONENT}{GOOD_RESOURCES}[extra]\n"),
        Some("extra"),
        &["unknown key", "`resources`"],
    );
    rejects(
        &format!("{GOOD_COMPONENT}{GOOD_RESOURCES}max_memroy = \"1MB\"\n"),
        Some("resources.max_memroy"),
        &["unknown key", "`resources.max_memory`"],
    );
    rejects(
        &format!(
            "{GOOD_COMPONENT}{GOOD_RESOURCES}[capabilities]\nnetwork = {{ listen = [\"0.0.0.0:1\"] }}\n"
        ),
        Some("capabilities.network.listen"),
        &["unknown key", "connect"],
    );
}

#[test]
fn wrong_types_name_what_was_expected_and_found() {
    rejects(
        &format!("{GOOD_COMPONENT}[resources]\nmax_memory = true\nmax_stack = \"2MB\"\n"),
        Some("resources.max_memory"),
        &["expected a size", "found the boolean true"],
    );
    rejects(
        &format!("{GOOD_COMPONENT}{GOOD_RESOURCES}max_fuel_per_execution = \"lots\"\n"),
        Some("resources.max_fuel_per_execution"),
        &["whole number", "the string \"lots\""],
    );
    rejects(
        &format!("{GOOD_COMPONENT}{GOOD_RESOURCES}[config]\nretries = 3\n"),
        Some("config.retries"),
        &["a string"],
    );
}

#[test]
fn bad_units_are_refused_with_the_allowed_ones() {
    rejects(
        &format!("{GOOD_COMPONENT}[resources]\nmax_memory = \"128XB\"\nmax_stack = \"2MB\"\n"),
        Some("resources.max_memory"),
        &["unknown unit `XB`", "KB/KiB"],
    );
}

#[test]
fn zero_and_overflowing_limits_are_refused() {
    for (line, key) in [
        (
            "max_memory = 0\nmax_stack = \"2MB\"",
            "resources.max_memory",
        ),
        (
            "max_memory = \"0MB\"\nmax_stack = \"2MB\"",
            "resources.max_memory",
        ),
        (
            "max_memory = \"5GB\"\nmax_stack = \"2MB\"",
            "resources.max_memory",
        ),
        (
            "max_memory = \"99999999999999999999GB\"\nmax_stack = \"2MB\"",
            "resources.max_memory",
        ),
        (
            "max_memory = -1\nmax_stack = \"2MB\"",
            "resources.max_memory",
        ),
        ("max_memory = \"1MB\"\nmax_stack = 0", "resources.max_stack"),
        (
            "max_memory = \"1MB\"\nmax_stack = \"2MB\"\nmax_fuel_per_execution = 0",
            "resources.max_fuel_per_execution",
        ),
        (
            "max_memory = \"1MB\"\nmax_stack = \"2MB\"\nmax_execution_time_ms = 0",
            "resources.max_execution_time_ms",
        ),
        (
            "max_memory = \"1MB\"\nmax_stack = \"2MB\"\nmax_execution_time_ms = 100000000000",
            "resources.max_execution_time_ms",
        ),
    ] {
        rejects(
            &format!("{GOOD_COMPONENT}[resources]\n{line}\n"),
            Some(key),
            &["expected"],
        );
    }
    parse(&format!(
        "{GOOD_COMPONENT}[resources]\nmax_memory = \"4GiB\"\nmax_stack = \"1KiB\"\n"
    ))
    .unwrap();
}

#[test]
fn initial_memory_may_not_exceed_max_memory() {
    rejects(
        &format!(
            "{GOOD_COMPONENT}[resources]\nmax_memory = \"16MB\"\nmax_stack = \"2MB\"\ninitial_memory = \"32MB\"\n"
        ),
        Some("resources.initial_memory"),
        &["at most max_memory (16777216 bytes)", "33554432 bytes"],
    );
}

#[test]
fn capability_grants_are_checked_at_parse() {
    let cases = [
        (
            "filesystem = [{ host = \"missing\", guest = \"/d\", access = \"read-only\" }]",
            "capabilities.filesystem[0].host",
            "does not exist",
        ),
        (
            "filesystem = [{ host = \"data\", guest = \"/d\", access = \"rw\" }]",
            "capabilities.filesystem[0].access",
            "\"read-only\" or \"read-write\"",
        ),
        (
            "filesystem = [{ host = \"data\", guest = \"d\", access = \"read-only\" }]",
            "capabilities.filesystem[0].guest",
            "absolute",
        ),
        (
            "network = { connect = [\"localhost\"] }",
            "capabilities.network.connect[0]",
            "host:port",
        ),
        (
            "network = { connect = [\"127.0.0.1:99999\"] }",
            "capabilities.network.connect[0]",
            "host:port",
        ),
        (
            "messaging = [\"Bad Name\"]",
            "capabilities.messaging[0]",
            "component name",
        ),
        (
            "env = { \"A=B\" = \"x\" }",
            "capabilities.env.A=B",
            "without `=`",
        ),
    ];
    for (line, key, needle) in cases {
        rejects(
            &format!("{GOOD_COMPONENT}{GOOD_RESOURCES}[capabilities]\n{line}\n"),
            Some(key),
            &[needle],
        );
    }
}

#[test]
fn toml_syntax_errors_say_where() {
    let err = parse("[component\nname = 1").unwrap_err();
    assert!(matches!(err, ManifestError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn an_unreadable_file_is_a_manifest_error() {
    let err = Manifest::from_file("/nonexistent/Component.toml").unwrap_err();
    assert!(matches!(err, ManifestError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/Component.toml"));
}

#[test]
fn the_shipped_example_manifest_is_valid() {
    let example = std::fs::read_to_string(root().join("Component.toml.example")).unwrap();
    let dir = dir();
    // The example names echo.wasm and a data folder, which the fixture folder provides.
    let m = Manifest::parse(&example, dir.path().join("Component.toml")).unwrap();
    assert_eq!(m.component.name, "echo");
}

mod property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// No input panics, and whatever is rejected is a manifest error naming the file.
        #[test]
        fn any_text_is_parsed_or_rejected_cleanly(body in "[\\[\\]a-z_=\" 0-9.{},\\n]{0,200}") {
            let dir = dir();
            let path = dir.write("Component.toml", &body);
            if let Err(e) = Manifest::from_file(&path) {
                prop_assert_eq!(e.file(), path.as_path());
            }
        }

        /// Any text is a size or a `SizeError`; a size is its digits times a 1024-power unit.
        #[test]
        fn any_size_text_is_a_size_or_a_size_error(text in "[ 0-9a-zA-Z.+-]{0,24}") {
            if let Ok(bytes) = airssys_wasm::manifest::parse_size(&text) {
                let digits: String = text.trim().chars().take_while(char::is_ascii_digit).collect();
                let number: u64 = digits.parse().unwrap();
                let unit = bytes.checked_div(number).unwrap_or(1);
                prop_assert!(number == 0 || bytes % number == 0);
                prop_assert!([1, 1 << 10, 1 << 20, 1 << 30].contains(&unit) || number == 0);
            }
        }

        #[test]
        fn any_resources_values_are_parsed_or_rejected_cleanly(mem in "[ -!#-\\[\\]-~]{0,20}", stack in any::<i64>()) {
            let text = format!("{GOOD_COMPONENT}[resources]\nmax_memory = \"{mem}\"\nmax_stack = {stack}\n");
            match parse(&text) {
                Ok(m) => prop_assert!(m.resources.max_memory >= 1 && m.resources.max_stack >= 1),
                Err(e) => prop_assert!(e.key().is_some()),
            }
        }
    }
}

#[test]
fn http_options_and_outgoing_http_origins_resolve_with_their_defaults() {
    let resources = "[resources]\nmax_memory = \"16MiB\"\nmax_stack = \"1MiB\"\n";
    let m = parse(&format!("{GOOD_COMPONENT}\n{resources}")).unwrap();
    assert_eq!(m.http, None);
    assert!(m.capabilities.http.is_empty());
    let m = parse(&format!(
        "{GOOD_COMPONENT}\n{resources}\n[http]\ninstance = \"reuse\"\nconcurrency = 4\n\n\
         [capabilities]\nhttp = [\"https://API.example.com\", \"http://127.0.0.1:8081\", \"http://[::1]:9000/\"]\n"
    ))
    .unwrap();
    let http = m.http.unwrap();
    assert_eq!((http.instance, http.concurrency), (InstanceMode::Reuse, 4));
    let origins: Vec<String> = m.capabilities.http.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        origins,
        [
            "https://api.example.com:443",
            "http://127.0.0.1:8081",
            "http://::1:9000"
        ]
    );
    let m = parse(&format!("{GOOD_COMPONENT}\n{resources}\n[http]\n")).unwrap();
    assert_eq!(m.http.unwrap().concurrency, 16);
}

#[test]
fn bad_http_options_and_origins_name_their_key() {
    let resources = "[resources]\nmax_memory = \"16MiB\"\nmax_stack = \"1MiB\"\n";
    for origin in [
        "ftp://x.org",
        "https://x.org/path",
        "x.org:80",
        "http://user@x.org",
        "http://x.org?q=1",
    ] {
        rejects(
            &format!("{GOOD_COMPONENT}\n{resources}\n[capabilities]\nhttp = [\"{origin}\"]\n"),
            Some("capabilities.http[0]"),
            &["without a path", origin],
        );
    }
    rejects(
        &format!("{GOOD_COMPONENT}\n{resources}\n[http]\ninstance = \"pooled\"\n"),
        Some("http.instance"),
        &["pooled"],
    );
    rejects(
        &format!("{GOOD_COMPONENT}\n{resources}\n[http]\nconcurrency = 0\n"),
        Some("http.concurrency"),
        &["0"],
    );
}
