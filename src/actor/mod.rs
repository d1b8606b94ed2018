//! The actor layer: a component as an actor of `airssys-wasm-actors`.
//!
//! [`WasmComponentActor`] keeps its store as actor state and runs one message per call;
//! its [`lane`] is where an incarnation keeps its instance, shared with callers; the
//! [`direct_call`] runs an ask on the caller's task when the component is idle. The two
//! message paths and their invariants are in `ARCHITECTURE.md`.

pub(crate) mod component_actor;
pub(crate) mod direct_call;
pub(crate) mod lane;

pub use component_actor::{ComponentReply, Envelope, WasmComponentActor};
