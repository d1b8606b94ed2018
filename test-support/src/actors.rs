//! Actor-runtime fixtures: a scriptable [`Worker`] actor that records its hooks in a
//! shared [`Log`] and is steered by [`Knobs`], and a top-level [`supervisor`].

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use tokio::sync::Notify;

/// Ordered record of hook calls across actors: `start:a`, `stop:a`, ...
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Appends `entry`.
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    /// All entries, in order.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// Entries recorded since `mark` (an index from `len`).
    pub fn since(&self, mark: usize) -> Vec<String> {
        self.entries()[mark..].to_vec()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// The error a [`Worker`] fails with ([`Cmd::Fail`], a failing `pre_start`).
#[derive(Debug, thiserror::Error)]
#[error("worker `{worker}` failed")]
pub struct WorkerError {
    /// The worker's name.
    pub worker: String,
    /// What its `on_error` answers.
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

/// A scriptable actor: its hooks log `start:NAME` / `stop:NAME` into [`Log`], its
/// messages ([`Cmd`]) add to a counter, fail, panic, stop, block or sleep on request, and
/// [`Knobs`] steer its health checks, starts and stops.
pub struct Worker {
    /// Its name, in the log entries and errors.
    pub name: String,
    /// Where its hooks are recorded.
    pub log: Log,
    /// The flags steering it.
    pub knobs: Knobs,
    /// The counter [`Cmd::Add`] adds to (reset by a restart).
    pub state: u64,
}

impl Worker {
    /// A worker named `name` logging into `log`, with default knobs.
    pub fn new(name: &str, log: &Log) -> Self {
        Self::with_knobs(name, log, &Knobs::default())
    }

    /// A worker named `name` logging into `log`, steered by `knobs`.
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

/// As [`worker`], steered by `knobs`.
pub fn worker_with(name: &str, log: &Log, knobs: &Knobs) -> ChildSpec<Worker> {
    let (name_owned, log, knobs) = (name.to_owned(), log.clone(), knobs.clone());
    ChildSpec::new(name, move || Worker::with_knobs(&name_owned, &log, &knobs))
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

/// A top-level supervisor of `strategy` allowing `restarts` restarts a minute.
pub async fn supervisor(system: &ActorSystem, strategy: Strategy, restarts: u32) -> SupervisorRef {
    system
        .spawn_supervisor(
            SupervisorConfig::new(strategy).restart_limit(restarts, Duration::from_secs(60)),
        )
        .start()
        .await
        .unwrap()
}
