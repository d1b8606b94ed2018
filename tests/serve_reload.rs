//! SIGHUP on `airssys-wasm serve` (a child process, real signals, real HTTP over loopback):
//! a changed component is upgraded in place under a steady HTTP load (every request
//! answered 200, none refused, replies switch to the new version); a new version that
//! does not load leaves the old one serving and is logged with its kind; added components
//! start, removed ones stop; an invalid host file changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use airssys_wasm_test_support::{
    Connection, SMALL, Served, TempDir, eventually, limits, manifest_for, request, within,
};

const BIN: &str = env!("CARGO_BIN_EXE_airssys-wasm");

/// `greeter` (the faulty guest; `config greeting` answers `greeting`) in `dir`.
fn greeter(dir: &TempDir, greeting: &str) {
    manifest_for(
        dir,
        "faulty",
        "greeter",
        limits("32MiB", "512KiB").time_ms(5_000),
        &format!("[config]\ngreeting = \"{greeting}\"\n"),
    );
}

/// A host file with these components in supervisor `app` and these routes.
fn host_file(components: &[&str], routes: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("[host]\nname = \"reloading\"\n\n[components]\n");
    for name in components {
        text.push_str(&format!("{name} = \"{name}.toml\"\n"));
    }
    let children: Vec<String> = components.iter().map(|c| format!("{c:?}")).collect();
    text.push_str(&format!(
        "\n[supervisors.app]\nchildren = [{}]\n\n[http]\nlisten = \"127.0.0.1:0\"\n",
        children.join(", ")
    ));
    for (path, component, topic) in routes {
        text.push_str(&format!(
            "\n[[http.route]]\npath = \"{path}\"\ncomponent = \"{component}\"\ntopic = \"{topic}\"\n"
        ));
    }
    text
}

