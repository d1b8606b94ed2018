//! Profiling aid: 1,000 `echo` components, one sender task each, `Host::ask` for a few
//! seconds (or 1,000 raw stores with `raw` as first argument); prints msgs/s.
use std::time::{Duration, Instant};

use airssys_wasm::{Host, HostConfig};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SystemConfig};
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::raw::{self, RawEngine};
use tokio::task::JoinSet;

const PAYLOAD: &[u8] = &[b'x'; 64];

fn main() -> airssys_wasm_bench::Result<()> {
    let raw_side = std::env::args().nth(1).as_deref() == Some("raw");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        tokio::spawn(async move {
            let scratch = Scratch::new()?;
            let wasm = guests::wasm("echo")?;
            let system = ActorSystem::new(SystemConfig::default());
            let host = Host::start(
                &system,
                HostConfig::default().cache_dir(Some(scratch.cache_dir())),
            )
            .await?;
            let sup = system
                .spawn_supervisor(SupervisorConfig::new(Strategy::OneForOne))
                .start()
                .await?;
            let mut names = Vec::new();
            let mut resources = None;
            for i in 0..1000 {
                let name = format!("tp-{i}");
                let (_, manifest) = scratch.manifest(&name, &wasm, ECHO_RESOURCES, "")?;
                resources = Some(manifest.resources);
                if !raw_side {
                    host.spawn_component(&sup, manifest).await?;
                }
                names.push(name);
            }
            let resources = resources.ok_or("no manifest")?;
            let raw_engine = RawEngine::new(&host.engine().wasmtime_config(resources.max_stack)?)?;
            let component = raw_engine.compile(&wasm, &resources)?;
            let mut stores = Vec::new();
            if raw_side {
                for _ in 0..1000 {
                    stores.push(component.instantiate().await?);
                }
            }
            let started = Instant::now();
            let mut total = 0u64;
            while started.elapsed() < Duration::from_secs(8) {
                let mut tasks = JoinSet::new();
                if raw_side {
                    for mut store in stores.drain(..) {
                        tasks.spawn(async move {
                            let message = raw::message("echo", PAYLOAD);
                            for _ in 0..200 {
                                store.call(&message).await??;
                            }
                            Ok::<_, airssys_wasm_bench::BoxError>(Some(store))
                        });
                    }
                } else {
                    for name in &names {
                        let (host, name) = (host.clone(), name.clone());
                        tasks.spawn(async move {
                            for _ in 0..200 {
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
                total += 200 * 1000;
            }
            eprintln!(
                "{:.0} msgs/s",
                total as f64 / started.elapsed().as_secs_f64()
            );
            system.shutdown().await?;
            airssys_wasm_bench::Result::Ok(())
        })
        .await?
    })
}
