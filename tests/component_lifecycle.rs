//! A component's life through the `Host` API: its state, its removal, and a new component
//! spawned under a removed name (which must be reachable, with its own counters).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use airssys_wasm::{ComponentState, ErrorKind};
use airssys_wasm_actors::Strategy;
use airssys_wasm_test_support::{
    FAULTY, TempDir, eventually, faulty_with, host, reply_text, supervisor,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_component_is_stopped_and_its_name_can_be_spawned_again() {
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 3).await;
    let dir = TempDir::new();
    faulty_with(&host, &sup, &dir, "phoenix", FAULTY).await;
    assert_eq!(host.state("phoenix").unwrap(), ComponentState::Running);
    assert_eq!(reply_text(host.ask("phoenix", "count", b"").await), "1");
    assert_eq!(reply_text(host.ask("phoenix", "count", b"").await), "2");

    host.remove_component("phoenix").await.unwrap();
    eventually("the registry to see the removal", || async {
        matches!(host.state("phoenix"), Ok(ComponentState::Stopped(_)))
    })
    .await;
    let after = host.ask("phoenix", "count", b"").await.unwrap_err();
    assert_eq!(after.kind(), ErrorKind::Stopped, "{after}");
    assert!(sup.children().is_empty(), "removed from its supervisor");
    let again = host.remove_component("phoenix").await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Stopped, "{again}");

    // The name again: a fresh component, reachable, with counters of its own.
    faulty_with(&host, &sup, &dir, "phoenix", FAULTY).await;
    assert_eq!(host.state("phoenix").unwrap(), ComponentState::Running);
    assert_eq!(reply_text(host.ask("phoenix", "count", b"").await), "1");
    assert_eq!(host.metrics("phoenix").unwrap().handled, 1);

    let unknown = host.remove_component("nobody").await.unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert_eq!(
        host.state("nobody").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    system.shutdown().await.unwrap();
}
