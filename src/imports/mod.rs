//! The imports layer: what the host provides to the WIT world's imports.
//!
//! One file per imported interface (`logging`, `config`, `messaging`), the WASI guards that
//! deny what the manifest does not grant (`wasi_guard`), the bindings generated once here,
//! and [`linker`] wiring WASI 0.2 and the world's imports into one linker. The
//! implementations work on the store's data ([`StoreData`]); bindgen's generated traits
//! are called `Host`, a name that in this crate otherwise means the façade
//! (the `Host` of the host layer), so they are imported under their interface's name.

mod config;
mod logging;
mod messaging;
pub(crate) mod wasi_guard;

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use crate::store::StoreData;

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

pub use bindings::airssys::component::types::Message as ComponentMessage;

/// A linker for `engine` with every WASI 0.2 interface and the world's imports.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreData>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasi_guard::add_to_linker(&mut linker)?;
    // Outgoing `wasi:http` (the proxy world's imports, for any component); the hooks in
    // the store apply `[capabilities] http`.
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::Component::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |state| {
        state
    })?;
    Ok(linker)
}