/// A field of a JSON log line, as text.
fn field(line: &str, name: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    json["fields"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const GREET: (&str, &str, &str) = ("/greet", "greeter", "config");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_upgrades_a_changed_component_in_place_under_a_steady_http_load() {
    let dir = TempDir::new();
    greeter(&dir, "v1");
    let file = dir.write("host.toml", host_file(&["greeter"], &[GREET]));
    let mut served = Served::start(BIN, &file);
    let http = served.ready().http.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let new_seen = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, new_seen, running) = (stop.clone(), new_seen.clone(), running.clone());
            tokio::spawn(async move {
                let mut connection = Connection::open(http).await;
                let mut replies = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let reply = connection.send("POST", "/greet", "greeting").await;
                    assert_eq!(reply.status, 200, "refused: {}", reply.text());
                    if reply.text() == "v2" {
                        new_seen.fetch_add(1, Ordering::SeqCst);
                    }
                    if replies.len() == 10 {
                        running.fetch_add(1, Ordering::SeqCst);
                    }
                    replies.push(reply.text());
                }
                replies
            })
        })
        .collect();
    eventually("every connection to have 10 replies", || async {
        running.load(Ordering::SeqCst) == 4
    })
    .await;

    greeter(&dir, "v2");
    served.signal("HUP");
    let reloaded = served.until("\"message\":\"reloaded\"", Duration::from_secs(30));
    assert_eq!(field(&reloaded, "upgraded"), r#"["greeter"]"#, "{reloaded}");
    eventually("400 replies from v2", || async {
        new_seen.load(Ordering::SeqCst) >= 400
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        let replies = within(task).await.unwrap();
        let first_new = replies
            .iter()
            .position(|r| r == "v2")
            .expect("replies switch");
        assert!(first_new > 10, "the load began on v1");
        assert!(
            replies[..first_new].iter().all(|r| r == "v1")
                && replies[first_new..].iter().all(|r| r == "v2"),
            "v1 then v2 only, on each connection"
        );
    }
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_keeps_the_old_version_of_a_broken_component_adds_and_removes_and_ignores_an_invalid_file()
 {
    let dir = TempDir::new();
    greeter(&dir, "v1");
    manifest_for(&dir, "echo", "echo", SMALL, "");
    manifest_for(&dir, "counter", "counter", SMALL, "");
    let file = dir.write(
        "host.toml",
        host_file(&["greeter", "echo"], &[GREET, ("/echo", "echo", "x")]),
    );
    let mut served = Served::start(BIN, &file);
    let http = served.ready().http.unwrap();
    assert_eq!(request(http, "POST", "/echo", "hi").await.text(), "hi");

    // The greeter's new version is not a component; echo goes, counter comes.
    dir.write("junk.wasm", b"not a component");
    let text = std::fs::read_to_string(dir.path().join("greeter.toml")).unwrap();
    let wasm_line = text.lines().find(|l| l.starts_with("wasm = ")).unwrap();
    dir.write(
        "greeter.toml",
        text.replace(wasm_line, "wasm = \"junk.wasm\""),
    );
    dir.write(
        "host.toml",
        host_file(
            &["greeter", "counter"],
            &[GREET, ("/count", "counter", "increment")],
        ),
    );
    served.signal("HUP");
    let failed = served.until("reload: not applied", Duration::from_secs(30));
    assert!(failed.contains("\"kind\":\"component\""), "{failed}");
    let reloaded = served.until("\"message\":\"reloaded\"", Duration::from_secs(30));
    assert_eq!(field(&reloaded, "added"), r#"["counter"]"#, "{reloaded}");
    assert_eq!(field(&reloaded, "removed"), r#"["echo"]"#, "{reloaded}");
    assert_eq!(field(&reloaded, "upgraded"), "[]", "{reloaded}");
    let greet = request(http, "POST", "/greet", "greeting").await;
    assert_eq!(
        (greet.status, greet.text().as_str()),
        (200, "v1"),
        "the old version serves"
    );
    let count = request(http, "POST", "/count", "").await;
    assert_eq!(
        (count.status, count.text().as_str()),
        (200, "1"),
        "counter added"
    );
    assert_eq!(
        request(http, "POST", "/echo", "hi").await.status,
        404,
        "its route went with it"
    );

    // An invalid host file changes nothing.
    dir.write("host.toml", "[components\nbroken");
    served.signal("HUP");
    let invalid = served.until("the host file is invalid", Duration::from_secs(30));
    assert!(invalid.contains("\"kind\":\"manifest\""), "{invalid}");
    assert_eq!(request(http, "POST", "/count", "").await.text(), "2");
    assert_eq!(
        request(http, "POST", "/greet", "greeting").await.text(),
        "v1"
    );
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_removes_a_top_level_supervisor_keeps_the_host_ready() {
    let dir = TempDir::new();
    manifest_for(&dir, "echo", "echo", SMALL, "");
    manifest_for(&dir, "counter", "counter", SMALL, "");
    let two = "[components]\necho = \"echo.toml\"\ncounter = \"counter.toml\"\n\n\
               [supervisors.a]\nchildren = [\"echo\"]\n\n[supervisors.b]\nchildren = [\"counter\"]\n";
    let path = dir.write("host.toml", two);
    let file = airssys_wasm::manifest::HostFile::from_file(&path).unwrap();
    let (_system, host) = airssys_wasm_test_support::host().await;
    let mut service = airssys_wasm::serve::Service::start(&host, &file)
        .await
        .unwrap();
    assert_eq!(service.telemetry().health().readiness(), Ok(()));
    let one = "[components]\necho = \"echo.toml\"\n\n[supervisors.a]\nchildren = [\"echo\"]\n";
    let path = dir.write("host.toml", one);
    let file = airssys_wasm::manifest::HostFile::from_file(&path).unwrap();
    let report = service.reload(&file).await;
    assert_eq!(report.supervisors_removed, ["b"]);
    assert_eq!(
        service.telemetry().health().readiness(),
        Ok(()),
        "a supervisor stopped on purpose is not one that gave up"
    );
    service.shutdown().await.unwrap();
}
