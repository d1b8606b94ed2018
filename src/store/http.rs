//! Outgoing `wasi:http` requests: the `[capabilities] http` allow-list (scheme, host and
//! port must match one origin), denials logged and counted, and each request's timeouts
//! clamped to what is left of the message's deadline.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::manifest::HttpOrigin;
use crate::store::metrics::Metrics;

/// The hooks of one store's `wasi:http` context.
pub(crate) struct HttpHooks {
    pub(crate) name: Arc<str>,
    pub(crate) allowed: Arc<[HttpOrigin]>,
    pub(crate) metrics: Arc<Metrics>,
    /// When the current message or request must be done (set with the store's).
    pub(crate) deadline: Instant,
}

type Response = Result<
    (
        hyper::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl HttpHooks {
    /// Whether `uri` is in the allow-list.
    fn allows(&self, uri: &hyper::Uri) -> bool {
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let Some(host) = uri.host() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().or(match scheme {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        });
        self.allowed.iter().any(|origin| {
            origin.scheme.eq_ignore_ascii_case(scheme)
                && origin.host.eq_ignore_ascii_case(host)
                && Some(origin.port) == port
        })
    }

    /// `options` with every timeout at most what is left until the deadline.
    fn clamped(&self, options: Option<RequestOptions>) -> RequestOptions {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let clamp = |t: Option<Duration>| Some(t.map_or(left, |t| t.min(left)));
        let options = options.unwrap_or_default();
        RequestOptions {
            connect_timeout: clamp(options.connect_timeout),
            first_byte_timeout: clamp(options.first_byte_timeout),
            between_bytes_timeout: clamp(options.between_bytes_timeout),
        }
    }
}

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = Response> + Send> {
        drop(fut);
        if !self.allows(request.uri()) {
            self.metrics.denied.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                component = %self.name,
                uri = %request.uri(),
                "denied: an outgoing HTTP request to an origin not in capabilities.http"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let options = self.clamped(options);
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(allowed: &[(&str, &str, u16)], left: Duration) -> HttpHooks {
        HttpHooks {
            name: "web".into(),
            allowed: allowed
                .iter()
                .map(|(scheme, host, port)| HttpOrigin {
                    scheme: scheme.to_string(),
                    host: host.to_string(),
                    port: *port,
                })
                .collect(),
            metrics: Arc::default(),
            deadline: Instant::now() + left,
        }
    }

    fn all(options: &RequestOptions) -> [Option<Duration>; 3] {
        [
            options.connect_timeout,
            options.first_byte_timeout,
            options.between_bytes_timeout,
        ]
    }

    #[test]
    fn every_outgoing_timeout_is_at_most_what_is_left_of_the_deadline() {
        let left = Duration::from_secs(5);
        let hooks = hooks(&[], left);
        // None set by the guest: each is what is left (wasmtime-wasi-http's own default
        // is 600 s).
        for timeout in all(&hooks.clamped(None)) {
            let timeout = timeout.expect("a timeout is always set");
            assert!(timeout <= left && timeout > left / 2, "{timeout:?}");
        }
        // Longer than what is left: cut to it.
        let long = RequestOptions {
            connect_timeout: Some(Duration::from_secs(60)),
            first_byte_timeout: Some(Duration::from_secs(600)),
            between_bytes_timeout: None,
        };
        for timeout in all(&hooks.clamped(Some(long))) {
            let timeout = timeout.expect("a timeout is always set");
            assert!(timeout <= left && timeout > left / 2, "{timeout:?}");
        }
        // Shorter: kept.
        let short = Duration::from_millis(250);
        let options = RequestOptions {
            connect_timeout: Some(short),
            first_byte_timeout: Some(short),
            between_bytes_timeout: Some(short),
        };
        assert_eq!(all(&hooks.clamped(Some(options))), [Some(short); 3]);
        // A deadline reached leaves nothing.
        let past = HttpHooks {
            deadline: Instant::now(),
            ..hooks
        };
        assert_eq!(all(&past.clamped(None)), [Some(Duration::ZERO); 3]);
    }

    #[test]
    fn an_origin_matches_by_scheme_host_and_port_the_default_port_included() {
        let hooks = hooks(
            &[
                ("http", "example.com", 80),
                ("https", "api.example.com", 8443),
                ("http", "::1", 8080),
            ],
            Duration::from_secs(1),
        );
        let allows = |uri: &str| hooks.allows(&uri.parse().expect("a URI"));
        assert!(allows("http://example.com/x"));
        assert!(allows("http://EXAMPLE.com:80/x"));
        assert!(allows("https://api.example.com:8443/"));
        assert!(allows("http://[::1]:8080/"));
        assert!(!allows("https://example.com/x"), "another scheme");
        assert!(!allows("http://example.com:8080/x"), "another port");
        assert!(
            !allows("https://api.example.com/"),
            "the scheme's default port"
        );
        assert!(!allows("http://example.org/"), "another host");
        assert!(!allows("http://sub.example.com/"), "a subdomain");
        assert!(!allows("/relative"), "no scheme or host");
    }
}
