//! Real guests of other languages, built with each language's official component toolchain
//! (Python with componentize-py, JavaScript with componentize-js, C and C++ with clang 19,
//! wit-bindgen's C bindings and wasm-component-ld, by `scripts/build-polyglot`)
//! and run through their own manifests in examples/components: state, config, logging,
//! handler errors, crashes as traps with a restart, messaging with Rust components, the CLI.
//!
//! Every guest answers the same topics (`count`, `greet`, `log`, `request`, `parse`, `crash`);
//! see examples/guests/python/app.py, examples/guests/js/handler.js,
//! examples/guests/c/guest.c and examples/guests/cpp/guest.cpp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Output;

use airssys_wasm::{Error, ErrorKind, Host, Manifest};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorRef};
use airssys_wasm_test_support::{
    TempDir, airssys_wasm_command, host, log_lines_with, logs, manifest_path, root, stderr,
    supervisor,
};

const PY: &str = "py-guest";
const JS: &str = "js-guest";
const C: &str = "c-guest";
const CPP: &str = "cpp-guest";

/// Loads are serialized across this test binary: on a cold cache the first load of a guest
/// compiles it (tens of seconds for these 12-18 MB components), and every other test then
/// takes it from the cache instead of compiling it again at the same time.
static LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The example manifest of a polyglot guest, checking its wasm was built.
fn polyglot_manifest(name: &str) -> PathBuf {
    let dir = root().join("examples/components").join(name);
    let wasm = dir.join(format!("{name}.wasm"));
    assert!(
        wasm.is_file(),
        "{} is missing: run scripts/build-polyglot",
        wasm.display()
    );
    dir.join("Component.toml")
}

async fn setup() -> (ActorSystem, Host, SupervisorRef) {
    logs();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    (system, host, sup)
}

async fn spawn(host: &Host, sup: &SupervisorRef, manifest: PathBuf) {
    let _one_at_a_time = LOADING.lock().await;
    host.spawn_component(sup, Manifest::from_file(manifest).unwrap())
        .await
        .unwrap();
}

/// Starts the example guest `name` from its own manifest.
async fn spawn_guest(host: &Host, sup: &SupervisorRef, name: &str) {
    spawn(host, sup, polyglot_manifest(name)).await;
}

async fn ask(host: &Host, to: &str, topic: &str, payload: &str) -> Result<String, Error> {
    let reply = host.ask(to, topic, payload.as_bytes()).await?;
    Ok(String::from_utf8(reply.payload).unwrap())
}

async fn ok(host: &Host, to: &str, topic: &str, payload: &str) -> String {
    ask(host, to, topic, payload)
        .await
        .unwrap_or_else(|e| panic!("{to} {topic} {payload:?}: {e}"))
}

async fn handler_error(host: &Host, to: &str, topic: &str, payload: &str) -> String {
    match ask(host, to, topic, payload).await {
        Err(Error::Handler { message, .. }) => message,
        other => panic!("{to} {topic} {payload:?}: expected a handler error, got {other:?}"),
    }
}

// ---- the same behaviour in each language -----------------------------------------------

async fn keeps_state_between_messages(guest: &str) {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, guest).await;
    for expected in ["1", "2", "3"] {
        assert_eq!(ok(&host, guest, "count", "").await, expected);
    }
    system.shutdown().await.unwrap();
}

async fn reads_its_config(guest: &str) {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, guest).await;
    assert_eq!(ok(&host, guest, "greet", "world").await, "hello, world");

    // The same wasm under a manifest without the key: the guest's own error, not a crash.
    let dir = TempDir::new();
    let bare = format!("{guest}-bare");
    let manifest = dir.write(
        &format!("{bare}.toml"),
        std::fs::read_to_string(polyglot_manifest(guest))
            .unwrap()
            .replace(
                &format!("name = \"{guest}\""),
                &format!("name = \"{bare}\""),
            )
            .replace(
                &format!("wasm = \"{guest}.wasm\""),
                &format!(
                    "wasm = {:?}",
                    polyglot_manifest(guest).with_file_name(format!("{guest}.wasm"))
                ),
            )
            .replace("greeting = \"hello\"", ""),
    );
    spawn(&host, &sup, manifest).await;
    assert_eq!(
        handler_error(&host, &bare, "greet", "world").await,
        "no greeting configured"
    );
    assert_eq!(host.metrics(&bare).unwrap().restarts, 0);
    system.shutdown().await.unwrap();
}

