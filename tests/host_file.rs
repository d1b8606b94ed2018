//! The host file (contract section 5): every rule with a bad file and its message, every
//! error of a file at once; `Deployment` in the library; `airssys-wasm serve` as a child
//! process (`--check`'s tree, `ready`, SIGTERM, exit codes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use airssys_wasm::ErrorKind;
use airssys_wasm::manifest::host_file::{RestartName, StrategyName};
use airssys_wasm::manifest::{HostFile, ManifestError};
use airssys_wasm::serve::Deployment;
use airssys_wasm_actors::{ChildKind, RestartPolicy};
use airssys_wasm_test_support::{
    READY_WITHIN, SMALL, Served, TempDir, airssys_wasm_command, host, manifest_for, stderr,
};

const BIN: &str = env!("CARGO_BIN_EXE_airssys-wasm");

/// A folder with manifests `echo` and `counter` (real guests) and the host file `text`.
fn setup(text: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new();
    manifest_for(&dir, "echo", "echo", SMALL, "");
    manifest_for(&dir, "counter", "counter", SMALL, "");
    let file = dir.write("host.toml", text);
    (dir, file)
}

const GOOD: &str = r#"
[host]
name = "edge-1"
drain_timeout_ms = 2000

[components]
echo = "echo.toml"
counter = "counter.toml"

[supervisors.api]
strategy = "rest-for-one"
restarts = 5
within_ms = 1000
children = ["echo", "inner"]

[supervisors.inner]
children = ["counter"]
restart = { counter = "transient" }
"#;

/// The errors of host file `text` (which must be invalid).
fn errors(text: &str) -> Vec<ManifestError> {
    let (_dir, file) = setup(text);
    HostFile::from_file(&file).unwrap_err()
}

/// Asserts that one of `errors` is about `key` and its message contains `needle`.
fn has(errors: &[ManifestError], key: &str, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.key() == Some(key) && e.to_string().contains(needle)),
        "no error on `{key}` containing {needle:?} in:\n{}",
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_valid_host_file_gives_its_tree_in_order_with_defaults() {
    let (_dir, path) = setup(GOOD);
    let file = HostFile::from_file(&path).unwrap();
    assert_eq!(file.host.name, "edge-1");
    assert_eq!(file.host.drain_timeout_ms, 2000);
    assert_eq!(file.host.caps, Default::default());
    let names: Vec<_> = file.components.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["echo", "counter"]);
    let top: Vec<_> = file.top_level().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(top, ["api"]);
    let api = file.supervisor("api").unwrap();
    assert_eq!(
        (api.strategy, api.restarts, api.within_ms),
        (StrategyName::RestForOne, 5, 1000)
    );
    let inner = file.supervisor("inner").unwrap();
    assert_eq!(
        (inner.strategy, inner.restarts, inner.within_ms),
        (StrategyName::OneForOne, 3, 60_000)
    );
    assert_eq!(
        inner.children,
        [("counter".to_string(), RestartName::Transient)]
    );
    assert_eq!(
        api.children[0],
        ("echo".to_string(), RestartName::Permanent)
    );
}

#[test]
fn without_a_name_the_host_takes_the_machines_name_made_valid() {
    let (_dir, path) = setup(&GOOD.replace("name = \"edge-1\"\n", ""));
    let name = HostFile::from_file(&path).unwrap().host.name;
    assert!(!name.is_empty() && name.len() <= 64, "{name:?}");
    assert!(
        name.chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-')),
        "{name:?}"
    );
}

#[test]
fn unknown_keys_wrong_types_and_bad_values_name_the_file_and_the_dotted_key() {
    let e = errors(&GOOD.replace("drain_timeout_ms = 2000", "drain_timeout = 2000"));
    has(&e, "host.drain_timeout", "unknown key");
    let e = errors(&GOOD.replace("strategy = \"rest-for-one\"", "strategy = \"all-for-one\""));
    has(&e, "supervisors.api.strategy", "\"one-for-one\"");
    let e = errors(&GOOD.replace(
        "restart = { counter = \"transient\" }",
        "restart = { counter = \"sometimes\" }",
    ));
    has(&e, "supervisors.inner.restart.counter", "\"transient\"");
    let e = errors(&GOOD.replace("restarts = 5", "restarts = \"five\""));
    has(&e, "supervisors.api.restarts", "found");
    let e = errors(&GOOD.replace("name = \"edge-1\"", "name = \"Edge One\""));
    has(&e, "host.name", "[a-z0-9_-]");
    let e = errors(&GOOD.replace("[host]", "[host]\nmax_memory = \"12 parsecs\""));
    has(&e, "host.max_memory", "parsecs");
    let e = errors(&GOOD.replace("echo = \"echo.toml\"", "echo = \"missing.toml\""));
    has(&e, "components.echo", "does not exist");
    let e = errors("[components\n");
    assert!(matches!(e[..], [ManifestError::Syntax { .. }]), "{e:?}");
    let e = errors(&GOOD.replace("restarts = 5", "restarts = 0"));
    has(&e, "supervisors.api.restarts", "found the integer 0");
    assert!(e.iter().all(|e| e.file().ends_with("host.toml")), "{e:?}");
    let e = errors(&GOOD.replace("children = [\"counter\"]\n", ""));
    has(
        &e,
        "supervisors.inner.children",
        "an array of component and supervisor names",
    );
}

