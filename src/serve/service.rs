//! [`Service`]: a deployment with its listeners, as `airssys-wasm serve` runs it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{DeployError, Deployment, Reload};
use crate::error::Error;
use crate::host::Host;
use crate::http::{HttpError, HttpServer, MetricsServer};
use crate::lattice::Lattice;
use crate::manifest::{HostFile, ManifestError};
use crate::telemetry::Telemetry;

/// How long the listeners wait, after the tree has stopped, for responses being written.
const LISTENER_STOP: Duration = Duration::from_secs(1);

/// A host file served: its tree started, then its `[http]` and `[metrics]` listeners.
#[derive(Debug)]
pub struct Service {
    deployment: Deployment,
    telemetry: Arc<Telemetry>,
    http: Option<HttpServer>,
    metrics: Option<MetricsServer>,
    lattice: Option<Lattice>,
}

impl Service {
    /// Loads every component of `file` in `host`, starts the tree, then listens.
    ///
    /// # Errors
    ///
    /// Every load error at once (as [`Deployment::load`]); the first start error (as
    /// [`Deployment::start`]); `manifest` naming `http.listen` or `metrics.listen` when an
    /// address cannot be listened on; `manifest` naming `lattice` when the NATS servers
    /// refuse the host's credentials or TLS (unreachable servers are retried meanwhile:
    /// `/readyz` answers 503 until the host has joined). What started before a failure
    /// keeps running, for the caller to shut down with its actor system.
    pub async fn start(host: &Host, file: &HostFile) -> Result<Service, DeployError> {
        let deployment = Deployment::load(host, file).await?.start().await?;
        let telemetry = Arc::new(Telemetry::new(host));
        let listen_error = |e: HttpError| DeployError {
            errors: vec![listen_error(file, e)],
        };
        let metrics = match &file.metrics {
            Some(settings) => Some(
                MetricsServer::start(settings.listen, telemetry.clone())
                    .await
                    .map_err(listen_error)?,
            ),
            None => None,
        };
        let http = match &file.http {
            Some(settings) => Some(
                HttpServer::start(settings, host, telemetry.clone())
                    .await
                    .map_err(listen_error)?,
            ),
            None => None,
        };
        let lattice = match &file.lattice {
            Some(settings) => {
                let lattice = Lattice::join(host, settings, &file.host.name)
                    .await
                    .map_err(|e| DeployError {
                        errors: vec![Error::Manifest(ManifestError::Invalid {
                            file: file.path.clone(),
                            key: "lattice".into(),
                            expected: "NATS servers that accept this host's credentials and TLS"
                                .into(),
                            found: e.to_string(),
                        })],
                    })?;
                let joined = lattice.clone();
                telemetry
                    .health()
                    .require("lattice not joined", Box::new(move || joined.is_joined()));
                Some(lattice)
            }
            None => None,
        };
        telemetry
            .health()
            .set_started(deployment.supervisors().to_vec());
        Ok(Service {
            deployment,
            telemetry,
            http,
            metrics,
            lattice,
        })
    }

    /// The deployment served.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Its metrics and health.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// The address of the `[http]` listener, if any (the port chosen, for port 0).
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(HttpServer::address)
    }

    /// The host's membership of its lattice, if it has one.
    pub fn lattice(&self) -> Option<&Lattice> {
        self.lattice.as_ref()
    }

    /// The address of the `[metrics]` listener, if any.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::address)
    }

    /// Applies the host file read again (SIGHUP): `[components]` and `[supervisors]` as
    /// [`Deployment::reload`] does, and `[[http.route]]`; each change is logged, each
    /// failure with its kind, and each key that needs a restart as such.
    pub async fn reload(&mut self, new: &HostFile) -> Reload {
        let report = self.deployment.reload(new).await;
        // Readiness watches the top-level supervisors as they are now.
        self.telemetry
            .health()
            .set_started(self.deployment.supervisors().to_vec());
        if let (Some(http), Some(settings)) = (&self.http, &new.http) {
            http.set_routes(&settings.routes);
        }
        for error in &report.failed {
            tracing::warn!(kind = %error.kind(), %error, "reload: not applied");
        }
        for key in &report.needs_restart {
            tracing::warn!(key = %key, "reload: this change needs a restart of the host; not applied");
        }
        tracing::info!(
            added = ?report.added,
            removed = ?report.removed,
            upgraded = ?report.upgraded,
            supervisors_added = ?report.supervisors_added,
            supervisors_removed = ?report.supervisors_removed,
            failed = report.failed.len(),
            "reloaded"
        );
        report
    }

    /// Drains and stops: new requests get 503 (`stopped`) from now on, the actor system
    /// shuts down (messages running finish within its shutdown timeout, which `serve`
    /// sets to `drain_timeout_ms`; the rest are answered `stopped`; the tree stops in
    /// reverse order), then the listeners close once the last responses are written.
    ///
    /// # Errors
    ///
    /// `stopped` when the shutdown reached its timeout and cut the calls still running
    /// (they were answered `stopped`).
    pub async fn shutdown(self) -> Result<(), Error> {
        self.telemetry.health().set_draining();
        // Out of the lattice's queue groups before the drain is announced: from then on,
        // requests for its components go to other hosts.
        if let Some(lattice) = &self.lattice {
            lattice.stop_taking().await;
        }
        // Logged once new requests are refused: a line a supervisor (or a test) can wait on.
        tracing::info!(host = %self.deployment.file().host.name, drain_timeout_ms = self.deployment.file().host.drain_timeout_ms, "draining");
        let host = self.deployment.host().clone();
        let drain = Duration::from_millis(self.deployment.file().host.drain_timeout_ms);
        // Requests of wasi:http components run on instances of their own, outside the
        // tree: they are waited for beside it, within the same drain timeout.
        let requests = async {
            if let Some(http) = &self.http
                && !http.until_idle(drain).await
            {
                tracing::warn!("HTTP requests still running at the drain timeout");
            }
        };
        // Requests from the lattice: no new ones (other hosts serving the same components
        // take them), and those taken are answered as the tree finishes them.
        let lattice = async {
            if let Some(lattice) = &self.lattice
                && !lattice.drain(drain + LISTENER_STOP).await
            {
                tracing::warn!("lattice requests still unanswered at the drain timeout");
            }
        };
        let (outcome, (), ()) = tokio::join!(host.system().shutdown(), requests, lattice);
        if let Some(lattice) = &self.lattice {
            lattice.leave().await;
        }
        let outcome = outcome.map_err(|e| Error::Stopped {
            component: self.deployment.file().host.name.clone(),
            reason: format!("the drain timeout cut what was still running: {e}"),
        });
        if let Some(http) = self.http {
            http.stop(LISTENER_STOP).await;
        }
        if let Some(metrics) = self.metrics {
            metrics.stop(LISTENER_STOP).await;
        }
        outcome
    }
}

/// A listener that cannot start is the host file's error, at the key that gave its address.
fn listen_error(file: &HostFile, error: HttpError) -> Error {
    let HttpError::Bind {
        key,
        address,
        source,
    } = error;
    Error::Manifest(ManifestError::Invalid {
        file: file.path.clone(),
        key: key.into(),
        expected: "an address this host can listen on".into(),
        found: format!("{address}: {source}"),
    })
}
