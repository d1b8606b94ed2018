//! Components messaging each other through the host: grants, the sender's name, request
//! cycles bounded by the caller's deadline, config, and native actors in the same tree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use airssys_wasm::{ErrorKind, Host, Manifest};
use airssys_wasm_actors::{Actor, ActorContext, ActorSystem, ChildSpec, Strategy, SupervisorRef};
use airssys_wasm_test_support::{
    Resources, TempDir, host, limits, manifest_for, manifest_path, supervisor, text,
};

const RES: Resources = limits("32MiB", "512KiB").fuel(100_000_000).time_ms(200);

async fn setup() -> (ActorSystem, Host, SupervisorRef, TempDir) {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 50).await;
    (system, host, sup, TempDir::new())
}

async fn spawn(host: &Host, sup: &SupervisorRef, dir: &TempDir, name: &str, grant: &str) {
    let extra = format!("[capabilities]\nmessaging = {grant}\n\n[config]\nrole = \"{name}-role\"");
    let path = manifest_for(dir, "faulty", name, RES, &extra);
    host.spawn_component(sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_request_reaches_the_target_which_sees_the_sender() {
    let (system, host, sup, dir) = setup().await;
    spawn(&host, &sup, &dir, "alice", "[\"bob\"]").await;
    spawn(&host, &sup, &dir, "bob", "[]").await;
    let reply = host.ask("alice", "request", b"bob sender x").await.unwrap();
    assert_eq!(text(&reply.payload), "alice", "bob saw alice as the sender");
    let reply = host
        .ask("alice", "request", b"bob config role")
        .await
        .unwrap();
    assert_eq!(text(&reply.payload), "bob-role", "bob's own config");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messaging_outside_the_grant_is_denied_to_the_guest_not_a_crash() {
    let (system, host, sup, dir) = setup().await;
    spawn(&host, &sup, &dir, "alice", "[\"bob\"]").await;
    spawn(&host, &sup, &dir, "bob", "[]").await;
    spawn(&host, &sup, &dir, "carol", "[]").await;
    for (from, op, to) in [
        ("alice", "request", "carol"),
        ("alice", "send", "carol"),
        ("bob", "request", "alice"),
    ] {
        let err = host
            .ask(from, op, format!("{to} count x").as_bytes())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Handler, "{err}");
        assert!(
            err.to_string()
                .contains(&format!("denied: `{from}` may not {op} to `{to}`")),
            "{err}"
        );
    }
    assert_eq!(host.metrics("alice").unwrap().denied, 2);
    assert_eq!(
        host.metrics("alice").unwrap().restarts,
        0,
        "a denial is not a crash"
    );
    assert_eq!(
        text(&host.ask("carol", "count", b"").await.unwrap().payload),
        "1",
        "carol never got the messages"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_is_fire_and_forget_and_the_target_handles_it() {
    let (system, host, sup, dir) = setup().await;
    spawn(&host, &sup, &dir, "alice", "[\"*\"]").await;
    spawn(&host, &sup, &dir, "bob", "[]").await;
    assert_eq!(
        text(
            &host
                .ask("alice", "send", b"bob count x")
                .await
                .unwrap()
                .payload
        ),
        "sent"
    );
    // bob handled alice's message before this one (FIFO per sender through one mailbox).
    assert_eq!(
        text(&host.ask("bob", "count", b"").await.unwrap().payload),
        "2"
    );
    let err = host
        .ask("alice", "send", b"nobody count x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not-found"), "{err}");
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cycle_ends_in_a_timeout_never_a_hang() {
    let (system, host, sup, dir) = setup().await;
    spawn(&host, &sup, &dir, "ping", "[\"pong\"]").await;
    spawn(&host, &sup, &dir, "pong", "[\"ping\"]").await;
    // ping asks pong, which asks ping back: ping is busy waiting, so the cycle can only end
    // at ping's deadline (200 ms).
    let started = Instant::now();
    let err = host
        .ask("ping", "request", b"pong request ping count x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    // Both answer again afterwards.
    host.ask("ping", "count", b"").await.unwrap();
    host.ask("pong", "count", b"").await.unwrap();
    system.shutdown().await.unwrap();
}

/// A native Rust actor: it keeps a running total.
#[derive(Default)]
struct Totalizer {
    total: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("totalizer failed")]
struct TotalizerError;

impl Actor for Totalizer {
    type Message = u64;
    type Reply = u64;
    type Error = TotalizerError;
    async fn handle_message(
        &mut self,
        n: u64,
        _ctx: &mut ActorContext<Self>,
    ) -> Result<u64, TotalizerError> {
        self.total += n;
        Ok(self.total)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_actors_and_components_share_one_supervisor() {
    let (system, host, sup, _dir) = setup().await;
    let totalizer = sup
        .add_child(ChildSpec::new("totalizer", Totalizer::default))
        .await
        .unwrap();
    host.spawn_component(&sup, Manifest::from_file(manifest_path("counter")).unwrap())
        .await
        .unwrap();
    let count: u64 = text(
        &host
            .ask("counter", "increment", b"5")
            .await
            .unwrap()
            .payload,
    )
    .parse()
    .unwrap();
    assert_eq!(totalizer.ask(count).await.unwrap(), 5);
    assert_eq!(totalizer.ask(3).await.unwrap(), 8);
    let ids: Vec<String> = sup.children().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["totalizer", "counter"]);
    system.shutdown().await.unwrap();
}
