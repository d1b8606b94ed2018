//! airssys-wasm: an actor-based, supervised host for WebAssembly components.
//!
//! Components are declared by a `Component.toml` ([`manifest`]), compiled once per machine
//! ([`Engines`] keeps the engines and the compilation cache), linked against WASI 0.2
//! and the contract's imports ([`LoadedComponent::load`]), and run one message per call of
//! their `handle` export under hard limits ([`ComponentInstance::call`]). [`Host`] runs
//! them as supervised actors of `airssys-wasm-actors`, addressed by name.
//!
//! Each folder is a layer and imports only the layers listed before it (`ARCHITECTURE.md`;
//! `tests/layers.rs` checks it): [`manifest`], [`error`], `store`, `imports`, `engine`,
//! `actor`, `host`, [`telemetry`], [`http`], [`lattice`], [`serve`]. The command line is the binary's own (`src/main.rs`, feature `cli`).
#![deny(missing_docs)]

pub mod manifest;

pub mod error;

mod store;

mod imports;

mod engine;

mod actor;

mod host;

pub mod telemetry;

pub mod http;

pub mod lattice;

pub mod serve;

pub use actor::{ComponentReply, Envelope, WasmComponentActor};
pub use engine::inspect;
pub use engine::{
    Allocation, BodyCut, ComponentInstance, EngineConfig, Engines, LoadedComponent, ProxyResponse,
    Reply, ResponseBody,
};
pub use error::{Error, ErrorKind, Result};
pub use host::{
    ComponentEvent, ComponentState, Host, Remote, RemoteReply, SpawnOptions, Undelivered,
};
pub use imports::ComponentMessage;
pub use manifest::Manifest;
pub use store::Router;
pub use store::log_budget::MAX_LOG_LINES_PER_MESSAGE;
pub use store::metrics::{LATENCY_BUCKETS, Metrics, MetricsSnapshot};

/// The README's Rust examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
