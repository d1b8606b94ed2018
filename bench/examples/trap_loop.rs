//! Profiling aid: a `trap` ask to `faulty` and a `count` answered by the fresh instance,
//! in a loop for a few seconds (with `trap` as first argument, the trapping asks alone);
//! prints the time per cycle and per trapping ask. `perf record -g` this to see where a
//! restart goes.
use airssys_wasm::{Allocation, Host, HostConfig};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SystemConfig};
use airssys_wasm_bench::guests::{self, FAULTY_RESOURCES, Scratch};
use std::time::{Duration, Instant};

fn main() -> airssys_wasm_bench::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        tokio::spawn(async move {
            let scratch = Scratch::new()?;
            let wasm = guests::wasm("faulty")?;
            let (_, manifest) = scratch.manifest("faulty", &wasm, FAULTY_RESOURCES, "")?;
            let system = ActorSystem::new(SystemConfig::default());
            let host = Host::start(
                &system,
                HostConfig::default()
                    .cache_dir(Some(scratch.cache_dir()))
                    .allocation(Allocation::Pooling {
                        max_instances: 16,
                        max_memory_per_instance: 32 << 20,
                    }),
            )
            .await?;
            let sup = system
                .spawn_supervisor(
                    SupervisorConfig::new(Strategy::OneForOne)
                        .restart_limit(1_000_000, Duration::from_secs(1)),
                )
                .start()
                .await?;
            host.spawn_component(&sup, manifest.clone()).await?;
            let only_trap = std::env::args().nth(1).as_deref() == Some("trap");
            let started = Instant::now();
            let mut n = 0u64;
            let mut trap_time = Duration::ZERO;
            while started.elapsed() < Duration::from_secs(5) {
                let t = Instant::now();
                let _ = host.ask("faulty", "trap", b"").await;
                trap_time += t.elapsed();
                if !only_trap {
                    host.ask("faulty", "count", b"").await?;
                }
                n += 1;
            }
            eprintln!(
                "{} us per cycle, trap {} us",
                started.elapsed().as_micros() as u64 / n,
                trap_time.as_micros() as u64 / n
            );
            system.shutdown().await?;
            airssys_wasm_bench::Result::Ok(())
        })
        .await?
    })
}
