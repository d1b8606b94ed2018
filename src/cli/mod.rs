//! The command line: one file per command, each a clap struct with a `run` method.

mod ask;
mod call;
mod compile;
mod inspect;
mod measure;
mod new;
mod report;
mod serve;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Validate, call, compile, inspect and measure WebAssembly components, and serve a host
/// from a host file.
#[derive(Debug, Parser)]
#[command(name = "airssys-wasm", version, about, long_about = None)]
struct Cli {
    /// Show the host's and the guests' logs on stderr (-v info, -vv debug, -vvv trace).
    /// RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::Validate),
    Call(call::Call),
    Ask(ask::Ask),
    Compile(compile::Compile),
    Inspect(inspect::Inspect),
    Serve(serve::Serve),
    Measure(measure::Measure),
    New(new::New),
}

/// The message `call`, `ask` and `measure` send: its topic and its payload.
#[derive(Debug, clap::Args)]
pub(crate) struct MessageArgs {
    /// The message's topic.
    #[arg(long, default_value = "")]
    pub(crate) topic: String,
    /// The payload, as text.
    #[arg(long, conflicts_with = "payload_file", allow_hyphen_values = true)]
    payload: Option<String>,
    /// The payload, read from a file.
    #[arg(long, value_name = "F")]
    payload_file: Option<PathBuf>,
}

impl MessageArgs {
    /// The payload's bytes (empty without `--payload` or `--payload-file`), or the exit
    /// code of the usage error when the file cannot be read.
    pub(crate) fn payload(&self) -> Result<Vec<u8>, i32> {
        match (&self.payload, &self.payload_file) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(file)) => std::fs::read(file).map_err(|e| {
                report::usage(format!(
                    "cannot read --payload-file {}: {e}",
                    file.display()
                ))
            }),
            (None, None) => Ok(Vec::new()),
        }
    }
}

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors and 0 for --help/--version, as the contract wants.
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match &cli.command {
        Command::Serve(serve) => serve.init_tracing(),
        _ => init_tracing(cli.verbose),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Validate(cmd) => cmd.run().await,
            Command::Call(cmd) => cmd.run().await,
            Command::Ask(cmd) => cmd.run().await,
            Command::Compile(cmd) => cmd.run().await,
            Command::Inspect(cmd) => cmd.run().await,
            Command::Serve(cmd) => cmd.run().await,
            Command::Measure(cmd) => cmd.run().await,
            Command::New(cmd) => cmd.run().await,
        }
    });
    // Nothing is waited for once the command's result is written: tasks still running (a
    // component busy with a message nobody waits for) end with the process.
    runtime.shutdown_background();
    ExitCode::from(u8::try_from(report::exit_code(code)).unwrap_or(2))
}

/// Logs go to stderr only when asked for with `-v` or `RUST_LOG`.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match (std::env::var("RUST_LOG"), verbose) {
        (Ok(spec), _) if !spec.is_empty() => EnvFilter::new(spec),
        (_, 0) => return,
        (_, 1) => EnvFilter::new("info"),
        (_, 2) => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
