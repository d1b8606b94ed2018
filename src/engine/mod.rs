//! The engine layer: compiles, links, caches and runs one call under limits.
//!
//! [`Engines`] keeps one wasmtime engine per distinct `max_stack` with the compile
//! [`cache`] and the shared-[`code`] table; the [`loader`] turns a
//! manifest into a [`LoadedComponent`]; the [`executor`] runs one message as one call of
//! `handle` with fuel, a deadline and a [`StopSignal`], and classifies how it ended.
//! See `ARCHITECTURE.md`.

pub(crate) mod cache;
pub(crate) mod code;
mod engines;
pub(crate) mod executor;
pub mod inspect;
pub(crate) mod loader;
pub mod proxy;
mod stop;

pub use engines::{Allocation, EngineConfig, Engines};
pub use executor::{ComponentInstance, Reply};
pub use loader::LoadedComponent;
pub use proxy::{BodyCut, ProxyResponse, ResponseBody};
pub(crate) use stop::StopSignal;
