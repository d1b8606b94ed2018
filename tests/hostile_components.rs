//! Hostile components, each contained by its own limits while the host keeps serving the
//! others: allocating up to the memory limit on every message, a 64 MiB reply, logging in
//! a tight loop, flooding another component with `send`, requesting itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use airssys_wasm::{ErrorKind, Host, MAX_LOG_LINES_PER_MESSAGE, Manifest};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorRef};
use airssys_wasm_test_support::{
    Resources, TempDir, eventually, faulty_with, host, limits, log_lines_of, logs, manifest_for,
    supervisor, text,
};

const MIB: usize = 1 << 20;

/// The neighbour every test keeps asking: it must answer, promptly, whatever the hostile
/// component does.
const NEIGHBOUR: &str = "neighbour";

/// Resources with this memory limit, fuel and deadline.
fn resources(memory: &'static str, fuel: u64, time_ms: u64) -> Resources {
    limits(memory, "512KiB").fuel(fuel).time_ms(time_ms)
}

/// A host, a OneForOne supervisor and the neighbour, running.
async fn setup() -> (ActorSystem, Host, SupervisorRef, TempDir) {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let dir = TempDir::new();
    with_neighbour(&host, &sup, &dir).await;
    (system, host, sup, dir)
}

async fn with_neighbour(host: &Host, sup: &SupervisorRef, dir: &TempDir) {
    let path = manifest_for(
        dir,
        "echo",
        NEIGHBOUR,
        resources("16MiB", 1_000_000, 100),
        "",
    );
    host.spawn_component(sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap();
}

/// Asks the neighbour `times` times; every reply must be right and come within a second
/// (a bound on being served at all, not a speed target).
async fn neighbour_answers(host: &Host, times: usize) {
    for i in 0..times {
        let payload = format!("still here {i}");
        let reply = tokio::time::timeout(
            Duration::from_secs(1),
            host.ask(NEIGHBOUR, "ping", payload.as_bytes()),
        )
        .await
        .expect("the neighbour did not answer within a second")
        .unwrap();
        assert_eq!(reply.payload, payload.as_bytes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocating_up_to_the_limit_on_every_message_stays_within_it() {
    let (system, host, sup, dir) = setup().await;
    faulty_with(
        &host,
        &sup,
        &dir,
        "hog",
        resources("32MiB", 10_000_000, 500),
    )
    .await;

    // 24 MiB of a 32 MiB limit, touched page by page, on every message.
    let near_limit = (24 * MIB).to_string();
    let hog = {
        let host = host.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                let reply = host.ask("hog", "alloc", near_limit.as_bytes()).await;
                assert_eq!(reply.unwrap().payload, b"ok");
            }
        })
    };
    neighbour_answers(&host, 40).await;
    hog.await.unwrap();

    // One byte too greedy: the limit holds, the hog is restarted, and it serves again.
    let over = (40 * MIB).to_string();
    let err = host.ask("hog", "alloc", over.as_bytes()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
    let again = host.ask("hog", "alloc", (24 * MIB).to_string().as_bytes());
    assert_eq!(again.await.unwrap().payload, b"ok");
    let m = host.metrics("hog").unwrap();
    assert_eq!((m.handled, m.memory_exhausted, m.restarts), (41, 1, 1));
    neighbour_answers(&host, 3).await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_reply_is_stopped_by_the_memory_limit_or_delivered_whole_when_granted() {
    let (system, host, sup, dir) = setup().await;
    let size = (64 * MIB).to_string();

    // Within 32 MiB the reply cannot even be built.
    faulty_with(
        &host,
        &sup,
        &dir,
        "boaster",
        resources("32MiB", 500_000_000, 5000),
    )
    .await;
    let err = host
        .ask("boaster", "big", size.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");

    // Granted 256 MiB and the fuel to fill it, the caller gets all 64 MiB.
    faulty_with(
        &host,
        &sup,
        &dir,
        "granted",
        resources("256MiB", 500_000_000, 5000),
    )
    .await;
    let big = host.ask("granted", "big", size.as_bytes());
    neighbour_answers(&host, 5).await;
    let reply = big.await.unwrap();
    assert_eq!(reply.payload.len(), 64 * MIB);
    assert!(reply.payload.iter().all(|&b| b == b'x'));
    neighbour_answers(&host, 5).await;
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_logging_in_a_tight_loop_is_held_to_its_log_budget() {
    logs();
    let (system, host, sup, dir) = setup().await;
    faulty_with(
        &host,
        &sup,
        &dir,
        "chatter",
        resources("32MiB", 1_000_000_000, 2000),
    )
    .await;

    let reply = host.ask("chatter", "log-flood", b"100000").await.unwrap();
    assert_eq!(text(&reply.payload), "logged 100000");
    let budget = u64::from(MAX_LOG_LINES_PER_MESSAGE);
    assert_eq!(
        host.metrics("chatter").unwrap().logs_dropped,
        100_000 - budget
    );
    let lines = log_lines_of("chatter");
    let flood = lines.iter().filter(|l| l.contains("flood line")).count();
    assert_eq!(flood as u64, budget, "lines emitted for one message");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("per-message budget"))
            .count(),
        1,
        "one warning when the budget runs out"
    );

    // The next message starts with a full budget.
    host.ask("chatter", "log-flood", b"10").await.unwrap();
    let flood = log_lines_of("chatter")
        .iter()
        .filter(|l| l.contains("flood line"))
        .count();
    assert_eq!(flood as u64, budget + 10);

    // Logging forever ends at the message's limits, and the neighbour is served meanwhile.
    let forever = host.ask("chatter", "log-flood", b"");
    neighbour_answers(&host, 5).await;
    let err = forever.await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Fuel | ErrorKind::Timeout),
        "{err}"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_flood_is_bounded_by_the_targets_mailbox() {
    let (system, host, sup, dir) = setup().await;
    // The sink takes 2 ms per message and queues at most 16.
    let sink_host = host.with_mailbox_capacity(16);
    faulty_with(
        &sink_host,
        &sup,
        &dir,
        "sink",
        resources("32MiB", 10_000_000, 500),
    )
    .await;
    faulty_with(
        &host,
        &sup,
        &dir,
        "flooder",
        resources("32MiB", 10_000_000_000, 5000),
    )
    .await;

    let reply = host
        .ask("flooder", "send-flood", b"100000 sink sleep 2")
        .await
        .unwrap();
    let reply = text(&reply.payload);
    let (counts, first_refusal) = reply.split_once('\n').unwrap();
    let number = |key: &str| -> u64 {
        let field = counts.split(' ').find_map(|f| f.strip_prefix(key)).unwrap();
        field.parse().unwrap()
    };
    let (sent, refused) = (number("sent="), number("refused="));
    assert_eq!(sent + refused, 100_000);
    // A mailbox's worth, plus what the sink handled while the flood went on.
    assert!(
        (16..1000).contains(&sent),
        "nearly all sends must be refused: {reply}"
    );
    assert!(first_refusal.starts_with("overloaded:"), "{reply}");
    neighbour_answers(&host, 5).await;

    // Whatever was accepted is handled; nothing more piles up.
    eventually("the sink to handle what it accepted", || {
        let handled = host.metrics("sink").unwrap().handled;
        async move { handled == sent }
    })
    .await;
    assert_eq!(
        host.ask("sink", "ok", b"after").await.unwrap().payload,
        b"after"
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_requesting_itself_times_out_and_recovers() {
    let (system, host, sup, dir) = setup().await;
    faulty_with(
        &host,
        &sup,
        &dir,
        "narcissus",
        resources("32MiB", 10_000_000, 200),
    )
    .await;

    let mirror = host.ask("narcissus", "request", b"narcissus count x");
    neighbour_answers(&host, 5).await;
    let err = mirror.await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // Its own request was queued behind the message waiting for it; after the restart it
    // is answered by the fresh instance, which then serves new messages as usual.
    eventually("narcissus to be restarted", || {
        let restarts = host.metrics("narcissus").unwrap().restarts;
        async move { restarts == 1 }
    })
    .await;
    let after = host.ask("narcissus", "ok", b"me again").await.unwrap();
    assert_eq!(after.payload, b"me again");
    system.shutdown().await.unwrap();
}
