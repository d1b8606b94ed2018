//! `airssys-wasm inspect WASM`

use std::path::PathBuf;

use airssys_wasm::inspect::{Item, inspect};

use super::report;

/// Print a component's imports and exports (WIT names) and whether it fits the host's world.
///
/// Example: `airssys-wasm inspect examples/components/echo/echo.wasm`
#[derive(Debug, clap::Args)]
pub(crate) struct Inspect {
    /// A .wasm component or a .cwasm precompiled by `airssys-wasm compile`.
    #[arg(value_name = "WASM")]
    wasm: PathBuf,
}

impl Inspect {
    pub(crate) async fn run(self) -> i32 {
        let engine = airssys_wasm::Engines::new(airssys_wasm::EngineConfig::default());
        let inspection = match inspect(&engine, &self.wasm) {
            Ok(inspection) => inspection,
            Err(e) => return report::failure(&e),
        };
        report::say!("{}", inspection.path.display());
        print_items("imports", &inspection.imports);
        print_items("exports", &inspection.exports);
        match &inspection.fits {
            Ok(()) if !inspection.serves_messages => report::say!(
                "fits the host's world: yes, as a wasi:http/proxy component (it serves HTTP, not messages: route to it from a host file)"
            ),
            Ok(()) => report::say!("fits the host's world: yes"),
            Err(e) => report::say!("fits the host's world: no: error[{}]: {e}", e.kind()),
        }
        0
    }
}

fn print_items(title: &str, items: &[Item]) {
    report::say!("{title}:");
    if items.is_empty() {
        report::say!("  (none)");
    }
    for item in items {
        if item.members.is_empty() {
            report::say!("  {} ({})", item.name, item.kind);
        } else {
            report::say!(
                "  {} ({}: {})",
                item.name,
                item.kind,
                item.members.join(", ")
            );
        }
    }
}
