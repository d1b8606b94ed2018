//! Profiling aid: `SupervisorRef::add_child` of a trivial native actor in a loop for a
//! few seconds (the supervision machinery of a spawn alone), filling supervisors of N
//! children (first argument, default 500); prints µs per spawn.
use std::time::{Duration, Instant};

use airssys_wasm_actors::{ActorSystem, ChildSpec, Strategy, SupervisorConfig, SystemConfig};
use airssys_wasm_bench::measure::on_worker;
use airssys_wasm_bench::native::OursAdder;
use airssys_wasm_bench::setup::runtime;

fn main() -> airssys_wasm_bench::Result<()> {
    let children: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    on_worker(&runtime()?, async move {
        let system = ActorSystem::new(SystemConfig::default());
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < Duration::from_secs(5) {
            let sup = system
                .spawn_supervisor(SupervisorConfig::new(Strategy::OneForOne))
                .start()
                .await?;
            for i in 0..children {
                sup.add_child(ChildSpec::new(format!("native-{i}"), OursAdder::default))
                    .await?;
            }
            n += children as u64;
            sup.stop().await;
        }
        eprintln!(
            "{:.1} us per spawn (stops included)",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        system.shutdown().await?;
        Ok(())
    })
}
