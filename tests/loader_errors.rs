//! Loading: `link` and `component` errors from real bad files, the compilation cache, and
//! precompiled `.cwasm` components.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use airssys_wasm::{EngineConfig, Engines, Error, ErrorKind, LoadedComponent, Manifest};
use airssys_wasm_test_support::{SMALL, TempDir, engine, manifest_path, wasm_path};

/// Writes `bytes` as `name` and a manifest naming it; loads it.
async fn load_bytes(
    engine: &Engines,
    name: &str,
    bytes: &[u8],
) -> Result<std::sync::Arc<LoadedComponent>, Error> {
    let dir = TempDir::new();
    dir.write(name, bytes);
    let manifest = dir.write(
        "Component.toml",
        format!("[component]\nname = \"subject\"\nversion = \"1.0.0\"\nwasm = \"{name}\"\n[resources]\n{SMALL}\n"),
    );
    LoadedComponent::load(engine, Manifest::from_file(manifest).unwrap()).await
}

fn expect_component_error(result: Result<std::sync::Arc<LoadedComponent>, Error>, needle: &str) {
    match result {
        Err(Error::Component {
            component, reason, ..
        }) => {
            assert_eq!(component, "subject");
            assert!(reason.contains(needle), "expected {needle:?} in: {reason}");
        }
        other => panic!("expected a component error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_import_is_a_link_error_naming_it() {
    let err = LoadedComponent::load(
        &engine(),
        Manifest::from_file(manifest_path("missing-import")).unwrap(),
    )
    .await
    .unwrap_err();
    match &err {
        Error::Link {
            component, import, ..
        } => {
            assert_eq!(component, "missing-import");
            assert_eq!(import, "airssys:absent/nothing@0.1.0");
        }
        other => panic!("expected link, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Link);
}

#[tokio::test]
async fn a_component_without_the_handler_export_is_a_component_error() {
    let err = LoadedComponent::load(
        &engine(),
        Manifest::from_file(manifest_path("no-handler")).unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Component);
    assert!(
        err.to_string()
            .contains("exports neither `airssys:component/handler@0.1.0`"),
        "{err}"
    );
}

#[tokio::test]
async fn files_that_are_not_components_are_component_errors() {
    let engine = engine();
    expect_component_error(
        load_bytes(&engine, "x.wasm", b"hello, world").await,
        "not a WebAssembly file",
    );
    expect_component_error(
        load_bytes(&engine, "x.wasm", b"").await,
        "not a WebAssembly file",
    );
    expect_component_error(
        load_bytes(&engine, "x.wasm", b"\0asm\x01\0\0\0").await,
        "core WebAssembly module",
    );
    expect_component_error(load_bytes(&engine, "x.wasm", b"(component)").await, ".wat");
    let echo = std::fs::read(wasm_path("echo")).unwrap();
    expect_component_error(
        load_bytes(&engine, "x.wasm", &echo[..echo.len() / 2]).await,
        "not a valid component",
    );
}

#[tokio::test]
async fn random_bytes_and_truncated_cwasm_are_component_errors_never_a_crash() {
    let engine = engine();
    let cwasm = engine
        .precompile(&std::fs::read(wasm_path("echo")).unwrap())
        .unwrap();
    for cut in [8, 64, 4096, cwasm.len() / 2, cwasm.len() - 1] {
        let result = load_bytes(&engine, "x.cwasm", &cwasm[..cut]).await;
        assert_eq!(
            result.unwrap_err().kind(),
            ErrorKind::Component,
            "cut at {cut}"
        );
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in [1usize, 7, 100, 5000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        assert_eq!(
            load_bytes(&engine, "r.wasm", &bytes)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Component
        );
    }
}

#[tokio::test]
async fn a_cwasm_built_for_another_engine_is_refused() {
    let echo = std::fs::read(wasm_path("echo")).unwrap();
    // A plain engine: no fuel, no epochs, so its code is not ours.
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let foreign = wasmtime::Engine::new(&config)
        .unwrap()
        .precompile_component(&echo)
        .unwrap();
    expect_component_error(
        load_bytes(&engine(), "x.cwasm", &foreign).await,
        "not a precompiled component for this host's engine",
    );
}

#[tokio::test]
async fn a_precompiled_cwasm_loads_and_runs() {
    let engine = engine();
    let cwasm = engine
        .precompile(&std::fs::read(wasm_path("echo")).unwrap())
        .unwrap();
    let loaded = load_bytes(&engine, "echo.cwasm", &cwasm).await.unwrap();
    assert!(loaded.was_precompiled());
    let mut echo = loaded.instantiate(None).await.unwrap();
    assert_eq!(
        echo.call("t", b"from cwasm", None).await.unwrap().payload,
        b"from cwasm"
    );
}

#[tokio::test]
async fn the_second_load_comes_from_the_compilation_cache() {
    let dir = TempDir::new();
    let engine = Engines::new(EngineConfig::default().cache_dir(Some(dir.path().to_path_buf())));
    let manifest = Manifest::from_file(manifest_path("counter")).unwrap();
    let first = LoadedComponent::load(&engine, manifest.clone())
        .await
        .unwrap();
    assert!(!first.was_precompiled(), "an empty cache cannot hit");
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries, 1, "one .cwasm entry written");
    // While `first` lives, a second load shares its code in memory: it reports how that
    // code was made (compiled), where a disk-cache hit would report precompiled.
    let shared = LoadedComponent::load(&engine, manifest.clone())
        .await
        .unwrap();
    assert!(
        !shared.was_precompiled(),
        "the live code is shared, not loaded again"
    );
    drop((first, shared));
    // With no load alive, the code comes from the disk cache.
    let second = LoadedComponent::load(&engine, manifest).await.unwrap();
    assert!(
        second.was_precompiled(),
        "the load after that is a cache hit"
    );
    let mut counter = second.instantiate(None).await.unwrap();
    assert_eq!(
        counter.call("increment", b"5", None).await.unwrap().payload,
        b"5"
    );
}

#[tokio::test]
async fn a_corrupt_cache_entry_is_replaced() {
    let dir = TempDir::new();
    let engine = Engines::new(EngineConfig::default().cache_dir(Some(dir.path().to_path_buf())));
    let manifest = Manifest::from_file(manifest_path("echo")).unwrap();
    LoadedComponent::load(&engine, manifest.clone())
        .await
        .unwrap();
    let entry = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&entry, b"\x7fELF garbage").unwrap();
    let reloaded = LoadedComponent::load(&engine, manifest).await.unwrap();
    assert!(
        !reloaded.was_precompiled(),
        "the corrupt entry was not used"
    );
    assert!(
        std::fs::metadata(&entry).unwrap().len() > 1000,
        "and it was rewritten"
    );
}