#[test]
fn the_trees_rules_are_each_an_error_and_all_come_at_once() {
    let broken = r#"
[components]
echo = "echo.toml"
counter = "counter.toml"

[supervisors.a]
children = ["echo", "ghost", "b"]

[supervisors.b]
children = ["a", "echo"]

[supervisors.empty]
children = []

[supervisors.echo]
children = ["b"]
"#;
    let e = errors(broken);
    has(&e, "supervisors.a.children", "\"ghost\", which is neither");
    has(
        &e,
        "supervisors.b.children",
        "\"echo\", already a child of `a`",
    );
    has(&e, "supervisors.empty.children", "at least one");
    has(&e, "supervisors.echo", "also in [components]");
    has(&e, "components.counter", "in no supervisor");
    has(&e, "supervisors.a.children", "cycle");
    assert!(e.len() >= 6, "every broken rule reported: {e:?}");
}

#[test]
fn a_restart_policy_for_a_stranger_and_a_file_without_components_are_errors() {
    let e = errors(&GOOD.replace(
        "restart = { counter = \"transient\" }",
        "restart = { echo = \"transient\" }",
    ));
    has(
        &e,
        "supervisors.inner.restart.echo",
        "not in supervisors.inner.children",
    );
    let e = errors("[host]\nname = \"lonely\"\n");
    has(&e, "components", "at least one");
    let e = errors(&GOOD.replace(
        "children = [\"echo\", \"inner\"]",
        "children = [\"echo\", \"inner\"]\nrestart = { inner = \"temporary\" }",
    ));
    has(&e, "supervisors.api.restart.inner", "a supervisor");
}

#[test]
fn a_lattice_section_gives_its_servers_defaults_auth_and_exports() {
    let text = format!(
        "{GOOD}\n[lattice]\nnats = [\"nats://127.0.0.1:4222\", \"tls://10.0.0.2:4443\"]\ntoken_file = \"token\"\nexport = [\"echo\", \"later\"]\n"
    );
    let (dir, path) = setup(&text);
    dir.write("token", "s3cret\n");
    let lattice = HostFile::from_file(&path).unwrap().lattice.unwrap();
    assert_eq!(lattice.name, "default");
    assert_eq!(lattice.nats.len(), 2);
    assert_eq!(
        lattice.auth,
        airssys_wasm::manifest::LatticeAuth::Token(dir.path().join("token"))
    );
    assert!(lattice.exports("echo") && lattice.exports("later"));
    assert!(!lattice.exports("counter"), "not in export");
    let without = HostFile::parse(
        &format!("{GOOD}\n[lattice]\nname = \"blue\"\nnats = [\"nats://h:1\"]\n"),
        &path,
    )
    .unwrap()
    .lattice
    .unwrap();
    assert_eq!(without.name, "blue");
    assert!(without.exports("counter"), "no export list: everything");
}

