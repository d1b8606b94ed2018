//! The `[http]` listener: a request to a message component is one message (contract
//! section 6).
//!
//! | outcome | status | `x-airssys-error` |
//! |---|---|---|
//! | reply | 200, the reply bytes (`application/octet-stream`) | - |
//! | `handler` | 422, the component's own error string | `handler` |
//! | `trap`, `fuel`, `memory` | 500 | the kind |
//! | `timeout` | 504 | `timeout` |
//! | `overloaded`, `stopped` | 503, `Retry-After: 1` | the kind |
//! | `too-large`, a body over `max_request_body` | 413 | `too-large` |
//! | `not-found` (the route's component is gone) | 404 | `not-found` |
//! | no route | 404 | - |
//! | draining | 503, `Retry-After: 1`, `Connection: close` | `stopped` |
//!
//! Bodies of failures carry the kind only, never trap or host details (those are logged).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};
use tracing::Instrument;

use super::HttpError;
use super::routes::Routes;
use super::server::{Listener, Reply};
use crate::error::{Error, ErrorKind};
use crate::host::Host;
use crate::manifest::{HttpSettings, RouteDecl};
use crate::telemetry::Telemetry;

/// The header naming a failure's kind.
pub const ERROR_HEADER: &str = "x-airssys-error";

/// The `[http]` listener of a host.
#[derive(Debug)]
pub struct HttpServer {
    listener: Listener,
    ingress: Arc<Ingress>,
}

#[derive(Debug)]
struct Ingress {
    host: Host,
    telemetry: Arc<Telemetry>,
    routes: RwLock<Arc<Routes>>,
    max_request_body: u64,
    /// Requests being answered, a proxy component's until its body has ended (a drain
    /// waits for them).
    in_flight: Arc<InFlightCount>,
}

/// How many requests are being answered, and who waits for none to be.
#[derive(Debug, Default)]
struct InFlightCount {
    count: AtomicUsize,
    /// Raised when the count drops to zero.
    idle: tokio::sync::Notify,
}

impl InFlightCount {
    /// Waits until no request is being answered.
    async fn idle(&self) {
        loop {
            let idle = self.idle.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// Counts a request in flight while it lives (also when its future is dropped).
struct InFlight(Arc<InFlightCount>);

impl InFlight {
    fn new(count: &Arc<InFlightCount>) -> Self {
        count.count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl HttpServer {
    /// Listens on `settings.listen` and routes requests to `host`'s components, counting
    /// them in `telemetry` (whose [`Health`](crate::telemetry::Health) says when to
    /// refuse new requests).
    ///
    /// # Errors
    ///
    /// [`HttpError::Bind`] when the address cannot be listened on.
    pub async fn start(
        settings: &HttpSettings,
        host: &Host,
        telemetry: Arc<Telemetry>,
    ) -> Result<HttpServer, HttpError> {
        let ingress = Arc::new(Ingress {
            host: host.clone(),
            telemetry,
            routes: RwLock::new(Arc::new(Routes::new(&settings.routes))),
            max_request_body: settings.max_request_body,
            in_flight: Arc::default(),
        });
        let handler = {
            let ingress = ingress.clone();
            move |request| ingress.clone().handle(request)
        };
        let max_connections = usize::try_from(settings.max_connections).unwrap_or(usize::MAX);
        let listener =
            Listener::start("http.listen", settings.listen, max_connections, handler).await?;
        Ok(HttpServer { listener, ingress })
    }

    /// The address it listens on.
    pub fn address(&self) -> std::net::SocketAddr {
        self.listener.address()
    }

    /// Replaces the routes (a host file read again); requests already routed keep theirs.
    pub fn set_routes(&self, routes: &[RouteDecl]) {
        if let Ok(mut current) = self.ingress.routes.write() {
            *current = Arc::new(Routes::new(routes));
        }
    }

    /// Waits until no request is being answered, at most `limit` (a drain: new requests
    /// are refused meanwhile); whether it got there.
    pub async fn until_idle(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.ingress.in_flight.idle())
            .await
            .is_ok()
    }

    /// Stops accepting and waits up to `within` for the requests being answered.
    pub async fn stop(self, within: Duration) {
        self.listener.stop(within).await;
    }
}

impl Ingress {
    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Reply {
        let in_flight = InFlight::new(&self.in_flight);
        if self.telemetry.health().is_draining() {
            let mut reply = failure(StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Stopped);
            reply
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return reply;
        }
        // The routes of now, shared: a reload meanwhile does not change this request's.
        // (A poisoned lock still holds whole routes: only a whole `Arc` is ever stored.)
        let routes = match self.routes.read() {
            Ok(routes) => routes.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let path = request.uri().path();
        let Some(route) = routes.find(path) else {
            return text(StatusCode::NOT_FOUND, format!("no route for {path}\n"));
        };
        let span = tracing::debug_span!("request", component = %route.component, method = %request.method(), path = %path);
        let reply = if self.host.serves_http(&route.component) == Some(true) {
            self.proxy(&route.component, request, in_flight)
                .instrument(span)
                .await
        } else {
            let topic = route.topic.clone().unwrap_or_else(|| path.to_string());
            self.send(&route.component, &topic, request)
                .instrument(span)
                .await
        };
        self.telemetry
            .http_request(&route.component, reply.status().as_u16());
        reply
    }

    /// A request to a `wasi:http` component: the request itself, its body limited. It
    /// counts in flight until its response body has ended.
    async fn proxy(
        &self,
        component: &str,
        request: Request<Incoming>,
        in_flight: InFlight,
    ) -> Reply {
        if declared_length(&request).is_some_and(|length| length > self.max_request_body) {
            return failure(StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::TooLarge);
        }
        if request.uri().authority().is_none() && !request.headers().contains_key(HOST) {
            return text(
                StatusCode::BAD_REQUEST,
                "a request needs a Host header\n".into(),
            );
        }
        let limit = self.max_request_body;
        // Set when the guest read past the limit (a body without a declared length): it got
        // an error for its body, and the client gets 413, whatever the guest answered.
        let over_limit = Arc::new(AtomicBool::new(false));
        let request = {
            let over_limit = over_limit.clone();
            request.map(move |body| {
                Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)).map_err(move |e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        over_limit.store(true, Ordering::SeqCst);
                        return wasmtime_wasi_http::Error::HttpRequestBodySize(Some(limit));
                    }
                    match e.downcast::<hyper::Error>() {
                        Ok(e) => wasmtime_wasi_http::Error::Hyper(*e),
                        Err(e) => wasmtime_wasi_http::Error::InternalError(Some(e.to_string())),
                    }
                })
            })
        };
        let served = self.host.serve_http(component, request).await;
        if over_limit.load(Ordering::SeqCst) {
            tracing::info!(
                limit,
                "request failed: its body is larger than max_request_body"
            );
            return failure(StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::TooLarge);
        }
        match served {
            Ok(response) => response.map(|mut body| {
                body.hold_until_end(in_flight);
                Either::Right(body)
            }),
            // No response from the guest is a failure of the request, not a reply.
            Err(error @ Error::Handler { .. }) => {
                tracing::info!(%error, "request failed");
                failure(StatusCode::INTERNAL_SERVER_ERROR, ErrorKind::Handler)
            }
            Err(error) => answer_error(&error),
        }
    }

    async fn send(&self, component: &str, topic: &str, request: Request<Incoming>) -> Reply {
        let too_large = || failure(StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::TooLarge);
        if declared_length(&request).is_some_and(|length| length > self.max_request_body) {
            return too_large();
        }
        let limit = usize::try_from(self.max_request_body).unwrap_or(usize::MAX);
        let body = match Limited::new(request.into_body(), limit).collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
            Err(e) => {
                tracing::debug!(error = %e, "the request body could not be read");
                return text(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read\n".into(),
                );
            }
        };
        match self.host.ask(component, topic, Vec::from(body)).await {
            Ok(reply) => {
                let mut response =
                    Response::new(Either::Left(Full::new(Bytes::from(reply.payload))));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                response
            }
            Err(error) => answer_error(&error),
        }
    }
}

