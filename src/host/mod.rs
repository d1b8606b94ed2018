//! The host side of the WIT world: one file per imported interface, bindings generated once
//! here, and [`linker`] wiring WASI 0.2 and the world's imports into one linker.

mod config;
pub(crate) mod log_budget;
mod logging;
pub(crate) mod messaging;
pub(crate) mod stdio;
pub(crate) mod wasi_guard;

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use crate::state::HostState;

/// Bindings generated from `wit/` (the contract's world).
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "component",
        imports: {
            "airssys:component/messaging.request": async | trappable,
            default: trappable,
        },
        exports: { default: async },
    });
}

pub use bindings::airssys::component::types::Message;

/// A linker for `engine` with every WASI 0.2 interface and the world's imports.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasi_guard::add_to_linker(&mut linker)?;
    bindings::Component::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| {
        state
    })?;
    Ok(linker)
}
