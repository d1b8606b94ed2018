//! `airssys-wasm serve HOSTFILE [--check] [--log-format text|json]`

use std::path::PathBuf;
use std::time::Duration;

use airssys_wasm::manifest::HostFile;
use airssys_wasm::serve::{DeployError, Deployment, Service};
use airssys_wasm::{Allocation, EngineConfig, Host};
use airssys_wasm_actors::{ActorSystem, SystemConfig};
use tokio::signal::unix::{SignalKind, signal};

use super::report;

/// The largest linear memory a wasm32 component can have.
const WASM32_MEMORY: u64 = 4 << 30;

/// Run a host from a host file until SIGINT or SIGTERM.
///
/// Every manifest is loaded first (all errors at once, then exit 2); then the supervision
/// tree starts in order, the `[http]` and `[metrics]` listeners open, and a line
/// containing `ready` is logged. SIGHUP reads the host file again: new components start,
/// removed ones stop, changed ones are upgraded in place, routes are replaced. On SIGINT or SIGTERM the
/// host stops: messages running finish within the host file's `drain_timeout_ms`, the rest
/// are answered `stopped`, the tree stops in reverse order, and the exit status is 0.
///
/// Example: `airssys-wasm serve examples/hosts/host.toml`
#[derive(Debug, clap::Args)]
pub(crate) struct Serve {
    /// The host file.
    #[arg(value_name = "HOSTFILE")]
    host_file: PathBuf,
    /// Load the host file and its components, print the tree, and exit.
    #[arg(long)]
    check: bool,
    /// How logs are written to stderr: text, or one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl Serve {
    /// Logs go to stderr at `info` unless `RUST_LOG` says otherwise (`--check` logs only
    /// what `RUST_LOG` asks for, so that its stdout and stderr stay plain).
    pub(crate) fn init_tracing(&self) {
        use tracing_subscriber::EnvFilter;
        use tracing_subscriber::fmt::format::FmtSpan;
        let filter = match std::env::var("RUST_LOG") {
            Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
            _ if self.check => return,
            _ => EnvFilter::new("info"),
        };
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            // A line as each span opens: with `RUST_LOG=airssys_wasm::engine=debug`, one as
            // each message starts (its component and topic).
            .with_span_events(FmtSpan::NEW);
        match self.log_format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().with_current_span(true).init(),
        }
    }

    pub(crate) async fn run(self) -> i32 {
        // Listening from the start: a signal while the components compile still ends the
        // process as a stop does (exit 0), not by the signal's default action.
        let (mut interrupt, mut terminate, mut hangup) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(interrupt), Ok(terminate), Ok(hangup)) => (interrupt, terminate, hangup),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return report::usage(format!("cannot listen for SIGINT/SIGTERM/SIGHUP: {e}"));
            }
        };
        let file = match HostFile::from_file(&self.host_file) {
            Ok(file) => file,
            Err(errors) => return failed(&DeployError::from(errors)),
        };
        let drain = Duration::from_millis(file.host.drain_timeout_ms);
        let system = ActorSystem::new(SystemConfig::default().shutdown_timeout(drain));
        // Pooled like `wasmtime serve`'s instances; a memory may grow to the host file's
        // cap (4 GiB, wasm32's whole space, without one).
        let max_memory = file.host.caps.max_memory.unwrap_or(WASM32_MEMORY);
        let engines = EngineConfig::default().allocation(Allocation::serving(max_memory));
        let host = match Host::start(&system, engines).await {
            Ok(host) => host,
            Err(e) => return report::usage(format!("cannot start the host: {e}")),
        };
        if self.check {
            let deployment = tokio::select! {
                loaded = Deployment::load(&host, &file) => loaded,
                _ = interrupt.recv() => return 0,
                _ = terminate.recv() => return 0,
            };
            return match deployment {
                Ok(deployment) => {
                    report::write_stdout(deployment.tree().as_bytes());
                    0
                }
                Err(e) => failed(&e),
            };
        }
        let started = tokio::select! {
            started = Service::start(&host, &file) => Some(started),
            _ = interrupt.recv() => None,
            _ = terminate.recv() => None,
        };
        let service = match started {
            Some(Ok(service)) => service,
            Some(Err(e)) => {
                let _ = system.shutdown().await;
                return failed(&e);
            }
            None => {
                let _ = system.shutdown().await;
                return 0;
            }
        };
        let address = |a: Option<std::net::SocketAddr>| {
            a.map_or_else(|| "off".to_string(), |a| a.to_string())
        };
        tracing::info!(
            host = %file.host.name,
            components = file.components.len(),
            supervisors = service.deployment().supervisors().len(),
            http = %address(service.http_address()),
            metrics = %address(service.metrics_address()),
            "ready"
        );
        let mut service = service;
        let signal = loop {
            tokio::select! {
                _ = interrupt.recv() => break "SIGINT",
                _ = terminate.recv() => break "SIGTERM",
                _ = hangup.recv() => reload(&mut service, &self.host_file).await,
            }
        };
        tracing::info!(signal, "stopping");
        match service.shutdown().await {
            Ok(()) => tracing::info!("stopped"),
            Err(e) => tracing::warn!(error = %e, "stopped at the drain timeout"),
        }
        0
    }
}

/// SIGHUP: the host file read again; an invalid one changes nothing.
async fn reload(service: &mut Service, path: &std::path::Path) {
    tracing::info!(file = %path.display(), "SIGHUP: reading the host file again");
    match HostFile::from_file(path) {
        Ok(file) => {
            service.reload(&file).await;
        }
        Err(errors) => {
            for error in &errors {
                tracing::error!(kind = "manifest", %error, "reload: the host file is invalid; nothing changed");
            }
        }
    }
}

/// Every error on stderr as `error[KIND]: message`, one a line; the first one's exit code.
fn failed(error: &DeployError) -> i32 {
    for e in &error.errors {
        report::failure(e);
    }
    error.kind().exit_code()
}
