//! `rss_per_idle_actor_10k`: resident memory per live idle `echo` component actor with
//! 10,000 alive (spawned through the host's front door, each under its own name), beside
//! per live instantiated raw store. Each side runs in a fresh child process of this binary
//! (`__rss SIDE COUNT`), so one side's garbage does not count against the other; the
//! child measures `VmRSS` and the number of memory mappings after one warm-up actor and
//! again with `COUNT` more alive. A diagnostic side spawns the actors from one shared
//! loaded component instead.

use std::process::{Command, ExitCode};

use airssys_wasm::WasmComponentActor;
use airssys_wasm_actors::ChildSpec;
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{map_count, on_worker, rss_kib};
use airssys_wasm_bench::raw::RawEngine;

use super::{Plan, host, host_config};
use crate::report::{Better, Report, Row, Target};

/// The hidden subcommand that measures one side.
pub const CHILD: &str = "__rss";

/// The sides a child can measure.
const OURS: &str = "ours";
const OURS_SHARED: &str = "ours-shared";
const RAW: &str = "raw";

/// Per live actor: KiB of RSS and memory mappings.
struct PerActor {
    kib: f64,
    maps: f64,
}

fn measure_side(side: &str, count: usize) -> Result<PerActor> {
    let output = Command::new(std::env::current_exe()?)
        .args([CHILD, side, &count.to_string()])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "{side} with {count} live actors failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut figures = text.split_whitespace().map(str::parse::<f64>);
    match (figures.next(), figures.next()) {
        (Some(Ok(kib)), Some(Ok(maps))) => Ok(PerActor { kib, maps }),
        _ => Err(format!("unexpected output of the {side} child: {text:?}").into()),
    }
}

/// Runs the children and builds the row.
///
/// # Errors
///
/// Only when the baseline itself fails; a failure of ours is reported in the row.
pub fn run(plan: Plan) -> Result<Report> {
    let count = plan.rss_actors;
    let mut report = Report::default();
    let row = "rss_per_idle_actor_10k";
    let raw = measure_side(RAW, count)?;
    let ours = measure_side(OURS, count).unwrap_or_else(|e| {
        report.notes.push(format!("{row}: {e}"));
        PerActor {
            kib: f64::NAN,
            maps: f64::NAN,
        }
    });
    report.rows.push(Row {
        name: row,
        unit: "KiB",
        ours: ours.kib,
        raw: raw.kib,
        better: Better::Lower,
        target: Target::Ratio(2.0),
    });
    report.diag(
        row,
        "ours: memory mappings per live actor",
        ours.maps,
        "maps",
    );
    report.diag(row, "raw: memory mappings per live store", raw.maps, "maps");
    match measure_side(OURS_SHARED, count) {
        Ok(shared) => {
            report.diag(
                row,
                "ours, actors sharing one loaded component: RSS per live actor",
                shared.kib,
                "KiB",
            );
            report.diag(
                row,
                "ours, actors sharing one loaded component: mappings per live actor",
                shared.maps,
                "maps",
            );
        }
        Err(e) => report.notes.push(format!("{row} (shared component): {e}")),
    }
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap_or_default();
    report.notes.push(format!(
        "{row}: {count} live actors per side; vm.max_map_count here is {}",
        max_map_count.trim()
    ));
    Ok(report)
}

/// The child: `__rss SIDE COUNT` prints `KIB_PER_ACTOR MAPS_PER_ACTOR`.
pub fn child(mut args: impl Iterator<Item = String>) -> ExitCode {
    let side = args.next().unwrap_or_default();
    let count = args.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Into::into)
        .and_then(|rt| on_worker(&rt, child_side(side, count)));
    match outcome {
        Ok(per) => {
            println!("{} {}", per.kib, per.maps);
            // Exit at once: tearing 10,000 actors down is not part of the measurement.
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn child_side(side: String, count: usize) -> Result<PerActor> {
    let scratch = Scratch::new()?;
    let wasm = guests::wasm("echo")?;
    let (system, host, supervisor) = host(host_config(&scratch)).await?;
    let (_, warm) = scratch.manifest("warm", &wasm, ECHO_RESOURCES, "")?;
    let start = match side.as_str() {
        OURS => {
            host.spawn_component(&supervisor, warm).await?;
            let start = snapshot()?;
            for i in 0..count {
                let (_, manifest) =
                    scratch.manifest(&format!("rss-{i}"), &wasm, ECHO_RESOURCES, "")?;
                host.spawn_component(&supervisor, manifest)
                    .await
                    .map_err(|e| format!("spawning actor {} of {count}: {e}", i + 1))?;
            }
            start
        }
        OURS_SHARED => {
            host.spawn_component(&supervisor, warm).await?;
            let component = host
                .load(scratch.manifest("shared", &wasm, ECHO_RESOURCES, "")?.1)
                .await?;
            let start = snapshot()?;
            for i in 0..count {
                let component = component.clone();
                let spec = ChildSpec::new(format!("rss-{i}"), move || {
                    WasmComponentActor::new(component.clone(), None)
                });
                supervisor
                    .add_child(spec)
                    .await
                    .map_err(|e| format!("spawning actor {} of {count}: {e}", i + 1))?;
            }
            start
        }
        RAW => {
            let raw_engine = RawEngine::of(&host, &warm.resources)?;
            let component = raw_engine.compile(&wasm, &warm.resources)?;
            let mut stores = vec![component.instantiate().await?];
            let start = snapshot()?;
            for i in 0..count {
                stores.push(
                    component
                        .instantiate()
                        .await
                        .map_err(|e| format!("instantiating store {} of {count}: {e}", i + 1))?,
                );
            }
            let after = snapshot()?;
            std::mem::forget(stores);
            std::mem::forget(raw_engine);
            return Ok(per_actor(start, after, count));
        }
        other => return Err(format!("unknown side {other:?}").into()),
    };
    let after = snapshot()?;
    std::mem::forget(system);
    Ok(per_actor(start, after, count))
}

/// The process's RSS (KiB) and mapping count now.
fn snapshot() -> Result<(u64, u64)> {
    Ok((rss_kib()?, map_count()?))
}

fn per_actor(before: (u64, u64), after: (u64, u64), count: usize) -> PerActor {
    let n = count.max(1) as f64;
    PerActor {
        kib: after.0.saturating_sub(before.0) as f64 / n,
        maps: after.1.saturating_sub(before.1) as f64 / n,
    }
}
