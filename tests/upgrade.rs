//! `Host::upgrade`: a component upgraded in place keeps its name, mailbox and counters;
//! the running message finishes on the old version, queued and later ones run on the new;
//! under a steady load every ask is answered and none refused; a new version that does not
//! load leaves the old one serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use airssys_wasm::{ErrorKind, Manifest};
use airssys_wasm_actors::Strategy;
use airssys_wasm_test_support::{
    TempDir, WAIT, host, limits, logs, manifest_for, reply_text, supervisor, until_call_started,
    wait_until, within,
};

/// The faulty guest, 5 s a message, its `config greeting` saying `greeting`.
fn version(dir: &TempDir, greeting: &str) -> Manifest {
    let path = manifest_for(
        dir,
        "faulty",
        "greeter",
        limits("32MiB", "512KiB").time_ms(5_000),
        &format!("[config]\ngreeting = \"{greeting}\"\n"),
    );
    Manifest::from_file(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_message_finishes_on_the_old_version_and_queued_ones_run_on_the_new() {
    logs();
    let dir = TempDir::new();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let address = host
        .spawn_component(&sup, version(&dir, "v1"))
        .await
        .unwrap();
    let before = host.ask("greeter", "config", "greeting").await;
    assert_eq!(reply_text(before), "v1");

    let slow = tokio::spawn(host.ask("greeter", "sleep", "300"));
    until_call_started("greeter", "sleep").await;
    let queued = tokio::spawn(host.ask("greeter", "config", "greeting"));
    // Taken by the actor, which waits for the lane the slow message holds.
    wait_until(WAIT, || !address.is_idle()).await;

    let loaded = host.upgrade(version(&dir, "v2")).await.unwrap();
    assert_eq!(loaded.name(), "greeter");
    assert_eq!(reply_text(slow.await.unwrap()), "slept");
    assert_eq!(reply_text(queued.await.unwrap()), "v2");
    let after = host.ask("greeter", "config", "greeting").await;
    assert_eq!(reply_text(after), "v2");

    // The same actor and mailbox, the counters carried on, and a restart starts the new version.
    let now = system
        .lookup::<airssys_wasm::WasmComponentActor>("greeter")
        .unwrap();
    assert_eq!(now.id(), address.id());
    assert_eq!(host.metrics("greeter").unwrap().handled, 4);
    assert_eq!(
        host.ask("greeter", "trap", "").await.unwrap_err().kind(),
        ErrorKind::Trap
    );
    let restarted = within(host.ask("greeter", "config", "greeting")).await;
    assert_eq!(reply_text(restarted), "v2");
    assert_eq!(host.metrics("greeter").unwrap().restarts, 1);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_steady_load_of_asks_every_ask_is_answered_and_replies_switch_to_the_new_version() {
    let dir = TempDir::new();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    host.spawn_component(&sup, version(&dir, "v1"))
        .await
        .unwrap();
    let upgraded = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (host, upgraded, running) = (host.clone(), upgraded.clone(), running.clone());
            tokio::spawn(async move {
                let mut replies = Vec::new();
                // Until well after the upgrade returned: 200 asks past it.
                let mut after = 0;
                while after < 200 {
                    let reply = host.ask("greeter", "config", "greeting").await;
                    let reply = reply.unwrap_or_else(|e| panic!("an ask failed: {e}"));
                    if replies.len() == 10 {
                        running.fetch_add(1, Ordering::SeqCst);
                    }
                    replies.push(String::from_utf8(reply.payload).unwrap());
                    if upgraded.load(Ordering::SeqCst) {
                        after += 1;
                    }
                }
                replies
            })
        })
        .collect();
    // Every task has asked the old version first.
    wait_until(WAIT, || running.load(Ordering::SeqCst) == 4).await;
    let dir2 = TempDir::new();
    host.upgrade(version(&dir2, "v2")).await.unwrap();
    upgraded.store(true, Ordering::SeqCst);
    for task in load {
        let replies = within(task).await.unwrap();
        let first_new = replies
            .iter()
            .position(|r| r == "v2")
            .expect("replies switch to v2");
        assert!(first_new > 10, "the load began on v1");
        assert!(
            replies[first_new..].iter().all(|r| r == "v2"),
            "no v1 reply after the first v2 one: {:?}",
            &replies[first_new..]
        );
        assert!(replies.len() >= 200);
    }
    assert_eq!(host.metrics("greeter").unwrap().restarts, 0);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_that_does_not_load_leaves_the_old_one_serving() {
    let dir = TempDir::new();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    host.spawn_component(&sup, version(&dir, "v1"))
        .await
        .unwrap();

    let broken = TempDir::new();
    broken.write("broken.wasm", b"\0asm but not really");
    let text = std::fs::read_to_string(dir.path().join("greeter.toml"))
        .unwrap()
        .replace("greeting = \"v1\"", "greeting = \"broken\"");
    let wasm_line = text
        .lines()
        .find(|l| l.starts_with("wasm = "))
        .unwrap()
        .to_string();
    let path = broken.write(
        "greeter.toml",
        text.replace(&wasm_line, "wasm = \"broken.wasm\""),
    );
    let error = host
        .upgrade(Manifest::from_file(path).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Component, "{error}");

    let missing = airssys_wasm_test_support::wasm_path("missing-import");
    let text = text.replace(&wasm_line, &format!("wasm = \"{}\"", missing.display()));
    let path = broken.write("greeter.toml", text);
    let error = host
        .upgrade(Manifest::from_file(path).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Link, "{error}");

    let reply = host.ask("greeter", "config", "greeting").await;
    assert_eq!(reply_text(reply), "v1");
    let unknown = host.upgrade({
        let mut m = version(&broken, "v3");
        m.component.name = "nobody".into();
        m
    });
    assert_eq!(unknown.await.unwrap_err().kind(), ErrorKind::NotFound);
    system.shutdown().await.unwrap();
}