#[test]
fn a_bad_lattice_section_names_each_key() {
    let e = errors(&format!(
        "{GOOD}\n[lattice]\nname = \"Blue.Sky\"\nnats = [\"http://127.0.0.1:4222\", \"nats://nohost\"]\ntoken_file = \"absent\"\nnkey_seed_file = \"absent.nk\"\ntls = {{ cert = \"c.pem\" }}\nexport = [\"Bad Name\"]\n"
    ));
    has(&e, "lattice.name", "[a-z0-9_-]");
    has(&e, "lattice.nats[0]", "nats://HOST:PORT");
    has(&e, "lattice.nats[1]", "\"nats://nohost\"");
    has(&e, "lattice.token_file", "absent");
    has(
        &e,
        "lattice",
        "at most one of credentials, token_file and nkey_seed_file",
    );
    has(&e, "lattice.tls", "cert and key together");
    has(&e, "lattice.export[0]", "\"Bad Name\"");
    let e = errors(&format!(
        "{GOOD}\n[lattice]\nnats = [\"nats://user:s3cret@nohost\"]\n"
    ));
    has(&e, "lattice.nats[0]", "nats://***@nohost");
    assert!(
        !format!("{e:?}").contains("s3cret"),
        "a password in an error: {e:?}"
    );
    let e = errors(&format!("{GOOD}\n[lattice]\nnats = []\n"));
    has(&e, "lattice.nats", "at least one");
    let e = errors(&format!(
        "{GOOD}\n[lattice]\nnats = [\"nats://a:1\"]\nseeds = 1\n"
    ));
    assert!(e.iter().any(|e| e.to_string().contains("seeds")), "{e:?}");
}

#[test]
fn http_and_metrics_sections_give_listeners_routes_and_defaults() {
    let text = format!(
        "{GOOD}\n[http]\nlisten = \"127.0.0.1:8080\"\n\n[[http.route]]\npath = \"/hello\"\ncomponent = \"echo\"\n\n[[http.route]]\npath = \"/api/...\"\ncomponent = \"counter\"\ntopic = \"count\"\n\n[metrics]\nlisten = \"127.0.0.1:9090\"\n"
    );
    let (_dir, path) = setup(&text);
    let file = HostFile::from_file(&path).unwrap();
    let http = file.http.unwrap();
    assert_eq!(http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(http.max_request_body, 1 << 20);
    assert_eq!(http.max_connections, 1024);
    assert_eq!(http.routes.len(), 2);
    assert_eq!(http.routes[0].pattern(), ("/hello", false));
    assert_eq!(http.routes[1].pattern(), ("/api", true));
    assert_eq!(http.routes[1].topic.as_deref(), Some("count"));
    assert_eq!(file.metrics.unwrap().listen.to_string(), "127.0.0.1:9090");
}

#[test]
fn bad_http_and_metrics_keys_are_each_an_error_and_all_come_at_once() {
    let text = format!("{GOOD}\n[http]\nlisten = \"localhost\"\nmax_request_body = \"1 parsec\"\n");
    let e = errors(&text);
    has(&e, "http.max_request_body", "size");
    let text = format!(
        "{GOOD}\n[http]\nlisten = \"localhost\"\n\n[[http.route]]\npath = \"hello\"\ncomponent = \"nobody\"\n\n[[http.route]]\npath = \"/a\"\ncomponent = \"echo\"\n\n[[http.route]]\npath = \"/a\"\ncomponent = \"echo\"\n\n[metrics]\nlisten = \"127.0.0.1:x\"\n"
    );
    let e = errors(&text);
    has(&e, "http.listen", "IP address and port");
    has(&e, "http.route[0].path", "\"/api/...\"");
    has(&e, "http.route[0].component", "not in [components]");
    has(
        &e,
        "http.route[2].path",
        "already the path of an earlier route",
    );
    has(&e, "metrics.listen", "IP address and port");
    assert_eq!(e.len(), 5, "{e:?}");
    let e = errors(&format!(
        "{GOOD}\n[http]\nlisten = \"127.0.0.1:1\"\nport = 8\n"
    ));
    assert!(e[0].to_string().contains("port"), "{e:?}");
    let e = errors(&format!(
        "{GOOD}\n[http]\nlisten = \"127.0.0.1:7000\"\n[metrics]\nlisten = \"127.0.0.1:7000\"\n"
    ));
    has(&e, "metrics.listen", "other than http.listen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_starts_the_tree_and_its_components_answer_by_name() {
    let (_dir, path) = setup(GOOD);
    let file = HostFile::from_file(&path).unwrap();
    let (system, host) = host().await;
    let deployment = Deployment::load(&host, &file)
        .await
        .unwrap()
        .start()
        .await
        .unwrap();
    assert_eq!(
        host.ask("echo", "greet", b"hi".to_vec())
            .await
            .unwrap()
            .payload,
        b"hi"
    );
    assert_eq!(
        host.ask("counter", "increment", b"41".to_vec())
            .await
            .unwrap()
            .payload,
        b"41"
    );
    let top = deployment.supervisors();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].name(), Some("api"));
    let children = top[0].children();
    let ids: Vec<_> = children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["echo", "inner"], "start order");
    assert_eq!(children[0].restart_policy, RestartPolicy::Permanent);
    assert_eq!(children[1].kind, ChildKind::Supervisor);
    let inner = system.lookup_supervisor("inner").unwrap();
    let counter = &inner.children()[0];
    assert_eq!(
        (counter.id.as_str(), counter.restart_policy),
        ("counter", RestartPolicy::Transient)
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_manifest_error_comes_at_once_and_caps_name_the_manifest_the_key_and_the_cap() {
    let dir = TempDir::new();
    manifest_for(
        &dir,
        "echo",
        "echo",
        "max_memory = \"64MiB\"\nmax_stack = \"1MiB\"\nmax_execution_time_ms = 500",
        "",
    );
    manifest_for(&dir, "counter", "not-counter", SMALL, "");
    let path = dir.write(
        "host.toml",
        "[host]\nmax_memory = \"32MiB\"\nmax_execution_time_ms = 200\n\n[components]\necho = \"echo.toml\"\ncounter = \"not-counter.toml\"\n\n[supervisors.all]\nchildren = [\"echo\", \"counter\"]\n",
    );
    let file = HostFile::from_file(&path).unwrap();
    let (system, host) = host().await;
    let error = Deployment::load(&host, &file).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Manifest);
    let text = error.to_string();
    assert!(text.contains("echo.toml: `resources.max_memory`: expected at most 33554432 bytes, the cap of host.max_memory"), "{text}");
    assert!(text.contains("found 67108864 bytes"), "{text}");
    assert!(
        text.contains("echo.toml: `resources.max_execution_time_ms`: expected at most 200 ms"),
        "{text}"
    );
    assert!(
        text.contains("`components.counter`: expected the manifest of a component named `counter`"),
        "{text}"
    );
    assert_eq!(error.errors.len(), 3, "{text}");
    system.shutdown().await.unwrap();
}

