//! `airssys-wasm compile MANIFEST|WASM [-o OUT]`

use std::path::{Path, PathBuf};

use airssys_wasm::{Error, Manifest};

use super::report;

/// Precompile a component to a `.cwasm` for this host's engine settings.
///
/// A manifest may then name the `.cwasm` as its `wasm`; loading it skips compilation.
///
/// Example: `airssys-wasm compile examples/components/echo/Component.toml -o echo.cwasm`
#[derive(Debug, clap::Args)]
pub(crate) struct Compile {
    /// A Component.toml (its `wasm` is compiled) or a .wasm component.
    #[arg(value_name = "MANIFEST|WASM")]
    input: PathBuf,
    /// Where to write the .cwasm [default: the wasm's path with the .cwasm extension].
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

impl Compile {
    pub(crate) async fn run(self) -> i32 {
        let (name, wasm) = match wasm_of(&self.input) {
            Ok(found) => found,
            Err(e) => return report::failure(&e),
        };
        let bytes = match std::fs::read(&wasm) {
            Ok(bytes) => bytes,
            Err(e) => {
                return report::failure(&component_error(
                    &name,
                    &wasm,
                    format!("cannot read it: {e}"),
                    None,
                ));
            }
        };
        let engine = airssys_wasm::Engines::new(airssys_wasm::EngineConfig::default());
        let compiled = match tokio::task::spawn_blocking(move || engine.precompile(&bytes)).await {
            Ok(Ok(compiled)) => compiled,
            Ok(Err(e)) => {
                return report::failure(&component_error(
                    &name,
                    &wasm,
                    "not a valid component".into(),
                    Some(e.into()),
                ));
            }
            Err(e) => return report::usage(format!("the compile task failed: {e}")),
        };
        let out = self.output.unwrap_or_else(|| wasm.with_extension("cwasm"));
        if let Err(e) = std::fs::write(&out, &compiled) {
            return report::usage(format!("cannot write {}: {e}", out.display()));
        }
        report::say!("wrote {} ({} bytes)", out.display(), compiled.len());
        0
    }
}

/// The component name and wasm file behind the input.
fn wasm_of(input: &Path) -> Result<(String, PathBuf), Error> {
    let looks_like_wasm = std::fs::read(input)
        .map(|b| b.starts_with(b"\0asm"))
        .unwrap_or(false);
    if looks_like_wasm {
        let name = input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((name, input.to_path_buf()));
    }
    let manifest = Manifest::from_file(input)?;
    Ok((
        manifest.component.name.clone(),
        manifest.component.wasm.clone(),
    ))
}

fn component_error(
    name: &str,
    path: &Path,
    reason: String,
    cause: Option<airssys_wasm::error::WasmtimeCause>,
) -> Error {
    Error::Component {
        component: name.to_string(),
        path: path.to_path_buf(),
        reason,
        cause,
    }
}
