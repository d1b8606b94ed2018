//! Profiling aid: `Host::ask` to `echo` (64 B) in a loop for a few seconds, or the raw
//! call with `raw` as first argument. `perf record -g` this to see where a round trip goes.
use std::time::{Duration, Instant};

use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, Scratch};
use airssys_wasm_bench::measure::on_worker;
use airssys_wasm_bench::raw::{self, RawEngine};
use airssys_wasm_bench::setup::{host, host_config, runtime};

fn main() -> airssys_wasm_bench::Result<()> {
    let raw_side = std::env::args().nth(1).as_deref() == Some("raw");
    on_worker(&runtime()?, async move {
        let scratch = Scratch::new()?;
        let wasm = guests::wasm("echo")?;
        let (_, manifest) = scratch.manifest("echo", &wasm, ECHO_RESOURCES, "")?;
        let (system, host, sup) = host(host_config(&scratch)).await?;
        host.spawn_component(&sup, manifest.clone()).await?;
        let mut raw = RawEngine::of(&host, &manifest.resources)?
            .compile(&wasm, &manifest.resources)?
            .instantiate()
            .await?;
        let msg = raw::message("echo", &[b'x'; 64]);
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
        Ok(())
    })
}
