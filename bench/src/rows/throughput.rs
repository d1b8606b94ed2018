//! `throughput_1000_actors`: 1,000 `echo` component actors, one sender task each asking
//! its actor by name, total replies per second; the baseline is 1,000 raw stores, each
//! called from its own task. Diagnostics: the same asks through `ActorRef::ask` (no
//! registry lookup), and 1,000 actors sharing one loaded component.

use std::sync::Arc;
use std::time::Instant;

use airssys_wasm::{ComponentMessage, Host, WasmComponentActor};
use airssys_wasm_actors::{ActorRef, ChildSpec};
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{median, per_second};
use airssys_wasm_bench::native::{OursAdder, ask_ours, spawn_ours};
use airssys_wasm_bench::raw::{self, RawEngine, RawInstance};
use tokio::task::JoinSet;

use super::{BoxReport, Plan, host, host_config};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

const ACTORS: usize = 1_000;
const PAYLOAD: &[u8] = &[b'x'; 64];

/// The ways to drive 1,000 actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    HostAsk,
    Raw,
    ActorAsk,
    SharedComponent,
    NativeAsk,
}

const WAYS: [Way; 5] = [
    Way::HostAsk,
    Way::Raw,
    Way::ActorAsk,
    Way::SharedComponent,
    Way::NativeAsk,
];

/// One sender per name, each asking `per_actor` times through the host.
async fn host_asks(host: &Host, names: &[String], per_actor: u64) -> Result<()> {
    let mut tasks = JoinSet::new();
    for name in names {
        let (host, name) = (host.clone(), name.clone());
        tasks.spawn(async move {
            for _ in 0..per_actor {
                host.ask(&name, "echo", PAYLOAD).await?;
            }
            Ok::<_, airssys_wasm::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// One sender per address, each asking `per_actor` times.
async fn actor_asks(actors: &[ActorRef<WasmComponentActor>], per_actor: u64) -> Result<()> {
    let mut tasks = JoinSet::new();
    for actor in actors {
        let actor = actor.clone();
        tasks.spawn(async move {
            for _ in 0..per_actor {
                let message = ComponentMessage {
                    topic: "echo".into(),
                    payload: PAYLOAD.to_vec(),
                    sender: None,
                };
                actor
                    .ask(message.into())
                    .await
                    .map_err(|e| e.to_string())??;
            }
            Ok::<_, airssys_wasm_bench::BoxError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// One sender per trivial native actor, each asking `per_actor` times: the hop alone.
async fn native_asks(actors: &[ActorRef<OursAdder>], per_actor: u64) -> Result<()> {
    let mut tasks = JoinSet::new();
    for actor in actors {
        let actor = actor.clone();
        tasks.spawn(async move { ask_ours(&actor, per_actor).await });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// One task per raw store, each calling it `per_actor` times; the stores come back.
async fn raw_calls(stores: &mut Vec<RawInstance>, per_actor: u64) -> Result<()> {
    let mut tasks = JoinSet::new();
    for mut store in stores.drain(..) {
        tasks.spawn(async move {
            let message = raw::message("echo", PAYLOAD);
            for _ in 0..per_actor {
                store.call(&message).await??;
            }
            Ok::<_, airssys_wasm_bench::BoxError>(store)
        });
    }
    while let Some(done) = tasks.join_next().await {
        stores.push(done??);
    }
    Ok(())
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let wasm = guests::wasm("echo")?;
    let (system, host, supervisor) = host(host_config(&scratch)).await?;
    let mut names = Vec::with_capacity(ACTORS);
    let mut actors = Vec::with_capacity(ACTORS);
    for i in 0..ACTORS {
        let name = format!("tp-{i}");
        let (_, manifest) = scratch.manifest(&name, &wasm, ECHO_RESOURCES, "")?;
        actors.push(host.spawn_component(&supervisor, manifest).await?);
        names.push(name);
    }
    let shared = host
        .load(scratch.manifest("tp-shared", &wasm, ECHO_RESOURCES, "")?.1)
        .await?;
    let mut shared_actors = Vec::with_capacity(ACTORS);
    for i in 0..ACTORS {
        let component = shared.clone();
        let spec = ChildSpec::new(format!("tp-shared-{i}"), move || {
            WasmComponentActor::new(component.clone(), None)
        });
        shared_actors.push(supervisor.add_child(spec).await?);
    }
    let natives = spawn_ours(&system, ACTORS).await?;
    let raw_engine = RawEngine::of(&host, &shared.manifest().resources)?;
    let component = raw_engine.compile(&wasm, &shared.manifest().resources)?;
    let mut stores = Vec::with_capacity(ACTORS);
    for _ in 0..ACTORS {
        stores.push(component.instantiate().await?);
    }

    let per_actor = plan.iters(100, 200);
    let batches = plan.batches.min(if plan.quick { 5 } else { 7 });
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); WAYS.len()];
    for batch in 0..batches + 1 {
        for k in 0..WAYS.len() {
            let i = (k + batch) % WAYS.len();
            let started = Instant::now();
            match WAYS[i] {
                Way::HostAsk => host_asks(&host, &names, per_actor).await?,
                Way::Raw => raw_calls(&mut stores, per_actor).await?,
                Way::ActorAsk => actor_asks(&actors, per_actor).await?,
                Way::SharedComponent => actor_asks(&shared_actors, per_actor).await?,
                Way::NativeAsk => native_asks(&natives, per_actor).await?,
            }
            if batch > 0 {
                samples[i].push(per_second(started.elapsed(), per_actor * ACTORS as u64));
            }
        }
    }
    system.shutdown().await?;

    let of = |way: Way| median(&samples[WAYS.iter().position(|w| *w == way).unwrap_or(0)]);
    let mut report = Report::default();
    let row = "throughput_1000_actors";
    report.rows.push(Row {
        name: row,
        unit: "msgs/s",
        ours: of(Way::HostAsk),
        raw: of(Way::Raw),
        better: Better::Higher,
        target: Target::Ratio(2.0),
    });
    report.diag(
        row,
        "ActorRef::ask on the 1,000 addresses (no registry lookup)",
        of(Way::ActorAsk),
        "msgs/s",
    );
    report.diag(
        row,
        "ActorRef::ask, 1,000 actors sharing one loaded component",
        of(Way::SharedComponent),
        "msgs/s",
    );
    report.diag(
        row,
        "native ask, 1,000 trivial actors (the mailbox hop alone)",
        of(Way::NativeAsk),
        "msgs/s",
    );
    Ok(report)
}