/// The body length a request declares in `Content-Length`.
fn declared_length(request: &Request<Incoming>) -> Option<u64> {
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
}

/// The status and body of a failed message.
fn answer_error(error: &Error) -> Reply {
    let kind = error.kind();
    if let Error::Handler { message, .. } = error {
        let mut reply = text(StatusCode::UNPROCESSABLE_ENTITY, message.clone());
        set_kind(&mut reply, kind);
        return reply;
    }
    tracing::info!(%error, "request failed");
    let status = match kind {
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Overloaded | ErrorKind::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    failure(status, kind)
}

/// A failure: the status, the kind in the header and as the body (and `Retry-After: 1`
/// where trying again can help).
fn failure(status: StatusCode, kind: ErrorKind) -> Reply {
    let mut reply = text(status, format!("{kind}\n"));
    set_kind(&mut reply, kind);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        reply
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    reply
}

fn set_kind(reply: &mut Reply, kind: ErrorKind) {
    reply
        .headers_mut()
        .insert(ERROR_HEADER, HeaderValue::from_static(kind.as_str()));
}

pub(crate) fn text(status: StatusCode, body: String) -> Reply {
    let mut reply = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_a_message_can_fail_with_has_its_status_and_header() {
        let component = || "c".to_string();
        let cases = [
            (
                Error::Overloaded {
                    component: component(),
                },
                503,
                "overloaded",
            ),
            (
                Error::Stopped {
                    component: component(),
                    reason: "gone".into(),
                },
                503,
                "stopped",
            ),
            (Error::NotFound { name: component() }, 404, "not-found"),
            (
                Error::TooLarge {
                    component: component(),
                    what: "the reply".into(),
                    size: 2,
                    limit: 1,
                    by: "test".into(),
                },
                413,
                "too-large",
            ),
            (
                Error::Trap {
                    component: component(),
                    reason: "secret detail".into(),
                    cause: None,
                },
                500,
                "trap",
            ),
        ];
        for (error, status, kind) in cases {
            let reply = answer_error(&error);
            assert_eq!(reply.status().as_u16(), status, "{error}");
            assert_eq!(reply.headers()[ERROR_HEADER], kind, "{error}");
            let retry = reply
                .headers()
                .get(RETRY_AFTER)
                .map(|v| v.to_str().unwrap_or_default());
            assert_eq!(retry, (status == 503).then_some("1"), "{error}");
        }
    }
}
