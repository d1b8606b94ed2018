//! Errors keep their cause: a `trap`, a `link` and a `component` error that wasmtime
//! refused carry wasmtime's own error as their `source`, not only its text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error as _;
use std::path::PathBuf;

use airssys_wasm::error::WasmtimeCause;
use airssys_wasm::{EngineConfig, Engines, Error, LoadedComponent, Manifest};

fn engines() -> Engines {
    Engines::new(EngineConfig::default().cache_dir(None))
}

fn manifest(name: &str) -> Manifest {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/components")
        .join(name)
        .join("Component.toml");
    Manifest::from_file(path).unwrap()
}

/// The wasmtime error behind `error`, found through `source()`.
fn wasmtime_cause(error: &Error) -> &wasmtime::Error {
    let source = error
        .source()
        .unwrap_or_else(|| panic!("no source: {error:?}"));
    source
        .downcast_ref::<WasmtimeCause>()
        .expect("a wasmtime cause")
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_keeps_wasmtimes_trap_as_its_source() {
    let loaded = LoadedComponent::load(&engines(), manifest("faulty"))
        .await
        .unwrap();
    let mut instance = loaded.instantiate(None).await.unwrap();
    let error = instance.call("trap", b"", None).await.unwrap_err();
    assert!(matches!(error, Error::Trap { .. }), "{error:?}");
    assert_eq!(
        wasmtime_cause(&error).downcast_ref::<wasmtime::Trap>(),
        Some(&wasmtime::Trap::UnreachableCodeReached)
    );
}

#[tokio::test]
async fn a_link_error_keeps_the_linkers_error_as_its_source() {
    let error = LoadedComponent::load(&engines(), manifest("missing-import"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Link { import, .. } if import == "airssys:absent/nothing@0.1.0"),
        "{error:?}"
    );
    let cause = format!("{:#}", wasmtime_cause(&error));
    assert!(cause.contains("airssys:absent/nothing@0.1.0"), "{cause}");
}

#[tokio::test]
async fn a_component_wasmtime_refused_keeps_its_error_and_ours_has_none() {
    let temp = airssys_wasm_test_support::TempDir::new();
    let dir = temp.path();
    let toml = |wasm: &str| {
        format!(
            "[component]\nname = \"subject\"\nversion = \"1.0.0\"\nwasm = \"{wasm}\"\n\
             [resources]\nmax_memory = \"16MiB\"\nmax_stack = \"512KiB\"\n"
        )
    };
    // A component header with nothing valid after it: wasmtime refuses it.
    std::fs::write(dir.join("broken.wasm"), b"\0asm\x0d\0\x01\0garbage").unwrap();
    std::fs::write(dir.join("broken.toml"), toml("broken.wasm")).unwrap();
    // Not wasm at all: refused by our own check, before wasmtime sees it.
    std::fs::write(dir.join("text.wasm"), b"hello").unwrap();
    std::fs::write(dir.join("text.toml"), toml("text.wasm")).unwrap();

    let broken = Manifest::from_file(dir.join("broken.toml")).unwrap();
    let error = LoadedComponent::load(&engines(), broken).await.unwrap_err();
    assert!(
        matches!(&error, Error::Component { reason, .. } if reason == "not a valid component"),
        "{error:?}"
    );
    assert!(!format!("{:#}", wasmtime_cause(&error)).is_empty());
    assert!(
        error.to_string().starts_with("component `subject`: "),
        "{error}"
    );

    let text = Manifest::from_file(dir.join("text.toml")).unwrap();
    let error = LoadedComponent::load(&engines(), text).await.unwrap_err();
    assert!(
        matches!(&error, Error::Component { cause: None, .. }),
        "{error:?}"
    );
    assert!(error.source().is_none());
}

#[tokio::test]
async fn a_refused_tell_gives_the_message_back() {
    use airssys_wasm::{ErrorKind, Host};
    use airssys_wasm_actors::{ActorSystem, SystemConfig};
    let system = ActorSystem::new(SystemConfig::default());
    let host = Host::start(&system, EngineConfig::default().cache_dir(None))
        .await
        .unwrap();
    let refused = host
        .try_tell("nobody", "greet", b"payload".to_vec())
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NotFound);
    assert!(refused.to_string().contains("nobody"), "{refused}");
    let message = refused.into_message();
    assert_eq!(
        (message.topic.as_str(), &message.payload[..]),
        ("greet", &b"payload"[..])
    );
    assert_eq!(message.sender, None);
    system.shutdown().await.unwrap();
}
