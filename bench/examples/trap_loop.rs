//! Profiling aid: a `trap` ask to `faulty` and a `count` answered by the fresh instance,
//! in a loop for a few seconds (with `trap` as first argument, the trapping asks alone);
//! prints the time per cycle and per trapping ask. `perf record -g` this to see where a
//! restart goes.
use std::time::{Duration, Instant};

use airssys_wasm::Allocation;
use airssys_wasm_bench::guests::{self, FAULTY_RESOURCES, Scratch};
use airssys_wasm_bench::measure::on_worker;
use airssys_wasm_bench::setup::{host, host_config, runtime};

fn main() -> airssys_wasm_bench::Result<()> {
    let only_trap = std::env::args().nth(1).as_deref() == Some("trap");
    on_worker(&runtime()?, async move {
        let scratch = Scratch::new()?;
        let wasm = guests::wasm("faulty")?;
        let (_, manifest) = scratch.manifest("faulty", &wasm, FAULTY_RESOURCES, "")?;
        let pool = Allocation::Pooling {
            max_instances: 16,
            max_memory_per_instance: 32 << 20,
        };
        let (system, host, sup) = host(host_config(&scratch).allocation(pool)).await?;
        host.spawn_component(&sup, manifest).await?;
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
        Ok(())
    })
}
