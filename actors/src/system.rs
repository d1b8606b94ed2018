//! [`ActorSystem`]: spawns top-level actors and supervisors, names, events, shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::actor::Actor;
use crate::address::{ActorId, ActorRef};
use crate::error::ActorError;
use crate::lifecycle::ChildHandle;
use crate::mailbox::DEFAULT_MAILBOX_CAPACITY;
use crate::monitor::{LifecycleEvent, StopReason};
use crate::registry::Registry;
use crate::runner::{self, ActorSetup, LocalRestart, Parent, Source};
use crate::supervisor::{
    self, Backoff, HealthConfig, RestartIntensity, RestartPolicy, ShutdownPolicy, SupervisorConfig,
    SupervisorRef,
};

/// Locks a mutex, ignoring poisoning (no code panics while holding these locks).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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
    pub fn with_default_mailbox_capacity(mut self, capacity: usize) -> Self {
        self.default_mailbox_capacity = capacity;
        self
    }

    /// Sets `shutdown_timeout`.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets `event_capacity`.
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
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

    /// Starts building a top-level actor.
    pub fn spawn(&self) -> SpawnBuilder {
        SpawnBuilder::new(self.clone())
    }

    /// Starts building a top-level supervisor; `.await` the builder (or call
    /// [`SupervisorBuilder::start`]) to start it.
    pub fn spawn_supervisor(&self, config: SupervisorConfig) -> SupervisorBuilder {
        SupervisorBuilder {
            system: self.clone(),
            config,
            name: None,
        }
    }

    /// The actor registered as `name`, if it is an `A`.
    pub fn lookup<A: Actor>(&self, name: &str) -> Option<ActorRef<A>> {
        self.inner.registry.lookup::<ActorRef<A>>(name)
    }

    /// The supervisor registered as `name`.
    pub fn lookup_supervisor(&self, name: &str) -> Option<SupervisorRef> {
        self.inner.registry.lookup::<SupervisorRef>(name)
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
    async fn start_top_level(&self, label: &str, handle: ChildHandle) -> Result<(), ActorError> {
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

/// Builds a top-level actor: `system.spawn().with_name("x").spawn(actor).await`.
///
/// Defaults: anonymous, the system's default mailbox capacity, restart policy
/// [`RestartPolicy::Temporary`] (a crash stops the actor), at most 3 restarts in 60 s
/// when restarts are enabled, no backoff, [`ShutdownPolicy::Graceful`] of 5 s, no
/// start timeout, no health checks.
///
/// Restarts need a way to build a fresh actor: use [`spawn_with`](Self::spawn_with)
/// and a restart policy. An actor given by value to [`spawn`](Self::spawn) is never
/// restarted.
#[must_use = "a builder does nothing until spawned"]
pub struct SpawnBuilder {
    system: ActorSystem,
    name: Option<String>,
    mailbox_capacity: Option<usize>,
    restart_policy: RestartPolicy,
    intensity: RestartIntensity,
    backoff: Option<Backoff>,
    shutdown: ShutdownPolicy,
    start_timeout: Option<Duration>,
    health: Option<HealthConfig>,
}

impl fmt::Debug for SpawnBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnBuilder")
            .field("name", &self.name)
            .field("mailbox_capacity", &self.mailbox_capacity)
            .field("restart_policy", &self.restart_policy)
            .field("intensity", &self.intensity)
            .finish_non_exhaustive()
    }
}

impl SpawnBuilder {
    fn new(system: ActorSystem) -> Self {
        Self {
            system,
            name: None,
            mailbox_capacity: None,
            restart_policy: RestartPolicy::Temporary,
            intensity: RestartIntensity::default(),
            backoff: None,
            shutdown: ShutdownPolicy::default(),
            start_timeout: None,
            health: None,
        }
    }

    /// Registers the actor under `name` (unique in the system).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The mailbox capacity (at least 1).
    pub fn with_mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = Some(capacity);
        self
    }

    /// What to do when an incarnation ends on its own (needs
    /// [`spawn_with`](Self::spawn_with) to restart).
    pub fn with_restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart_policy = policy;
        self
    }

    /// At most `max_restarts` within `window`; past that the actor stops.
    pub fn with_restart_limit(mut self, max_restarts: u32, window: Duration) -> Self {
        self.intensity = RestartIntensity::new(max_restarts, window);
        self
    }

    /// Waits before each restart.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// How the actor is stopped at shutdown.
    pub fn with_shutdown_policy(mut self, policy: ShutdownPolicy) -> Self {
        self.shutdown = policy;
        self
    }

    /// A `pre_start` slower than this is a failed start.
    pub fn with_start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// Enables health checks (an unhealthy actor crashes; its restart policy applies).
    pub fn with_health(mut self, config: HealthConfig) -> Self {
        self.health = Some(config);
        self
    }

    /// Spawns `actor` and waits until its `pre_start` is done.
    ///
    /// # Errors
    ///
    /// [`ActorError::NameTaken`], [`ActorError::StartFailed`],
    /// [`ActorError::ShuttingDown`], [`ActorError::InvalidConfig`].
    pub async fn spawn<A: Actor>(self, actor: A) -> Result<ActorRef<A>, ActorError> {
        self.launch(Source::Once(Some(actor))).await
    }

    /// Spawns an actor built by `factory` (called again for every restart) and waits
    /// until its `pre_start` is done.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    pub async fn spawn_with<A, F>(self, factory: F) -> Result<ActorRef<A>, ActorError>
    where
        A: Actor,
        F: Fn() -> A + Send + Sync + 'static,
    {
        self.launch(Source::Factory(Arc::new(factory))).await
    }

    async fn launch<A: Actor>(self, source: Source<A>) -> Result<ActorRef<A>, ActorError> {
        if self.system.is_shutting_down() {
            return Err(ActorError::ShuttingDown);
        }
        let setup = ActorSetup {
            name: self.name,
            mailbox_capacity: self.mailbox_capacity,
            source,
            shutdown: self.shutdown,
            start_timeout: self.start_timeout,
            health: self.health,
            parent: Parent::TopLevel(LocalRestart::new(
                self.restart_policy,
                self.intensity,
                self.backoff,
            )),
        };
        let (address, handle) = runner::spawn_actor(&self.system, setup)?;
        self.system.start_top_level(address.label(), handle).await?;
        Ok(address)
    }
}

/// Builds a top-level supervisor. `.await` it (or call [`start`](Self::start)).
#[must_use = "a builder does nothing until awaited"]
#[derive(Debug)]
pub struct SupervisorBuilder {
    system: ActorSystem,
    config: SupervisorConfig,
    name: Option<String>,
}

impl SupervisorBuilder {
    /// Registers the supervisor under `name` (unique in the system).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Starts the supervisor.
    ///
    /// # Errors
    ///
    /// [`ActorError::NameTaken`], [`ActorError::ShuttingDown`].
    pub async fn start(self) -> Result<SupervisorRef, ActorError> {
        if self.system.is_shutting_down() {
            return Err(ActorError::ShuttingDown);
        }
        let (supervisor, handle) =
            supervisor::spawn_supervisor(&self.system, self.config, self.name, None, None)?;
        self.system
            .start_top_level(supervisor.label(), handle)
            .await?;
        Ok(supervisor)
    }
}

impl IntoFuture for SupervisorBuilder {
    type Output = Result<SupervisorRef, ActorError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.start())
    }
}
