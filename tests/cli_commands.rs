//! The `airssys-wasm` binary, run as a user would: every command, every exit code of the
//! contract, and `--json` both ways.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use airssys_wasm_test_support::{
    SMALL, TempDir, airssys_wasm_command, limits, manifest_for, manifest_path, stderr, wasm_path,
};

/// The binary, with the tests' compilation cache and no `RUST_LOG`.
fn command() -> Command {
    airssys_wasm_command(env!("CARGO_BIN_EXE_airssys-wasm"))
}

fn airssys(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

fn manifest(name: &str) -> String {
    manifest_path(name).display().to_string()
}

/// Runs `call` and checks the exit code and the `error[KIND]` first stderr line.
fn call_fails(args: &[&str], code: i32, kind: &str) -> String {
    let out = airssys(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("error[{kind}]: ")),
        "first stderr line: {first:?}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    err
}

fn spinner_manifest(dir: &TempDir) -> String {
    manifest_for(
        dir,
        "faulty",
        "spinner",
        limits("32MiB", "512KiB")
            .fuel(1_000_000_000_000)
            .time_ms(50),
        "",
    )
    .display()
    .to_string()
}

#[test]
fn call_writes_the_reply_bytes_unchanged_and_nothing_on_stderr() {
    let out = airssys(&[
        "call",
        &manifest("echo"),
        "--topic",
        "t",
        "--payload",
        "héllo\n\tbytes",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, "héllo\n\tbytes".as_bytes());
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));
}

