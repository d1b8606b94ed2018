//! `restart_after_trap`: a `trap` message to `faulty` and a `count` queued right behind it;
//! the time until `count` is answered by the fresh instance. The baseline does the same
//! by hand on the pooling allocator: the trapping call, a fresh store from the
//! `InstancePre` (`instantiate_async`), one call. Both engines use pooling with the same
//! settings. Diagnostics split the baseline into its three steps and time how soon ours
//! answers the trapping ask itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_wasm::{Allocation, ErrorKind, Host};
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, FAULTY_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{Samples, median, us_per};
use airssys_wasm_bench::raw::{self, RawComponent, RawEngine, RawInstance};

use super::{BoxReport, Plan, Side, host, host_config, order};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

/// Pool slots: one live instance, one being replaced, and room.
const POOL: Allocation = Allocation::Pooling {
    max_instances: 16,
    max_memory_per_instance: 32 << 20,
};

/// One restart through the host: trap, then the queued `count` answered.
async fn ours_once(host: &Host) -> Result<()> {
    let trap = host.ask("faulty", "trap", b"");
    let next = host.ask("faulty", "count", b"");
    let reply = next.await?;
    match trap.await {
        Err(e) if e.kind() == ErrorKind::Trap => {}
        other => return Err(format!("expected a trap, got {other:?}").into()),
    }
    if reply.payload != b"1" {
        return Err("the queued message was not answered by a fresh instance".into());
    }
    Ok(())
}

/// Time spent in each step of the baseline.
#[derive(Default)]
struct Steps {
    trap: Duration,
    instantiate: Duration,
    call: Duration,
}

/// One restart by hand: the trapping call, a fresh instance, one call.
async fn raw_once(
    component: &RawComponent,
    instance: &mut RawInstance,
    steps: &mut Steps,
) -> Result<()> {
    let started = Instant::now();
    if instance.call(&raw::message("trap", b"")).await.is_ok() {
        return Err("the raw trap did not trap".into());
    }
    let trapped = Instant::now();
    *instance = component.instantiate().await?;
    let fresh = Instant::now();
    let reply = instance.call(&raw::message("count", b"")).await??;
    let done = Instant::now();
    if reply != b"1" {
        return Err("the raw fresh instance is not fresh".into());
    }
    steps.trap += trapped - started;
    steps.instantiate += fresh - trapped;
    steps.call += done - fresh;
    Ok(())
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let wasm = guests::wasm("faulty")?;
    let (_, manifest) = scratch.manifest("faulty", &wasm, FAULTY_RESOURCES, "")?;
    let (system, host, supervisor) = host(host_config(&scratch).allocation(POOL)).await?;
    host.spawn_component(&supervisor, manifest.clone()).await?;
    let raw_engine = RawEngine::of(&host, &manifest.resources)?;
    let component = raw_engine.compile(&wasm, &manifest.resources)?;
    let mut instance = component.instantiate().await?;
    let iters = plan.iters(500, 1_000);

    let mut samples = Samples::default();
    let mut trap_answered = Vec::new();
    let mut steps = Steps::default();
    for batch in 0..plan.batches + 1 {
        for side in order(batch) {
            let started = Instant::now();
            match side {
                Side::Ours => {
                    for _ in 0..iters {
                        ours_once(&host).await?;
                    }
                }
                Side::Raw => {
                    for _ in 0..iters {
                        raw_once(&component, &mut instance, &mut steps).await?;
                    }
                }
            }
            let elapsed = us_per(started.elapsed(), iters);
            if batch > 0 {
                match side {
                    Side::Ours => samples.ours.push(elapsed),
                    Side::Raw => samples.raw.push(elapsed),
                }
            } else {
                steps = Steps::default();
            }
        }
        if batch > 0 {
            let mut answered = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let _ = host.ask("faulty", "trap", b"").await;
                answered += started.elapsed();
                host.ask("faulty", "count", b"").await?;
            }
            trap_answered.push(us_per(answered, iters));
        }
    }
    system.shutdown().await?;

    let runs = iters * plan.batches as u64;
    let mut report = Report::default();
    report.rows.push(Row {
        name: "restart_after_trap",
        unit: "µs",
        ours: samples.ours(),
        raw: samples.raw(),
        better: Better::Lower,
        target: Target::Ratio(2.0),
    });
    let row = "restart_after_trap";
    report.diag(
        row,
        "ours: the trapping ask answered (trap error back at the caller)",
        median(&trap_answered),
        "µs",
    );
    report.diag(
        row,
        "raw step: the trapping call",
        us_per(steps.trap, runs),
        "µs",
    );
    report.diag(
        row,
        "raw step: InstancePre::instantiate_async (pooling, old store dropped)",
        us_per(steps.instantiate, runs),
        "µs",
    );
    report.diag(
        row,
        "raw step: the next call",
        us_per(steps.call, runs),
        "µs",
    );
    report.notes.push(
        "restart_after_trap: raw = the trapping call + a fresh instance from the InstancePre (pooling) + one call, \
         as ours includes the trapping message too"
            .into(),
    );
    Ok(report)
}
