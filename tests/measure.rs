//! `airssys-wasm measure`, run as a user would, on guests whose cost is known: `faulty`'s
//! `alloc N` touches N bytes, `burn N` loops N times, `trap` traps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use airssys_wasm_test_support::{
    TempDir, airssys_wasm_command, limits, manifest_for, manifest_text, stderr, text,
};

fn command() -> Command {
    airssys_wasm_command(env!("CARGO_BIN_EXE_airssys-wasm"))
}

fn measure(args: &[&str]) -> Output {
    command().arg("measure").args(args).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn faulty(dir: &TempDir, memory: &'static str) -> String {
    manifest_for(
        dir,
        "faulty",
        "faulty",
        limits(memory, "1MiB").fuel(10_000_000_000).time_ms(10_000),
        "",
    )
    .display()
    .to_string()
}

fn number(value: &serde_json::Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn measure_sees_the_memory_a_guest_touches_and_suggests_limits_with_headroom() {
    let dir = TempDir::new();
    let manifest = faulty(&dir, "64MiB");
    let eight_mib = (8u64 << 20).to_string();
    let v = json(&measure(&[
        &manifest,
        "--topic",
        "alloc",
        "--payload",
        &eight_mib,
        "--runs",
        "3",
        "--json",
    ]));
    assert_eq!(v["ok"], true);
    assert_eq!(v["component"], "faulty");
    assert_eq!(v["runs"], 3);
    let peak = &v["peak"];
    assert!(number(&peak["memory_bytes"]) >= 8 << 20, "{v}");
    // Far below the 64 MiB the manifest allows: what is reported is what was used.
    assert!(number(&peak["memory_bytes"]) < 32 << 20, "{v}");
    let suggested = &v["suggested"];
    for (limit, figure) in [
        ("max_memory", number(&peak["memory_bytes"])),
        ("max_fuel_per_execution", number(&peak["fuel"])),
        ("max_execution_time_ms", number(&peak["time_us"]) / 1000),
    ] {
        let limit_value = number(&suggested[limit]);
        assert!(
            limit_value as f64 >= 1.5 * figure as f64,
            "{limit} = {limit_value} for {figure}: {v}"
        );
    }
    assert_eq!(number(&suggested["max_stack"]), 1 << 20, "the manifest's");
    // The instantiation is reported apart, and counts in the peak.
    assert!(number(&v["instantiation"]["fuel"]) > 0, "{v}");
    assert!(number(&peak["fuel"]) >= number(&v["instantiation"]["fuel"]));
}

#[test]
fn the_printed_resources_section_runs_the_message_it_was_measured_on() {
    let dir = TempDir::new();
    let manifest = faulty(&dir, "256MiB");
    let out = measure(&[&manifest, "--topic", "alloc", "--payload", "4194304"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let table = text(&out.stdout);
    for row in [
        "instantiation",
        "first message",
        "later: min",
        "later: median",
        "later: max",
    ] {
        assert!(table.contains(row), "no {row:?} row:\n{table}");
    }
    let (_, section) = table
        .split_once("[resources]\n")
        .unwrap_or_else(|| panic!("no [resources] section:\n{table}"));
    assert!(section.contains("max_memory = \""), "{section}");
    // A manifest with exactly the suggested limits validates and runs the message.
    let fitted = dir.write(
        "fitted.toml",
        manifest_text("faulty", "fitted", section.trim_end(), ""),
    );
    let fitted = fitted.display().to_string();
    let validated = command().args(["validate", &fitted]).output().unwrap();
    assert_eq!(validated.status.code(), Some(0), "{}", stderr(&validated));
    let called = command()
        .args(["call", &fitted, "--topic", "alloc", "--payload", "4194304"])
        .output()
        .unwrap();
    assert_eq!(called.status.code(), Some(0), "{}", stderr(&called));
    assert_eq!(text(&called.stdout), "ok");
}

#[test]
fn measured_fuel_follows_the_work_a_message_does() {
    let dir = TempDir::new();
    let manifest = faulty(&dir, "32MiB");
    let fuel = |n: &str| {
        let v = json(&measure(&[
            &manifest,
            "--topic",
            "burn",
            "--payload",
            n,
            "--runs",
            "5",
            "--json",
        ]));
        number(&v["later"]["median"]["fuel"])
    };
    let small = fuel("10000");
    let large = fuel("1000000");
    // A hundred times the loop: close to a hundred times the fuel (the call's own cost is
    // the same in both).
    let ratio = large as f64 / small as f64;
    assert!((50.0..=110.0).contains(&ratio), "{small} then {large}");
}

#[test]
fn one_run_has_a_first_message_and_no_later_ones() {
    let dir = TempDir::new();
    let manifest = faulty(&dir, "32MiB");
    let v = json(&measure(&[
        &manifest,
        "--topic",
        "ok",
        "--payload",
        "x",
        "--runs",
        "1",
        "--json",
    ]));
    assert_eq!(v["runs"], 1);
    assert!(v["later"].is_null(), "{v}");
    assert!(number(&v["first"]["fuel"]) > 0, "{v}");
    let out = measure(&[&manifest, "--runs", "0"]);
    assert_eq!(out.status.code(), Some(2), "--runs 0 is a usage error");
}

#[test]
fn measure_exits_as_call_would_on_a_failing_run() {
    let dir = TempDir::new();
    let manifest = faulty(&dir, "16MiB");
    let out = measure(&[&manifest, "--topic", "trap"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[trap]: "),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());

    let out = measure(&[
        &manifest,
        "--topic",
        "alloc",
        "--payload",
        "67108864",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["kind"], "memory");

    let out = measure(&[&manifest, "--topic", "error"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[handler]: "),
        "{}",
        stderr(&out)
    );

    let missing = dir.path().join("missing.toml").display().to_string();
    let out = measure(&[&missing]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[manifest]: "),
        "{}",
        stderr(&out)
    );
}