#[test]
fn a_payload_that_starts_with_a_hyphen_is_a_payload_not_an_option() {
    let out = airssys(&["call", &manifest("echo"), "--payload", "-123456789012"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"-123456789012");
    let out = airssys(&["call", &manifest("echo"), "--payload", "--json"]);
    assert_eq!(out.stdout, b"--json", "{}", stderr(&out));
}

#[test]
fn call_reads_the_payload_from_a_file() {
    let dir = TempDir::new();
    let bytes: Vec<u8> = (0..=255).collect();
    let file = dir.write("payload.bin", &bytes);
    let out = airssys(&[
        "call",
        &manifest("echo"),
        "--payload-file",
        &file.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, bytes);
}

#[test]
fn call_json_success_has_the_contract_fields() {
    let out = airssys(&["call", &manifest("echo"), "--payload", "hi", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["reply"], "aGk=");
    assert!(v["fuel_consumed"].as_u64().unwrap() > 0);
    assert!(v["elapsed_us"].is_u64());
}

#[test]
fn call_json_failure_has_kind_and_message() {
    let out = airssys(&["call", &manifest("faulty"), "--topic", "trap", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["kind"], "trap");
    assert!(v["message"].as_str().unwrap().contains("faulty"));
}

#[test]
fn call_exit_codes_follow_the_contract() {
    call_fails(
        &["call", &manifest("echo"), "--topic", "fail"],
        1,
        "handler",
    );
    call_fails(&["call", &manifest("faulty"), "--topic", "trap"], 3, "trap");
    call_fails(&["call", &manifest("faulty"), "--topic", "burn"], 5, "fuel");
    call_fails(
        &["call", &manifest("faulty"), "--topic", "grow"],
        6,
        "memory",
    );
    let dir = TempDir::new();
    call_fails(
        &["call", &spinner_manifest(&dir), "--topic", "spin"],
        4,
        "timeout",
    );
    call_fails(&["call", &manifest("missing-import")], 2, "link");
    call_fails(&["call", &manifest("no-handler")], 2, "component");
    call_fails(&["call", "/nonexistent/Component.toml"], 2, "manifest");
}

#[test]
fn call_with_reaches_other_components_and_not_found_is_reported() {
    let out = airssys(&[
        "call",
        &manifest("faulty"),
        "--with",
        &manifest("echo"),
        "--topic",
        "request",
        "--payload",
        "echo greet hi there",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"hi there");
    // faulty passes the router's error through as its own handler error.
    let err = call_fails(
        &[
            "call",
            &manifest("faulty"),
            "--topic",
            "request",
            "--payload",
            "nobody t x",
        ],
        1,
        "handler",
    );
    assert!(err.contains("not-found"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let out = airssys(&["call"]);
    assert_eq!(out.status.code(), Some(2));
    let out = airssys(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = airssys(&[
        "call",
        &manifest("echo"),
        "--payload",
        "a",
        "--payload-file",
        "b",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_for_every_command_has_an_example() {
    for command in ["validate", "call", "compile", "inspect", "measure", "new"] {
        let out = airssys(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example: `airssys-wasm"),
            "{command} --help:\n{text}"
        );
    }
}

#[test]
fn validate_prints_resolved_limits_and_capabilities() {
    let out = airssys(&["validate", &manifest("faulty")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "faulty 0.1.0 ok",
        "max_memory              33554432 bytes",
        "max_stack               524288 bytes",
        "max_fuel_per_execution  10000000",
        "max_execution_time_ms   200 ms",
        "messaging * (any component)",
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
}

#[test]
fn validate_reports_every_manifest_and_exits_2() {
    let dir = TempDir::new();
    let bad = dir.write(
        "Component.toml",
        "[component]\nname = \"x\"\nversion = \"1.0.0\"\nwasm = \"x.wasm\"\n",
    );
    let out = airssys(&[
        "validate",
        &bad.display().to_string(),
        &manifest("echo"),
        &manifest("missing-import"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.lines().next().unwrap().starts_with("error[manifest]: "),
        "{err}"
    );
    assert!(err.contains("error[link]: "), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo 0.1.0 ok"));
}

#[test]
fn compile_writes_a_cwasm_that_a_manifest_can_name() {
    let dir = TempDir::new();
    let out_path = dir.path().join("echo.cwasm");
    let out = airssys(&[
        "compile",
        &manifest("echo"),
        "-o",
        &out_path.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read(&out_path).unwrap().starts_with(b"\x7fELF"));
    let m = dir.write(
        "Component.toml",
        format!("[component]\nname = \"echo\"\nversion = \"1.0.0\"\nwasm = \"echo.cwasm\"\n[resources]\n{SMALL}\n"),
    );
    let out = airssys(&["call", &m.display().to_string(), "--payload", "precompiled"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"precompiled");
    // A bare .wasm compiles too.
    let wasm_out = dir.path().join("bare.cwasm");
    let out = airssys(&[
        "compile",
        &wasm_path("counter").display().to_string(),
        "-o",
        &wasm_out.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(wasm_out.is_file());
}

#[test]
fn compile_rejects_what_is_not_a_component() {
    let dir = TempDir::new();
    let junk = dir.write("junk.wasm", b"\0asm\x01\0\0\0");
    let out = airssys(&[
        "compile",
        &junk.display().to_string(),
        "-o",
        &dir.path().join("o.cwasm").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error[component]: "));
}

#[test]
fn inspect_lists_imports_exports_and_fit() {
    let out = airssys(&["inspect", &wasm_path("faulty").display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("airssys:component/messaging@0.1.0 (instance: send, request)"),
        "{text}"
    );
    assert!(
        text.contains("exports:\n  airssys:component/handler@0.1.0"),
        "{text}"
    );
    assert!(text.contains("fits the host's world: yes"), "{text}");
    let out = airssys(&[
        "inspect",
        &wasm_path("missing-import").display().to_string(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("airssys:absent/nothing@0.1.0"), "{text}");
    assert!(
        text.contains("fits the host's world: no: error[link]"),
        "{text}"
    );
}

#[test]
fn verbose_shows_guest_logs_on_stderr_and_quiet_does_not() {
    let quiet = airssys(&[
        "call",
        &manifest("faulty"),
        "--topic",
        "log",
        "--payload",
        "a guest line",
    ]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(quiet.stderr.is_empty());
    let loud = airssys(&[
        "-v",
        "call",
        &manifest("faulty"),
        "--topic",
        "log",
        "--payload",
        "a guest line",
    ]);
    assert!(stderr(&loud).contains("a guest line"), "{}", stderr(&loud));
    assert!(stderr(&loud).contains("faulty"));
}

#[test]
fn call_whose_stdout_is_closed_early_exits_0_quietly() {
    let dir = TempDir::new();
    // 1 MiB: far more than a pipe holds, so `call` is still writing when its reader leaves.
    let payload = dir.write("payload.bin", vec![b'x'; 1 << 20]);
    let mut child = command()
        .args(["call", &manifest("echo"), "--payload-file"])
        .arg(&payload)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(first, [b'x'; 100]);
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(!err.contains("Broken pipe"), "stderr: {err}");
}

#[test]
fn validate_whose_stdout_is_closed_before_it_writes_exits_0_quietly() {
    // The read end is closed before the child starts: its very first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command()
        .args(["validate", &manifest("faulty")])
        .stdout(writer)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(!err.contains("Broken pipe"), "stderr: {err}");
}

#[test]
fn call_with_exits_once_its_reply_is_known_without_waiting_for_the_others() {
    let dir = TempDir::new();
    let caller = manifest_for(
        &dir,
        "faulty",
        "caller",
        limits("32MiB", "512KiB").time_ms(1500),
        "[capabilities]\nmessaging = [\"sleeper\"]",
    );
    let sleeper = manifest_for(
        &dir,
        "faulty",
        "sleeper",
        limits("32MiB", "512KiB").time_ms(30_000),
        "",
    );
    let started = Instant::now();
    // The caller's request waits for the sleeper's 20 s sleep past its own 1.5 s deadline:
    // a timeout, known at 1.5 s, while the sleeper is still sleeping. An exit that waited
    // for the sleeper would take 20 s, or 1.5 + 5 s where the runtime's 5 s shutdown
    // deadline cuts it short (as `call` did before): the bound is below both, with 3.5 s
    // for starting the host on a loaded machine.
    let out = command()
        .arg("call")
        .arg(&caller)
        .arg("--with")
        .arg(&sleeper)
        .args(["--topic", "request", "--payload", "sleeper sleep 20000"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "stderr: {err}");
    assert!(err.starts_with("error[timeout]: "), "stderr: {err}");
    assert!(
        took < Duration::from_secs(5),
        "call took {took:?}: it waited for the sleeper"
    );
}

#[test]
fn an_http_only_component_is_a_component_error_for_call_and_validate_and_inspect_say_it_serves_http()
 {
    let err = call_fails(&["call", &manifest("http-hello")], 2, "component");
    assert!(err.contains("serve it over HTTP"), "{err}");
    let out = airssys(&["validate", &manifest("http-hello")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("HTTP only (wasi:http/incoming-handler)"),
        "{text}"
    );
    assert!(text.contains("http http://127.0.0.1:8081"), "{text}");
    let wasm = manifest_path("http-hello").with_file_name("http-hello.wasm");
    let out = airssys(&["inspect", &wasm.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("wasi:http/incoming-handler@0.2"), "{text}");
    assert!(
        text.contains("fits the host's world: yes, as a wasi:http/proxy component"),
        "{text}"
    );
}
