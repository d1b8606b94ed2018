//! The lattice (contract section 8), with real processes: `airssys-wasm serve` hosts and
//! `airssys-wasm ask` over a real `nats-server` on a free loopback port, hosts killed with
//! SIGKILL, and a host in this test process joined with `Lattice::join` where a timing or
//! an error value is checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_wasm::lattice::Lattice;
use airssys_wasm::manifest::{LatticeAuth, LatticeSettings};
use airssys_wasm::{ErrorKind, Host};
use airssys_wasm_actors::ActorSystem;
use airssys_wasm_test_support::{
    FAULTY, NatsServer, Resources, Served, TempDir, airssys_wasm_command, eventually,
    eventually_within, free_port, get, host, manifest_for, sample, stderr, text,
};

const BIN: &str = env!("CARGO_BIN_EXE_airssys-wasm");

/// `faulty` named `name`, answering `config where` with `place`, messaging anyone.
fn faulty(dir: &TempDir, name: &str, place: &str, resources: Resources) -> PathBuf {
    manifest_for(
        dir,
        "faulty",
        name,
        resources,
        &format!("[capabilities]\nmessaging = [\"*\"]\n\n[config]\nwhere = \"{place}\""),
    )
}

/// A host file `HOST.toml` in `dir`: the components in supervisor `app`, metrics on a free
/// port, and `[lattice]` on `nats` with `lattice_lines`.
fn host_file(
    dir: &TempDir,
    host: &str,
    components: &[(&str, &Path)],
    nats: &str,
    lattice_lines: &str,
) -> PathBuf {
    let mut text = format!("[host]\nname = \"{host}\"\ndrain_timeout_ms = 3000\n\n[components]\n");
    for (name, manifest) in components {
        text.push_str(&format!("{name} = {:?}\n", manifest.display().to_string()));
    }
    let names: Vec<String> = components.iter().map(|(n, _)| format!("{n:?}")).collect();
    text.push_str(&format!(
        "\n[supervisors.app]\nrestarts = 1000\nchildren = [{}]\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n\n[lattice]\nnats = [\"{nats}\"]\n{lattice_lines}\n",
        names.join(", ")
    ));
    dir.write(&format!("{host}.toml"), text)
}

/// `airssys-wasm ask NAME --nats URL ARGS...`.
fn ask(url: &str, name: &str, args: &[&str]) -> Output {
    airssys_wasm_command(BIN)
        .args(["ask", name, "--nats", url])
        .args(args)
        .output()
        .unwrap()
}

