//! Profiling aid: 1,000 `echo` components, one sender task each, `Host::ask` for a few
//! seconds (or 1,000 raw stores with `raw` as first argument); prints msgs/s.
use std::time::{Duration, Instant};

use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::on_worker;
use airssys_wasm_bench::raw::{self, RawEngine};
use airssys_wasm_bench::setup::{host, host_config, runtime};
use tokio::task::JoinSet;

const PAYLOAD: &[u8] = &[b'x'; 64];
const ACTORS: usize = 1_000;
const PER_TASK: u64 = 200;

fn main() -> airssys_wasm_bench::Result<()> {
    let raw_side = std::env::args().nth(1).as_deref() == Some("raw");
    on_worker(&runtime()?, async move {
        let scratch = Scratch::new()?;
        let wasm = guests::wasm("echo")?;
        let (system, host, sup) = host(host_config(&scratch)).await?;
        let mut names = Vec::new();
        let mut resources = None;
        for i in 0..ACTORS {
            let name = format!("tp-{i}");
            let (_, manifest) = scratch.manifest(&name, &wasm, ECHO_RESOURCES, "")?;
            resources = Some(manifest.resources);
            if !raw_side {
                host.spawn_component(&sup, manifest).await?;
            }
            names.push(name);
        }
        let mut stores = Vec::new();
        if raw_side {
            let resources = resources.ok_or("no manifest")?;
            let component = RawEngine::of(&host, &resources)?.compile(&wasm, &resources)?;
            for _ in 0..ACTORS {
                stores.push(component.instantiate().await?);
            }
        }
        let started = Instant::now();
        let mut total = 0u64;
        while started.elapsed() < Duration::from_secs(8) {
            let mut tasks = JoinSet::new();
            for mut store in stores.drain(..) {
                tasks.spawn(async move {
                    let message = raw::message("echo", PAYLOAD);
                    for _ in 0..PER_TASK {
                        store.call(&message).await??;
                    }
                    Ok::<_, airssys_wasm_bench::BoxError>(Some(store))
                });
            }
            if !raw_side {
                for name in &names {
                    let (host, name) = (host.clone(), name.clone());
                    tasks.spawn(async move {
                        for _ in 0..PER_TASK {
                            host.ask(&name, "echo", PAYLOAD).await?;
                        }
                        Ok::<_, airssys_wasm_bench::BoxError>(None)
                    });
                }
            }
            while let Some(done) = tasks.join_next().await {
                if let Some(store) = done?? {
                    stores.push(store);
                }
            }
            total += PER_TASK * ACTORS as u64;
        }
        eprintln!(
            "{:.0} msgs/s",
            total as f64 / started.elapsed().as_secs_f64()
        );
        system.shutdown().await?;
        Ok(())
    })
}
