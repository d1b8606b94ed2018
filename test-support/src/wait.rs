//! Waits, each bounded by a timeout: on an event ([`wait_for`]), on a condition
//! ([`wait_until`], [`eventually`], [`until_mailbox_len`]), on a future ([`within`],
//! [`poll_once`]). Never a bare sleep standing for "it has happened by now": a sleep in
//! here is a polling interval between two checks.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use airssys_wasm_actors::{Actor, ActorRef, LifecycleEvent};
use tokio::sync::broadcast;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Waits (up to [`WAIT`]) for the first event matching `pred`; panics otherwise.
pub async fn wait_for(
    events: &mut broadcast::Receiver<LifecycleEvent>,
    mut pred: impl FnMut(&LifecycleEvent) -> bool,
) -> LifecycleEvent {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) if pred(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
            }
        }
    })
    .await;
    found.expect("timed out waiting for a lifecycle event")
}

/// Matches the `Restarted` event of `actor`.
pub fn is_restarted(actor: &str) -> impl FnMut(&LifecycleEvent) -> bool + '_ {
    move |event| matches!(event, LifecycleEvent::Restarted { actor: a, .. } if a == actor)
}

/// Matches the `Stopped` event of `actor`.
pub fn is_stopped(actor: &str) -> impl FnMut(&LifecycleEvent) -> bool + '_ {
    move |event| matches!(event, LifecycleEvent::Stopped { actor: a, .. } if a == actor)
}

/// Awaits `fut` for at most [`WAIT`].
pub async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(WAIT, fut).await.expect("timed out")
}

/// Waits until `cond` holds, checking it every millisecond; panics after `timeout`.
/// For state that announces no event (a counter, `is_alive`, a mailbox length).
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) {
    let polled = tokio::time::timeout(timeout, async {
        while !cond() {
            // The polling interval, not a guess that something has happened.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "condition not met within {timeout:?}");
}

/// Waits until the asynchronous `check` holds, failing after [`WAIT`] with `what`.
pub async fn eventually<F: Future<Output = bool>>(what: &str, check: impl FnMut() -> F) {
    eventually_within(WAIT, what, check).await;
}

/// Waits until the asynchronous `check` holds, failing after `limit` with `what` (for
/// what takes longer than [`WAIT`] by design: a reconnect, a retry period).
pub async fn eventually_within<F: Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        // The polling interval, not a guess that something has happened.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `actor`'s mailbox holds at most `len` messages (for example: until it
/// has taken a blocking message out and is handling it).
pub async fn until_mailbox_len<A: Actor>(actor: &ActorRef<A>, len: usize) {
    wait_until(WAIT, || actor.mailbox_len() <= len).await;
}

/// Polls `fut` exactly once (outside tokio's cooperative budget, so a ready channel
/// is not refused for budget). Whatever `fut` does before it first waits has then
/// happened: the first poll of `ActorSystem::shutdown` has sent the last top-level
/// task its stop command; a `tell` to a full mailbox has found it full.
pub async fn poll_once<F: Future + ?Sized>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    tokio::task::unconstrained(std::future::poll_fn(move |cx| {
        Poll::Ready(fut.as_mut().poll(cx))
    }))
    .await
}
