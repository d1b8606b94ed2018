//! `airssys-wasm`: validate, call, compile and inspect WebAssembly components, and serve
//! a host from a host file.
//!
//! See `airssys-wasm --help`, and the contract's section 4 for exit codes and output.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
