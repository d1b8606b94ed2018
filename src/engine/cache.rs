//! The compilation cache: a component compiles once per machine.
//!
//! Entries are `.cwasm` files named by the SHA-256 of the component's bytes and a hash of the
//! engine's compatibility settings (wasmtime version, target, Cranelift flags, tunables) plus
//! its stack limit, so a change of either is a miss, never a wrong hit. Writes go to a
//! temporary file renamed into place, so concurrent hosts never see half an entry. An entry
//! that fails to load is compiled again and replaced.
//!
//! Why not wasmtime's own cache (the `cache` feature, `Config::cache`): it stores each
//! compiled module zstd-compressed and loads it by reading, decompressing and deserializing
//! it into memory, and it needs a TOML configuration file and a background worker. Ours
//! stores the `.cwasm` that `airssys-wasm compile` writes too, and loads it with
//! `Component::deserialize_file`, which maps the file instead of copying it; the same file
//! serves a manifest that names a `.cwasm` directly. The load is the bench report's
//! `load_cwasm` row.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The SHA-256 of a component's bytes.
pub(crate) type Digest = [u8; 32];

/// The SHA-256 of `wasm`.
pub(crate) fn digest(wasm: &[u8]) -> Digest {
    Sha256::digest(wasm).into()
}

/// A folder of precompiled components.
#[derive(Debug, Clone)]
pub(crate) struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    pub(crate) fn new(dir: PathBuf) -> CompileCache {
        CompileCache { dir }
    }

    fn entry(&self, engine: &Engine, max_stack: u64, digest: &Digest) -> PathBuf {
        let mut settings = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut settings);
        max_stack.hash(&mut settings);
        let mut name = String::with_capacity(64 + 18);
        for byte in digest {
            name.push_str(&format!("{byte:02x}"));
        }
        name.push_str(&format!("-{:016x}.cwasm", settings.finish()));
        self.dir.join(name)
    }

    /// Returns the cached compilation of `wasm`, compiling and storing it on a miss.
    /// Returns whether it was a hit. Failing to write the cache is logged, not an error.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        max_stack: u64,
        digest: &Digest,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, bool)> {
        let path = self.entry(engine, max_stack, digest);
        if path.is_file() {
            // SAFETY: entries are written only by `store` below, from `Component::serialize`
            // of this very engine configuration (the name carries its hash); a corrupt or
            // foreign file is rejected by wasmtime's header checks and recompiled.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, true)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "dropping an unusable cache entry")
                }
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the compilation cache");
        }
        Ok((component, false))
    }
}

fn store(path: &Path, component: &Component) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The default cache folder: `$AIRSSYS_WASM_CACHE_DIR`, else `$XDG_CACHE_HOME/airssys-wasm`,
/// else `$HOME/.cache/airssys-wasm`; `None` when none of these is set.
pub(crate) fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AIRSSYS_WASM_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("airssys-wasm"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("airssys-wasm"))
}
