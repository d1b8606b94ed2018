//! Native actors, ours beside kameo in the same run: ask round trip and tell throughput,
//! with 1 actor and with 1,000 actors driven concurrently, on a 2-worker multi-thread
//! tokio runtime.
//!
//! `cargo bench -p airssys-wasm-bench --bench native`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

use airssys_wasm_actors::{ActorRef, ActorSystem, SystemConfig};
use airssys_wasm_bench::native::{
    KameoAdder, OursAdder, ask_kameo, ask_ours, spawn_kameo, spawn_ours, tell_kameo, tell_ours,
};
use airssys_wasm_bench::setup::runtime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

type KameoRef = kameo::actor::ActorRef<KameoAdder>;

/// Runs `fut` on a worker of `rt` (not on the blocking caller) and returns its duration.
fn time_on<F>(rt: &Runtime, fut: F) -> Duration
where
    F: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async move {
        tokio::spawn(async move {
            let started = Instant::now();
            fut.await;
            started.elapsed()
        })
        .await
        .unwrap()
    })
}

/// Splits `iters` messages over `actors` senders; returns the per-sender count and the
/// factor that scales the measured time back to `iters` messages.
fn split(iters: u64, actors: usize) -> (u64, f64) {
    let per = iters.div_ceil(actors as u64).max(1);
    (per, iters as f64 / (per * actors as u64) as f64)
}

fn many_ours(rt: &Runtime, actors: &[ActorRef<OursAdder>], iters: u64, tell: bool) -> Duration {
    let (per, scale) = split(iters, actors.len());
    let actors = actors.to_vec();
    time_on(rt, async move {
        let mut tasks = JoinSet::new();
        for actor in actors {
            tasks.spawn(async move {
                if tell {
                    tell_ours(&actor, per).await.unwrap();
                } else {
                    ask_ours(&actor, per).await.unwrap();
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    })
    .mul_f64(scale)
}

fn many_kameo(rt: &Runtime, actors: &[KameoRef], iters: u64, tell: bool) -> Duration {
    let (per, scale) = split(iters, actors.len());
    let actors = actors.to_vec();
    time_on(rt, async move {
        let mut tasks = JoinSet::new();
        for actor in actors {
            tasks.spawn(async move {
                if tell {
                    tell_kameo(&actor, per).await.unwrap();
                } else {
                    ask_kameo(&actor, per).await.unwrap();
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    })
    .mul_f64(scale)
}

fn native(c: &mut Criterion) {
    let rt = runtime().unwrap();
    let system = ActorSystem::new(SystemConfig::default());
    let (ours, peers) = rt.block_on(async {
        tokio::spawn({
            let system = system.clone();
            async move {
                (
                    spawn_ours(&system, 1_000).await.unwrap(),
                    spawn_kameo(1_000).await,
                )
            }
        })
        .await
        .unwrap()
    });

    for (what, tell) in [("ask_roundtrip", false), ("tell_throughput", true)] {
        for count in [1, 1_000] {
            let mut group = c.benchmark_group(format!("{what}/{count}_actors"));
            group.throughput(Throughput::Elements(1));
            group.measurement_time(Duration::from_secs(3));
            let (ours, peers) = (&ours[..count], &peers[..count]);
            group.bench_function("ours", |b| {
                b.iter_custom(|iters| many_ours(&rt, ours, iters, tell))
            });
            group.bench_function("kameo", |b| {
                b.iter_custom(|iters| many_kameo(&rt, peers, iters, tell))
            });
            group.finish();
        }
    }
    rt.block_on(system.shutdown()).unwrap();
}

criterion_group!(benches, native);
criterion_main!(benches);
