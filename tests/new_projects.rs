//! `airssys-wasm new`: every language's project builds with the toolchains the scripts
//! install (scripts/build-guests, scripts/build-polyglot), passes `validate` and answers
//! `call` out of the box; bad names and used folders are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use airssys_wasm_test_support::{TempDir, airssys_wasm_command, root, stderr, target_dir, text};

fn airssys(args: &[&str]) -> Output {
    airssys_wasm_command(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .output()
        .unwrap()
}

/// Creates NAME with `lang` in a fresh folder (holding `around`, files beside the
/// project), builds it with its own build.sh (with `env`), and checks `validate`, `call`
/// and `measure` on its manifest.
fn creates_builds_and_answers(
    lang: &str,
    name: &str,
    env: &[(&str, String)],
    around: &[(&str, &str)],
) {
    let dir = TempDir::new();
    for (file, text) in around {
        dir.write(file, text);
    }
    let project = dir.path().join(name);
    let project_arg = project.display().to_string();
    let out = airssys(&["new", name, "--lang", lang, "--dir", &project_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for file in ["Component.toml", "build.sh", "README.md", "wit/world.wit"] {
        assert!(project.join(file).is_file(), "{lang}: no {file}");
    }
    let manifest = std::fs::read_to_string(project.join("Component.toml")).unwrap();
    assert!(
        manifest.contains(&format!("name = \"{name}\"")),
        "{manifest}"
    );

    let built = Command::new(project.join("build.sh"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{lang}: build.sh failed:\n{}\n{}",
        text(&built.stdout),
        stderr(&built)
    );
    assert!(project.join(format!("{name}.wasm")).is_file());

    let manifest = project.join("Component.toml").display().to_string();
    let validated = airssys(&["validate", &manifest]);
    assert_eq!(
        validated.status.code(),
        Some(0),
        "{lang}: {}",
        stderr(&validated)
    );
    let greeted = airssys(&["call", &manifest, "--topic", "greet", "--payload", "world"]);
    assert_eq!(
        greeted.status.code(),
        Some(0),
        "{lang}: {}",
        stderr(&greeted)
    );
    assert_eq!(text(&greeted.stdout), "hello, world", "{lang}");
    let echoed = airssys(&["call", &manifest, "--payload", "as is"]);
    assert_eq!(text(&echoed.stdout), "as is", "{lang}: {}", stderr(&echoed));
    let measured = airssys(&["measure", &manifest, "--topic", "count", "--runs", "3"]);
    assert_eq!(
        measured.status.code(),
        Some(0),
        "{lang}: {}",
        stderr(&measured)
    );
    assert!(text(&measured.stdout).contains("[resources]"), "{lang}");
}

fn shared_dir(name: &str) -> String {
    target_dir().join(name).display().to_string()
}

#[test]
fn a_new_rust_project_builds_validates_and_answers_call() {
    // One cargo target folder for every run of this test: wit-bindgen compiles once. Made
    // inside another cargo workspace, which must not claim it.
    creates_builds_and_answers(
        "rust",
        "rusty-greeter",
        &[("CARGO_TARGET_DIR", shared_dir("new-projects"))],
        &[("Cargo.toml", "[workspace]\nmembers = []\n")],
    );
}

#[test]
fn a_new_python_project_builds_validates_and_answers_call() {
    let componentize_py = root().join(".venv/bin/componentize-py");
    assert!(
        componentize_py.is_file(),
        "scripts/build-polyglot installs componentize-py into .venv"
    );
    creates_builds_and_answers(
        "python",
        "py_greeter",
        &[("COMPONENTIZE_PY", componentize_py.display().to_string())],
        &[],
    );
}

#[test]
fn a_new_js_project_builds_validates_and_answers_call() {
    let componentize_js = root().join("examples/guests/js/node_modules/.bin/componentize-js");
    assert!(
        componentize_js.is_file(),
        "scripts/build-polyglot installs componentize-js into examples/guests/js"
    );
    creates_builds_and_answers(
        "js",
        "js-greeter",
        &[("COMPONENTIZE_JS", componentize_js.display().to_string())],
        &[],
    );
}

#[test]
fn a_new_c_project_builds_validates_and_answers_call() {
    let tools = root().join("target/tools/bin");
    for tool in ["wit-bindgen", "wasm-component-ld"] {
        assert!(
            tools.join(tool).is_file(),
            "scripts/build-polyglot installs {tool} into target/tools"
        );
    }
    creates_builds_and_answers(
        "c",
        "c-greeter",
        &[
            (
                "WIT_BINDGEN",
                tools.join("wit-bindgen").display().to_string(),
            ),
            (
                "WASM_COMPONENT_LD",
                tools.join("wasm-component-ld").display().to_string(),
            ),
        ],
        &[],
    );
}

#[test]
fn new_refuses_a_bad_name_a_used_folder_and_an_unknown_language() {
    let dir = TempDir::new();
    let used = dir.path().join("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("keep.txt"), "mine").unwrap();
    let used_arg = used.display().to_string();

    let out = airssys(&["new", "ok-name", "--lang", "rust", "--dir", &used_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(used.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_dir(&used).unwrap().count(),
        1,
        "nothing written"
    );

    let fresh = dir.path().join("fresh").display().to_string();
    let out = airssys(&["new", "Bad Name", "--lang", "rust", "--dir", &fresh]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`Bad Name` is not a component name"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new(&fresh).exists());

    let out = airssys(&["new", "9lives", "--lang", "rust", "--dir", &fresh]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot name a Rust package"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new(&fresh).exists());

    let out = airssys(&["new", "ok-name", "--lang", "cobol", "--dir", &fresh]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!Path::new(&fresh).exists());

    // An empty folder is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = airssys(&[
        "new",
        "ok-name",
        "--lang",
        "python",
        "--dir",
        &empty.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(empty.join("app.py").is_file());
}
