//! `airssys-wasm`: validate, call, compile and inspect WebAssembly components.
//!
//! See `airssys-wasm --help`, and the contract's section 4 for exit codes and output.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
