//! The library does not carry the command line: without its default `cli` feature,
//! `airssys-wasm` depends on none of the CLI's crates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// `cargo tree` of the library (normal dependencies), with or without its default
/// features, to `depth`.
fn library_tree(default_features: bool, depth: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["tree", "-p", "airssys-wasm", "-e", "normal"]);
    if !default_features {
        command.arg("--no-default-features");
    }
    let out = command
        .args(["--prefix", "none", "--depth", depth])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn crate_names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

#[test]
fn the_library_without_the_cli_feature_compiles_no_cli_dependency() {
    let all = library_tree(false, "1000");
    let names = crate_names(&all);
    assert!(names.contains(&"wasmtime"), "the tree was read: {all}");
    for cli_only in ["clap", "tracing-subscriber"] {
        assert!(
            !names.contains(&cli_only),
            "{cli_only} is in the library's tree:\n{all}"
        );
    }
    // serde_json is used by wasmtime's bindgen proc macro at build time, and base64 by
    // async-nats (NKeys): the library itself must not depend on either.
    let direct = library_tree(false, "1");
    for cli_only in ["serde_json", "base64"] {
        assert!(
            !crate_names(&direct).contains(&cli_only),
            "{cli_only}: {direct}"
        );
    }
}

#[test]
fn the_default_features_carry_the_cli() {
    let tree = library_tree(true, "1");
    assert!(crate_names(&tree).contains(&"clap"), "{tree}");
}