async fn logs_through_the_host(guest: &str) {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, guest).await;
    let marker = format!("{guest}-log-marker-7781");
    assert_eq!(ok(&host, guest, "log", &marker).await, "logged");
    let lines = log_lines_with(&marker);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains(" INFO "), "logged at info: {line}");
    assert!(line.contains("airssys_wasm::guest:"), "{line}");
    assert!(line.contains(&format!("component=\"{guest}\"")), "{line}");
    system.shutdown().await.unwrap();
}

async fn returns_a_handler_error_on_bad_input_and_keeps_running(guest: &str) {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, guest).await;
    assert_eq!(ok(&host, guest, "count", "").await, "1");
    assert_eq!(ok(&host, guest, "parse", "21").await, "42");
    assert_eq!(
        ok(&host, guest, "parse", "-123456789012").await,
        "-246913578024"
    );
    let message = handler_error(&host, guest, "parse", "twelve").await;
    assert!(message.starts_with("not a number: "), "{message}");
    assert!(message.contains("twelve"), "{message}");
    // Bytes that are not UTF-8 in the input: still the guest's handled error (its text
    // must be UTF-8 to cross the boundary), not a crash.
    match host.ask(guest, "parse", b"4\xff\xfe2").await {
        Err(Error::Handler { message, .. }) => {
            assert!(message.starts_with("not a number: "), "{message}")
        }
        other => panic!("{guest} parse of non-UTF-8: expected a handler error, got {other:?}"),
    }
    assert_eq!(
        handler_error(&host, guest, "no-such-topic", "").await,
        "unknown topic: no-such-topic"
    );
    assert_eq!(
        ok(&host, guest, "count", "").await,
        "2",
        "same instance, state kept"
    );
    let metrics = host.metrics(guest).unwrap();
    assert_eq!((metrics.handler_errors, metrics.restarts), (3, 0));
    system.shutdown().await.unwrap();
}

async fn an_uncaught_exception_is_a_trap_and_restarts_it(guest: &str) {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, guest).await;
    assert_eq!(ok(&host, guest, "count", "").await, "1");
    assert_eq!(ok(&host, guest, "count", "").await, "2");
    let err = ask(&host, guest, "crash", "").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap, "{err}");
    assert_eq!(
        ok(&host, guest, "count", "").await,
        "1",
        "a fresh instance after the restart"
    );
    let metrics = host.metrics(guest).unwrap();
    assert_eq!((metrics.traps, metrics.restarts), (1, 1));
    system.shutdown().await.unwrap();
}

/// The guest and the Rust `echo` and `faulty` components in one host, asking each other.
async fn messages_rust_components_both_ways(guest: &str) {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, guest).await;
    spawn(&host, &sup, manifest_path("echo")).await;
    spawn(&host, &sup, manifest_path("faulty")).await;

    // The guest asks Rust components.
    assert_eq!(
        ok(&host, guest, "request", "echo any hello from the guest").await,
        "hello from the guest"
    );
    assert_eq!(
        ok(&host, guest, "request", "faulty sender x").await,
        guest,
        "faulty saw the guest as the sender"
    );
    assert_eq!(
        handler_error(&host, guest, "request", "faulty error x").await,
        "faulty returned an error on purpose",
        "the target's err passed through the guest unchanged"
    );
    let message = handler_error(&host, guest, "request", "nobody count x").await;
    assert!(message.contains("not-found"), "{message}");

    // A Rust component asks the guest.
    assert_eq!(
        ok(&host, "faulty", "request", &format!("{guest} count x")).await,
        "1"
    );
    assert_eq!(
        ok(&host, "faulty", "request", &format!("{guest} count x")).await,
        "2"
    );
    assert_eq!(
        ok(&host, "faulty", "request", &format!("{guest} greet faulty")).await,
        "hello, faulty"
    );
    let message = handler_error(&host, "faulty", "request", &format!("{guest} parse x")).await;
    assert!(message.starts_with("not a number: "), "{message}");

    // And round trips: Rust -> guest -> Rust.
    assert_eq!(
        ok(
            &host,
            "faulty",
            "request",
            &format!("{guest} request echo t round trip")
        )
        .await,
        "round trip"
    );
    for name in [guest, "echo", "faulty"] {
        assert_eq!(host.metrics(name).unwrap().restarts, 0, "{name}");
    }
    system.shutdown().await.unwrap();
}

