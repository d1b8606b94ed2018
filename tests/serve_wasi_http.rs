//! `wasi:http/proxy` components under `airssys-wasm serve` (a child process, real HTTP on
//! loopback): the example `http-hello` guest, the same `.wasm` `wasmtime serve` runs,
//! served per request with its manifest's limits beside a message route; failures mapped
//! to statuses and `x-airssys-error`; a crash after the response head aborts the
//! connection; outgoing requests only to `[capabilities] http`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use airssys_wasm_test_support::{
    Connection, SMALL, Served, TempDir, eventually, fixed_server, get, http_host_file, limits,
    manifest_for, poll_once, request, request_chunked, sample,
};
use bytes::Bytes;

const BIN: &str = env!("CARGO_BIN_EXE_airssys-wasm");

/// Serves the host file `file` in this process, in `host`; its service and HTTP address.
async fn serve_here(
    host: &airssys_wasm::Host,
    file: &std::path::Path,
) -> (airssys_wasm::serve::Service, std::net::SocketAddr) {
    let file = airssys_wasm::manifest::HostFile::from_file(file).unwrap();
    let service = airssys_wasm::serve::Service::start(host, &file)
        .await
        .unwrap();
    let http = service.http_address().unwrap();
    (service, http)
}

/// A host serving `web` (the http-hello guest, with `[http]` and `capabilities` lines as
/// given) on `/...` and `echo` (a message component) on `/msg`.
fn host(web_extra: &str) -> (TempDir, std::path::PathBuf) {
    host_with(web_extra, "")
}