/// The reply of a successful `ask`.
fn asked(url: &str, name: &str, args: &[&str]) -> String {
    let out = ask(url, name, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ask {name} {args:?}: {}",
        stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `airssys-wasm serve FILE`, which must end on its own (refused at start) within 20 s: a
/// host that retried instead would fail the test, not hang it.
fn serve_refused(file: &Path) -> Output {
    let mut child = airssys_wasm_command(BIN)
        .arg("serve")
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("serve still running 20 s in; stderr:\n{}", stderr(&out));
        }
        // The polling interval of a bounded wait for its exit.
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A host in this process on the lattice at `url`, with no components of its own.
async fn caller(url: &str) -> (ActorSystem, Host, Lattice) {
    let (system, host) = host().await;
    let settings = LatticeSettings {
        name: "default".into(),
        nats: vec![url.to_string()],
        auth: LatticeAuth::None,
        tls: None,
        export: None,
    };
    let lattice = Lattice::join(&host, &settings, "tester").await.unwrap();
    assert!(lattice.is_joined());
    (system, host, lattice)
}

/// A served host's counter `name{labels}` from its `/metrics`.
async fn metric(served: &airssys_wasm_test_support::Ready, name: &str, labels: &str) -> f64 {
    let body = get(served.metrics.unwrap(), "/metrics").await.text();
    sample(&body, name, labels).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_on_another_host_answers_the_cli_host_ask_and_a_components_request() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let a = faulty(&dir, "alpha", "a", FAULTY);
    let b = faulty(&dir, "beta", "b", FAULTY);
    let mut host_a = Served::start(
        BIN,
        &host_file(&dir, "host-a", &[("alpha", &a)], &nats.url(), ""),
    );
    let mut host_b = Served::start(
        BIN,
        &host_file(&dir, "host-b", &[("beta", &b)], &nats.url(), ""),
    );
    host_a.ready();
    host_b.ready();

    assert_eq!(
        asked(
            &nats.url(),
            "alpha",
            &["--topic", "config", "--payload", "where"]
        ),
        "a"
    );
    assert_eq!(
        asked(&nats.url(), "beta", &["--topic", "ok", "--payload", "-x-"]),
        "-x-"
    );
    let json = asked(
        &nats.url(),
        "beta",
        &["--topic", "ok", "--payload", "hi", "--json"],
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (json["ok"].as_bool(), json["reply"].as_str()),
        (Some(true), Some("aGk="))
    );
    assert!(json["fuel_consumed"].as_u64().unwrap() > 0, "{json}");

    // A component's request to a component on the other host, its sender seen there.
    assert_eq!(
        asked(
            &nats.url(),
            "alpha",
            &["--topic", "request", "--payload", "beta config where"]
        ),
        "b"
    );
    assert_eq!(
        asked(
            &nats.url(),
            "alpha",
            &["--topic", "request", "--payload", "beta sender"]
        ),
        "alpha"
    );

    // Host::ask from a host of its own: a remote name, then a live local one, which wins.
    let (system, host, lattice) = caller(&nats.url()).await;
    let reply = host.ask("beta", "config", "where").await.unwrap();
    assert_eq!(text(&reply.payload), "b");
    let supervisor =
        airssys_wasm_test_support::supervisor(&system, airssys_wasm_actors::Strategy::OneForOne, 3)
            .await;
    let local = faulty(&dir, "beta", "local", FAULTY);
    host.spawn_component(
        &supervisor,
        airssys_wasm::Manifest::from_file(&local).unwrap(),
    )
    .await
    .unwrap();
    for _ in 0..5 {
        let reply = host.ask("beta", "config", "where").await.unwrap();
        assert_eq!(text(&reply.payload), "local", "a live local component wins");
    }
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_kind_arrives_from_another_host_as_itself_with_its_exit_code() {
    let nats = NatsServer::start_with("max_payload: 65536\n");
    let dir = TempDir::new();
    let worker = faulty(&dir, "worker", "b", FAULTY);
    let plain = manifest_for(&dir, "faulty", "plain", FAULTY, "");
    let mut served = Served::start(
        BIN,
        &host_file(
            &dir,
            "host-b",
            &[("worker", &worker), ("plain", &plain)],
            &nats.url(),
            "",
        ),
    );
    served.ready();
    let url = nats.url();
    let big_payload = dir.write("big", vec![b'x'; 70_000]);
    let fits = dir.write("fits", vec![b'y'; 65_536 - 4096]);
    let cases: &[(&str, Vec<&str>, i32, &str)] = &[
        ("worker", vec!["--topic", "error"], 1, "error[handler]"),
        ("worker", vec!["--topic", "trap"], 3, "error[trap]"),
        (
            "worker",
            vec!["--topic", "sleep", "--payload", "1000"],
            4,
            "error[timeout]",
        ),
        ("worker", vec!["--topic", "burn"], 5, "error[fuel]"),
        ("worker", vec!["--topic", "grow"], 6, "error[memory]"),
        ("nobody", vec![], 2, "error[not-found]"),
        (
            "worker",
            vec!["--topic", "big", "--payload", "70000"],
            7,
            "error[too-large]",
        ),
        (
            "worker",
            vec!["--payload-file", big_payload.to_str().unwrap()],
            7,
            "error[too-large]",
        ),
        // Grants apply across hosts as locally: `plain` may message nobody.
        (
            "plain",
            vec!["--topic", "request", "--payload", "worker ok x"],
            1,
            "denied",
        ),
    ];
    for (name, args, code, needle) in cases {
        let out = ask(&url, name, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "ask {name} {args:?}: {err}");
        assert!(
            err.lines().next().unwrap_or("").contains(needle),
            "ask {name} {args:?}: {err}"
        );
    }
    // Not a name: not-found, as locally; a bad lattice name is a usage error.
    let out = ask(&url, "a b", &["--topic", "ok"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[not-found]"),
        "{}",
        stderr(&out)
    );
    let out = ask(&url, "worker", &["--lattice", "Not.One"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error[usage]"), "{}", stderr(&out));
    // 4 KiB under max_payload always passes.
    let reply = asked(
        &url,
        "worker",
        &["--topic", "ok", "--payload-file", fits.to_str().unwrap()],
    );
    assert_eq!(reply.len(), 65_536 - 4096);
    let out = ask(&url, "worker", &["--topic", "trap", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "trap");
    // The in-process caller gets the same kinds as values.
    let (system, host, lattice) = caller(&url).await;
    let err = host
        .ask_timeout("nobody", "ok", "", Duration::MAX)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::NotFound,
        "no limit is not a panic: {err}"
    );
    for (topic, kind) in [
        ("trap", ErrorKind::Trap),
        ("burn", ErrorKind::Fuel),
        ("error", ErrorKind::Handler),
    ] {
        let err = host.ask("worker", topic, "").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{topic}: {err}");
    }
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_remaining_time_bounds_the_run_on_the_other_host() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let slow = faulty(&dir, "slow", "b", FAULTY.time_ms(5_000));
    let mut served = Served::start(
        BIN,
        &host_file(&dir, "host-b", &[("slow", &slow)], &nats.url(), ""),
    );
    let ready = served.ready();
    let (system, host, lattice) = caller(&nats.url()).await;

    let started = Instant::now();
    let err = host
        .ask_timeout("slow", "sleep", "1000", Duration::from_millis(200))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        took < Duration::from_millis(250),
        "timeout after {took:?}, for a 200 ms budget"
    );
    // The callee was stopped at the budget, not left to run its 1 s: a timeout there,
    // and a restart.
    eventually("the callee's timeout counted", || async {
        metric(
            &ready,
            "airssys_messages_total",
            "component=\"slow\",outcome=\"timeout\"",
        )
        .await
            == 1.0
    })
    .await;
    // Restarted after its timeout was counted: the counter may lag a moment behind.
    eventually("the callee's restart counted", || async {
        metric(&ready, "airssys_restarts_total", "component=\"slow\"").await == 1.0
    })
    .await;
    let reply = host.ask("slow", "ok", "again").await.unwrap();
    assert_eq!(text(&reply.payload), "again");

    // From inside a component: what is left of its own 300 ms goes with its request.
    let sup =
        airssys_wasm_test_support::supervisor(&system, airssys_wasm_actors::Strategy::OneForOne, 3)
            .await;
    let asker = faulty(&dir, "asker", "local", FAULTY.time_ms(300));
    host.spawn_component(&sup, airssys_wasm::Manifest::from_file(&asker).unwrap())
        .await
        .unwrap();
    let err = host
        .ask("asker", "request", "slow sleep 2000")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    eventually("the second timeout counted", || async {
        metric(
            &ready,
            "airssys_messages_total",
            "component=\"slow\",outcome=\"timeout\"",
        )
        .await
            == 2.0
    })
    .await;
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_a_host_killed_midway_ends_stopped_within_3_s() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let slow = faulty(&dir, "slow", "b", FAULTY.time_ms(20_000));
    let mut served = Served::start_logging(
        BIN,
        &host_file(&dir, "host-b", &[("slow", &slow)], &nats.url(), ""),
        "info,airssys_wasm::engine=debug",
    );
    served.ready();
    let (system, host, lattice) = caller(&nats.url()).await;
    let asking = tokio::spawn({
        let host = host.clone();
        async move {
            host.ask_timeout("slow", "sleep", "15000", Duration::from_secs(18))
                .await
        }
    });
    served.until("\"topic\":\"sleep\"", Duration::from_secs(10));
    let pid = served.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    let killed = Instant::now();
    let err = asking.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "stopped {:?} after the kill",
        killed.elapsed()
    );
    // Acked by host-b (named in the error), or killed before its ack was due (25 ms in):
    // then lost with the host that took it.
    let why = err.to_string();
    assert!(
        why.contains("host-b") || why.contains("no host answered"),
        "{err}"
    );
    // No host serves it now.
    let err = host.ask("slow", "ok", "").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_requests_and_the_survivor_takes_them_all_when_one_dies() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let on_b = faulty(&dir, "replica", "b", FAULTY);
    let dir_c = TempDir::new();
    let on_c = faulty(&dir_c, "replica", "c", FAULTY);
    let mut b = Served::start(
        BIN,
        &host_file(&dir, "host-b", &[("replica", &on_b)], &nats.url(), ""),
    );
    let mut c = Served::start(
        BIN,
        &host_file(&dir_c, "host-c", &[("replica", &on_c)], &nats.url(), ""),
    );
    b.ready();
    c.ready();
    let (system, host, lattice) = caller(&nats.url()).await;
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..40 {
        let reply = host.ask("replica", "config", "where").await.unwrap();
        *seen.entry(text(&reply.payload)).or_default() += 1;
    }
    assert_eq!(seen.len(), 2, "both replicas answered: {seen:?}");
    drop(c); // SIGKILL
    // A request sent to c as it died, before its server noticed, is lost with it
    // (`stopped`), as the contract allows; every answer is b's.
    let (mut answered, mut lost) = (0, 0);
    while answered < 20 {
        match host.ask("replica", "config", "where").await {
            Ok(reply) => {
                assert_eq!(text(&reply.payload), "b");
                answered += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Stopped, "{e}");
                lost += 1;
                assert!(lost <= 2, "{lost} lost after the kill: {e}");
            }
        }
    }
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_limits_what_the_lattice_reaches() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let open = faulty(&dir, "open", "b", FAULTY);
    let hidden = faulty(&dir, "hidden", "b", FAULTY);
    let mut served = Served::start(
        BIN,
        &host_file(
            &dir,
            "host-b",
            &[("open", &open), ("hidden", &hidden)],
            &nats.url(),
            "export = [\"open\"]",
        ),
    );
    served.ready();
    assert_eq!(
        asked(&nats.url(), "open", &["--topic", "ok", "--payload", "in"]),
        "in"
    );
    let out = ask(&nats.url(), "hidden", &["--topic", "ok"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error[not-found]"),
        "{}",
        stderr(&out)
    );
    // Its own host still reaches it.
    assert_eq!(
        asked(
            &nats.url(),
            "open",
            &["--topic", "request", "--payload", "hidden ok near"]
        ),
        "near"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_serves_alone_until_its_nats_server_is_up_then_joins_and_rejoins_after_a_restart() {
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let dir = TempDir::new();
    let alone = faulty(&dir, "alone", "b", FAULTY);
    let mut served = Served::start(
        BIN,
        &host_file(&dir, "host-b", &[("alone", &alone)], &url, ""),
    );
    let ready = served.ready();
    let readyz = get(ready.metrics.unwrap(), "/readyz").await;
    assert_eq!(readyz.status, 503, "{}", readyz.text());
    assert!(readyz.text().contains("lattice"), "{}", readyz.text());
    assert_eq!(get(ready.metrics.unwrap(), "/healthz").await.status, 200);

    let mut nats = NatsServer::start_on(port, "");
    eventually_within(Duration::from_secs(15), "joined: /readyz 200", || async {
        get(ready.metrics.unwrap(), "/readyz").await.status == 200
    })
    .await;
    assert_eq!(
        asked(&url, "alone", &["--topic", "ok", "--payload", "joined"]),
        "joined"
    );

    nats.restart();
    eventually_within(
        Duration::from_secs(20),
        "served again after the server's restart",
        || async {
            ask(&url, "alone", &["--topic", "ok", "--payload", "back"])
                .status
                .code()
                == Some(0)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_at_start_and_the_token_is_never_logged() {
    let nats = NatsServer::start_with("authorization {\n  token: \"s3cret-token-42\"\n}\n");
    let dir = TempDir::new();
    let guarded = faulty(&dir, "guarded", "b", FAULTY);
    dir.write("wrong", "not-the-token\n");
    dir.write("right", "s3cret-token-42\n");
    let wrong = host_file(
        &dir,
        "wrong-host",
        &[("guarded", &guarded)],
        &nats.url(),
        "token_file = \"wrong\"",
    );
    let out = serve_refused(&wrong);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let first = err.lines().find(|l| l.starts_with("error[")).unwrap_or("");
    assert!(
        first.starts_with("error[manifest]") && first.contains("lattice"),
        "{err}"
    );
    assert!(first.to_lowercase().contains("authorization"), "{first}");
    assert!(
        !err.contains("not-the-token"),
        "the token is in the output:\n{err}"
    );

    let right = host_file(
        &dir,
        "right-host",
        &[("guarded", &guarded)],
        &nats.url(),
        "token_file = \"right\"",
    );
    let mut served = Served::start_logging(BIN, &right, "debug");
    served.ready();
    let token = dir.path().join("right");
    let token = ["--token-file", token.to_str().unwrap()];
    assert_eq!(
        asked(
            &nats.url(),
            "guarded",
            &[&token[..], &["--topic", "ok", "--payload", "in"]].concat()
        ),
        "in"
    );
    let out = ask(&nats.url(), "guarded", &["--topic", "ok"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no token: refused; {}",
        stderr(&out)
    );
    served.signal("TERM");
    served.wait_exit(Duration::from_secs(10));
    served.drain_lines();
    assert!(
        !served.seen.iter().any(|l| l.contains("s3cret-token-42")),
        "the token is in the host's logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_one_replica_while_the_other_keeps_serving() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let on_b = faulty(&dir, "replica", "b", FAULTY.time_ms(5_000));
    let dir_c = TempDir::new();
    let on_c = faulty(&dir_c, "replica", "c", FAULTY.time_ms(5_000));
    let mut b = Served::start(
        BIN,
        &host_file(&dir, "host-b", &[("replica", &on_b)], &nats.url(), ""),
    );
    let mut c = Served::start_logging(
        BIN,
        &host_file(&dir_c, "host-c", &[("replica", &on_c)], &nats.url(), ""),
        "info,airssys_wasm::engine=debug",
    );
    b.ready();
    c.ready();
    let (system, host, lattice) = caller(&nats.url()).await;
    // A slow message that lands on c, then c is told to stop.
    let mut tries = 0;
    let slow = loop {
        tries += 1;
        assert!(tries <= 10, "10 asks and none went to c");
        let ask = tokio::spawn({
            let host = host.clone();
            async move {
                host.ask_timeout("replica", "sleep", "2500", Duration::from_secs(10))
                    .await
            }
        });
        let on_c = wait_until_either(&mut c, "\"topic\":\"sleep\"").await;
        if on_c {
            break ask;
        }
        ask.await.unwrap().unwrap();
    };
    c.signal("TERM");
    c.until("draining", Duration::from_secs(10));
    for _ in 0..10 {
        let reply = host.ask("replica", "config", "where").await.unwrap();
        assert_eq!(
            text(&reply.payload),
            "b",
            "new requests go to the host not draining"
        );
    }
    let reply = slow.await.unwrap().unwrap();
    assert_eq!(
        text(&reply.payload),
        "slept",
        "the one c had taken finished there"
    );
    assert_eq!(c.wait_exit(Duration::from_secs(10)).code(), Some(0));
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

/// Whether `served` logs `needle` within 2 s.
async fn wait_until_either(served: &mut Served, needle: &str) -> bool {
    served.try_until(needle, Duration::from_secs(2)).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_reaches_a_component_on_another_host_and_a_sighup_added_one_is_served() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let alpha = faulty(&dir, "alpha", "a", FAULTY);
    let beta = faulty(&dir, "beta", "b", FAULTY);
    let gamma = faulty(&dir, "gamma", "b", FAULTY);
    let mut host_a = Served::start(
        BIN,
        &host_file(&dir, "host-a", &[("alpha", &alpha)], &nats.url(), ""),
    );
    let file_b = host_file(&dir, "host-b", &[("beta", &beta)], &nats.url(), "");
    let mut host_b = Served::start(BIN, &file_b);
    host_a.ready();
    host_b.ready();
    // Sent once alpha's host has heard of beta's (its announcements come every 500 ms).
    eventually("alpha's send to beta accepted", || {
        let out = ask(
            &nats.url(),
            "alpha",
            &["--topic", "send", "--payload", "beta count"],
        );
        async move { out.status.code() == Some(0) && out.stdout == b"sent" }
    })
    .await;
    let mut polls = 0;
    eventually("beta counted the send", || {
        polls += 1;
        let count = asked(&nats.url(), "beta", &["--topic", "count"]);
        async move { count == (polls + 1).to_string() }
    })
    .await;

    let out = ask(&nats.url(), "gamma", &["--topic", "ok"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "not there yet: {}",
        stderr(&out)
    );
    host_file(
        &dir,
        "host-b",
        &[("beta", &beta), ("gamma", &gamma)],
        &nats.url(),
        "",
    );
    host_b.signal("HUP");
    host_b.until("\"message\":\"reloaded\"", Duration::from_secs(30));
    eventually("gamma served after the SIGHUP", || async {
        ask(&nats.url(), "gamma", &["--topic", "ok"]).status.code() == Some(0)
    })
    .await;
    assert_eq!(file_b, dir.path().join("host-b.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_supervisor_gave_up_leaves_the_group_and_its_host_asks_the_others() {
    let nats = NatsServer::start();
    let dir = TempDir::new();
    let on_c = faulty(&dir, "replica", "c", FAULTY);
    let mut c = Served::start(
        BIN,
        &host_file(&dir, "host-c", &[("replica", &on_c)], &nats.url(), ""),
    );
    c.ready();
    let (system, host_b, lattice) = caller(&nats.url()).await;
    let supervisor =
        airssys_wasm_test_support::supervisor(&system, airssys_wasm_actors::Strategy::OneForOne, 0)
            .await;
    let on_b = faulty(&dir, "replica-b", "b", FAULTY);
    let text_b = std::fs::read_to_string(&on_b)
        .unwrap()
        .replace("name = \"replica-b\"", "name = \"replica\"");
    let on_b = dir.write("replica-b.toml", text_b);
    host_b
        .spawn_component(
            &supervisor,
            airssys_wasm::Manifest::from_file(&on_b).unwrap(),
        )
        .await
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    eventually("both replicas answered the lattice", || {
        seen.insert(asked(
            &nats.url(),
            "replica",
            &["--topic", "config", "--payload", "where"],
        ));
        let both = seen.len() == 2;
        async move { both }
    })
    .await;
    // Its supervisor allows no restart: one crash and it gives up.
    let crash = host_b.ask("replica", "trap", "").await.unwrap_err();
    assert_eq!(crash.kind(), ErrorKind::Trap);
    eventually("the local replica stopped for good", || {
        let stopped = matches!(
            host_b.state("replica"),
            Ok(airssys_wasm::ComponentState::Stopped(_))
        );
        async move { stopped }
    })
    .await;
    for _ in 0..10 {
        assert_eq!(
            asked(
                &nats.url(),
                "replica",
                &["--topic", "config", "--payload", "where"]
            ),
            "c"
        );
    }
    let reply = host_b.ask("replica", "config", "where").await.unwrap();
    assert_eq!(
        text(&reply.payload),
        "c",
        "its own host asks the live replica elsewhere"
    );
    // Once no other host serves it either, it is this host's `stopped`, as without a
    // lattice.
    drop(c);
    eventually("stopped once c is gone", || {
        let host_b = host_b.clone();
        async move {
            host_b
                .ask("replica", "config", "where")
                .await
                .is_err_and(|e| e.kind() == ErrorKind::Stopped)
        }
    })
    .await;
    // A send is refused once c is known gone (its heartbeat lapsed), not at once: a send
    // to a host that died a moment ago is lost with it.
    eventually_within(
        Duration::from_secs(5),
        "a send refused once c is known gone",
        || {
            let refused = host_b.try_tell("replica", "count", "");
            async move { refused.is_err_and(|e| e.kind() == ErrorKind::Stopped) }
        },
    )
    .await;
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_joins_with_an_nkey_and_one_the_server_does_not_know_is_refused() {
    let user = nkeys::KeyPair::new_user();
    let stranger = nkeys::KeyPair::new_user();
    let nats = NatsServer::start_with(&format!(
        "authorization {{\n  users = [ {{ nkey: \"{}\" }} ]\n}}\n",
        user.public_key()
    ));
    let dir = TempDir::new();
    let keyed = faulty(&dir, "keyed", "b", FAULTY);
    dir.write("host.nk", user.seed().unwrap());
    dir.write("stranger.nk", stranger.seed().unwrap());
    let refused = host_file(
        &dir,
        "stranger",
        &[("keyed", &keyed)],
        &nats.url(),
        "nkey_seed_file = \"stranger.nk\"",
    );
    let out = serve_refused(&refused);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("error[manifest]"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains(&stranger.seed().unwrap()),
        "the seed is in the output"
    );

    let good = host_file(
        &dir,
        "keyed-host",
        &[("keyed", &keyed)],
        &nats.url(),
        "nkey_seed_file = \"host.nk\"",
    );
    let mut served = Served::start(BIN, &good);
    served.ready();
    let seed = dir.path().join("host.nk");
    let args = [
        "--nkey-seed-file",
        seed.to_str().unwrap(),
        "--topic",
        "ok",
        "--payload",
        "nk",
    ];
    assert_eq!(asked(&nats.url(), "keyed", &args), "nk");
}

/// `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &str) {
    let out = std::process::Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args}: {}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_joins_over_tls_with_a_client_certificate_and_a_client_without_one_is_refused() {
    let certs = TempDir::new();
    let d = certs.path();
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        d,
        &format!("req -x509 {ec} -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=airssys-test-ca"),
    );
    for (name, ext) in [
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ] {
        openssl(
            d,
            &format!("req {ec} -keyout {name}-key.pem -out {name}.csr -subj /CN={name}"),
        );
        std::fs::write(d.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            d,
            &format!(
                "x509 -req -in {name}.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out {name}.pem -days 2 -extfile {name}.ext"
            ),
        );
    }
    let nats = NatsServer::start_with(&format!(
        "tls {{\n  cert_file: \"{0}/server.pem\"\n  key_file: \"{0}/server-key.pem\"\n  ca_file: \"{0}/ca.pem\"\n  verify: true\n}}\n",
        d.display()
    ));
    let dir = TempDir::new();
    let secure = faulty(&dir, "secure", "b", FAULTY);
    let tls = format!(
        "tls = {{ ca = \"{0}/ca.pem\", cert = \"{0}/client.pem\", key = \"{0}/client-key.pem\" }}",
        d.display()
    );
    let mut served = Served::start(
        BIN,
        &host_file(&dir, "tls-host", &[("secure", &secure)], &nats.url(), &tls),
    );
    served.ready();
    let path = |f: &str| d.join(f).display().to_string();
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client-key.pem"));
    assert_eq!(
        asked(
            &nats.url(),
            "secure",
            &[
                "--tls-ca",
                &ca,
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--topic",
                "ok",
                "--payload",
                "tls"
            ]
        ),
        "tls"
    );
    let out = ask(&nats.url(), "secure", &["--tls-ca", &ca, "--topic", "ok"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "without a client certificate: {}",
        stderr(&out)
    );
    let plain = host_file(&dir, "plain-host", &[("secure", &secure)], &nats.url(), "");
    let out = serve_refused(&plain);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a host without TLS: {}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_cut_off_mid_request_ends_it_stopped_and_new_requests_go_to_the_live_replica() {
    // The server's default pings (2 min apart): it counts the cut-off host in the queue
    // group for minutes, so only the callers can route around it.
    let nats = NatsServer::start();
    let proxy = airssys_wasm_test_support::Proxy::start(([127, 0, 0, 1], nats.port).into()).await;
    let behind = format!("nats://127.0.0.1:{}", proxy.port);
    let dir = TempDir::new();
    let on_b = faulty(&dir, "replica", "b", FAULTY.time_ms(20_000));
    let dir_c = TempDir::new();
    let on_c = faulty(&dir_c, "replica", "c", FAULTY.time_ms(20_000));
    let mut b = Served::start_logging(
        BIN,
        &host_file(&dir, "host-b", &[("replica", &on_b)], &behind, ""),
        "info,airssys_wasm::engine=debug",
    );
    b.ready();
    let (system, host, lattice) = caller(&nats.url()).await;
    let asking = tokio::spawn({
        let host = host.clone();
        async move {
            host.ask_timeout("replica", "sleep", "15000", Duration::from_secs(18))
                .await
        }
    });
    b.until("\"topic\":\"sleep\"", Duration::from_secs(10));
    let mut c = Served::start(
        BIN,
        &host_file(&dir_c, "host-c", &[("replica", &on_c)], &nats.url(), ""),
    );
    c.ready();
    proxy.cut();
    let cut = Instant::now();
    let err = asking.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
    assert!(
        cut.elapsed() < Duration::from_secs(3),
        "stopped {:?} after the cut",
        cut.elapsed()
    );
    // Silent since the cut; or cut before its ack was due (25 ms in): lost with it.
    let why = err.to_string();
    assert!(
        why.contains("silent") || why.contains("never heard") || why.contains("no host answered"),
        "{err}"
    );
    // b is silent past two heartbeats by now: every new request goes to c (through the
    // queue group, about half would go to b and end stopped).
    for i in 0..10 {
        let reply = host
            .ask_timeout("replica", "config", "where", Duration::from_secs(2))
            .await;
        assert!(
            matches!(&reply, Ok(r) if r.payload == b"c"),
            "ask {i} after the cut: {reply:?}"
        );
    }
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

/// A NATS JWT (`nats-io/jwt` v2) with `claims`, signed by `issuer`.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": format!("{name}-{}", free_port()),
        "iat": 1_700_000_000u64,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let body = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let signature = issuer.sign(body.as_bytes()).unwrap();
    format!("{body}.{}", b64(&signature))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_joins_with_a_creds_file_under_an_operator_and_a_user_of_another_is_refused() {
    let operator = nkeys::KeyPair::new_operator();
    let account = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let limits = serde_json::json!({"subs": -1, "data": -1, "payload": -1});
    let operator_jwt = jwt(
        &operator,
        &operator.public_key(),
        "op",
        serde_json::json!({"type": "operator", "version": 2}),
    );
    let account_jwt = jwt(
        &operator,
        &account.public_key(),
        "acc",
        serde_json::json!({
            "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                       "wildcards": true, "conn": -1, "leaf": -1},
            "type": "account", "version": 2,
        }),
    );
    let mut user_nats = limits.clone();
    user_nats["type"] = "user".into();
    user_nats["version"] = 2.into();
    let creds = |signer: &nkeys::KeyPair| {
        let user_jwt = jwt(signer, &user.public_key(), "u", user_nats.clone());
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
            user.seed().unwrap()
        )
    };
    let dir = TempDir::new();
    let op = dir.write("op.jwt", &operator_jwt);
    let nats = NatsServer::start_with(&format!(
        "operator: \"{}\"\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{account_jwt}\"\n}}\n",
        op.display(),
        account.public_key()
    ));
    dir.write("host.creds", creds(&account));
    dir.write("forged.creds", creds(&nkeys::KeyPair::new_account()));
    let member = faulty(&dir, "member", "b", FAULTY);
    let forged = host_file(
        &dir,
        "forged",
        &[("member", &member)],
        &nats.url(),
        "credentials = \"forged.creds\"",
    );
    let out = serve_refused(&forged);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("error[manifest]"), "{}", stderr(&out));

    let good = host_file(
        &dir,
        "member-host",
        &[("member", &member)],
        &nats.url(),
        "credentials = \"host.creds\"",
    );
    let mut served = Served::start(BIN, &good);
    served.ready();
    let creds = dir.path().join("host.creds");
    let args = [
        "--credentials",
        creds.to_str().unwrap(),
        "--topic",
        "ok",
        "--payload",
        "jwt",
    ];
    assert_eq!(asked(&nats.url(), "member", &args), "jwt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_ask_across_three_hosts_ends_once_in_a_value_or_a_kind_by_its_deadline() {
    let nats = NatsServer::start();
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new()).collect();
    let places = ["b", "c", "d"];
    let files: Vec<PathBuf> = dirs
        .iter()
        .zip(places)
        .map(|(dir, place)| {
            let manifest = faulty(dir, "replica", place, FAULTY.time_ms(300));
            host_file(
                dir,
                &format!("host-{place}"),
                &[("replica", &manifest)],
                &nats.url(),
                "",
            )
        })
        .collect();
    let mut hosts: Vec<Served> = files.iter().map(|f| Served::start(BIN, f)).collect();
    for host in &mut hosts {
        host.ready();
    }
    let (system, host, lattice) = caller(&nats.url()).await;
    // A fixed-seed generator: a failing run can be replayed.
    let mut seed: u64 = 0x5eed_1a77_1ce5;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let topics = [
        ("ok", "x"),
        ("trap", ""),
        ("error", ""),
        ("burn", ""),
        ("sleep", "50"),
        ("config", "where"),
    ];
    let asks: Vec<(&str, &str, u64)> = (0..400)
        .map(|_| {
            let (topic, payload) = topics[next(topics.len() as u64) as usize];
            (topic, payload, 100 + next(900))
        })
        .collect();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let storm = tokio::spawn({
        let host = host.clone();
        async move {
            let gate = Arc::new(tokio::sync::Semaphore::new(16));
            let mut tasks = tokio::task::JoinSet::new();
            for (topic, payload, budget) in asks {
                let permit = gate.clone().acquire_owned().await.unwrap();
                let (host, done) = (host.clone(), done_tx.clone());
                tasks.spawn(async move {
                    let started = Instant::now();
                    let outcome = host
                        .ask_timeout("replica", topic, payload, Duration::from_millis(budget))
                        .await;
                    let _ = done.send(());
                    drop(permit);
                    (
                        topic,
                        budget,
                        started.elapsed(),
                        outcome.map(|r| r.payload).map_err(|e| e.kind()),
                    )
                });
            }
            let mut results = Vec::new();
            while let Some(result) = tasks.join_next().await {
                results.push(result.unwrap());
            }
            results
        }
    });
    // A third of the way in, host d is killed; two thirds in, it comes back.
    for _ in 0..130 {
        done_rx.recv().await.unwrap();
    }
    drop(hosts.pop());
    for _ in 0..130 {
        done_rx.recv().await.unwrap();
    }
    let mut back = Served::start(BIN, &files[2]);
    back.ready();
    let results = tokio::time::timeout(Duration::from_secs(120), storm)
        .await
        .expect("the storm ended")
        .unwrap();
    assert_eq!(results.len(), 400, "every ask ended");
    let mut counts = std::collections::BTreeMap::<String, u32>::new();
    for (topic, budget, took, outcome) in &results {
        assert!(
            *took <= Duration::from_millis(budget + 100),
            "{topic} with {budget} ms took {took:?}: {outcome:?}"
        );
        let label = match outcome {
            Ok(_) => "ok".to_string(),
            Err(kind) => {
                assert!(
                    matches!(
                        kind,
                        ErrorKind::Trap
                            | ErrorKind::Handler
                            | ErrorKind::Fuel
                            | ErrorKind::Timeout
                            | ErrorKind::Stopped
                            | ErrorKind::NotFound
                            | ErrorKind::Overloaded
                    ),
                    "{topic}: {kind}"
                );
                kind.as_str().to_string()
            }
        };
        *counts.entry(label).or_default() += 1;
        if *topic == "ok"
            && let Ok(payload) = outcome
        {
            assert_eq!(payload, b"x");
        }
    }
    println!("chaos: 400 asks over 3 hosts, one killed and restarted: {counts:?}");
    assert!(counts.get("ok").copied().unwrap_or(0) > 50, "{counts:?}");
    lattice.leave().await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_cluster_member_a_host_is_connected_to_dies_it_reconnects_to_another_and_serves() {
    let mut servers = NatsServer::cluster(3);
    let dir = TempDir::new();
    let member = faulty(&dir, "member", "b", FAULTY);
    // The host knows one server; the cluster tells it of the others.
    let mut served = Served::start(
        BIN,
        &host_file(
            &dir,
            "host-b",
            &[("member", &member)],
            &servers[0].url(),
            "",
        ),
    );
    served.ready();
    let other = servers[2].url();
    eventually_within(
        Duration::from_secs(15),
        "reached through another member",
        || async {
            ask(&other, "member", &["--topic", "ok", "--payload", "via-2"])
                .status
                .code()
                == Some(0)
        },
    )
    .await;
    servers[0].kill();
    eventually_within(
        Duration::from_secs(20),
        "served again once reconnected",
        || async {
            let out = ask(&other, "member", &["--topic", "ok", "--payload", "again"]);
            out.status.code() == Some(0) && out.stdout == b"again"
        },
    )
    .await;
    servers.clear();
}
