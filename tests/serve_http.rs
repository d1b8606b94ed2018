//! `airssys-wasm serve` with `[http]` and `[metrics]` as a child process, over real
//! loopback sockets (ports chosen by the kernel, read from the `ready` line): routes to
//! message components and every outcome's status, `/metrics` after a known sequence,
//! `/healthz` and `/readyz`, `max_connections`, and the drain on SIGTERM (a slow message
//! finishes, a spinning one is answered `stopped` at the drain timeout, new requests get
//! 503 with `Connection: close`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use airssys_wasm_test_support::{
    Connection, FAULTY, SMALL, Served, TempDir, eventually, get, limits, manifest_for, request,
    sample,
};

const BIN: &str = env!("CARGO_BIN_EXE_airssys-wasm");

/// A folder with `echo`, `faulty` (its usual limits), `slow` and `quick` (the faulty
/// guest with 20 s and 100 ms a message), and a host file serving them with these `[host]` lines and extra sections.
fn host_dir(host_lines: &str, extra: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new();
    manifest_for(&dir, "echo", "echo", SMALL, "");
    manifest_for(&dir, "faulty", "faulty", FAULTY, "");
    // Fuel enough for 20 s of spinning: these meet their deadline first.
    let no_fuel_limit = limits("32MiB", "512KiB").fuel(1 << 50);
    manifest_for(&dir, "faulty", "slow", no_fuel_limit.time_ms(20_000), "");
    manifest_for(&dir, "faulty", "quick", no_fuel_limit.time_ms(100), "");
    let file = dir.write(
        "host.toml",
        format!(
            r#"
[host]
name = "web"
{host_lines}

[components]
echo = "echo.toml"
faulty = "faulty.toml"
slow = "slow.toml"
quick = "quick.toml"

{extra}

[http]
listen = "127.0.0.1:0"
max_request_body = "1KiB"
{ROUTES}

[metrics]
listen = "127.0.0.1:0"
"#
        ),
    );
    (dir, file)
}

const ONE_SUPERVISOR: &str = r#"
[supervisors.app]
restarts = 100
children = ["echo", "faulty", "slow", "quick"]
"#;

const ROUTES: &str = r#"
[[http.route]]
path = "/echo"
component = "echo"

[[http.route]]
path = "/any/..."
component = "faulty"

[[http.route]]
path = "/error"
component = "faulty"
topic = "error"

[[http.route]]
path = "/trap"
component = "faulty"
topic = "trap"

[[http.route]]
path = "/burn"
component = "faulty"
topic = "burn"

[[http.route]]
path = "/grow"
component = "faulty"
topic = "grow"

[[http.route]]
path = "/spin"
component = "quick"
topic = "spin"

[[http.route]]
path = "/sleep"
component = "slow"
topic = "sleep"

