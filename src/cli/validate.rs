//! `airssys-wasm validate MANIFEST...`

use std::path::PathBuf;

use airssys_wasm::manifest::{Access, MessagingGrant};
use airssys_wasm::{LoadedComponent, Manifest};

use super::report;

/// Check manifests and their components (load and link each), and print the resolved limits.
///
/// Every manifest given is reported; the exit status is that of the first problem found.
///
/// Example: `airssys-wasm validate examples/components/echo/Component.toml`
#[derive(Debug, clap::Args)]
pub(crate) struct Validate {
    /// The Component.toml files to check.
    #[arg(required = true, value_name = "MANIFEST")]
    manifests: Vec<PathBuf>,
}

impl Validate {
    pub(crate) async fn run(self) -> i32 {
        let engine = airssys_wasm::Engines::new(airssys_wasm::EngineConfig::default());
        let mut first_failure = 0;
        for path in &self.manifests {
            let result = match Manifest::from_file(path) {
                Ok(manifest) => LoadedComponent::load(&engine, manifest).await,
                Err(e) => Err(e.into()),
            };
            match result {
                Ok(loaded) => {
                    print_resolved(loaded.manifest());
                    report::say!("  serves                  {}", serves(&loaded));
                }
                Err(e) => {
                    let code = report::failure(&e);
                    if first_failure == 0 {
                        first_failure = code;
                    }
                }
            }
        }
        first_failure
    }
}

/// What the component takes: messages, HTTP requests, or both.
fn serves(loaded: &LoadedComponent) -> &'static str {
    match (loaded.serves_messages(), loaded.serves_http()) {
        (true, true) => {
            "messages (airssys:component/handler) and HTTP (wasi:http/incoming-handler)"
        }
        (false, true) => {
            "HTTP only (wasi:http/incoming-handler): serve it with a host file's [[http.route]]"
        }
        _ => "messages (airssys:component/handler)",
    }
}

fn print_resolved(m: &Manifest) {
    let r = &m.resources;
    report::say!(
        "{} {} ok ({})",
        m.component.name,
        m.component.version,
        m.path.display()
    );
    report::say!("  wasm                    {}", m.component.wasm.display());
    report::say!("  max_memory              {} bytes", r.max_memory);
    report::say!("  max_stack               {} bytes", r.max_stack);
    match r.initial_memory {
        Some(bytes) => report::say!("  initial_memory          {bytes} bytes"),
        None => report::say!("  initial_memory          (not set)"),
    }
    report::say!("  max_fuel_per_execution  {}", r.max_fuel_per_execution);
    report::say!("  max_execution_time_ms   {} ms", r.max_execution_time_ms);
    let caps = &m.capabilities;
    let mut granted = Vec::new();
    for fs in &caps.filesystem {
        let access = match fs.access {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        };
        granted.push(format!(
            "filesystem {} -> {} ({access})",
            fs.host.display(),
            fs.guest
        ));
    }
    for key in caps.env.keys() {
        granted.push(format!("env {key}"));
    }
    for origin in &caps.http {
        granted.push(format!("http {origin}"));
    }
    for endpoint in &caps.network {
        granted.push(format!(
            "network connect {}:{}",
            endpoint.host, endpoint.port
        ));
    }
    match &caps.messaging {
        MessagingGrant::None => {}
        MessagingGrant::Any => granted.push("messaging * (any component)".into()),
        MessagingGrant::Only(names) => granted.push(format!("messaging {}", names.join(", "))),
    }
    if granted.is_empty() {
        report::say!("  capabilities            none (clocks and random only)");
    }
    for (i, grant) in granted.iter().enumerate() {
        let label = if i == 0 { "capabilities" } else { "" };
        report::say!("  {label:<24}{grant}");
    }
    if !m.config.is_empty() {
        let keys: Vec<&str> = m.config.keys().map(String::as_str).collect();
        report::say!("  config                  {}", keys.join(", "));
    }
}
