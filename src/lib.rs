//! airssys-wasm: an actor-based, supervised host for WebAssembly components.
//!
//! Components are declared by a `Component.toml` ([`manifest`]), compiled once per machine
//! ([`HostEngine`] keeps the engines and the compilation cache), linked against WASI 0.2
//! and the contract's imports ([`LoadedComponent::load`]), and run one message per call of
//! their `handle` export under hard limits ([`ComponentInstance::call`]).
#![deny(missing_docs)]

mod cache;
mod capabilities;
mod claimed_call;
mod component_actor;
mod engine;
pub mod error;
mod executor;
mod host;
pub mod inspect;
mod instance_slot;
mod limits;
mod loader;
pub mod manifest;
mod metrics;
mod registry;
mod state;
mod ticker;
mod wasm_host;

pub use component_actor::{ComponentReply, WasmComponentActor};
pub use engine::{Allocation, HostConfig, HostEngine};
pub use error::{Error, ErrorKind, Result};
pub use executor::{ComponentInstance, Reply};
pub use host::Message;
pub use host::log_budget::MAX_LOG_LINES_PER_MESSAGE;
pub use host::messaging::Router;
pub use loader::LoadedComponent;
pub use manifest::Manifest;
pub use metrics::{Metrics, MetricsSnapshot};
pub use registry::ComponentState;
pub use wasm_host::{DEFAULT_MAILBOX_CAPACITY, Host};

/// The README's Rust examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
