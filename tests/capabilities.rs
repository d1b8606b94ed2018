//! `[capabilities]` enforced on a real guest (`sandbox`, one topic per capability): what is
//! granted works, everything else is an error value inside the guest, logged and counted,
//! never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{ErrorKind as IoErrorKind, Read};
use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use airssys_wasm::{ComponentInstance, Error, LoadedComponent, Manifest};
use airssys_wasm_test_support::{SMALL, TempDir, engine, log_lines_of, logs, manifest_for};

/// Loads the `sandbox` guest as component `name` with this `[capabilities]` body.
async fn sandbox(
    dir: &TempDir,
    name: &str,
    capabilities: &str,
) -> (Arc<LoadedComponent>, ComponentInstance) {
    logs();
    let extra = format!("[capabilities]\n{capabilities}\n");
    let path = manifest_for(dir, "sandbox", name, SMALL, &extra);
    let loaded = LoadedComponent::load(&engine(), Manifest::from_file(&path).unwrap())
        .await
        .unwrap();
    let instance = loaded.instantiate(None).await.unwrap();
    (loaded, instance)
}

/// One call: `Ok(reply)` or `Err(the guest's error text)`. Anything but a reply or a handler
/// error (a trap, a host error) fails the test: a denial must never crash the component.
async fn try_(instance: &mut ComponentInstance, topic: &str, arg: &str) -> Result<String, String> {
    match instance.call(topic, arg.as_bytes(), None).await {
        Ok(reply) => Ok(String::from_utf8(reply.payload).unwrap()),
        Err(Error::Handler { message, .. }) => {
            assert!(!instance.has_crashed());
            Err(message)
        }
        Err(other) => panic!("{topic} {arg}: not a guest-level error: {other}"),
    }
}

fn denied(loaded: &LoadedComponent) -> u64 {
    loaded.metrics().snapshot().denied
}

fn read_only(host: &str, guest: &str) -> String {
    format!("filesystem = [{{ host = \"{host}\", guest = \"{guest}\", access = \"read-only\" }}]")
}

fn read_write(host: &str, guest: &str) -> String {
    format!("filesystem = [{{ host = \"{host}\", guest = \"{guest}\", access = \"read-write\" }}]")
}

// ---- 1. filesystem ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_directory_is_readable_and_listable_at_its_guest_path() {
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    dir.write("data/hello.txt", "hello from the host");
    let (_loaded, mut guest) = sandbox(&dir, "fs-read", &read_only("data", "/data")).await;
    assert_eq!(
        try_(&mut guest, "read", "/data/hello.txt").await.unwrap(),
        "hello from the host"
    );
    assert_eq!(
        try_(&mut guest, "list", "/data").await.unwrap(),
        "hello.txt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_filesystem_grant_no_host_path_is_visible() {
    let dir = TempDir::new();
    let secret = dir.write("secret.txt", "host secret");
    let (_loaded, mut guest) = sandbox(&dir, "fs-none", "").await;
    for path in [
        secret.to_str().unwrap(),
        "/data/secret.txt",
        "secret.txt",
        "/etc/hosts",
    ] {
        let err = try_(&mut guest, "read", path).await.unwrap_err();
        assert!(!err.contains("host secret"), "{path}: {err}");
    }
    assert!(try_(&mut guest, "list", "/").await.is_err());
    assert!(try_(&mut guest, "list", ".").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_cannot_escape_a_preopen_and_the_denial_is_counted() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.path().join("data/sub")).unwrap();
    dir.write("data/inside.txt", "inside");
    dir.write("outside.txt", "host secret");
    let (loaded, mut guest) = sandbox(&dir, "fs-escape", &read_write("data", "/data")).await;
    // `..` that stays inside the preopen is fine.
    assert_eq!(
        try_(&mut guest, "read", "/data/sub/../inside.txt")
            .await
            .unwrap(),
        "inside"
    );
    for path in ["/data/../outside.txt", "/data/sub/../../outside.txt"] {
        let err = try_(&mut guest, "read", path).await.unwrap_err();
        assert!(!err.contains("host secret"), "{path}: {err}");
    }
    assert!(try_(&mut guest, "list", "/data/..").await.is_err());
    assert!(
        try_(&mut guest, "write", "/data/../escaped.txt x")
            .await
            .is_err()
    );
    assert!(!dir.path().join("escaped.txt").exists());
    assert!(denied(&loaded) >= 4, "each escape is counted as a denial");
    let lines = log_lines_of("fs-escape");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("DEBUG") && l.contains("denied")),
        "logged at debug with the component name: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_grant_refuses_writes_creation_and_deletion() {
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    dir.write("data/existing.txt", "original");
    std::fs::create_dir(dir.path().join("data/subdir")).unwrap();
    let (loaded, mut guest) = sandbox(&dir, "fs-ro", &read_only("data", "/data")).await;

    let err = try_(&mut guest, "write", "/data/new.txt sneaky")
        .await
        .unwrap_err();
    assert!(err.starts_with("PermissionDenied"), "{err}");
    assert!(
        !dir.path().join("data/new.txt").exists(),
        "the file was not created"
    );

    assert!(
        try_(&mut guest, "write", "/data/existing.txt sneaky")
            .await
            .is_err()
    );
    assert!(
        try_(&mut guest, "create-dir", "/data/newdir")
            .await
            .is_err()
    );
    assert!(
        try_(&mut guest, "remove", "/data/existing.txt")
            .await
            .is_err()
    );
    assert!(try_(&mut guest, "remove", "/data/subdir").await.is_err());

    assert!(!dir.path().join("data/newdir").exists());
    assert!(dir.path().join("data/subdir").is_dir());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/existing.txt")).unwrap(),
        "original"
    );
    assert_eq!(denied(&loaded), 5, "each refusal is counted once");
    // Reading still works.
    assert_eq!(
        try_(&mut guest, "read", "/data/existing.txt")
            .await
            .unwrap(),
        "original"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_write_grant_writes_creates_and_deletes_on_the_host() {
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let (loaded, mut guest) = sandbox(&dir, "fs-rw", &read_write("data", "/data")).await;

    assert_eq!(
        try_(&mut guest, "write", "/data/new.txt from the guest")
            .await
            .unwrap(),
        "written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/new.txt")).unwrap(),
        "from the guest"
    );
    assert_eq!(
        try_(&mut guest, "create-dir", "/data/made").await.unwrap(),
        "created"
    );
    assert!(dir.path().join("data/made").is_dir());
    assert_eq!(
        try_(&mut guest, "remove", "/data/new.txt").await.unwrap(),
        "removed"
    );
    assert!(!dir.path().join("data/new.txt").exists());
    assert_eq!(
        try_(&mut guest, "remove", "/data/made").await.unwrap(),
        "removed"
    );
    assert!(!dir.path().join("data/made").exists());
    assert_eq!(denied(&loaded), 0);
}

