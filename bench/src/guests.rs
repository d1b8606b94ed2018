//! The example components the benches run, and manifests for them in a scratch folder.
//!
//! `echo` answers every message with its payload; `faulty` traps (`trap`), spins (`spin`)
//! and counts (`count`) on demand. Both are built by `scripts/build-guests`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use airssys_wasm::Manifest;

use crate::Result;

/// Resources of `echo` (as in its example manifest; fuel and time are the defaults).
pub const ECHO_RESOURCES: &str = "max_memory = \"16MiB\"\nmax_stack = \"1MiB\"";
/// Resources of `faulty` (as in its example manifest).
pub const FAULTY_RESOURCES: &str = "max_memory = \"32MiB\"\nmax_stack = \"512KiB\"\nmax_fuel_per_execution = 10000000\nmax_execution_time_ms = 200";

/// The built `.wasm` of the example guest `name`.
///
/// # Errors
///
/// When it is missing: run `scripts/build-guests` first.
pub fn wasm(name: &str) -> Result<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/components")
        .join(name)
        .join(format!("{name}.wasm"));
    if !path.is_file() {
        return Err(format!(
            "{} is missing: run scripts/build-guests first",
            path.display()
        )
        .into());
    }
    Ok(path)
}

/// A scratch folder for manifests, `.cwasm` files and the compilation cache; removed when
/// dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A fresh folder under the system's temporary folder.
    ///
    /// # Errors
    ///
    /// When it cannot be created.
    pub fn new() -> Result<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "airssys-wasm-bench-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch { dir })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The compilation cache folder inside it.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// Writes a manifest for the component `name` whose code is `wasm`, with these
    /// `[resources]` lines and extra sections, and reads it back.
    ///
    /// # Errors
    ///
    /// When it cannot be written or is invalid.
    pub fn manifest(
        &self,
        name: &str,
        wasm: &Path,
        resources: &str,
        extra: &str,
    ) -> Result<(PathBuf, Manifest)> {
        let text = format!(
            "[component]\nname = \"{name}\"\nversion = \"1.0.0\"\nwasm = \"{}\"\n\n[resources]\n{resources}\n\n{extra}\n",
            wasm.display()
        );
        let path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&path, text)?;
        let manifest = Manifest::from_file(&path)?;
        Ok((path, manifest))
    }

    /// Writes `bytes` to `name` inside the folder.
    ///
    /// # Errors
    ///
    /// When it cannot be written.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
