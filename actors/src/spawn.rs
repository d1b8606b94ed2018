//! Spawning: [`SpawnBuilder`] and [`SupervisorBuilder`], and the [`ActorSystem`]
//! methods that need actor or supervisor types ([`spawn`](ActorSystem::spawn),
//! [`spawn_supervisor`](ActorSystem::spawn_supervisor),
//! [`lookup`](ActorSystem::lookup), [`lookup_supervisor`](ActorSystem::lookup_supervisor)).
//!
//! The top layer: it builds on the actor runner, the supervisor and the system core.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::actor::Actor;
use crate::address::ActorRef;
use crate::error::ActorError;
use crate::policy::{Backoff, HealthConfig, RestartIntensity, RestartPolicy, ShutdownPolicy};
use crate::runner::{self, ActorSetup, LocalRestart, Parent, Source};
use crate::supervisor::{SupervisorConfig, SupervisorRef, spawn_supervisor};
use crate::system::ActorSystem;

impl ActorSystem {
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
        self.registry().lookup::<ActorRef<A>>(name)
    }

    /// The supervisor registered as `name`.
    pub fn lookup_supervisor(&self, name: &str) -> Option<SupervisorRef> {
        self.registry().lookup::<SupervisorRef>(name)
    }
}

/// Builds a top-level actor: `system.spawn().name("x").spawn(actor).await`.
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
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The mailbox capacity (at least 1).
    pub fn mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = Some(capacity);
        self
    }

    /// What to do when an incarnation ends on its own (needs
    /// [`spawn_with`](Self::spawn_with) to restart).
    pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart_policy = policy;
        self
    }

    /// At most `max_restarts` within `window`; past that the actor stops.
    pub fn restart_limit(mut self, max_restarts: u32, window: Duration) -> Self {
        self.intensity = RestartIntensity::new(max_restarts, window);
        self
    }

    /// Waits before each restart.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// How the actor is stopped at shutdown.
    pub fn shutdown_policy(mut self, policy: ShutdownPolicy) -> Self {
        self.shutdown = policy;
        self
    }

    /// A `pre_start` slower than this is a failed start.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// Enables health checks (an unhealthy actor crashes; its restart policy applies).
    pub fn health(mut self, config: HealthConfig) -> Self {
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
    pub fn name(mut self, name: impl Into<String>) -> Self {
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
            spawn_supervisor(&self.system, self.config, self.name, None, None)?;
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
