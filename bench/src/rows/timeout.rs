//! `timeout_overshoot`: how long after `max_execution_time_ms` the caller of a spinning
//! guest (`faulty`, topic `spin`, fuel to spare) gets `timeout`, measured from the moment
//! it asked; the baseline is the same guest on a raw store stopped at its first fuel yield
//! past the deadline, measured from its wall-clock deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_wasm::ErrorKind;
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, Scratch};
use airssys_wasm_bench::measure::Samples;
use airssys_wasm_bench::raw::{self, RawEngine};

use super::{BoxReport, Plan, Side, host, host_config, order};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

/// The spinner's `max_execution_time_ms`.
const LIMIT_MS: u64 = 20;

fn micros_past(elapsed: Duration, limit: Duration) -> f64 {
    (elapsed.as_secs_f64() - limit.as_secs_f64()) * 1e6
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let wasm = guests::wasm("faulty")?;
    let resources = format!(
        "max_memory = \"32MiB\"\nmax_stack = \"512KiB\"\nmax_fuel_per_execution = 1000000000000\nmax_execution_time_ms = {LIMIT_MS}"
    );
    let (_, manifest) = scratch.manifest("spinner", &wasm, &resources, "")?;
    let (system, host, supervisor) = host(host_config(&scratch)).await?;
    host.spawn_component(&supervisor, manifest.clone()).await?;
    let raw_engine = RawEngine::of(&host, &manifest.resources)?;
    let component = raw_engine.compile(&wasm, &manifest.resources)?;
    let limit = Duration::from_millis(LIMIT_MS);
    let spin = raw::message("spin", b"");

    let mut samples = Samples::default();
    for batch in 0..plan.batches + 1 {
        for side in order(batch) {
            let overshoot = match side {
                Side::Ours => {
                    host.ask("spinner", "count", b"").await?; // restarted and ready
                    let started = Instant::now();
                    let outcome = host.ask("spinner", "spin", b"").await;
                    let elapsed = started.elapsed();
                    match outcome {
                        Err(e) if e.kind() == ErrorKind::Timeout => {}
                        other => return Err(format!("expected a timeout, got {other:?}").into()),
                    }
                    micros_past(elapsed, limit)
                }
                Side::Raw => {
                    let mut instance = component.instantiate().await?;
                    let outcome = instance.call(&spin).await;
                    let trapped = Instant::now();
                    if outcome.is_ok() {
                        return Err("the raw spinner returned".into());
                    }
                    (trapped - instance.deadline()).as_secs_f64() * 1e6
                }
            };
            if batch > 0 {
                match side {
                    Side::Ours => samples.ours.push(overshoot),
                    Side::Raw => samples.raw.push(overshoot),
                }
            }
        }
    }
    system.shutdown().await?;

    let mut report = Report::default();
    report.rows.push(Row {
        name: "timeout_overshoot",
        unit: "µs",
        ours: samples.ours(),
        raw: samples.raw(),
        better: Better::Lower,
        target: Target::AtMost(1_000.0),
    });
    let worst = samples.ours.iter().copied().fold(f64::NAN, f64::max);
    report.diag(
        "timeout_overshoot",
        "ours: worst overshoot of the run",
        worst,
        "µs",
    );
    Ok(report)
}
