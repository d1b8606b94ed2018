//! `airssys-wasm new NAME --lang rust|python|js|c [--dir DIR]`

use std::path::{Path, PathBuf};

use airssys_wasm::manifest::is_valid_name;

use super::report;

/// Create a component project from a template, ready to build.
///
/// The project has the component's source, a `Component.toml` with commented limits and
/// the grants it uses, a `build.sh` that writes the `.wasm` next to the manifest, a short
/// README and the guest contract (`wit/world.wit`). Once built it passes `validate` and
/// answers `call`.
///
/// Example: `airssys-wasm new greeter --lang rust && ./greeter/build.sh && airssys-wasm call greeter/Component.toml --topic greet --payload world`
#[derive(Debug, clap::Args)]
pub(crate) struct New {
    /// The component's name: 1-64 characters of `a-z`, `0-9`, `_` and `-`.
    #[arg(value_name = "NAME")]
    name: String,
    /// The language of its source.
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to create it (default `./NAME`); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The languages with a template.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Lang {
    /// Rust, built for wasm32-wasip2 with cargo and wit-bindgen.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
    /// C, built with clang for wasm32-wasi, wit-bindgen's C bindings and wasm-component-ld.
    C,
}

impl Lang {
    fn label(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }
}

/// A template's file: where it goes in the project, and its text.
type File = (&'static str, &'static str);

/// Every project's guest contract.
const WIT: File = ("wit/world.wit", include_str!("../../wit/world.wit"));

const RUST: &[File] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/rust/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/rust/src/lib.rs"),
    ),
    (
        "Component.toml",
        include_str!("../../templates/rust/Component.toml"),
    ),
    ("build.sh", include_str!("../../templates/rust/build.sh")),
    ("README.md", include_str!("../../templates/rust/README.md")),
    (".gitignore", include_str!("../../templates/rust/gitignore")),
];

const PYTHON: &[File] = &[
    ("app.py", include_str!("../../templates/python/app.py")),
    (
        "Component.toml",
        include_str!("../../templates/python/Component.toml"),
    ),
    ("build.sh", include_str!("../../templates/python/build.sh")),
    (
        "README.md",
        include_str!("../../templates/python/README.md"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/python/gitignore"),
    ),
];

const JS: &[File] = &[
    ("handler.js", include_str!("../../templates/js/handler.js")),
    (
        "package.json",
        include_str!("../../templates/js/package.json"),
    ),
    (
        "Component.toml",
        include_str!("../../templates/js/Component.toml"),
    ),
    ("build.sh", include_str!("../../templates/js/build.sh")),
    ("README.md", include_str!("../../templates/js/README.md")),
    (".gitignore", include_str!("../../templates/js/gitignore")),
];

const C: &[File] = &[
    ("component.c", include_str!("../../templates/c/component.c")),
    (
        "Component.toml",
        include_str!("../../templates/c/Component.toml"),
    ),
    ("build.sh", include_str!("../../templates/c/build.sh")),
    ("README.md", include_str!("../../templates/c/README.md")),
    (".gitignore", include_str!("../../templates/c/gitignore")),
];

impl New {
    pub(crate) async fn run(self) -> i32 {
        if !is_valid_name(&self.name) {
            return report::usage(format!(
                "`{}` is not a component name: use 1-64 characters of a-z, 0-9, `_` and `-`",
                self.name
            ));
        }
        if matches!(self.lang, Lang::Rust)
            && !self.name.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return report::usage(format!(
                "`{}` cannot name a Rust package: start it with a letter (a-z)",
                self.name
            ));
        }
        let dir = self
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&self.name));
        match std::fs::read_dir(&dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return report::usage(format!(
                        "{} exists and is not empty: name a new or empty folder with --dir",
                        dir.display()
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return report::usage(format!("cannot use {}: {e}", dir.display())),
        }
        let files = match self.lang {
            Lang::Rust => RUST,
            Lang::Python => PYTHON,
            Lang::Js => JS,
            Lang::C => C,
        };
        let crate_name = self.name.replace('-', "_");
        for (path, template) in files.iter().chain(std::iter::once(&WIT)) {
            let text = template
                .replace("{{name}}", &self.name)
                .replace("{{crate}}", &crate_name);
            if let Err(e) = write(&dir.join(path), &text) {
                return report::usage(format!("cannot write {}: {e}", dir.join(path).display()));
            }
        }
        let dir = dir.display();
        report::say!(
            "created {} ({}) in {dir}\nnext: {dir}/build.sh && airssys-wasm call {dir}/Component.toml --topic greet --payload world",
            self.name,
            self.lang.label(),
        );
        0
    }
}

/// Writes one file, creating its folders; a `.sh` is made executable.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    if path.extension().is_some_and(|e| e == "sh") {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