// ---- 2. env ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_sees_exactly_the_granted_variables_and_none_of_the_hosts() {
    assert!(
        std::env::var_os("PATH").is_some(),
        "the test needs PATH set"
    );
    let dir = TempDir::new();
    let (_loaded, mut guest) = sandbox(
        &dir,
        "env-some",
        "env = { GREETING = \"hello\", EMPTY = \"\" }",
    )
    .await;
    assert_eq!(try_(&mut guest, "env", "GREETING").await.unwrap(), "hello");
    assert_eq!(try_(&mut guest, "env", "EMPTY").await.unwrap(), "");
    assert_eq!(
        try_(&mut guest, "env-all", "").await.unwrap(),
        "EMPTY=\nGREETING=hello\n"
    );
    for host_var in ["PATH", "HOME", "CARGO_MANIFEST_DIR", "CARGO"] {
        assert_eq!(
            try_(&mut guest, "env", host_var).await.unwrap_err(),
            "not set",
            "{host_var}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_env_grant_the_environment_is_empty() {
    let dir = TempDir::new();
    let (_loaded, mut guest) = sandbox(&dir, "env-none", "").await;
    assert_eq!(try_(&mut guest, "env-all", "").await.unwrap(), "");
    assert_eq!(
        try_(&mut guest, "env", "PATH").await.unwrap_err(),
        "not set"
    );
}

// ---- 3. network ------------------------------------------------------------------------

fn listener() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    listener
}

