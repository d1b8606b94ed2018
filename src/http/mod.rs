//! The HTTP layer: hyper 1 servers on the host's listeners (contract sections 6 and 7).
//!
//! - [`HttpServer`]: the `[http]` listener. Each request is routed by `[[http.route]]`
//!   ([`Routes`]: longest match on the path as sent) and sent to a message component as
//!   one message (topic as configured, or the path; payload the body), its reply or error
//!   mapped to a status with `x-airssys-error: KIND` ([`ingress`]). While the host drains,
//!   every new request gets 503 with `Connection: close`.
//! - [`MetricsServer`]: the `[metrics]` listener: `/metrics` (the [`Telemetry`]
//!   registry), `/healthz`, `/readyz`.
//!
//! Both run on one accept loop (`server.rs`): at most `max_connections` connections are
//! served at once and later ones wait in the listen queue; a stop lets every connection
//! finish the request it is on, then closes it.
//!
//! [`Telemetry`]: crate::telemetry::Telemetry

use std::net::SocketAddr;

mod admin;
pub mod ingress;
mod routes;
mod server;

pub use admin::MetricsServer;
pub use ingress::HttpServer;
pub use routes::{Route, Routes};

/// What can go wrong starting an HTTP listener.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address cannot be listened on (in use, not this machine's, not permitted).
    #[error("cannot listen on {address} ({key}): {source}")]
    Bind {
        /// The host file's key that gave the address (`http.listen`, `metrics.listen`).
        key: &'static str,
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
