//! A small HTTP/1 client over hyper for the served hosts' listeners: one request per
//! connection ([`request`]), or a kept-alive [`Connection`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one request may take before the test fails.
pub const HTTP_WITHIN: Duration = Duration::from_secs(30);

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The header `name` as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A kept-alive HTTP/1 connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    address: SocketAddr,
}

impl Connection {
    /// Connects to `address`.
    pub async fn open(address: SocketAddr) -> Connection {
        Connection {
            sender: handshake(address).await,
            address,
        }
    }

    /// Sends `method path` with `body` and reads the whole response (within
    /// [`HTTP_WITHIN`]); a response that breaks off fails the test.
    pub async fn send(&mut self, method: &str, path: &str, body: impl Into<Bytes>) -> HttpReply {
        self.try_send(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Whether the server closed the connection (after `Connection: close`, say).
    pub async fn is_closed(&mut self) -> bool {
        std::future::poll_fn(|cx| self.sender.poll_ready(cx))
            .await
            .is_err()
    }
}

/// One request on a connection of its own.
pub async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: impl Into<Bytes>,
) -> HttpReply {
    Connection::open(address)
        .await
        .send(method, path, body)
        .await
}

/// `GET path`.
pub async fn get(address: SocketAddr, path: &str) -> HttpReply {
    request(address, "GET", path, Bytes::new()).await
}

/// The value of the sample `name{labels}` in a Prometheus text exposition (labels as the
/// exposition writes them, e.g. `component="echo",outcome="ok"`); `None` when absent.
pub fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

impl Connection {
    /// As [`Connection::send`], giving back the error of a response that broke off (a
    /// connection aborted midway) instead of failing the test.
    pub async fn try_send(
        &mut self,
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Result<HttpReply, String> {
        let request = build(self.address, method, path, Full::new(body.into()));
        exchange(&mut self.sender, request, method, path).await
    }
}

/// A connection to `address` for requests with bodies of type `B`.
async fn handshake<B>(address: SocketAddr) -> SendRequest<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::time::timeout(HTTP_WITHIN, TcpStream::connect(address))
        .await
        .expect("connecting took too long")
        .unwrap();
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    sender
}

/// `method path` to `address` with `body`.
fn build<B>(address: SocketAddr, method: &str, path: &str, body: B) -> Request<B> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", address.to_string())
        .body(body)
        .unwrap()
}

/// Sends `request` and reads the whole response (within [`HTTP_WITHIN`]); the error of
/// a response that broke off.
async fn exchange<B>(
    sender: &mut SendRequest<B>,
    request: Request<B>,
    method: &str,
    path: &str,
) -> Result<HttpReply, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .to_vec();
        Ok(HttpReply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(HTTP_WITHIN, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no response within {HTTP_WITHIN:?}"))
}

/// A server on a free loopback port that answers every request `200` with `body`, until
/// the returned handle is dropped or aborted (an outgoing request's destination).
pub async fn fixed_server(body: &'static str) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| async move {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(body.as_bytes()),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (address, task)
}

/// A request body sent in chunks, its length not declared (`Transfer-Encoding: chunked`).
struct Chunked(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(
            self.0
                .pop_front()
                .map(|chunk| Ok(hyper::body::Frame::data(chunk))),
        )
    }
}

/// `method path` on a connection of its own, the body sent as `chunks` without a declared
/// length; the whole response (within [`HTTP_WITHIN`]).
pub async fn request_chunked(
    address: SocketAddr,
    method: &str,
    path: &str,
    chunks: Vec<Bytes>,
) -> HttpReply {
    let mut sender = handshake(address).await;
    let request = build(address, method, path, Chunked(chunks.into()));
    exchange(&mut sender, request, method, path)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}
