//! `[capabilities]` turned into a WASI context: what is not granted is denied.
//!
//! By default a component reaches clocks and random only: stdin is empty, stdout and stderr
//! go to `tracing`, no environment variable, no preopened directory, no socket. Grants add:
//! preopened directories (read-only or read-write), exact environment variables, and
//! outbound TCP/UDP to listed `host:port` pairs (host names resolved once, at load). Denials
//! reach the guest as WASI error codes, are logged at debug with the component name, and
//! are counted in the component's metrics: socket addresses by the check below, the rest
//! (filesystem, socket creation, name lookup) by the WASI guards of the imports layer.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx};

use crate::manifest::{Access, Manifest, ManifestError};
use crate::store::log_budget::LogBudget;
use crate::store::metrics::Metrics;
use crate::store::stdio::{GuestLog, Stream};

/// Which socket operations a component's grants allow, known to the store so that
/// the WASI guards of the imports layer can log and count the refusals wasmtime-wasi makes silently.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NetworkUse {
    /// Creating TCP and UDP sockets (any network grant).
    pub(crate) sockets: bool,
    /// Looking up names (a grant naming a host).
    pub(crate) name_lookup: bool,
}

/// The grants of one component, checked and resolved at load.
#[derive(Debug, Clone)]
pub(crate) struct Grants {
    /// Resolved addresses the guest may connect or send to.
    network: Arc<[SocketAddr]>,
    /// Whether any grant named a host name (then name lookup is allowed).
    name_lookup: bool,
}

impl Grants {
    /// Resolves the network grants of `manifest`.
    ///
    /// # Errors
    ///
    /// A `manifest` error naming `capabilities.network.connect[i]` when a host name does not
    /// resolve.
    pub(crate) fn resolve(manifest: &Manifest) -> Result<Grants, ManifestError> {
        let mut network = Vec::new();
        let mut name_lookup = false;
        for (i, endpoint) in manifest.capabilities.network.iter().enumerate() {
            if let Ok(ip) = endpoint.host.parse::<std::net::IpAddr>() {
                network.push(SocketAddr::new(ip, endpoint.port));
                continue;
            }
            name_lookup = true;
            let addrs = (endpoint.host.as_str(), endpoint.port)
                .to_socket_addrs()
                .map_err(|e| ManifestError::Invalid {
                    file: manifest.path.clone(),
                    key: format!("capabilities.network.connect[{i}]"),
                    expected: "a host name that resolves".into(),
                    found: format!("\"{}:{}\" ({e})", endpoint.host, endpoint.port),
                })?;
            network.extend(addrs);
        }
        Ok(Grants {
            network: network.into(),
            name_lookup,
        })
    }

    /// What the network grants allow.
    pub(crate) fn network_use(&self) -> NetworkUse {
        NetworkUse {
            sockets: !self.network.is_empty(),
            name_lookup: self.name_lookup,
        }
    }

    /// A fresh WASI context for one instance of the component.
    pub(crate) fn wasi_ctx(
        &self,
        manifest: &Manifest,
        name: &Arc<str>,
        metrics: &Arc<Metrics>,
        log_budget: &LogBudget,
    ) -> std::io::Result<WasiCtx> {
        let mut builder = WasiCtx::builder();
        builder
            .stdout(GuestLog::new(log_budget.clone(), Stream::Stdout))
            .stderr(GuestLog::new(log_budget.clone(), Stream::Stderr));
        for (key, value) in &manifest.capabilities.env {
            builder.env(key, value);
        }
        for grant in &manifest.capabilities.filesystem {
            let perms = match grant.access {
                Access::ReadOnly => FsPerms::ReadOnly,
                Access::ReadWrite => FsPerms::ReadWrite,
            };
            builder
                .preopened_dir(&grant.host, &grant.guest, perms)
                .map_err(std::io::Error::other)?;
        }
        let granted = !self.network.is_empty();
        builder
            .allow_tcp(granted)
            .allow_udp(granted)
            .allow_ip_name_lookup(self.name_lookup);
        if granted {
            let allowed = self.network.clone();
            let name = name.clone();
            let metrics = metrics.clone();
            builder.socket_addr_check(move |addr, use_| {
                let ok = match use_ {
                    SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                        allowed.contains(&addr)
                    }
                    // Binding is only the implicit, ephemeral one before a connect or send.
                    SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => addr.ip().is_unspecified() && addr.port() == 0,
                    _ => false,
                };
                if !ok {
                    tracing::debug!(component = %name, %addr, ?use_, "denied: network address not granted");
                    metrics.denied.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Box::pin(async move { ok })
            });
        }
        Ok(builder.build())
    }
}
