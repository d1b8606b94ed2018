//! Profiling aid: `Host::ask` to `echo` (64 B) in a loop for a few seconds, or the raw
//! call with `raw` as first argument. `perf record -g` this to see where a round trip goes.
use std::time::{Duration, Instant};

use airssys_wasm::{Host, HostConfig};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SystemConfig};
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::raw::{self, RawEngine};

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
            let (_, manifest) = scratch.manifest("echo", &wasm, ECHO_RESOURCES, "")?;
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
            host.spawn_component(&sup, manifest.clone()).await?;
            let raw_engine = RawEngine::new(
                &host
                    .engine()
                    .wasmtime_config(manifest.resources.max_stack)?,
            )?;
            let mut raw = raw_engine
                .compile(&wasm, &manifest.resources)?
                .instantiate()
                .await?;
            let msg = raw::message("echo", &[b'x'; 64]);
            {
                let f = host.ask("echo", "echo", vec![1u8]);
                eprintln!("ask future: {} bytes", std::mem::size_of_val(&f));
                f.await?;
            }
            let started = Instant::now();
            let mut n = 0u64;
            let mut buffer = vec![b'x'; 64];
            while started.elapsed() < Duration::from_secs(6) {
                for _ in 0..10_000 {
                    if raw_side {
                        raw.call(&msg).await??;
                    } else {
                        buffer = host
                            .ask("echo", "echo", std::mem::take(&mut buffer))
                            .await?
                            .payload;
                    }
                }
                n += 10_000;
            }
            eprintln!("{} ns per call", started.elapsed().as_nanos() as u64 / n);
            system.shutdown().await?;
            airssys_wasm_bench::Result::Ok(())
        })
        .await?
    })
}
