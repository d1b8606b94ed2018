//! The host's hot paths, ours beside raw wasmtime in the same run: ask round trip (64 B and
//! 64 KiB), restart after a trap, spawning a component actor, loading a `.cwasm`.
//!
//! `cargo bench -p airssys-wasm-bench --bench host` (needs `scripts/build-guests` first)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use airssys_wasm::{Allocation, EngineConfig, Host, Manifest};
use airssys_wasm_bench::guests::{self, ECHO_RESOURCES, FAULTY_RESOURCES, Scratch};
use airssys_wasm_bench::raw::{self, RawComponent, RawEngine, RawInstance};
use airssys_wasm_bench::setup::{host, runtime};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tokio::sync::Mutex;
use wasmtime::component::Component;

/// Runs `fut` on a worker of `rt` (not on the blocking caller); it returns its own timing.
fn on_worker<F>(rt: &Runtime, fut: F) -> Duration
where
    F: Future<Output = Duration> + Send + 'static,
{
    rt.block_on(async move { tokio::spawn(fut).await.unwrap() })
}

/// A raw instance of `wasm`, with the engine settings of `host` for `manifest`.
async fn raw_side(
    host: &Host,
    wasm: &std::path::Path,
    manifest: &Manifest,
) -> (RawEngine, Arc<RawComponent>, Arc<Mutex<RawInstance>>) {
    let config = host
        .engine()
        .wasmtime_config(manifest.resources.max_stack)
        .unwrap();
    let engine = RawEngine::new(&config).unwrap();
    let component = Arc::new(engine.compile(wasm, &manifest.resources).unwrap());
    let instance = Arc::new(Mutex::new(component.instantiate().await.unwrap()));
    (engine, component, instance)
}

fn roundtrip(c: &mut Criterion, rt: &Runtime, scratch: &Scratch) {
    let wasm = guests::wasm("echo").unwrap();
    let (_, manifest) = scratch.manifest("echo", &wasm, ECHO_RESOURCES, "").unwrap();
    let cache = scratch.cache_dir();
    let (system, host, _engine, instance) = rt.block_on(async {
        let (system, host, supervisor) = host(EngineConfig::default().cache_dir(Some(cache)))
            .await
            .unwrap();
        host.spawn_component(&supervisor, manifest.clone())
            .await
            .unwrap();
        let (engine, _, instance) = raw_side(&host, &wasm, &manifest).await;
        (system, host, engine, instance)
    });
    for (name, size) in [("roundtrip_64b", 64), ("roundtrip_64kib", 64 << 10)] {
        let payload: Arc<[u8]> = vec![b'x'; size].into();
        let mut group = c.benchmark_group(name);
        group.measurement_time(Duration::from_secs(3));
        group.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                let (host, payload) = (host.clone(), payload.clone());
                on_worker(rt, async move {
                    let started = Instant::now();
                    for _ in 0..iters {
                        host.ask("echo", "echo", &payload[..]).await.unwrap();
                    }
                    started.elapsed()
                })
            })
        });
        group.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                let (instance, payload) = (instance.clone(), payload.clone());
                on_worker(rt, async move {
                    let mut instance = instance.lock().await;
                    let message = raw::message("echo", &payload);
                    let started = Instant::now();
                    for _ in 0..iters {
                        instance.call(&message).await.unwrap().unwrap();
                    }
                    started.elapsed()
                })
            })
        });
        group.finish();
    }
    rt.block_on(system.shutdown()).unwrap();
}

