//! `roundtrip_64b` and `roundtrip_64kib`: `Host::ask` to the `echo` component by name
//! beside `call_handle` on one reused raw store, plus the layers in between (diagnostics):
//! the component actor's `ActorRef::ask` (no registry lookup), the executor alone
//! (`ComponentInstance::call_message`, no actor) and a native ask (the mailbox hop alone).

use std::sync::Arc;
use std::time::Duration;

use airssys_wasm::{ComponentInstance, ComponentMessage, Host, WasmComponentActor};
use airssys_wasm_actors::ActorRef;
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{Samples, median, ns_per};
use airssys_wasm_bench::native::{OursAdder, spawn_ours};
use airssys_wasm_bench::raw::{self, RawEngine, RawInstance};

use super::{BoxReport, Plan, Side, host, host_config, order, timed};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

/// The ways to get a reply from `echo`, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// `Host::ask` by name (ours).
    HostAsk,
    /// `ActorRef::ask` on the component actor's address.
    ActorAsk,
    /// `ComponentInstance::call_message`, no actor.
    Executor,
    /// `call_handle` on a raw store (the baseline).
    Raw,
    /// A native ask to a trivial actor: the mailbox hop alone.
    NativeHop,
}

const WAYS: [Way; 5] = [
    Way::HostAsk,
    Way::Raw,
    Way::ActorAsk,
    Way::Executor,
    Way::NativeHop,
];

struct Sides {
    host: Host,
    actor: ActorRef<WasmComponentActor>,
    executor: ComponentInstance,
    raw: RawInstance,
    native: ActorRef<OursAdder>,
}

impl Sides {
    async fn time(&mut self, way: Way, iters: u64, payload: &[u8]) -> Result<Duration> {
        let message = ComponentMessage {
            topic: "echo".into(),
            payload: payload.to_vec(),
            sender: None,
        };
        let raw_message = raw::message("echo", payload);
        Ok(match way {
            Way::HostAsk => host_asks(&self.host, "echo", payload, iters).await?,
            Way::ActorAsk => timed!(
                iters,
                self.actor
                    .ask(
                        ComponentMessage {
                            topic: "echo".into(),
                            payload: payload.to_vec(),
                            sender: None,
                        }
                        .into()
                    )
                    .await??
            ),
            Way::Executor => timed!(iters, self.executor.call_message(&message).await?),
            Way::Raw => timed!(iters, self.raw.call(&raw_message).await??),
            Way::NativeHop => timed!(iters, self.native.ask(1).await?),
        })
    }
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let wasm = guests::wasm("echo")?;
    let (_, manifest) = scratch.manifest("echo", &wasm, ECHO_RESOURCES, "")?;
    let (system, host, supervisor) = host(host_config(&scratch)).await?;
    let actor = host.spawn_component(&supervisor, manifest.clone()).await?;
    let executor = host.load(manifest.clone()).await?.instantiate(None).await?;
    let raw_engine = RawEngine::of(&host, &manifest.resources)?;
    let raw = raw_engine
        .compile(&wasm, &manifest.resources)?
        .instantiate()
        .await?;
    let native = spawn_ours(&system, 1).await?.remove(0);
    let mut sides = Sides {
        host,
        actor,
        executor,
        raw,
        native,
    };

    let mut report = Report::default();
    for (name, size, iters, target) in [
        ("roundtrip_64b", 64, plan.iters(20_000, 50_000), 2.0),
        ("roundtrip_64kib", 64 << 10, plan.iters(5_000, 10_000), 1.3),
    ] {
        let payload = vec![b'x'; size];
        for way in WAYS {
            sides.time(way, iters / 4, &payload).await?;
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); WAYS.len()];
        for batch in 0..plan.batches {
            for k in 0..WAYS.len() {
                let i = (k + batch) % WAYS.len();
                let elapsed = sides.time(WAYS[i], iters, &payload).await?;
                samples[i].push(ns_per(elapsed, iters));
            }
        }
        let of = |way: Way| median(&samples[WAYS.iter().position(|w| *w == way).unwrap_or(0)]);
        report.rows.push(Row {
            name,
            unit: "ns",
            ours: of(Way::HostAsk),
            raw: of(Way::Raw),
            better: Better::Lower,
            target: Target::Ratio(target),
        });
        report.diag(
            name,
            "ActorRef::ask on the component actor (no registry lookup)",
            of(Way::ActorAsk),
            "ns",
        );
        report.diag(
            name,
            "ComponentInstance::call_message (executor alone, no actor)",
            of(Way::Executor),
            "ns",
        );
        if size == 64 {
            report.diag(
                name,
                "native ask of a trivial actor (mailbox hop alone)",
                of(Way::NativeHop),
                "ns",
            );
        }
    }
    system.shutdown().await?;

    let floor = tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || current_thread_floor(plan, &scratch))
            .join()
            .map_err(|_| "the current_thread probe panicked")?
    })
    .await??;
    for (row, samples) in floor {
        report.diag(
            row,
            "on a current_thread runtime (no work stealing): Host::ask",
            samples.ours(),
            "ns",
        );
        report.diag(
            row,
            "on a current_thread runtime: raw call",
            samples.raw(),
            "ns",
        );
    }
    Ok(report)
}

/// `iters` asks of `payload` to the echo component `name` through `Host::ask`. The payload
/// is moved in and echo's reply (the same bytes) is the next payload: no copy on our side,
/// as the raw side lowers from one prebuilt message.
async fn host_asks(host: &Host, name: &str, payload: &[u8], iters: u64) -> Result<Duration> {
    let mut buffer = payload.to_vec();
    Ok(timed!(iters, {
        let reply = host.ask(name, "echo", std::mem::take(&mut buffer));
        buffer = reply.await?.payload;
    }))
}

/// Both rows again on a single-threaded runtime: the floor of the mailbox hop without
/// cross-thread wake-ups and work stealing.
fn current_thread_floor(plan: Plan, scratch: &Scratch) -> Result<Vec<(&'static str, Samples)>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let wasm = guests::wasm("echo")?;
        let (_, manifest) = scratch.manifest("echo-ct", &wasm, ECHO_RESOURCES, "")?;
        let (system, host, supervisor) = host(host_config(scratch)).await?;
        host.spawn_component(&supervisor, manifest.clone()).await?;
        let raw_engine = RawEngine::of(&host, &manifest.resources)?;
        let mut raw = raw_engine
            .compile(&wasm, &manifest.resources)?
            .instantiate()
            .await?;
        let mut floors = Vec::new();
        for (row, size, iters) in [
            ("roundtrip_64b", 64, plan.iters(20_000, 50_000)),
            ("roundtrip_64kib", 64 << 10, plan.iters(5_000, 10_000)),
        ] {
            let payload = vec![b'x'; size];
            let message = raw::message("echo", &payload);
            let mut samples = Samples::default();
            for batch in 0..plan.batches + 1 {
                for side in order(batch) {
                    let elapsed = match side {
                        Side::Ours => host_asks(&host, "echo-ct", &payload, iters).await?,
                        Side::Raw => timed!(iters, raw.call(&message).await??),
                    };
                    if batch > 0 {
                        match side {
                            Side::Ours => samples.ours.push(ns_per(elapsed, iters)),
                            Side::Raw => samples.raw.push(ns_per(elapsed, iters)),
                        }
                    }
                }
            }
            floors.push((row, samples));
        }
        system.shutdown().await?;
        Ok(floors)
    })
}
