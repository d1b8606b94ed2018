//! `spawn_component_actor`: `Host::spawn_loaded` of a loaded `echo` (supervised,
//! registered by name, `pre_start` done) beside a fresh raw store + `instantiate_async`.
//! Every spawn needs its own name, and the host takes the name from the manifest, so each
//! spawn gets its own (pre-loaded, untimed) component. Diagnostics: a supervisor child
//! built from one shared loaded component (no host registry), and
//! `LoadedComponent::instantiate` alone (no actor).

use std::sync::Arc;
use std::time::Duration;

use airssys_wasm::{LoadedComponent, WasmComponentActor};
use airssys_wasm_actors::ChildSpec;
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{Samples, median, us_per};
use airssys_wasm_bench::native::OursAdder;
use airssys_wasm_bench::raw::RawEngine;

use super::{BoxReport, Plan, Side, host, host_config, order};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let wasm = guests::wasm("echo")?;
    let per_batch = 100;
    let mut samples = Samples::default();
    let (mut child, mut instantiate, mut first, mut native) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for batch in 0..plan.batches + 1 {
        // A fresh host per batch, so that every batch spawns into the same state.
        let (system, host, supervisor) = host(host_config(&scratch)).await?;
        let mut loaded: Vec<Arc<LoadedComponent>> = Vec::with_capacity(per_batch);
        for i in 0..per_batch {
            let (_, manifest) =
                scratch.manifest(&format!("spawn-{batch}-{i}"), &wasm, ECHO_RESOURCES, "")?;
            loaded.push(host.load(manifest).await?);
        }
        let shared = loaded[0].clone();
        let raw_engine = RawEngine::of(&host, &shared.manifest().resources)?;
        let raw = raw_engine.compile(&wasm, &shared.manifest().resources)?;
        let mut live_raw = Vec::with_capacity(per_batch);
        for side in order(batch) {
            let started = std::time::Instant::now();
            match side {
                Side::Ours => {
                    for component in &loaded {
                        host.spawn_loaded(&supervisor, component.clone()).await?;
                    }
                }
                Side::Raw => {
                    for _ in 0..per_batch {
                        live_raw.push(raw.instantiate().await?);
                    }
                }
            }
            let elapsed = us_per(started.elapsed(), per_batch as u64);
            if batch > 0 {
                match side {
                    Side::Ours => samples.ours.push(elapsed),
                    Side::Raw => samples.raw.push(elapsed),
                }
            }
        }
        let started = std::time::Instant::now();
        for i in 0..per_batch {
            let id = format!("shared-{i}");
            let component = shared.clone();
            let spec = ChildSpec::new(id, move || WasmComponentActor::new(component.clone(), None));
            supervisor.add_child(spec).await?;
        }
        let child_us = us_per(started.elapsed(), per_batch as u64);
        let started = std::time::Instant::now();
        for i in 0..per_batch {
            supervisor
                .add_child(ChildSpec::new(format!("native-{i}"), OursAdder::default))
                .await?;
        }
        let native_us = us_per(started.elapsed(), per_batch as u64);
        let started = std::time::Instant::now();
        let mut live = Vec::with_capacity(per_batch);
        for _ in 0..per_batch {
            live.push(shared.instantiate(None).await?);
        }
        let instantiate_us = us_per(started.elapsed(), per_batch as u64);
        let mut fresh = Vec::with_capacity(per_batch);
        for i in 0..per_batch {
            let (_, manifest) =
                scratch.manifest(&format!("first-{batch}-{i}"), &wasm, ECHO_RESOURCES, "")?;
            fresh.push(host.load(manifest).await?);
        }
        let started = std::time::Instant::now();
        for component in &fresh {
            live.push(component.instantiate(None).await?);
        }
        let first_us = us_per(started.elapsed(), per_batch as u64);
        if batch > 0 {
            child.push(child_us);
            instantiate.push(instantiate_us);
            first.push(first_us);
            native.push(native_us);
        }
        system.shutdown().await?;
        drop((live, live_raw));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut report = Report::default();
    report.rows.push(Row {
        name: "spawn_component_actor",
        unit: "µs",
        ours: samples.ours(),
        raw: samples.raw(),
        better: Better::Lower,
        target: Target::Ratio(2.0),
    });
    report.diag(
        "spawn_component_actor",
        "SupervisorRef::add_child of a WasmComponentActor sharing one loaded component (no host registry)",
        median(&child),
        "µs",
    );
    report.diag(
        "spawn_component_actor",
        "SupervisorRef::add_child of a trivial native actor (the supervision machinery alone)",
        median(&native),
        "µs",
    );
    report.diag(
        "spawn_component_actor",
        "LoadedComponent::instantiate alone (store + instance, no actor)",
        median(&instantiate),
        "µs",
    );
    report.diag(
        "spawn_component_actor",
        "LoadedComponent::instantiate alone, first instance of each just-loaded component",
        median(&first),
        "µs",
    );
    Ok(report)
}
