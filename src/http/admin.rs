//! The `[metrics]` listener: `/metrics`, `/healthz`, `/readyz` (contract section 7).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::HttpError;
use super::ingress::text;
use super::server::{Listener, Reply};
use crate::telemetry::{CONTENT_TYPE as METRICS_TYPE, Telemetry};

/// Connections the metrics listener serves at once (scrapers and probes are few).
const MAX_CONNECTIONS: usize = 64;

/// The `[metrics]` listener of a host.
#[derive(Debug)]
pub struct MetricsServer {
    listener: Listener,
}

impl MetricsServer {
    /// Listens on `address` and serves `telemetry`: `GET /metrics` in the Prometheus text
    /// format, `GET /healthz` (200 while the process serves), `GET /readyz` (200 when
    /// ready, else 503 with the reason).
    ///
    /// # Errors
    ///
    /// [`HttpError::Bind`] when the address cannot be listened on.
    pub async fn start(
        address: SocketAddr,
        telemetry: Arc<Telemetry>,
    ) -> Result<MetricsServer, HttpError> {
        let handler = move |request: Request<Incoming>| {
            let telemetry = telemetry.clone();
            async move { answer(&telemetry, &request) }
        };
        let listener = Listener::start("metrics.listen", address, MAX_CONNECTIONS, handler).await?;
        Ok(MetricsServer { listener })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener.address()
    }

    /// Stops it, waiting up to `within` for a scrape being answered.
    pub async fn stop(self, within: Duration) {
        self.listener.stop(within).await;
    }
}

fn answer(telemetry: &Telemetry, request: &Request<Incoming>) -> Reply {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into());
    }
    match request.uri().path() {
        "/metrics" => match telemetry.encode() {
            Ok(body) => {
                let mut reply = Response::new(Either::Left(Full::new(Bytes::from(body))));
                reply
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_TYPE));
                reply
            }
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => match telemetry.health().readiness() {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(reason) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
            ),
        },
        other => text(StatusCode::NOT_FOUND, format!("no such page: {other}\n")),
    }
}
