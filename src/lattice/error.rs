//! [`LatticeError`]: why a host could not join its lattice, or a client reach one.

use std::path::PathBuf;

/// Why joining a lattice failed at start. A server that cannot be reached is not one of
/// these: the host keeps serving its own components and retries.
#[derive(Debug, thiserror::Error)]
pub enum LatticeError {
    /// A credentials or TLS file could not be read.
    #[error("lattice `{lattice}`: cannot read {what} {}: {source}", .path.display())]
    File {
        /// The lattice's name.
        lattice: String,
        /// What the file is: `the token file`, `the client certificate`, ...
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The servers refused the host's credentials or TLS, or its addresses are invalid:
    /// retrying would not help.
    #[error("lattice `{lattice}`: the NATS servers {servers} refused this host: {source}")]
    Refused {
        /// The lattice's name.
        lattice: String,
        /// The servers tried, as the host file lists them.
        servers: String,
        /// async-nats' error (authorization violation, authentication, TLS, address).
        #[source]
        source: async_nats::ConnectError,
    },

    /// The servers could not be reached (only from a client that does not retry, such as
    /// `airssys-wasm ask`).
    #[error("lattice `{lattice}`: cannot reach the NATS servers {servers}: {source}")]
    Unreachable {
        /// The lattice's name.
        lattice: String,
        /// The servers tried.
        servers: String,
        /// async-nats' error.
        #[source]
        source: async_nats::ConnectError,
    },

    /// A subscription could not be made on a connection that was up.
    #[error("lattice `{lattice}`: cannot subscribe to {subject}: {source}")]
    Subscribe {
        /// The lattice's name.
        lattice: String,
        /// The subject.
        subject: String,
        /// async-nats' error.
        #[source]
        source: async_nats::SubscribeError,
    },
}