/// As [`host`], with more lines for supervisor `app`.
fn host_with(web_extra: &str, app_extra: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new();
    manifest_for(
        &dir,
        "http-hello",
        "web",
        limits("32MiB", "1MiB").fuel(1 << 40).time_ms(300),
        web_extra,
    );
    manifest_for(&dir, "echo", "echo", SMALL, "");
    let file = dir.write(
        "host.toml",
        format!(
            r#"
[host]
name = "proxy"

[components]
web = "web.toml"
echo = "echo.toml"

[supervisors.app]
children = ["web", "echo"]
{app_extra}

[http]
listen = "127.0.0.1:0"
max_request_body = "4KiB"

[[http.route]]
path = "/..."
component = "web"

[[http.route]]
path = "/msg"
component = "echo"

[metrics]
listen = "127.0.0.1:0"
"#
        ),
    );
    (dir, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_component_answers_each_request_on_a_fresh_instance_and_its_failures_have_their_kinds()
 {
    let (_dir, file) = host("");
    let mut served = Served::start(BIN, &file);
    let ready = served.ready();
    let (http, metrics) = (ready.http.unwrap(), ready.metrics.unwrap());

    let hello = get(http, "/hello").await;
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, "hello from wasi:http\n")
    );
    assert_eq!(hello.header("x-airssys-error"), None);
    let echo = request(http, "POST", "/echo", "a body for the guest").await;
    assert_eq!(echo.text(), "a body for the guest");
    // Its own 418 is its answer, not a failure.
    let teapot = get(http, "/status/418").await;
    assert_eq!(
        (teapot.status, teapot.header("x-airssys-error")),
        (418, None)
    );
    for _ in 0..2 {
        assert_eq!(
            get(http, "/count").await.text(),
            "count=1\n",
            "a fresh instance each time"
        );
    }
    for (path, status, kind) in [
        ("/trap", 500, "trap"),
        ("/no-response", 500, "handler"),
        ("/error-code", 500, "handler"),
        ("/spin", 504, "timeout"),
    ] {
        let reply = get(http, path).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
        assert_eq!(reply.header("x-airssys-error"), Some(kind), "{path}");
        assert_eq!(reply.text(), format!("{kind}\n"), "{path}: no details");
    }
    let too_large = request(http, "POST", "/echo", vec![b'x'; 4097]).await;
    assert_eq!(
        (too_large.status, too_large.header("x-airssys-error")),
        (413, Some("too-large"))
    );
    // Without a declared length, the limit holds as the guest reads: 413, whatever the
    // guest made of its cut body; at the limit, the whole body reaches it.
    let halves = |n: usize| {
        vec![
            Bytes::from(vec![b'x'; n / 2]),
            Bytes::from(vec![b'y'; n - n / 2]),
        ]
    };
    let too_large = request_chunked(http, "POST", "/echo", halves(4097)).await;
    assert_eq!(
        (
            too_large.status,
            too_large.header("x-airssys-error"),
            too_large.text().as_str()
        ),
        (413, Some("too-large"), "too-large\n")
    );
    let whole = request_chunked(http, "POST", "/echo", halves(4096)).await;
    assert_eq!((whole.status, whole.body.len()), (200, 4096));
    // A message component beside it, on its own route.
    let msg = request(http, "POST", "/msg", "a message").await;
    assert_eq!((msg.status, msg.text().as_str()), (200, "a message"));

    // A crash after the head: the connection is aborted, never a clean end of a cut body.
    let mut connection = Connection::open(http).await;
    let cut = connection.try_send("GET", "/trap-after-head", "").await;
    assert!(cut.is_err(), "a cut body read as whole: {cut:?}");
    // The component still serves.
    assert_eq!(get(http, "/hello").await.status, 200);

    let page = get(metrics, "/metrics").await.text();
    let value = |name: &str, labels: &str| {
        sample(&page, name, labels).unwrap_or_else(|| panic!("no {name}{{{labels}}} in:\n{page}"))
    };
    let messages = "airssys_messages_total";
    // hello x2, echo, 418, count x2, the chunked bodies (the guest answered both; the
    // declared 413 never reached it).
    assert_eq!(value(messages, r#"component="web",outcome="ok""#), 8.0);
    assert_eq!(
        value(messages, r#"component="web",outcome="trap""#),
        2.0,
        "/trap and after the head"
    );
    assert_eq!(value(messages, r#"component="web",outcome="timeout""#), 1.0);
    assert_eq!(
        value(messages, r#"component="web",outcome="handler""#),
        2.0,
        "no response, and an error code"
    );
    assert_eq!(
        value("airssys_restarts_total", r#"component="web""#),
        0.0,
        "a failed request ends its own instance, not a restart"
    );
    let requests = "airssys_http_requests_total";
    assert_eq!(value(requests, r#"component="web",status="418""#), 1.0);
    assert_eq!(value(requests, r#"component="web",status="413""#), 2.0);
    assert_eq!(value(requests, r#"component="web",status="500""#), 3.0);
    assert_eq!(value(requests, r#"component="echo",status="200""#), 1.0);
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_requests_reach_granted_origins_only_and_a_denial_is_counted() {
    let (allowed, _allowed_server) = fixed_server("from the allowed origin").await;
    let (other, _other_server) = fixed_server("never reached").await;
    let (_dir, file) = host(&format!("[capabilities]\nhttp = [\"http://{allowed}\"]\n"));
    let mut served = Served::start(BIN, &file);
    let ready = served.ready();
    let (http, metrics) = (ready.http.unwrap(), ready.metrics.unwrap());

    let granted = get(http, &format!("/fetch/{allowed}/x")).await;
    assert_eq!(
        (granted.status, granted.text().as_str()),
        (200, "200 from the allowed origin")
    );
    let denied = get(http, &format!("/fetch/{other}/x")).await;
    assert_eq!(denied.status, 502, "{}", denied.text());
    assert!(
        denied.text().contains("HttpRequestDenied"),
        "{}",
        denied.text()
    );
    let page = get(metrics, "/metrics").await.text();
    assert_eq!(
        sample(&page, "airssys_denied_total", r#"component="web""#),
        Some(1.0)
    );
    served.until("denied: an outgoing HTTP request", Duration::from_secs(10));
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_instances_keep_their_state_and_a_crash_is_a_restart_under_the_supervisors_intensity()
 {
    let (_dir, file) = host_with(
        "[http]\ninstance = \"reuse\"\nconcurrency = 1\n",
        "restarts = 1\n",
    );
    let mut served = Served::start(BIN, &file);
    let ready = served.ready();
    let (http, metrics) = (ready.http.unwrap(), ready.metrics.unwrap());
    assert_eq!(get(http, "/count").await.text(), "count=1\n");
    assert_eq!(
        get(http, "/count").await.text(),
        "count=2\n",
        "the same instance again"
    );
    assert_eq!(
        get(http, "/trap").await.header("x-airssys-error"),
        Some("trap")
    );
    let restarts = || async {
        let page = get(metrics, "/metrics").await.text();
        sample(&page, "airssys_restarts_total", r#"component="web""#)
    };
    eventually("the crash to count as a restart", || async {
        restarts().await == Some(1.0)
    })
    .await;
    assert_eq!(
        get(http, "/count").await.text(),
        "count=1\n",
        "a fresh instance replaced it"
    );
    // A second crash is past the intensity (1 restart): the supervisor gives up.
    assert_eq!(get(http, "/trap").await.status, 500);
    eventually("/readyz to answer 503", || async {
        get(metrics, "/readyz").await.status == 503
    })
    .await;
    let gone = get(http, "/hello").await;
    assert_eq!(
        (gone.status, gone.header("x-airssys-error")),
        (503, Some("stopped"))
    );
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_exporting_both_worlds_answers_ask_and_http_in_one_host() {
    let dir = TempDir::new();
    manifest_for(&dir, "both", "both", SMALL, "");
    let file = http_host_file(&dir, "both", &dir.path().join("both.toml"), "");
    let (_system, host) = airssys_wasm_test_support::host().await;
    let (service, http) = serve_here(&host, &file).await;

    let total = host.ask("both", "increment", "5").await.unwrap();
    assert_eq!(total.payload, b"5");
    let reply = get(http, "/x?y").await;
    // HTTP gets an instance of its own: the message instance's state is not in it.
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "http /x?y total=0\n")
    );
    let total = host.ask("both", "increment", "2").await.unwrap();
    assert_eq!(total.payload, b"7", "the message instance kept its state");
    assert_eq!(host.metrics("both").unwrap().handled, 3);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_only_component_is_upgraded_in_place_and_a_broken_version_leaves_it_serving() {
    let dir = TempDir::new();
    manifest_for(&dir, "http-hello", "web", SMALL, "");
    let file = http_host_file(&dir, "web", &dir.path().join("web.toml"), "");
    let (_system, host) = airssys_wasm_test_support::host().await;
    let (service, http) = serve_here(&host, &file).await;
    assert_eq!(get(http, "/hello").await.text(), "hello from wasi:http\n");

    // The new version is another proxy: the `both` guest, under the same name.
    let next = manifest_for(&dir, "both", "web", SMALL, "");
    host.upgrade(airssys_wasm::Manifest::from_file(next).unwrap())
        .await
        .unwrap();
    assert_eq!(get(http, "/hello").await.text(), "http /hello total=0\n");

    let broken = dir.write("web.toml", format!(
        "[component]\nname = \"web\"\nversion = \"3.0.0\"\nwasm = \"{}\"\n[resources]\nmax_memory = \"16MiB\"\nmax_stack = \"1MiB\"\n",
        airssys_wasm_test_support::wasm_path("no-handler").display()
    ));
    let error = host
        .upgrade(airssys_wasm::Manifest::from_file(broken).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), airssys_wasm::ErrorKind::Component, "{error}");
    assert_eq!(
        get(http, "/hello").await.text(),
        "http /hello total=0\n",
        "still the last good one"
    );
    service.shutdown().await.unwrap();
}

/// A host serving http-hello on every path, with a 5 s drain timeout (its folder and file).
fn draining_host() -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new();
    manifest_for(
        &dir,
        "http-hello",
        "web",
        limits("32MiB", "1MiB").time_ms(10_000),
        "",
    );
    let file = http_host_file(
        &dir,
        "web",
        &dir.path().join("web.toml"),
        "drain_timeout_ms = 5000",
    );
    (dir, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_a_proxy_request_in_flight_finishes_within_the_drain_timeout() {
    let (_dir, file) = draining_host();
    let mut served = Served::start_logging(BIN, &file, "info,airssys_wasm::http=debug");
    let http = served.ready().http.unwrap();
    let slow = tokio::spawn(get(http, "/sleep/2000"));
    served.until("\"name\":\"request\"", Duration::from_secs(30));
    served.signal("TERM");
    let signalled = std::time::Instant::now();
    let reply = slow.await.unwrap();
    assert_eq!((reply.status, reply.text().as_str()), (200, "slept"));
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_millis(5000 + 1500),
        "{:?}",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_a_proxy_response_whose_body_is_still_coming_ends_whole_within_the_drain_timeout()
 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, file) = draining_host();
    let mut served = Served::start(BIN, &file);
    let http = served.ready().http.unwrap();
    let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
    stream
        .write_all(b"GET /slow-body/2500 HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    // The head and the body's first part, then the signal, the rest of the body still to
    // come (the guest waits 2.5 s: longer than the listeners get once the drain is over).
    let mut received = Vec::new();
    let read_until =
        async |stream: &mut tokio::net::TcpStream, received: &mut Vec<u8>, end: &[u8]| {
            let mut buffer = [0u8; 4096];
            while !received.windows(end.len()).any(|w| w == end) {
                match stream.read(&mut buffer).await.unwrap() {
                    0 => return,
                    n => received.extend_from_slice(&buffer[..n]),
                }
            }
        };
    tokio::time::timeout(
        Duration::from_secs(30),
        read_until(&mut stream, &mut received, b"begun"),
    )
    .await
    .expect("no head within 30 s");
    served.signal("TERM");
    let signalled = std::time::Instant::now();
    tokio::time::timeout(
        Duration::from_secs(30),
        read_until(&mut stream, &mut received, b"0\r\n\r\n"),
    )
    .await
    .expect("the body neither ended nor was cut within 30 s");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(", ended") && text.ends_with("0\r\n\r\n"),
        "the body was cut by the drain: {text:?}"
    );
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_millis(5000 + 1500),
        "{:?}",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_concurrency_requests_wait_in_the_mailbox_and_past_that_get_503_overloaded() {
    let dir = TempDir::new();
    manifest_for(
        &dir,
        "http-hello",
        "web",
        limits("32MiB", "1MiB").time_ms(10_000),
        "[http]\nconcurrency = 1\n",
    );
    let file = http_host_file(&dir, "web", &dir.path().join("web.toml"), "");
    let (_system, host) = airssys_wasm_test_support::host().await;
    // One request at a time, two more may wait: the mailbox holds two.
    let host = host.with_mailbox_capacity(2);
    let (service, http) = serve_here(&host, &file).await;
    let requests: Vec<_> = (0..6)
        .map(|_| tokio::spawn(get(http, "/sleep/1500")))
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        let reply = request.await.unwrap();
        if reply.status == 503 {
            assert_eq!(reply.header("x-airssys-error"), Some("overloaded"));
            assert_eq!(reply.header("retry-after"), Some("1"));
        }
        statuses.push(reply.status);
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 503, 503, 503],
        "one runs, two wait, three are refused"
    );
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_gives_up_while_waiting_frees_its_place_in_the_mailbox() {
    use std::pin::pin;
    use std::task::Poll;
    let dir = TempDir::new();
    let web = manifest_for(
        &dir,
        "http-hello",
        "web",
        limits("32MiB", "1MiB").time_ms(10_000),
        "[http]\nconcurrency = 1\n",
    );
    let file = http_host_file(&dir, "web", &web, "");
    let (_system, host) = airssys_wasm_test_support::host().await;
    let host = host.with_mailbox_capacity(2);
    let (service, _http) = serve_here(&host, &file).await;
    let request = |path: &str| {
        hyper::Request::builder()
            .uri(format!("http://test{path}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap()
    };
    // Each polled once: the first takes the one place to run (its instance runs on a task
    // of its own), the next two wait, the fourth is refused.
    let mut running = pin!(host.serve_http("web", request("/sleep/2000")));
    assert!(poll_once(running.as_mut()).await.is_pending());
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut fut = Box::pin(host.serve_http("web", request("/hello")));
        assert!(
            poll_once(fut.as_mut()).await.is_pending(),
            "it waits its turn"
        );
        waiting.push(fut);
    }
    let mut refused = pin!(host.serve_http("web", request("/hello")));
    match poll_once(refused.as_mut()).await {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), airssys_wasm::ErrorKind::Overloaded),
        other => panic!(
            "the mailbox of two is full: {:?}",
            other.map(|r| r.map(|_| ()))
        ),
    }
    // The two waiting give up: their places come back.
    waiting.clear();
    for _ in 0..2 {
        let mut fut = Box::pin(host.serve_http("web", request("/hello")));
        assert!(
            poll_once(fut.as_mut()).await.is_pending(),
            "a place was lost"
        );
        waiting.push(fut);
    }
    let done = running.await.unwrap();
    assert_eq!(done.status(), 200);
    for fut in waiting {
        assert_eq!(fut.await.unwrap().status(), 200);
    }
    service.shutdown().await.unwrap();
}
