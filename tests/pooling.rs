//! A host on wasmtime's pooling allocator (`Allocation::Pooling`): components serve,
//! restart into a fresh slot with their initial state (data segments copied in, not
//! mapped copy-on-write), report their memory limit, and a full pool is a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use airssys_wasm::{Allocation, EngineConfig, ErrorKind, Host, Manifest};
use airssys_wasm_actors::{ActorSystem, Strategy, SystemConfig};
use airssys_wasm_test_support::{
    Resources, TempDir, cache_dir, faulty_with, limits, manifest_for, reply_text, supervisor,
};

const RESOURCES: Resources = limits("4MiB", "512KiB");

async fn pooled(max_instances: u32) -> (ActorSystem, Host) {
    let system = ActorSystem::new(SystemConfig::default());
    let config = EngineConfig::default()
        .cache_dir(Some(cache_dir()))
        .allocation(Allocation::Pooling {
            max_instances,
            max_memory_per_instance: 8 << 20,
        });
    let host = Host::start(&system, config).await.unwrap();
    (system, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_component_restarts_into_a_fresh_slot_with_its_initial_state() {
    let (system, host) = pooled(4).await;
    let sup = supervisor(&system, Strategy::OneForOne, 100).await;
    let dir = TempDir::new();
    faulty_with(&host, &sup, &dir, "pooled", RESOURCES).await;
    for round in 0..5 {
        assert_eq!(
            reply_text(host.ask("pooled", "count", b"").await),
            "1",
            "{round}"
        );
        assert_eq!(
            reply_text(host.ask("pooled", "count", b"").await),
            "2",
            "{round}"
        );
        let err = host.ask("pooled", "trap", b"").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Trap, "{err}");
    }
    let err = host.ask("pooled", "grow", b"").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
    assert_eq!(reply_text(host.ask("pooled", "count", b"").await), "1");
    assert_eq!(host.metrics("pooled").unwrap().restarts, 6);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_refuses_one_more_component_by_name() {
    let (system, host) = pooled(2).await;
    let sup = supervisor(&system, Strategy::OneForOne, 100).await;
    let dir = TempDir::new();
    for name in ["pool-a", "pool-b"] {
        faulty_with(&host, &sup, &dir, name, RESOURCES).await;
    }
    let path = manifest_for(&dir, "faulty", "pool-c", RESOURCES, "");
    let err = host
        .spawn_component(&sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{text}");
    assert!(text.contains("pool-c"), "{text}");
    assert!(text.contains("cannot instantiate it"), "{text}");
    assert!(text.contains("limit of 2"), "{text}");
    assert!(!text.contains("trapped"), "not the guest's fault: {text}");
    // The two in the pool still serve.
    assert_eq!(
        host.ask("pool-b", "count", b"").await.unwrap().payload,
        b"1"
    );
    system.shutdown().await.unwrap();
}