[[http.route]]
path = "/spin-slow"
component = "slow"
topic = "spin"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_of_a_routed_message_has_its_status_and_kind_and_counts_in_the_metrics() {
    let (_dir, file) = host_dir("", ONE_SUPERVISOR);
    let mut served = Served::start(BIN, &file);
    let ready = served.ready();
    let (http, metrics) = (ready.http.unwrap(), ready.metrics.unwrap());

    let ok = request(http, "POST", "/echo", "hi").await;
    assert_eq!((ok.status, ok.text().as_str()), (200, "hi"));
    assert_eq!(ok.header("content-type"), Some("application/octet-stream"));

    let handler = request(http, "POST", "/error", "").await;
    assert_eq!(handler.status, 422);
    assert_eq!(handler.header("x-airssys-error"), Some("handler"));
    assert_eq!(handler.text(), "faulty returned an error on purpose");

    for (path, status, kind) in [
        ("/trap", 500, "trap"),
        ("/burn", 500, "fuel"),
        ("/grow", 500, "memory"),
        ("/spin", 504, "timeout"),
    ] {
        let reply = request(http, "POST", path, "").await;
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
        assert_eq!(reply.header("x-airssys-error"), Some(kind), "{path}");
        assert_eq!(
            reply.text(),
            format!("{kind}\n"),
            "{path}: no trap or host details"
        );
    }

    // The default topic is the path as sent, without the query; any method.
    let unknown = get(http, "/any/thing%20x?q=1").await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.text(), "unknown topic: /any/thing%20x");

    let too_large = request(http, "POST", "/echo", vec![b'x'; 1025]).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.header("x-airssys-error"), Some("too-large"));
    let at_the_limit = request(http, "POST", "/echo", vec![b'x'; 1024]).await;
    assert_eq!(at_the_limit.status, 200);

    let nowhere = get(http, "/nowhere").await;
    assert_eq!(nowhere.status, 404);

    assert_eq!(get(metrics, "/healthz").await.status, 200);
    assert_eq!(get(metrics, "/readyz").await.status, 200);
    let page = get(metrics, "/metrics").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    let value = |name: &str, labels: &str| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("no {name}{{{labels}}} in:\n{text}"))
    };
    let messages = "airssys_messages_total";
    assert_eq!(value(messages, r#"component="echo",outcome="ok""#), 2.0);
    assert_eq!(
        value(messages, r#"component="faulty",outcome="handler""#),
        2.0
    );
    assert_eq!(
        value(messages, r#"component="quick",outcome="timeout""#),
        1.0
    );
    for outcome in ["trap", "fuel", "memory"] {
        let labels = format!(r#"component="faulty",outcome="{outcome}""#);
        assert_eq!(value(messages, &labels), 1.0, "{outcome}");
    }
    let restarts = "airssys_restarts_total";
    assert_eq!(value(restarts, r#"component="faulty""#), 3.0);
    assert_eq!(value(restarts, r#"component="quick""#), 1.0);
    assert_eq!(value(restarts, r#"component="echo""#), 0.0);
    assert!(value("airssys_fuel_consumed_total", r#"component="faulty""#) >= 10_000_000.0);
    assert_eq!(value("airssys_denied_total", r#"component="echo""#), 0.0);
    assert_eq!(value("airssys_mailbox_depth", r#"component="slow""#), 0.0);
    let count = "airssys_message_duration_seconds_count";
    let bucket = "airssys_message_duration_seconds_bucket";
    assert_eq!(value(count, r#"component="echo""#), 2.0);
    assert_eq!(value(count, r#"component="faulty""#), 5.0);
    assert_eq!(value(bucket, r#"le="+Inf",component="faulty""#), 5.0);
    // The 100 ms spin is counted above 50 ms and at most 250 ms.
    assert_eq!(value(bucket, r#"le="0.05",component="quick""#), 0.0);
    assert_eq!(value(bucket, r#"le="0.25",component="quick""#), 1.0);
    let http_requests = "airssys_http_requests_total";
    assert_eq!(
        value(http_requests, r#"component="faulty",status="500""#),
        3.0
    );
    assert_eq!(
        value(http_requests, r#"component="quick",status="504""#),
        1.0
    );
    assert_eq!(
        value(http_requests, r#"component="echo",status="413""#),
        1.0
    );
    assert_eq!(
        value(http_requests, r#"component="echo",status="200""#),
        2.0
    );
    assert_eq!(get(metrics, "/nothing").await.status, 404);

    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_a_slow_message_finishes_new_requests_get_503_and_the_exit_is_0_within_the_drain_timeout()
 {
    let (_dir, file) = host_dir("drain_timeout_ms = 4000", ONE_SUPERVISOR);
    let mut served = Served::start_logging(BIN, &file, "info,airssys_wasm::engine=debug");
    let http = served.ready().http.unwrap();
    let slow = tokio::spawn(request(http, "POST", "/sleep", "1500"));
    served.until("\"topic\":\"sleep\"", Duration::from_secs(30));
    served.signal("TERM");
    let signalled = Instant::now();
    served.until("draining", Duration::from_secs(10));

    let refused = request(http, "POST", "/echo", "late").await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("x-airssys-error"), Some("stopped"));
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("connection"), Some("close"));

    let slow = slow.await;
    let slow = slow.unwrap_or_else(|e| panic!("{e}; stderr:\n{}", served.seen.join("\n")));
    assert_eq!((slow.status, slow.text().as_str()), (200, "slept"));
    let status = served.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_millis(4000 + 1500),
        "exit {:?} after SIGTERM, past the 4 s drain timeout",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_a_spinning_guest_is_answered_stopped_at_the_drain_timeout_and_the_exit_is_0() {
    let (_dir, file) = host_dir("drain_timeout_ms = 1000", ONE_SUPERVISOR);
    let mut served = Served::start_logging(BIN, &file, "info,airssys_wasm::engine=debug");
    let http = served.ready().http.unwrap();
    let spinning = tokio::spawn(request(http, "POST", "/spin-slow", ""));
    served.until("\"topic\":\"spin\"", Duration::from_secs(30));
    served.signal("TERM");
    let signalled = Instant::now();
    let reply = spinning.await.unwrap();
    let answered = signalled.elapsed();
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.header("x-airssys-error"), Some("stopped"));
    assert!(
        answered >= Duration::from_millis(900),
        "answered {answered:?} after SIGTERM, before the 1 s drain timeout"
    );
    let status = served.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_millis(1000 + 2500),
        "exit {:?} after SIGTERM; the drain timeout is 1 s (and the listeners' 1 s)",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_level_supervisor_giving_up_turns_readyz_503_and_the_rest_keeps_serving() {
    let supervisors = r#"
[supervisors.fragile]
restarts = 1
children = ["faulty"]

[supervisors.steady]
children = ["echo", "slow", "quick"]
"#;
    let (_dir, file) = host_dir("", supervisors);
    let mut served = Served::start(BIN, &file);
    let ready = served.ready();
    let (http, metrics) = (ready.http.unwrap(), ready.metrics.unwrap());
    assert_eq!(get(metrics, "/readyz").await.status, 200);
    assert_eq!(request(http, "POST", "/trap", "").await.status, 500);
    assert_eq!(
        get(metrics, "/readyz").await.status,
        200,
        "one restart is allowed"
    );
    // The second crash is past the intensity: the supervisor gives up.
    assert_eq!(request(http, "POST", "/trap", "").await.status, 500);
    eventually("/readyz to answer 503", || async {
        get(metrics, "/readyz").await.status == 503
    })
    .await;
    let last = get(metrics, "/readyz").await.text();
    assert!(last.contains("fragile"), "{last}");
    assert_eq!(get(metrics, "/healthz").await.status, 200);
    let echo = request(http, "POST", "/echo", "still here").await;
    assert_eq!((echo.status, echo.text().as_str()), (200, "still here"));
    let gone = request(http, "POST", "/error", "").await;
    assert_eq!(gone.status, 503);
    assert_eq!(gone.header("x-airssys-error"), Some("stopped"));
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_a_new_connection_waits_until_one_closes() {
    let (dir, file) = host_dir("", ONE_SUPERVISOR);
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "max_request_body = \"1KiB\"",
        "max_request_body = \"1KiB\"\nmax_connections = 1",
    );
    let file = dir.write("host.toml", text);
    let mut served = Served::start(BIN, &file);
    let http = served.ready().http.unwrap();
    let mut first = Connection::open(http).await;
    assert_eq!(first.send("POST", "/echo", "one").await.status, 200);
    let second = tokio::spawn(request(http, "POST", "/echo", "two"));
    let waited = tokio::time::timeout(Duration::from_millis(300), async {
        while !second.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        waited.is_err(),
        "the second connection was served while the first was open"
    );
    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the second connection is served once the first closed")
        .unwrap();
    assert_eq!((second.status, second.text().as_str()), (200, "two"));
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}
