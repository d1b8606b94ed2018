//! `lattice_roundtrip_64b` and `lattice_throughput`: `Host::ask` from one host to the
//! `echo` component on another host of a lattice (both hosts in this process, each with
//! its own NATS connections, over one `nats-server` child on a free loopback port), beside
//! raw async-nats request/reply to a trivial responder (it answers the payload) on the
//! same server. Diagnostic: a local `Host::ask` to the same component, for scale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_wasm::Host;
use airssys_wasm::lattice::Lattice;
use airssys_wasm::manifest::{LatticeAuth, LatticeSettings};
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{median, ns_per, per_second};
use airssys_wasm_bench::{Result, allocs};
use futures_util::StreamExt;
use tokio::task::JoinSet;

use super::{BoxReport, Plan, Side, allocation_diags, host, host_config, order};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

const PAYLOAD: &[u8] = &[b'x'; 64];
/// Asks in flight at once in the throughput row.
const CONCURRENCY: usize = 64;

/// A `nats-server` child on a free loopback port, killed when dropped.
struct NatsChild {
    child: std::process::Child,
    url: String,
}

impl NatsChild {
    fn start() -> Result<NatsChild> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nats-server ({e}); scripts/bench installs it"))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("nats-server not up within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(NatsChild {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }
}

impl Drop for NatsChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` asks of 64 bytes to `echo` by name, `concurrency` at once.
async fn asks(host: &Host, n: u64, concurrency: usize) -> Result<()> {
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let host = host.clone();
        let each = n / concurrency as u64;
        tasks.spawn(async move {
            for _ in 0..each {
                host.ask("echo", "echo", PAYLOAD).await?;
            }
            Ok::<_, airssys_wasm::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// `n` raw requests of 64 bytes, `concurrency` at once.
async fn raw_requests(client: &async_nats::Client, n: u64, concurrency: usize) -> Result<()> {
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let each = n / concurrency as u64;
        tasks.spawn(async move {
            for _ in 0..each {
                client
                    .request("raw.echo", bytes::Bytes::from_static(PAYLOAD))
                    .await?;
            }
            Ok::<_, async_nats::RequestError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let server = NatsChild::start()?;
    let settings = LatticeSettings {
        name: "bench".into(),
        nats: vec![server.url.clone()],
        auth: LatticeAuth::None,
        tls: None,
        export: None,
    };
    let wasm = guests::wasm("echo")?;
    let (_, manifest) = scratch.manifest("echo", &wasm, ECHO_RESOURCES, "")?;
    let (system_b, host_b, supervisor_b) = host(host_config(&scratch)).await?;
    host_b.spawn_component(&supervisor_b, manifest).await?;
    let lattice_b = Lattice::join(&host_b, &settings, "bench-b").await?;
    let (system_a, host_a, _) = host(host_config(&scratch)).await?;
    let lattice_a = Lattice::join(&host_a, &settings, "bench-a").await?;

    let responder = async_nats::connect(&server.url).await?;
    let mut subscription = responder.subscribe("raw.echo").await?;
    let answering = tokio::spawn(async move {
        while let Some(request) = subscription.next().await {
            if let Some(reply) = request.reply {
                let _ = responder.publish(reply, request.payload).await;
            }
        }
    });
    let requester = async_nats::connect(&server.url).await?;

    let mut report = Report::default();
    let iters = plan.iters(2_000, 5_000);
    asks(&host_a, iters / 4, 1).await?;
    raw_requests(&requester, iters / 4, 1).await?;
    let (mut ours, mut raw, mut local) = (Vec::new(), Vec::new(), Vec::new());
    for batch in 0..plan.batches {
        for side in order(batch) {
            let started = Instant::now();
            match side {
                Side::Ours => asks(&host_a, iters, 1).await?,
                Side::Raw => raw_requests(&requester, iters, 1).await?,
            }
            let ns = ns_per(started.elapsed(), iters);
            match side {
                Side::Ours => ours.push(ns),
                Side::Raw => raw.push(ns),
            }
        }
        let started = Instant::now();
        asks(&host_b, iters, 1).await?;
        local.push(ns_per(started.elapsed(), iters));
    }
    report.rows.push(Row {
        name: "lattice_roundtrip_64b",
        unit: "ns",
        ours: median(&ours),
        raw: median(&raw),
        better: Better::Lower,
        target: Target::Ratio(1.3),
    });
    report.diag(
        "lattice_roundtrip_64b",
        "the same ask on the component's own host (no NATS hop)",
        median(&local),
        "ns",
    );

    let n = plan.iters(20_000, 50_000);
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for batch in 0..plan.batches {
        for side in order(batch) {
            let started = Instant::now();
            match side {
                Side::Ours => asks(&host_a, n, CONCURRENCY).await?,
                Side::Raw => raw_requests(&requester, n, CONCURRENCY).await?,
            }
            let rate = per_second(started.elapsed(), n);
            match side {
                Side::Ours => ours.push(rate),
                Side::Raw => raw.push(rate),
            }
        }
    }
    // What each side allocates per request (both hosts, or requester and responder, are
    // in this process): counted apart from the timed batches.
    let probe = plan.iters(2_000, 10_000);
    for side in [Side::Ours, Side::Raw] {
        let (done, counted) = match side {
            Side::Ours => allocs::count(asks(&host_a, probe, CONCURRENCY)).await,
            Side::Raw => allocs::count(raw_requests(&requester, probe, CONCURRENCY)).await,
        };
        done?;
        let (all, large) = counted.per(probe);
        let who = match side {
            Side::Ours => "ours",
            Side::Raw => "raw",
        };
        allocation_diags(&mut report, "lattice_throughput", who, all, large);
    }
    report.rows.push(Row {
        name: "lattice_throughput",
        unit: "req/s",
        ours: median(&ours),
        raw: median(&raw),
        better: Better::Higher,
        // At least 0.75x raw's rate: raw/ours at most 1/0.75.
        target: Target::Ratio(1.0 / 0.75),
    });
    report.notes.push(format!(
        "lattice rows: two hosts in one process over one nats-server on loopback; throughput with {CONCURRENCY} asks in flight"
    ));
    answering.abort();
    lattice_a.leave().await;
    lattice_b.leave().await;
    system_a.shutdown().await?;
    system_b.shutdown().await?;
    Ok(report)
}
