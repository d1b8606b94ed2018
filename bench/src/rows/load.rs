//! `load_cwasm`: `Host::load` of a manifest naming a precompiled `echo.cwasm` beside
//! `Component::deserialize_file` of the same file, with diagnostics splitting ours into
//! reading the manifest and loading an already parsed one.

use std::sync::Arc;

use airssys_wasm::Manifest;
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::{Samples, median, us_per};
use airssys_wasm_bench::raw::RawEngine;
use wasmtime::component::Component;

use super::{BoxReport, Plan, Side, host, host_config, order, timed};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan, scratch))
}

async fn measure(plan: Plan, scratch: Arc<Scratch>) -> Result<Report> {
    let (system, host, _supervisor) = host(host_config(&scratch)).await?;
    let cwasm = scratch.write(
        "echo.cwasm",
        &host
            .engine()
            .precompile(&std::fs::read(guests::wasm("echo")?)?)?,
    )?;
    let (path, manifest) = scratch.manifest("echo-cwasm", &cwasm, ECHO_RESOURCES, "")?;
    let raw = RawEngine::of(&host, &manifest.resources)?;
    let iters = plan.iters(500, 1_000);
    // Loads of the same file share its code while an earlier load lives, so each timed
    // load of ours gets its own copy: every one is a real deserialize, as on the raw side.
    let cwasm_bytes = std::fs::read(&cwasm)?;
    let mut copies = Vec::with_capacity(iters as usize);
    for i in 0..iters {
        let copy = scratch.write(&format!("echo-{i}.cwasm"), &cwasm_bytes)?;
        copies.push(
            scratch
                .manifest(&format!("echo-cwasm-{i}"), &copy, ECHO_RESOURCES, "")?
                .0,
        );
    }
    let mut shared = Vec::new();

    let mut samples = Samples::default();
    let (mut parse, mut parsed, mut hop, mut link, mut detect, mut blocking) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    // SAFETY: as below.
    let component = unsafe { Component::deserialize_file(raw.engine(), &cwasm)? };
    let mut keep = Vec::with_capacity(iters as usize);
    let mut keep_raw = Vec::with_capacity(iters as usize);
    for batch in 0..plan.batches + 1 {
        for side in order(batch) {
            let elapsed = match side {
                Side::Ours => {
                    let mut next = copies.iter();
                    timed!(iters, {
                        let copy = next.next().ok_or("fewer copies than iterations")?;
                        keep.push(host.load(Manifest::from_file(copy)?).await?)
                    })
                }
                // SAFETY: the file was just written by `Engines::precompile` for an engine
                // of exactly this configuration.
                Side::Raw => timed!(
                    iters,
                    keep_raw.push(unsafe { Component::deserialize_file(raw.engine(), &cwasm)? })
                ),
            };
            // Dropping what was loaded is not part of loading.
            keep.clear();
            keep_raw.clear();
            if batch == 0 {
                continue; // warm-up
            }
            match side {
                Side::Ours => samples.ours.push(us_per(elapsed, iters)),
                Side::Raw => samples.raw.push(us_per(elapsed, iters)),
            }
        }
        if batch > 0 {
            let elapsed = timed!(
                iters,
                keep.push(host.load(Manifest::from_file(&path)?).await?)
            );
            keep.clear();
            shared.push(us_per(elapsed, iters));
            parse.push(us_per(timed!(iters, Manifest::from_file(&path)?), iters));
            let elapsed = timed!(iters, keep.push(host.load(manifest.clone()).await?));
            keep.clear();
            parsed.push(us_per(elapsed, iters));
            hop.push(us_per(
                timed!(iters, tokio::task::spawn_blocking(|| ()).await?),
                iters,
            ));
            link.push(us_per(
                timed!(iters, raw.link(&component, &manifest.resources)?),
                iters,
            ));
            let elapsed = timed!(iters, {
                let (engine, cwasm) = (raw.engine().clone(), cwasm.clone());
                // SAFETY: as above.
                let loaded = tokio::task::spawn_blocking(move || unsafe {
                    Component::deserialize_file(&engine, &cwasm)
                });
                keep_raw.push(loaded.await??);
            });
            keep_raw.clear();
            blocking.push(us_per(elapsed, iters));
            detect.push(us_per(
                timed!(iters, wasmtime::Engine::detect_precompiled_file(&cwasm)?),
                iters,
            ));
        }
    }
    system.shutdown().await?;

    let mut report = Report::default();
    report.rows.push(Row {
        name: "load_cwasm",
        unit: "µs",
        ours: samples.ours(),
        raw: samples.raw(),
        better: Better::Lower,
        target: Target::Ratio(1.5),
    });
    report.diag(
        "load_cwasm",
        "ours: the same .cwasm again while an earlier load lives (shared code, no deserialize)",
        median(&shared),
        "µs",
    );
    report.diag(
        "load_cwasm",
        "Manifest::from_file alone",
        median(&parse),
        "µs",
    );
    report.diag(
        "load_cwasm",
        "Host::load of an already parsed manifest",
        median(&parsed),
        "µs",
    );
    report.diag(
        "load_cwasm",
        "an empty spawn_blocking round trip (what a load of a .cwasm no longer pays)",
        median(&hop),
        "µs",
    );
    report.diag(
        "load_cwasm",
        "raw: Linker::instantiate_pre + ComponentPre::new (Host::load links too)",
        median(&link),
        "µs",
    );
    report.diag(
        "load_cwasm",
        "Engine::detect_precompiled_file (Host::load checks the file first)",
        median(&detect),
        "µs",
    );
    report.diag(
        "load_cwasm",
        "raw: deserialize_file inside spawn_blocking",
        median(&blocking),
        "µs",
    );
    Ok(report)
}
