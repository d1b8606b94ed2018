//! `Host::events`: a component's lifecycle with the kind of the crash that caused a
//! restart; `Host::ask_timeout`; `Host::tell` waiting for room; a per-component shutdown
//! policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use airssys_wasm::{ComponentEvent, ErrorKind, Manifest, SpawnOptions};
use airssys_wasm_actors::{ShutdownPolicy, Strategy};
use airssys_wasm_test_support::{
    FAULTY, SMALL, TempDir, host, limits, logs, manifest_for, supervisor, until_call_started,
    until_mailbox_len, within,
};
use tokio::sync::broadcast;

/// The next event about `component`, skipping others.
async fn next_of(
    events: &mut broadcast::Receiver<ComponentEvent>,
    component: &str,
) -> ComponentEvent {
    within(async {
        loop {
            let event = events.recv().await.unwrap();
            let about = match &event {
                ComponentEvent::Started { component }
                | ComponentEvent::Restarted { component, .. }
                | ComponentEvent::Stopped { component, .. } => component.clone(),
            };
            if about == component {
                return event;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_the_kind_of_the_crash_that_restarted_a_component() {
    let dir = TempDir::new();
    let (system, host) = host().await;
    let mut events = host.events();
    let sup = supervisor(&system, Strategy::OneForAll, 10).await;
    let faulty = manifest_for(&dir, "faulty", "faulty", FAULTY, "");
    let echo = manifest_for(&dir, "echo", "echo", SMALL, "");
    host.spawn_component(&sup, Manifest::from_file(faulty).unwrap())
        .await
        .unwrap();
    host.spawn_component(&sup, Manifest::from_file(echo).unwrap())
        .await
        .unwrap();
    assert_eq!(
        next_of(&mut events, "faulty").await,
        ComponentEvent::Started {
            component: "faulty".into()
        }
    );
    for (topic, kind) in [
        ("trap", ErrorKind::Trap),
        ("burn", ErrorKind::Fuel),
        ("grow", ErrorKind::Memory),
    ] {
        assert_eq!(
            host.ask("faulty", topic, "").await.unwrap_err().kind(),
            kind
        );
        match next_of(&mut events, "faulty").await {
            ComponentEvent::Restarted { crash, .. } => assert_eq!(crash, Some(kind), "{topic}"),
            other => panic!("{topic}: {other:?}"),
        }
        // One-for-all: echo is restarted too, for its sibling's crash.
        match next_of(&mut events, "echo").await {
            ComponentEvent::Restarted { crash, .. } => assert_eq!(crash, None, "{topic}"),
            other => panic!("{topic}: {other:?}"),
        }
    }
    host.remove_component("echo").await.unwrap();
    match next_of(&mut events, "echo").await {
        ComponentEvent::Stopped { crash, .. } => assert_eq!(crash, None),
        other => panic!("{other:?}"),
    }
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_timeout_answers_timeout_at_its_limit_and_the_component_keeps_serving() {
    logs();
    let dir = TempDir::new();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let path = manifest_for(
        &dir,
        "faulty",
        "patient",
        limits("32MiB", "512KiB").time_ms(5_000),
        "",
    );
    host.spawn_component(&sup, Manifest::from_file(path).unwrap())
        .await
        .unwrap();
    let error = host
        .ask_timeout("patient", "sleep", "300", Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.to_string().contains("patient"), "{error}");
    let ok = host
        .ask_timeout("patient", "ok", "still here", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ok.payload, b"still here");
    assert_eq!(host.metrics("patient").unwrap().restarts, 0);
    let unknown = host
        .ask_timeout("nobody", "ok", "", Duration::from_secs(1))
        .await;
    assert_eq!(unknown.unwrap_err().kind(), ErrorKind::NotFound);
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tell_waits_for_room_where_try_tell_is_refused_overloaded() {
    logs();
    let dir = TempDir::new();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let path = manifest_for(
        &dir,
        "faulty",
        "narrow",
        limits("32MiB", "512KiB").time_ms(5_000),
        "",
    );
    let loaded = host.load(Manifest::from_file(path).unwrap()).await.unwrap();
    let options = SpawnOptions::default().mailbox_capacity(1);
    let address = host.spawn_loaded_with(&sup, loaded, options).await.unwrap();
    // The actor runs a slow message; one more fills the mailbox.
    address
        .tell(
            airssys_wasm::ComponentMessage {
                topic: "sleep".into(),
                payload: b"300".to_vec(),
                sender: None,
            }
            .into(),
        )
        .await
        .unwrap();
    until_call_started("narrow", "sleep").await;
    // Fill the mailbox until a try_tell is refused.
    let refused = (0..10)
        .find_map(|_| host.try_tell("narrow", "ok", "no room").err())
        .expect("a mailbox of one fills up");
    assert_eq!(refused.kind(), ErrorKind::Overloaded);
    assert_eq!(refused.into_message().payload, b"no room");
    within(host.tell("narrow", "count", "")).await.unwrap();
    until_mailbox_len(&address, 0).await;
    // The waiting tell ran, before this ask.
    let reply = within(host.ask("narrow", "count", "")).await.unwrap();
    assert_eq!(reply.payload, b"2");
    assert_eq!(
        host.tell("nobody", "ok", "").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_shutdown_policy_cuts_the_running_message_at_removal() {
    logs();
    let dir = TempDir::new();
    let (system, host) = host().await;
    let sup = supervisor(&system, Strategy::OneForOne, 10).await;
    let path = manifest_for(
        &dir,
        "faulty",
        "cut",
        limits("32MiB", "512KiB").time_ms(20_000),
        "",
    );
    let loaded = host.load(Manifest::from_file(path).unwrap()).await.unwrap();
    let options = SpawnOptions::default().shutdown_policy(ShutdownPolicy::Immediate);
    host.spawn_loaded_with(&sup, loaded, options).await.unwrap();
    let running = tokio::spawn(host.ask("cut", "sleep", "10000"));
    until_call_started("cut", "sleep").await;
    let removed = std::time::Instant::now();
    within(host.remove_component("cut")).await.unwrap();
    let answer = within(running).await.unwrap().unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Stopped, "{answer}");
    assert!(
        removed.elapsed() < Duration::from_secs(5),
        "not cut: {:?}",
        removed.elapsed()
    );
    system.shutdown().await.unwrap();
}
