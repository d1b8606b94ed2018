//! `Manifest::parse` on any text: never a panic; a rejection is a manifest error naming the
//! file; an accepted manifest keeps the contract's invariants.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use airssys_wasm::manifest::{Manifest, is_valid_name};
use libfuzzer_sys::fuzz_target;

/// A folder with the files a manifest may name (`x.wasm`, `echo.wasm`, `data/`), made once.
fn manifest_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("airssys-wasm-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        for wasm in ["x.wasm", "echo.wasm", "a.cwasm"] {
            std::fs::write(dir.join(wasm), b"\0asm\x0d\0\x01\0").unwrap();
        }
        dir.join("Component.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = manifest_path();
    match Manifest::parse(text, path) {
        Ok(m) => {
            let r = &m.resources;
            assert!(is_valid_name(m.name()), "accepted a bad name {:?}", m.name());
            assert!((1..=4 << 30).contains(&r.max_memory), "max_memory {}", r.max_memory);
            assert!(r.max_stack >= 1);
            assert!(r.max_fuel_per_execution >= 1);
            assert!(r.max_execution_time_ms >= 1);
            if let Some(initial) = r.initial_memory {
                assert!(initial <= r.max_memory, "initial {initial} > max {}", r.max_memory);
            }
        }
        Err(e) => {
            assert_eq!(e.file(), path.as_path(), "error names another file: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
});
