//! The store layer: what one component's wasmtime `Store` holds.
//!
//! [`StoreData`] (WASI state, the memory limiter, the current deadline, the messaging
//! grant and [`Router`], metrics, the log budget), the capabilities of the manifest turned
//! into a WASI context, the `[capabilities] http` allow-list of outgoing `wasi:http`
//! requests, and the guest's stdio. Nothing here calls wasm: the layers above
//! (the imports, the engine) do. See `ARCHITECTURE.md`.

pub(crate) mod capabilities;
mod data;
pub(crate) mod http;
pub(crate) mod limits;
pub(crate) mod log_budget;
pub(crate) mod metrics;
mod router;
pub(crate) mod stdio;

pub(crate) use data::{DeadlineExceeded, Messaging, StoreData};
pub use router::Router;