#[test]
fn serve_check_prints_the_tree_indented_and_exits_0() {
    let (_dir, path) = setup(GOOD);
    let out = serve_check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tree = String::from_utf8(out.stdout.clone()).unwrap();
    let indent = |needle: &str| {
        let line = tree
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {tree}"));
        line.len() - line.trim_start().len()
    };
    assert!(
        indent("supervisor api") < indent("component echo"),
        "{tree}"
    );
    assert!(
        indent("supervisor api") < indent("supervisor inner"),
        "{tree}"
    );
    assert!(
        indent("supervisor inner") < indent("component counter"),
        "{tree}"
    );
    assert!(
        tree.contains("component counter 1.0.0 (transient"),
        "{tree}"
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn serve_with_a_bad_host_file_or_component_exits_2_with_every_error() {
    let (dir, path) = setup(
        &GOOD
            .replace(
                "children = [\"counter\"]",
                "children = [\"counter\", \"ghost\"]",
            )
            .replace("name = \"edge-1\"", "name = \"Bad Name\""),
    );
    let out = serve_check(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let lines: Vec<_> = err.lines().collect();
    assert!(lines[0].starts_with("error[manifest]: "), "{err}");
    assert!(
        err.contains("`host.name`") && err.contains("\"ghost\""),
        "{err}"
    );
    // A wasm that is not a component: `component`, exit 2.
    dir.write("junk.wasm", b"not wasm");
    dir.write("echo.toml", "[component]\nname = \"echo\"\nversion = \"1.0.0\"\nwasm = \"junk.wasm\"\n[resources]\nmax_memory = \"16MiB\"\nmax_stack = \"1MiB\"\n");
    let path = dir.write("host.toml", GOOD);
    let out = serve_check(&path);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error[component]: "),
        "{}",
        stderr(&out)
    );
}

/// `airssys-wasm serve PATH --check`, run to its end.
fn serve_check(path: &std::path::Path) -> std::process::Output {
    airssys_wasm_command(BIN)
        .arg("serve")
        .arg(path)
        .arg("--check")
        .output()
        .unwrap()
}

#[test]
fn serve_logs_ready_and_a_sigterm_stops_it_with_exit_0_within_the_drain_timeout() {
    let (_dir, path) = setup(GOOD);
    let mut served = Served::start(BIN, &path);
    let ready = served.until("ready", READY_WITHIN);
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["fields"]["message"], "ready", "{ready}");
    served.signal("TERM");
    let stopped = Instant::now();
    let status = served.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    // Within the drain timeout (2 s), with a margin for the process to exit.
    assert!(stopped.elapsed() < Duration::from_secs(2) + Duration::from_millis(1500));
    served.until("\"message\":\"stopped\"", Duration::from_secs(1));
}
