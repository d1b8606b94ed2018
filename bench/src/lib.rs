//! The pieces the bench report (`src/main.rs`) and the criterion benches (`benches/`) share.
//!
//! Every comparison runs *ours* (airssys-wasm's host and actor runtime) and a *raw*
//! baseline side by side in one process: plain wasmtime for the component rows ([`raw`]),
//! kameo for the native actor rows ([`native`]). The raw side takes its wasmtime settings
//! from [`airssys_wasm::Engines::wasmtime_config`], so both sides run identical engines.
#![deny(missing_docs)]

pub mod allocs;
pub mod guests;
pub mod measure;
pub mod native;
pub mod raw;
pub mod raw_http;
pub mod setup;

/// The error type of the bench: anything printable.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The result type of the bench.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;
