//! Files the tests use: the repository's example components, temporary folders and
//! manifests written into them, and the tests' compilation cache.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The repository's root (this crate is its `test-support/` folder).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The manifest of an example component, checking its wasm was built.
pub fn manifest_path(name: &str) -> PathBuf {
    let dir = root().join("examples/components").join(name);
    let wasm = dir.join(format!("{name}.wasm"));
    assert!(
        wasm.is_file(),
        "{} is missing: run scripts/build-guests first",
        wasm.display()
    );
    dir.join("Component.toml")
}

/// The built wasm of an example component.
pub fn wasm_path(name: &str) -> PathBuf {
    manifest_path(name).with_file_name(format!("{name}.wasm"))
}

/// A folder removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty folder in the system's temporary folder, unique to this process.
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "airssys-wasm-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` inside the folder and returns its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Default for TempDir {
    fn default() -> TempDir {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a manifest named `name` for the example guest `guest`, with these `[resources]`
/// lines (a preset of [`crate::resources`], a [`crate::Resources`] or any text) and any
/// extra sections, into `dir`.
pub fn manifest_for(
    dir: &TempDir,
    guest: &str,
    name: &str,
    resources: impl Display,
    extra: &str,
) -> PathBuf {
    dir.write(
        &format!("{name}.toml"),
        manifest_text(guest, name, resources, extra),
    )
}

/// The text of a manifest named `name` for the example guest `guest`, with these
/// `[resources]` lines and any extra sections.
pub fn manifest_text(guest: &str, name: &str, resources: impl Display, extra: &str) -> String {
    format!(
        "[component]\nname = \"{name}\"\nversion = \"1.0.0\"\nwasm = \"{}\"\n\n[resources]\n{resources}\n\n{extra}\n",
        wasm_path(guest).display()
    )
}

/// The compilation cache shared by all test processes, `tmp/compile-cache` in cargo's
/// target folder (so a clean build starts it afresh): each component compiles once per
/// test run, not once per test binary.
pub fn cache_dir() -> PathBuf {
    target_dir().join("tmp").join("compile-cache")
}

/// Cargo's target folder, found from the running test binary
/// (`<target>/[<triple>/]<profile>/deps/<binary>`): its first ancestor holding the `tmp`
/// folder cargo makes for integration tests. A library cannot read that folder's
/// `CARGO_TARGET_TMPDIR` (cargo sets it for test and bench targets only), and the target
/// folder may be anywhere (`CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut above_deps = exe.ancestors().skip_while(|dir| !dir.ends_with("deps"));
        let profile = above_deps
            .nth(1)
            .unwrap_or_else(|| panic!("{} is not in a cargo target folder's deps/", exe.display()));
        profile
            .ancestors()
            .find(|dir| dir.join("tmp").is_dir())
            .unwrap_or_else(|| profile.parent().unwrap_or(profile))
            .to_path_buf()
    })
    .clone()
}

/// Writes `host.toml` into `dir`: the component `name` from `manifest`, alone in
/// supervisor `app`, served on every path by `[http]` on a free loopback port (and
/// `host_lines` under `[host]`).
pub fn http_host_file(dir: &TempDir, name: &str, manifest: &Path, host_lines: &str) -> PathBuf {
    dir.write(
        "host.toml",
        format!(
            "[host]\n{host_lines}\n\n[components]\n{name} = {:?}\n\n[supervisors.app]\nchildren = [\"{name}\"]\n\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\n[[http.route]]\npath = \"/...\"\ncomponent = \"{name}\"\n",
            manifest.display().to_string()
        ),
    )
}
