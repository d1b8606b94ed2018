//! How the command line reports failures: `error[KIND]: message` and the exit code.

use airssys_wasm::Error;

/// Prints `error[KIND]: message` on stderr and returns the kind's exit code.
pub(crate) fn failure(error: &Error) -> i32 {
    eprintln!("error[{}]: {error}", error.kind());
    error.kind().exit_code()
}

/// A usage-level failure that is not one of the host's errors (exit 2).
pub(crate) fn usage(message: impl std::fmt::Display) -> i32 {
    eprintln!("error[usage]: {message}");
    2
}

/// Starts the host engine, or reports why it could not.
pub(crate) fn engine() -> Result<airssys_wasm::Engines, i32> {
    airssys_wasm::Engines::new(airssys_wasm::EngineConfig::default())
        .map_err(|e| usage(format!("cannot start the host engine: {e}")))
}
