//! What the integration tests of `airssys-wasm` (`tests/`) and of its actor runtime
//! (`actors/tests/`) share, as a dev-dependency of both:
//!
//! - [`wait`]: waits, each bounded by a timeout, on an event ([`wait_for`]), a condition
//!   ([`wait_until`], [`eventually`]), a mailbox length ([`until_mailbox_len`]) or a future
//!   ([`within`], [`poll_once`]). Never a bare sleep standing for "it has happened by now".
//! - [`resources`]: the `[resources]` lines the tests' manifests repeat ([`SMALL`],
//!   [`FAULTY`], [`limits`]).
//! - [`text`](mod@text): payloads and outputs as text ([`text()`], [`stderr`], `reply_text`).
//! - [`files`]: the repository's example components, temporary folders and manifests, the
//!   tests' compilation cache.
//! - [`logs`](mod@logs): the `tracing` output captured for the whole test binary, and the host's
//!   calls seen starting in it.
//! - [`http`](mod@http): an HTTP/1 client over hyper for served hosts ([`request`], [`get`],
//!   [`Connection`]) and [`sample`] to read a value of a Prometheus exposition.
//! - `process` (feature `host`): `airssys-wasm serve` as a child process (`Served`: its
//!   stderr lines, `ready` with its listeners, real signals, a bounded wait for the exit).
//! - [`nats`]: a real `nats-server` on a free loopback port ([`NatsServer`]), for the
//!   lattice tests; [`proxy`]: a TCP proxy that can stop forwarding, a
//!   partition (`Proxy`).
//! - [`actors`]: a scriptable test actor ([`Worker`]) and a top-level [`supervisor`].
//! - `components` (feature `host`): hosts, components and the waits that need them
//!   (`host`, `host_in`, `faulty_with`, `until_call_started`, `airssys_wasm_command`).
//!
//! Everything is re-exported at the crate root: `use airssys_wasm_test_support::{...}`.

// Test code: a failed setup step fails the test that asked for it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

pub mod actors;
#[cfg(feature = "host")]
pub mod components;
pub mod files;
pub mod http;
pub mod logs;
pub mod nats;
#[cfg(feature = "host")]
pub mod process;
pub mod proxy;
pub mod resources;
pub mod text;
pub mod wait;

pub use actors::*;
#[cfg(feature = "host")]
pub use components::*;
pub use files::*;
pub use http::*;
pub use logs::*;
pub use nats::*;
#[cfg(feature = "host")]
pub use process::*;
pub use proxy::*;
pub use resources::{FAULTY, Resources, SMALL, limits};
pub use text::*;
pub use wait::*;