fn restart(c: &mut Criterion, rt: &Runtime, scratch: &Scratch) {
    let wasm = guests::wasm("faulty").unwrap();
    let (_, manifest) = scratch
        .manifest("faulty", &wasm, FAULTY_RESOURCES, "")
        .unwrap();
    let config = EngineConfig::default()
        .cache_dir(Some(scratch.cache_dir()))
        .allocation(Allocation::Pooling {
            max_instances: 16,
            max_memory_per_instance: 32 << 20,
        });
    let (system, host, _engine, component, instance) = rt.block_on(async {
        let (system, host, supervisor) = host(config).await.unwrap();
        host.spawn_component(&supervisor, manifest.clone())
            .await
            .unwrap();
        let (engine, component, instance) = raw_side(&host, &wasm, &manifest).await;
        (system, host, engine, component, instance)
    });
    let mut group = c.benchmark_group("restart_after_trap");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            let host = host.clone();
            on_worker(rt, async move {
                let started = Instant::now();
                for _ in 0..iters {
                    let trap = host.ask("faulty", "trap", b"");
                    let next = host.ask("faulty", "count", b"");
                    assert_eq!(next.await.unwrap().payload, b"1");
                    assert!(trap.await.is_err());
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("raw", |b| {
        b.iter_custom(|iters| {
            let (component, instance) = (component.clone(), instance.clone());
            on_worker(rt, async move {
                let mut instance = instance.lock().await;
                let (trap, count) = (raw::message("trap", b""), raw::message("count", b""));
                let started = Instant::now();
                for _ in 0..iters {
                    assert!(instance.call(&trap).await.is_err());
                    *instance = component.instantiate().await.unwrap();
                    assert_eq!(instance.call(&count).await.unwrap().unwrap(), b"1");
                }
                started.elapsed()
            })
        })
    });
    group.finish();
    rt.block_on(system.shutdown()).unwrap();
}

fn spawn(c: &mut Criterion, rt: &Runtime, scratch: &Arc<Scratch>) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let wasm = guests::wasm("echo").unwrap();
    let cache = scratch.cache_dir();
    let mut group = c.benchmark_group("spawn_component_actor");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            let (scratch, wasm, cache) = (scratch.clone(), wasm.clone(), cache.clone());
            on_worker(rt, async move {
                // A fresh host per sample; every actor needs its own name, so its own
                // (untimed) load.
                let (system, host, supervisor) =
                    host(EngineConfig::default().cache_dir(Some(cache)))
                        .await
                        .unwrap();
                let mut loaded = Vec::new();
                for _ in 0..iters {
                    let name = format!("spawn-{}", NEXT.fetch_add(1, Ordering::Relaxed));
                    let (_, manifest) = scratch.manifest(&name, &wasm, ECHO_RESOURCES, "").unwrap();
                    loaded.push(host.load(manifest).await.unwrap());
                }
                let started = Instant::now();
                for component in loaded {
                    host.spawn_loaded(&supervisor, component).await.unwrap();
                }
                let elapsed = started.elapsed();
                system.shutdown().await.unwrap();
                elapsed
            })
        })
    });
    let (_, manifest) = scratch.manifest("echo", &wasm, ECHO_RESOURCES, "").unwrap();
    let (system, _host, _engine, component) = rt.block_on(async {
        let (system, host, _) = host(EngineConfig::default().cache_dir(Some(cache.clone())))
            .await
            .unwrap();
        let (engine, component, _) = raw_side(&host, &wasm, &manifest).await;
        (system, host, engine, component)
    });
    group.bench_function("raw", |b| {
        b.iter_custom(|iters| {
            let component = component.clone();
            on_worker(rt, async move {
                let mut live = Vec::new();
                let started = Instant::now();
                for _ in 0..iters {
                    live.push(component.instantiate().await.unwrap());
                }
                started.elapsed()
            })
        })
    });
    group.finish();
    rt.block_on(system.shutdown()).unwrap();
}

fn load_cwasm(c: &mut Criterion, rt: &Runtime, scratch: &Scratch) {
    let wasm = std::fs::read(guests::wasm("echo").unwrap()).unwrap();
    let cache = scratch.cache_dir();
    let (system, host, _) = rt.block_on(async {
        host(EngineConfig::default().cache_dir(Some(cache)))
            .await
            .unwrap()
    });
    let cwasm = scratch
        .write("echo.cwasm", &host.engine().precompile(&wasm).unwrap())
        .unwrap();
    let (path, manifest): (PathBuf, Manifest) = scratch
        .manifest("echo-cwasm", &cwasm, ECHO_RESOURCES, "")
        .unwrap();
    let config = host
        .engine()
        .wasmtime_config(manifest.resources.max_stack)
        .unwrap();
    let engine = RawEngine::new(&config).unwrap();
    let mut group = c.benchmark_group("load_cwasm");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            let (host, path) = (host.clone(), path.clone());
            on_worker(rt, async move {
                let mut loaded = Vec::new();
                let started = Instant::now();
                for _ in 0..iters {
                    loaded.push(
                        host.load(Manifest::from_file(&path).unwrap())
                            .await
                            .unwrap(),
                    );
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("raw", |b| {
        b.iter_custom(|iters| {
            let mut loaded = Vec::new();
            let started = Instant::now();
            for _ in 0..iters {
                // SAFETY: written just above by `precompile` for this very configuration.
                loaded
                    .push(unsafe { Component::deserialize_file(engine.engine(), &cwasm) }.unwrap());
            }
            started.elapsed()
        })
    });
    group.finish();
    rt.block_on(system.shutdown()).unwrap();
}

fn benches(c: &mut Criterion) {
    let rt = runtime().unwrap();
    let scratch = Arc::new(Scratch::new().unwrap());
    roundtrip(c, &rt, &scratch);
    restart(c, &rt, &scratch);
    spawn(c, &rt, &scratch);
    load_cwasm(c, &rt, &scratch);
}

criterion_group!(host_benches, benches);
criterion_main!(host_benches);
