//! A `wasi:http/proxy` component (the world `wasmtime serve` runs), written against the
//! WIT of wasmtime-wasi-http 48.0.8. Each path shows one behaviour the host must handle:
//!
//! | path | answer |
//! |---|---|
//! | `/hello` | 200 `hello from wasi:http` |
//! | `/echo` | 200, the request body back |
//! | `/status/N` | status N, its own (a 4xx or 5xx it chose) |
//! | `/count` | 200 `count=N`: N counts the requests this instance served |
//! | `/trap` | traps before any response |
//! | `/trap-after-head` | sends the head and part of a chunked body, then traps |
//! | `/no-response` | returns without setting a response |
//! | `/error-code` | sets an error code instead of a response |
//! | `/spin` | spins until its fuel or deadline ends it |
//! | `/sleep/MS` | waits MS milliseconds (a WASI clock), then 200 `slept` |
//! | `/slow-body/MS` | sends the head and `begun`, waits MS milliseconds, then `, ended` |
//! | `/fetch/AUTHORITY/PATH` | GET `http://AUTHORITY/PATH`: 200 `STATUS BODY`, or 502 `error: CODE` |
//! | anything else | 404 |

wit_bindgen::generate!({ path: "wit", world: "hello", generate_all });

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use exports::wasi::http::incoming_handler::Guest;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;

static SERVED: AtomicU64 = AtomicU64::new(0);

struct Hello;

impl Guest for Hello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let path = request.path_with_query().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default().to_string();
        match path.as_str() {
            "/hello" => respond(out, 200, b"hello from wasi:http\n"),
            "/echo" => {
                let body = read_body(request);
                respond(out, 200, &body);
            }
            "/count" => respond(out, 200, format!("count={served}\n").as_bytes()),
            "/trap" => core::arch::wasm32::unreachable(),
            "/trap-after-head" => {
                let response = OutgoingResponse::new(Fields::new());
                let body = response.body().expect("the body of a new response");
                ResponseOutparam::set(out, Ok(response));
                let stream = body.write().expect("the body's stream");
                stream.blocking_write_and_flush(b"partial").expect("written");
                core::arch::wasm32::unreachable()
            }
            "/no-response" => drop(out),
            "/error-code" => ResponseOutparam::set(
                out,
                Err(ErrorCode::InternalError(Some("on purpose".into()))),
            ),
            "/spin" => {
                let mut i = 0u64;
                loop {
                    i = black_box(i).wrapping_add(1);
                }
            }
            other => {
                if let Some(ms) = other.strip_prefix("/slow-body/") {
                    let ms: u64 = ms.parse().unwrap_or(0);
                    let response = OutgoingResponse::new(Fields::new());
                    let body = response.body().expect("the body of a new response");
                    ResponseOutparam::set(out, Ok(response));
                    let stream = body.write().expect("the body's stream");
                    stream.blocking_write_and_flush(b"begun").expect("written");
                    wasi::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
                    stream.blocking_write_and_flush(b", ended").expect("written");
                    drop(stream);
                    OutgoingBody::finish(body, None).expect("finished");
                } else if let Some(ms) = other.strip_prefix("/sleep/") {
                    let ms: u64 = ms.parse().unwrap_or(0);
                    wasi::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
                    respond(out, 200, b"slept");
                } else if let Some(code) = other.strip_prefix("/status/") {
                    let status = code.parse().unwrap_or(500);
                    respond(out, status, format!("status {status}\n").as_bytes());
                } else if let Some(target) = other.strip_prefix("/fetch/") {
                    let (status, text) = fetch(target);
                    respond(out, status, text.as_bytes());
                } else {
                    respond(out, 404, format!("no such page: {other}\n").as_bytes());
                }
            }
        }
    }
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"text/plain; charset=utf-8".to_vec()]);
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let outgoing = response.body().expect("the body of a new response");
    ResponseOutparam::set(out, Ok(response));
    let stream = outgoing.write().expect("the body's stream");
    for chunk in body.chunks(4096) {
        stream.blocking_write_and_flush(chunk).expect("written");
    }
    drop(stream);
    OutgoingBody::finish(outgoing, None).expect("finished");
}

fn read_body(request: IncomingRequest) -> Vec<u8> {
    let mut bytes = Vec::new();
    let Ok(body) = request.consume() else {
        return bytes;
    };
    if let Ok(stream) = body.stream() {
        loop {
            match stream.blocking_read(65536) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => break,
            }
        }
    }
    IncomingBody::finish(body);
    bytes
}

/// GET `http://AUTHORITY/PATH` for `target` = `AUTHORITY/PATH`.
fn fetch(target: &str) -> (u16, String) {
    let (authority, path) = target.split_once('/').unwrap_or((target, ""));
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_method(&Method::Get);
    let _ = request.set_scheme(Some(&Scheme::Http));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(&format!("/{path}")));
    let response = match outgoing_handler::handle(request, None) {
        Ok(future) => {
            future.subscribe().block();
            match future.get() {
                Some(Ok(Ok(response))) => response,
                Some(Ok(Err(code))) => return (502, format!("error: {code:?}\n")),
                _ => return (502, "error: no response\n".into()),
            }
        }
        Err(code) => return (502, format!("error: {code:?}\n")),
    };
    let status = response.status();
    let mut text = String::new();
    if let Ok(body) = response.consume() {
        if let Ok(stream) = body.stream() {
            while let Ok(chunk) = stream.blocking_read(65536) {
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
    }
    (200, format!("{status} {text}"))
}

export!(Hello);
