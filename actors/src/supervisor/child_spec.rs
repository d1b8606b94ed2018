//! [`ChildSpec`]: how a supervisor builds, restarts and stops one actor child.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::children::{ChildKind, ChildLauncher, Launched};
use crate::actor::Actor;
use crate::error::ActorError;
use crate::lifecycle::ParentLink;
use crate::policy::{HealthConfig, RestartPolicy, ShutdownPolicy};
use crate::runner::{self, ActorSetup, Parent, Source};
use crate::system::ActorSystem;

/// How the child is registered in the system.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ChildName {
    /// Under its child id (the default).
    Id,
    /// Under another name.
    Custom(String),
    /// Not registered.
    Anonymous,
}

/// The specification of an actor child: its id, a factory building a fresh actor for
/// each (re)start, and its policies.
///
/// Defaults: [`RestartPolicy::Permanent`], [`ShutdownPolicy::Graceful`] of 5 s, no
/// start timeout, the system's default mailbox capacity, no health checks, registered
/// in the system under its id.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_wasm_actors::prelude::*;
///
/// #[derive(Default)]
/// struct Worker;
///
/// impl Actor for Worker {
///     type Message = ();
///     type Reply = ();
///     type Error = std::io::Error;
///
///     async fn handle_message(&mut self, _: (), _: &mut ActorContext<Self>) -> Result<(), Self::Error> {
///         Ok(())
///     }
/// }
///
/// let spec = ChildSpec::new("worker", Worker::default)
///     .restart_transient()
///     .shutdown_timeout(Duration::from_secs(1))
///     .mailbox_capacity(16);
/// assert_eq!(spec.id(), "worker");
/// assert_eq!(spec.restart(), RestartPolicy::Transient);
/// ```
pub struct ChildSpec<A: Actor> {
    id: String,
    name: ChildName,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    restart: RestartPolicy,
    shutdown: ShutdownPolicy,
    start_timeout: Option<Duration>,
    mailbox_capacity: Option<usize>,
    health: Option<HealthConfig>,
}

impl<A: Actor> Clone for ChildSpec<A> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            name: self.name.clone(),
            factory: Arc::clone(&self.factory),
            restart: self.restart,
            shutdown: self.shutdown,
            start_timeout: self.start_timeout,
            mailbox_capacity: self.mailbox_capacity,
            health: self.health,
        }
    }
}

impl<A: Actor> fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("start_timeout", &self.start_timeout)
            .field("mailbox_capacity", &self.mailbox_capacity)
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

impl<A: Actor> ChildSpec<A> {
    /// A child `id` built by `factory`. The id is unique within the supervisor and is
    /// also the child's registered name unless [`name`](Self::name) or
    /// [`anonymous`](Self::anonymous) says otherwise.
    pub fn new(id: impl Into<String>, factory: impl Fn() -> A + Send + Sync + 'static) -> Self {
        Self {
            id: id.into(),
            name: ChildName::Id,
            factory: Arc::new(factory),
            restart: RestartPolicy::default(),
            shutdown: ShutdownPolicy::default(),
            start_timeout: None,
            mailbox_capacity: None,
            health: None,
        }
    }

    /// Sets the restart policy.
    pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// [`RestartPolicy::Permanent`].
    pub fn restart_permanent(self) -> Self {
        self.restart_policy(RestartPolicy::Permanent)
    }

    /// [`RestartPolicy::Transient`].
    pub fn restart_transient(self) -> Self {
        self.restart_policy(RestartPolicy::Transient)
    }

    /// [`RestartPolicy::Temporary`].
    pub fn restart_temporary(self) -> Self {
        self.restart_policy(RestartPolicy::Temporary)
    }

    /// Sets the shutdown policy.
    pub fn shutdown_policy(mut self, policy: ShutdownPolicy) -> Self {
        self.shutdown = policy;
        self
    }

    /// [`ShutdownPolicy::Graceful`] with this timeout.
    pub fn shutdown_timeout(self, timeout: Duration) -> Self {
        self.shutdown_policy(ShutdownPolicy::Graceful(timeout))
    }

    /// A `pre_start` slower than this is a failed start.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// The mailbox capacity (at least 1).
    pub fn mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = Some(capacity);
        self
    }

    /// Enables periodic health checks.
    pub fn health(mut self, config: HealthConfig) -> Self {
        self.health = Some(config);
        self
    }

    /// Registers the child under `name` instead of its id.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = ChildName::Custom(name.into());
        self
    }

    /// Does not register the child under any name.
    pub fn anonymous(mut self) -> Self {
        self.name = ChildName::Anonymous;
        self
    }

    /// The child id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The restart policy.
    pub fn restart(&self) -> RestartPolicy {
        self.restart
    }

    /// The name the child is registered under, if any.
    pub fn registered_name(&self) -> Option<&str> {
        match &self.name {
            ChildName::Id => Some(&self.id),
            ChildName::Custom(name) => Some(name),
            ChildName::Anonymous => None,
        }
    }
}

impl<A: Actor> ChildLauncher for ChildSpec<A> {
    fn id(&self) -> &str {
        &self.id
    }

    fn restart_policy(&self) -> RestartPolicy {
        self.restart
    }

    fn kind(&self) -> ChildKind {
        ChildKind::Actor
    }

    fn launch(&self, system: &ActorSystem, parent: ParentLink) -> Result<Launched, ActorError> {
        let setup = ActorSetup {
            name: self.registered_name().map(str::to_owned),
            mailbox_capacity: self.mailbox_capacity,
            source: Source::Factory(Arc::clone(&self.factory)),
            shutdown: self.shutdown,
            start_timeout: self.start_timeout,
            health: self.health,
            parent: Parent::Supervisor(parent),
        };
        let (address, handle) = runner::spawn_actor(system, setup)?;
        Ok(Launched {
            handle,
            id: address.id(),
            address: Arc::new(address),
        })
    }
}
