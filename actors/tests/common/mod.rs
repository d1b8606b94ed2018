//! Shared test fixtures: a scriptable `Worker` actor that records its hooks in a
//! shared log, and wait helpers, each bounded by a timeout: on an event
//! ([`wait_for`]), on a condition ([`wait_until`], [`until_mailbox_len`]), on a
//! future ([`within`], [`poll_once`]). Never a bare sleep standing for "it has
//! happened by now".

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::Poll;
use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use tokio::sync::{Notify, broadcast};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Ordered record of hook calls across actors: `start:a`, `stop:a`, ...
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// Entries recorded since `mark` (an index from `len`).
    pub fn since(&self, mark: usize) -> Vec<String> {
        self.entries()[mark..].to_vec()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// What a [`Worker`] is asked to do.
pub enum Cmd {
    /// Add to the state; replies the new state.
    Add(u64),
    /// Replies the state.
    Get,
    /// Replies the restart count.
    Restarts,
    /// Returns an error whose `on_error` answer is the given action.
    Fail(ErrorAction),
    /// Panics.
    Panic,
    /// Calls `ctx.stop()`; replies the state.
    StopSelf,
    /// Blocks until the notify fires; replies the state.
    Wait(Arc<Notify>),
    /// Sleeps; replies the state.
    Sleep(Duration),
}

#[derive(Debug, thiserror::Error)]
#[error("worker `{worker}` failed")]
pub struct WorkerError {
    pub worker: String,
    pub action: ErrorAction,
}

/// Flags shared with the test to steer a worker's hooks.
#[derive(Clone, Default)]
pub struct Knobs {
    /// `health_check` answers `Unhealthy` while set.
    pub unhealthy: Arc<AtomicBool>,
    /// `health_check` takes this long (ms).
    pub health_delay_ms: Arc<AtomicU32>,
    /// Number of health checks run.
    pub health_checks: Arc<AtomicU32>,
    /// `pre_start` fails while set.
    pub fail_start: Arc<AtomicBool>,
    /// `pre_start` panics while set.
    pub panic_start: Arc<AtomicBool>,
    /// `post_stop` panics while set.
    pub panic_stop: Arc<AtomicBool>,
    /// Set from `pre_start` to `post_stop`: detects overlapping incarnations.
    pub live: Arc<AtomicBool>,
    /// Set if two incarnations ever overlapped.
    pub overlapped: Arc<AtomicBool>,
}

pub struct Worker {
    pub name: String,
    pub log: Log,
    pub knobs: Knobs,
    pub state: u64,
}

impl Worker {
    pub fn new(name: &str, log: &Log) -> Self {
        Self::with_knobs(name, log, &Knobs::default())
    }

    pub fn with_knobs(name: &str, log: &Log, knobs: &Knobs) -> Self {
        Self {
            name: name.to_owned(),
            log: log.clone(),
            knobs: knobs.clone(),
            state: 0,
        }
    }

    fn error(&self, action: ErrorAction) -> WorkerError {
        WorkerError {
            worker: self.name.clone(),
            action,
        }
    }
}

impl Actor for Worker {
    type Message = Cmd;
    type Reply = u64;
    type Error = WorkerError;

    async fn pre_start(&mut self, ctx: &mut ActorContext<Self>) -> Result<(), WorkerError> {
        if self.knobs.live.swap(true, Ordering::SeqCst) {
            self.knobs.overlapped.store(true, Ordering::SeqCst);
        }
        if self.knobs.panic_start.load(Ordering::SeqCst) {
            panic!("boom: pre_start of {}", self.name);
        }
        if self.knobs.fail_start.load(Ordering::SeqCst) {
            self.knobs.live.store(false, Ordering::SeqCst);
            return Err(self.error(ErrorAction::Restart));
        }
        self.log.push(format!("start:{}", self.name));
        let _ = ctx.restart_count();
        Ok(())
    }

    async fn post_stop(&mut self, _ctx: &mut ActorContext<Self>) {
        // Yield so that an overlapping start would have a chance to run.
        tokio::task::yield_now().await;
        self.log.push(format!("stop:{}", self.name));
        self.knobs.live.store(false, Ordering::SeqCst);
        if self.knobs.panic_stop.load(Ordering::SeqCst) {
            panic!("boom: post_stop of {}", self.name);
        }
    }

    fn on_error(&mut self, error: &WorkerError, _ctx: &mut ActorContext<Self>) -> ErrorAction {
        error.action
    }

    async fn health_check(&mut self, _ctx: &mut ActorContext<Self>) -> HealthStatus {
        self.knobs.health_checks.fetch_add(1, Ordering::SeqCst);
        let delay = self.knobs.health_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            // The behaviour under test: a slow health check (not a wait for something).
            tokio::time::sleep(Duration::from_millis(u64::from(delay))).await;
        }
        if self.knobs.unhealthy.load(Ordering::SeqCst) {
            HealthStatus::Unhealthy("knob set".to_owned())
        } else {
            HealthStatus::Healthy
        }
    }

    async fn handle_message(
        &mut self,
        msg: Cmd,
        ctx: &mut ActorContext<Self>,
    ) -> Result<u64, WorkerError> {
        match msg {
            Cmd::Add(n) => {
                self.state += n;
                Ok(self.state)
            }
            Cmd::Get => Ok(self.state),
            Cmd::Restarts => Ok(u64::from(ctx.restart_count())),
            Cmd::Fail(action) => Err(self.error(action)),
            Cmd::Panic => panic!("boom: {} panicked", self.name),
            Cmd::StopSelf => {
                ctx.stop();
                Ok(self.state)
            }
            Cmd::Wait(gate) => {
                gate.notified().await;
                Ok(self.state)
            }
            Cmd::Sleep(duration) => {
                // The behaviour asked for: a slow message (not a wait for something).
                tokio::time::sleep(duration).await;
                Ok(self.state)
            }
        }
    }
}

/// A child spec for a worker named `name`, logging into `log`.
pub fn worker(name: &str, log: &Log) -> ChildSpec<Worker> {
    worker_with(name, log, &Knobs::default())
}

pub fn worker_with(name: &str, log: &Log, knobs: &Knobs) -> ChildSpec<Worker> {
    let (name_owned, log, knobs) = (name.to_owned(), log.clone(), knobs.clone());
    ChildSpec::new(name, move || Worker::with_knobs(&name_owned, &log, &knobs))
}

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

pub fn is_restarted(actor: &str) -> impl FnMut(&LifecycleEvent) -> bool + '_ {
    move |event| matches!(event, LifecycleEvent::Restarted { actor: a, .. } if a == actor)
}

pub fn is_stopped(actor: &str) -> impl FnMut(&LifecycleEvent) -> bool + '_ {
    move |event| matches!(event, LifecycleEvent::Stopped { actor: a, .. } if a == actor)
}

/// Silences the default panic output for the deliberate "boom" panics of [`Worker`]
/// (other panics, such as failed assertions, are still printed).
pub fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .payload_as_str()
                .is_some_and(|text| text.starts_with("boom"))
            {
                default(info);
            }
        }));
    });
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
