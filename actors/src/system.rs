//! [`ActorSystem`]: the core every task shares: config, names, lifecycle events, the
//! task table and the ordered shutdown of the top level.
//!
//! It knows nothing of actor types or supervisors: spawning, typed lookups and the
//! builders are in `spawn` (`impl ActorSystem` there), above the task runners.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::error::ActorError;
use crate::id::ActorId;
use crate::lifecycle::ChildHandle;
use crate::monitor::{LifecycleEvent, StopReason};
use crate::registry::Registry;
use crate::sync::lock;

/// Mailbox capacity used when neither the spawn nor the system config says otherwise.
pub const DEFAULT_MAILBOX_CAPACITY: usize = 1024;

/// System-wide settings.
///
/// | field | default |
/// |---|---|
/// | `default_mailbox_capacity` | 1024 |
/// | `shutdown_timeout` | 5 s |
/// | `event_capacity` | 1024 |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemConfig {
    /// Mailbox capacity of actors that do not choose one.
    pub default_mailbox_capacity: usize,
    /// How long [`ActorSystem::shutdown`] waits before aborting what is left.
    pub shutdown_timeout: Duration,
    /// How many lifecycle events a subscriber may lag behind (at least 1).
    pub event_capacity: usize,
}

impl Default for SystemConfig {
    fn default() -> Self {
        Self {
            default_mailbox_capacity: DEFAULT_MAILBOX_CAPACITY,
            shutdown_timeout: Duration::from_secs(5),
            event_capacity: 1024,
        }
    }
}

impl SystemConfig {
    /// Sets `default_mailbox_capacity`.
    pub fn default_mailbox_capacity(mut self, capacity: usize) -> Self {
        self.default_mailbox_capacity = capacity;
        self
    }

    /// Sets `shutdown_timeout`.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets `event_capacity`.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }
}

/// A top-level actor or supervisor, in spawn order.
struct TopLevel {
    handle: ChildHandle,
}

struct Task {
    label: String,
    abort: AbortHandle,
}

struct SystemInner {
    config: SystemConfig,
    registry: Registry,
    events: broadcast::Sender<LifecycleEvent>,
    top_level: Mutex<Vec<TopLevel>>,
    tasks: Mutex<HashMap<ActorId, Task>>,
    shutting_down: AtomicBool,
}

/// An actor system: the root of a tree of actors and supervisors.
///
/// Cheap to clone (an `Arc`); every clone is the same system. Spawning needs a tokio
/// runtime; creating the system does not. Actors keep running until they stop or
/// [`shutdown`](Self::shutdown) is called: dropping handles does not stop them.
///
/// Names are unique within a system. [`shutdown`](Self::shutdown) stops the top-level
/// actors and supervisors in reverse spawn order (each supervisor stops its children
/// in reverse start order), and aborts what is left past `shutdown_timeout`.
#[derive(Clone)]
pub struct ActorSystem {
    inner: Arc<SystemInner>,
}

impl fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystem")
            .field("config", &self.inner.config)
            .field("tasks", &lock(&self.inner.tasks).len())
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl Default for ActorSystem {
    fn default() -> Self {
        Self::new(SystemConfig::default())
    }
}

impl ActorSystem {
    /// A new, empty system.
    pub fn new(config: SystemConfig) -> Self {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        Self {
            inner: Arc::new(SystemInner {
                config,
                registry: Registry::default(),
                events,
                top_level: Mutex::new(Vec::new()),
                tasks: Mutex::new(HashMap::new()),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SystemConfig {
        &self.inner.config
    }

    /// Subscribes to lifecycle events from now on (bounded; see
    /// [`LifecycleEvent`]).
    pub fn subscribe(&self) -> broadcast::Receiver<LifecycleEvent> {
        self.inner.events.subscribe()
    }

    /// `true` once [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }

    /// Stops everything: top-level actors and supervisors in reverse spawn order,
    /// each supervisor's children in reverse start order, `post_stop` run, queued asks
    /// answered `Stopped`. New spawns fail from the moment this is called.
    ///
    /// # Errors
    ///
    /// [`ActorError::ShutdownTimedOut`] if it took longer than `shutdown_timeout`:
    /// the remaining tasks were aborted (their queued asks still get `Stopped`).
    pub async fn shutdown(&self) -> Result<(), ActorError> {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let timeout = self.inner.config.shutdown_timeout;
        let deadline = Instant::now() + timeout;
        loop {
            let next = lock(&self.inner.top_level).pop();
            let Some(entry) = next else {
                return Ok(());
            };
            // A top-level task has no supervisor: it publishes its own events.
            if tokio::time::timeout_at(deadline, entry.handle.stop())
                .await
                .is_err()
            {
                let remaining = self.abort_all();
                tracing::error!(
                    ?remaining,
                    "shutdown deadline passed; aborted the remaining actors"
                );
                return Err(ActorError::ShutdownTimedOut {
                    after: timeout,
                    remaining,
                });
            }
        }
    }

    /// Aborts every task still running; returns their names (or ids).
    fn abort_all(&self) -> Vec<String> {
        let tasks: Vec<Task> = lock(&self.inner.tasks)
            .drain()
            .map(|(_, task)| task)
            .collect();
        for task in &tasks {
            task.abort.abort();
        }
        // Only now drop the remaining handles: dropped first, they would let the
        // remaining tasks start a graceful stop of their own.
        lock(&self.inner.top_level).clear();
        self.inner.registry.clear();
        let mut remaining = Vec::with_capacity(tasks.len());
        for task in tasks {
            self.emit(LifecycleEvent::Stopped {
                actor: task.label.clone(),
                reason: StopReason::Failed("aborted at the shutdown deadline".to_owned()),
            });
            remaining.push(task.label);
        }
        remaining.sort();
        remaining
    }

    pub(crate) fn emit(&self, event: LifecycleEvent) {
        // No subscriber is fine.
        let _ = self.inner.events.send(event);
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub(crate) fn track_task(&self, id: ActorId, label: &str, abort: AbortHandle) {
        lock(&self.inner.tasks).insert(
            id,
            Task {
                label: label.to_owned(),
                abort,
            },
        );
    }

    pub(crate) fn forget_task(&self, id: ActorId) {
        lock(&self.inner.tasks).remove(&id);
    }

    /// Starts a parked top-level task and records it for shutdown.
    pub(crate) async fn start_top_level(
        &self,
        label: &str,
        handle: ChildHandle,
    ) -> Result<(), ActorError> {
        // A top-level task has no supervisor: it publishes its own events.
        if let Err(reason) = handle.start(0, None).await {
            handle.stop().await;
            return Err(ActorError::StartFailed {
                actor: label.to_owned(),
                reason,
            });
        }
        {
            let mut top_level = lock(&self.inner.top_level);
            if !self.is_shutting_down() {
                top_level.retain(|entry| !entry.handle.is_gone());
                top_level.push(TopLevel { handle });
                return Ok(());
            }
        }
        // Shutdown began while this one was starting.
        handle.stop().await;
        Err(ActorError::ShuttingDown)
    }
}