/// The bytes of the connection waiting on `listener`, if any.
fn accepted(listener: &TcpListener) -> Option<Vec<u8>> {
    match listener.accept() {
        Ok((mut stream, _)) => {
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).unwrap();
            Some(bytes)
        }
        Err(e) if e.kind() == IoErrorKind::WouldBlock => None,
        Err(e) => panic!("accept: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_reaches_a_granted_address_and_is_refused_and_counted_elsewhere() {
    let granted = listener();
    let other = listener();
    let granted_addr = granted.local_addr().unwrap();
    let other_addr = other.local_addr().unwrap();
    let dir = TempDir::new();
    let caps = format!("network = {{ connect = [\"{granted_addr}\"] }}");
    let (loaded, mut guest) = sandbox(&dir, "net-connect", &caps).await;

    assert_eq!(
        try_(&mut guest, "connect", &granted_addr.to_string())
            .await
            .unwrap(),
        "connected"
    );
    assert_eq!(accepted(&granted).as_deref(), Some(&b"ping"[..]));
    assert_eq!(denied(&loaded), 0);

    let err = try_(&mut guest, "connect", &other_addr.to_string())
        .await
        .unwrap_err();
    assert!(err.starts_with("PermissionDenied"), "{err}");
    assert_eq!(
        accepted(&other),
        None,
        "no connection reached the other port"
    );
    assert_eq!(denied(&loaded), 1);
    let lines = log_lines_of("net-connect");
    assert!(
        lines.iter().any(|l| l.contains("DEBUG")
            && l.contains("denied")
            && l.contains(&other_addr.to_string())),
        "logged at debug with the component name and the address: {lines:?}"
    );
    // The instance lives on and the grant still works.
    assert_eq!(
        try_(&mut guest, "connect", &granted_addr.to_string())
            .await
            .unwrap(),
        "connected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_network_grant_connect_is_refused_and_counted() {
    let open = listener();
    let addr = open.local_addr().unwrap();
    let dir = TempDir::new();
    let (loaded, mut guest) = sandbox(&dir, "net-none", "").await;
    let err = try_(&mut guest, "connect", &addr.to_string())
        .await
        .unwrap_err();
    assert!(err.starts_with("PermissionDenied"), "{err}");
    assert_eq!(accepted(&open), None);
    assert!(
        try_(&mut guest, "udp-send", &addr.to_string())
            .await
            .is_err()
    );
    assert_eq!(denied(&loaded), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_send_goes_only_to_a_granted_address() {
    let granted = UdpSocket::bind("127.0.0.1:0").unwrap();
    granted
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let granted_addr = granted.local_addr().unwrap();
    let other_addr = other.local_addr().unwrap();
    let dir = TempDir::new();
    let caps = format!("network = {{ connect = [\"{granted_addr}\"] }}");
    let (loaded, mut guest) = sandbox(&dir, "net-udp", &caps).await;

    assert_eq!(
        try_(&mut guest, "udp-send", &granted_addr.to_string())
            .await
            .unwrap(),
        "sent"
    );
    let mut buf = [0u8; 16];
    let (n, _) = granted.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");

    assert!(
        try_(&mut guest, "udp-send", &other_addr.to_string())
            .await
            .is_err()
    );
    assert_eq!(
        other.recv_from(&mut buf).map_err(|e| e.kind()).unwrap_err(),
        IoErrorKind::WouldBlock
    );
    assert_eq!(denied(&loaded), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_is_refused_even_with_a_network_grant() {
    let dir = TempDir::new();
    let caps = "network = { connect = [\"127.0.0.1:9\"] }";
    let (loaded, mut guest) = sandbox(&dir, "net-listen", caps).await;
    for addr in ["127.0.0.1:0", "0.0.0.0:0", "127.0.0.1:9"] {
        let err = try_(&mut guest, "listen", addr).await.unwrap_err();
        assert!(err.starts_with("PermissionDenied"), "{addr}: {err}");
    }
    assert!(denied(&loaded) >= 3);
    let (_none, mut guest) = sandbox(&dir, "net-listen-none", "").await;
    assert!(try_(&mut guest, "listen", "0.0.0.0:0").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_lookup_is_refused_without_a_hostname_grant() {
    let dir = TempDir::new();
    let (loaded, mut guest) = sandbox(&dir, "dns-none", "").await;
    assert!(try_(&mut guest, "resolve", "localhost").await.is_err());
    assert_eq!(denied(&loaded), 1);
    let caps = "network = { connect = [\"127.0.0.1:9\"] }";
    let (loaded, mut guest) = sandbox(&dir, "dns-ip-only", caps).await;
    assert!(try_(&mut guest, "resolve", "localhost").await.is_err());
    assert_eq!(denied(&loaded), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostname_grant_allows_lookup_and_connect_by_name() {
    let open = listener();
    let port = open.local_addr().unwrap().port();
    let dir = TempDir::new();
    let caps = format!("network = {{ connect = [\"localhost:{port}\"] }}");
    let (_loaded, mut guest) = sandbox(&dir, "dns-granted", &caps).await;
    let ips = try_(&mut guest, "resolve", "localhost").await.unwrap();
    assert!(
        ips.lines().any(|ip| ip == "127.0.0.1" || ip == "::1"),
        "{ips}"
    );
    assert_eq!(
        try_(&mut guest, "connect", &format!("localhost:{port}"))
            .await
            .unwrap(),
        "connected"
    );
    assert_eq!(accepted(&open).as_deref(), Some(&b"ping"[..]));
}

// ---- 4. stdio --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_is_empty() {
    let dir = TempDir::new();
    let (_loaded, mut guest) = sandbox(&dir, "stdin", "").await;
    assert_eq!(try_(&mut guest, "stdin", "").await.unwrap(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_output_goes_to_tracing_with_the_component_name() {
    let dir = TempDir::new();
    let (_loaded, mut guest) = sandbox(&dir, "printer", "").await;
    assert_eq!(
        try_(&mut guest, "print", "marker-1234").await.unwrap(),
        "printed"
    );
    assert_eq!(
        try_(&mut guest, "stdin", "").await.unwrap(),
        "0",
        "still alive"
    );
    let lines = log_lines_of("printer");
    let printed: Vec<_> = lines.iter().filter(|l| l.contains("marker-1234")).collect();
    assert_eq!(
        printed.len(),
        2,
        "one stdout and one stderr line: {lines:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains("guest::stdout")),
        "{printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains("guest::stderr")),
        "{printed:?}"
    );
}