// ---- Python (componentize-py) ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_keeps_state_between_messages() {
    keeps_state_between_messages(PY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_reads_its_config() {
    reads_its_config(PY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_logs_through_the_host() {
    logs_through_the_host(PY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_returns_a_handler_error_on_bad_input_and_keeps_running() {
    returns_a_handler_error_on_bad_input_and_keeps_running(PY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncaught_python_exception_is_a_trap_and_the_guest_restarts() {
    an_uncaught_exception_is_a_trap_and_restarts_it(PY).await;
    // componentize-py prints the traceback to stderr before trapping; it reaches the logs.
    let lines = log_lines_with("RuntimeError: py-guest crashed on purpose");
    assert!(!lines.is_empty(), "the traceback was logged");
    assert!(
        lines[0].contains("airssys_wasm::guest::stderr"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_rust_components_message_each_other() {
    messages_rust_components_both_ways(PY).await;
}

// ---- JavaScript (componentize-js) ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_guest_keeps_state_between_messages() {
    keeps_state_between_messages(JS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_guest_reads_its_config() {
    reads_its_config(JS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_guest_logs_through_the_host() {
    logs_through_the_host(JS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_guest_returns_a_handler_error_on_bad_input_and_keeps_running() {
    returns_a_handler_error_on_bad_input_and_keeps_running(JS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncaught_javascript_exception_is_a_trap_and_the_guest_restarts() {
    an_uncaught_exception_is_a_trap_and_restarts_it(JS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_and_rust_components_message_each_other() {
    messages_rust_components_both_ways(JS).await;
}

// ---- C (clang 19, wit-bindgen c, wasm-component-ld) ---------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_guest_keeps_state_between_messages() {
    keeps_state_between_messages(C).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_guest_reads_its_config() {
    reads_its_config(C).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_guest_logs_through_the_host() {
    logs_through_the_host(C).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_guest_returns_a_handler_error_on_bad_input_and_keeps_running() {
    returns_a_handler_error_on_bad_input_and_keeps_running(C).await;
}

/// `__builtin_trap()` in the guest is wasm's `unreachable`: a trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_guest_that_aborts_traps_and_restarts() {
    an_uncaught_exception_is_a_trap_and_restarts_it(C).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_and_rust_components_message_each_other() {
    messages_rust_components_both_ways(C).await;
}

// ---- C++ (clang 19, wit-bindgen c, wasm-component-ld) ---------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpp_guest_keeps_state_between_messages() {
    keeps_state_between_messages(CPP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpp_guest_reads_its_config() {
    reads_its_config(CPP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpp_guest_logs_through_the_host() {
    logs_through_the_host(CPP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpp_guest_returns_a_handler_error_on_bad_input_and_keeps_running() {
    returns_a_handler_error_on_bad_input_and_keeps_running(CPP).await;
}

/// `std::abort()` in the guest is wasm's `unreachable`: a trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpp_guest_that_aborts_traps_and_restarts() {
    an_uncaught_exception_is_a_trap_and_restarts_it(CPP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpp_and_rust_components_message_each_other() {
    messages_rust_components_both_ways(CPP).await;
}

// ---- across languages ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_javascript_guests_message_each_other_through_a_rust_one() {
    let (system, host, sup) = setup().await;
    spawn_guest(&host, &sup, PY).await;
    spawn_guest(&host, &sup, JS).await;
    spawn(&host, &sup, manifest_path("echo")).await;
    assert_eq!(ok(&host, PY, "request", "js-guest count x").await, "1");
    assert_eq!(ok(&host, JS, "request", "py-guest count x").await, "1");
    assert_eq!(
        ok(
            &host,
            PY,
            "request",
            "js-guest request echo t from python via js"
        )
        .await,
        "from python via js"
    );
    assert_eq!(
        ok(
            &host,
            JS,
            "request",
            "py-guest request echo t from js via python"
        )
        .await,
        "from js via python"
    );
    // A crash of the target is the caller's handled error; only the target restarts.
    let message = handler_error(&host, PY, "request", "js-guest crash x").await;
    assert!(message.contains("trap"), "{message}");
    assert_eq!(
        ok(&host, PY, "count", "").await,
        "2",
        "py-guest kept its state"
    );
    assert_eq!(ok(&host, JS, "count", "").await, "1", "js-guest restarted");
    assert_eq!(host.metrics(PY).unwrap().restarts, 0);
    assert_eq!(host.metrics(JS).unwrap().restarts, 1);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_and_cpp_guests_message_the_interpreted_ones_and_a_crash_restarts_only_its_own() {
    let (system, host, sup) = setup().await;
    for guest in [C, CPP, PY, JS] {
        spawn_guest(&host, &sup, guest).await;
    }
    assert_eq!(ok(&host, C, "request", "cpp-guest count x").await, "1");
    assert_eq!(ok(&host, CPP, "request", "c-guest count x").await, "1");
    assert_eq!(
        ok(&host, C, "request", "py-guest request js-guest greet c").await,
        "hello, c",
        "C -> Python -> JavaScript"
    );
    assert_eq!(
        ok(&host, CPP, "request", "js-guest request c-guest parse 21").await,
        "42",
        "C++ -> JavaScript -> C"
    );
    let message = handler_error(&host, C, "request", "cpp-guest crash x").await;
    assert!(message.contains("trap"), "{message}");
    assert_eq!(
        ok(&host, C, "count", "").await,
        "2",
        "c-guest kept its state"
    );
    assert_eq!(
        ok(&host, CPP, "count", "").await,
        "1",
        "cpp-guest restarted"
    );
    assert_eq!(host.metrics(C).unwrap().restarts, 0);
    assert_eq!(host.metrics(CPP).unwrap().restarts, 1);
    system.shutdown().await.unwrap();
}

// ---- the command line ------------------------------------------------------------------

fn cli(args: &[&str]) -> Output {
    // A cold cache compiles in the child: keep it to one compile at a time with the loads above.
    let _one_at_a_time = LOADING.blocking_lock();
    airssys_wasm_command(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .output()
        .unwrap()
}

fn cli_call_of_each_guest(guest: &str) {
    let manifest = polyglot_manifest(guest).display().to_string();
    let out = cli(&["call", &manifest, "--topic", "greet", "--payload", "cli"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"hello, cli");
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    let out = cli(&["call", &manifest, "--topic", "parse", "--payload", "x"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[handler]: "),
        "{}",
        stderr(&out)
    );

    let out = cli(&["call", &manifest, "--topic", "crash"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[trap]: "),
        "{}",
        stderr(&out)
    );

    let echo = manifest_path("echo").display().to_string();
    let out = cli(&[
        "call",
        &manifest,
        "--with",
        &echo,
        "--topic",
        "request",
        "--payload",
        "echo t via cli",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"via cli");

    let out = cli(&["call", &manifest, "--topic", "count", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["reply"], "MQ==", "base64 of \"1\": {json}");
}

#[test]
fn the_cli_calls_the_python_guest() {
    cli_call_of_each_guest(PY);
}

#[test]
fn the_cli_calls_the_javascript_guest() {
    cli_call_of_each_guest(JS);
}

#[test]
fn the_cli_calls_the_c_guest() {
    cli_call_of_each_guest(C);
}

#[test]
fn the_cli_calls_the_cpp_guest() {
    cli_call_of_each_guest(CPP);
}

/// Serves the `wasi:http/proxy` guest `name` from its own manifest through a host file's
/// route (in this process, over loopback) and checks what it answers. The host is pooled
/// as `airssys-wasm serve`'s is (these components are made of many core modules and
/// tables, which the pool must have room for).
async fn serves_http_unchanged(name: &str, greeting: &str) {
    logs();
    let system = ActorSystem::new(airssys_wasm_actors::SystemConfig::default());
    let allocation = airssys_wasm::Allocation::serving(4 << 30);
    assert!(
        matches!(allocation, airssys_wasm::Allocation::Pooling { .. }),
        "this machine refused the pool's reservation"
    );
    let engines = airssys_wasm::EngineConfig::default()
        .cache_dir(Some(airssys_wasm_test_support::cache_dir()))
        .allocation(allocation);
    let host = Host::start(&system, engines).await.unwrap();
    let dir = TempDir::new();
    let manifest = polyglot_manifest(name);
    let file = airssys_wasm_test_support::http_host_file(&dir, name, &manifest, "");
    let file = airssys_wasm::manifest::HostFile::from_file(&file).unwrap();
    let service = {
        let _one_at_a_time = LOADING.lock().await;
        airssys_wasm::serve::Service::start(&host, &file)
            .await
            .unwrap()
    };
    let http = service.http_address().unwrap();
    for _ in 0..2 {
        let hello = airssys_wasm_test_support::get(http, "/hello").await;
        assert_eq!(
            (hello.status, hello.text().as_str()),
            (200, greeting),
            "{name}"
        );
    }
    let missing = airssys_wasm_test_support::get(http, "/nothing?x=1").await;
    assert_eq!(missing.status, 404, "{name}: {}", missing.text());
    assert!(
        missing.text().contains("/nothing"),
        "{name}: {}",
        missing.text()
    );
    assert_eq!(host.metrics(name).unwrap().handled, 3);
    service.shutdown().await.unwrap();
    drop(system);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_proxy_component_serves_http_unchanged() {
    serves_http_unchanged("py-http", "hello from python\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_fetch_event_component_serves_http_unchanged() {
    serves_http_unchanged("js-http", "hello from js\n").await;
}
