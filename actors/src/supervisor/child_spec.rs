//! [`ChildSpec`]: how a supervisor builds, restarts and stops one actor child, and the
//! policies it uses ([`RestartPolicy`], [`ShutdownPolicy`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::actor::Actor;
use crate::error::ActorError;
use crate::lifecycle::{ChildLauncher, Launched, ParentLink};
use crate::runner::{self, ActorSetup, Parent, Source};
use crate::supervisor::ChildKind;
use crate::supervisor::health::HealthConfig;
use crate::system::ActorSystem;

/// When a child is restarted after its incarnation ends.
///
/// | policy | after a crash | after a normal stop |
/// |---|---|---|
/// | `Permanent` (default) | restarted | restarted |
/// | `Transient` | restarted | stays stopped |
/// | `Temporary` | stays stopped | stays stopped |
///
/// A crash is an error with [`ErrorAction::Restart`](crate::ErrorAction::Restart), a
/// panic, a failed start or a failed health check. A normal stop is
/// [`ActorContext::stop`](crate::ActorContext::stop) or
/// [`ErrorAction::Stop`](crate::ErrorAction::Stop). A child that stays stopped is
/// removed from its supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestartPolicy {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after a crash.
    Transient,
    /// Never restarted.
    Temporary,
}

impl RestartPolicy {
    /// Whether an incarnation that ended this way is restarted.
    pub fn restarts_after(self, crashed: bool) -> bool {
        match self {
            Self::Permanent => true,
            Self::Transient => crashed,
            Self::Temporary => false,
        }
    }
}

/// How long stopping an actor may take when its supervisor (or the system) stops it.
///
/// The default is `Graceful(5 s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownPolicy {
    /// The message being handled may finish and `post_stop` runs; whatever is still
    /// running after the duration is cancelled.
    Graceful(Duration),
    /// The message being handled is cancelled at once and `post_stop` is skipped.
    Immediate,
    /// Wait as long as the message and `post_stop` take.
    Infinity,
}

impl Default for ShutdownPolicy {
    fn default() -> Self {
        Self::Graceful(Duration::from_secs(5))
    }
}

impl ShutdownPolicy {
    /// The deadline of a stop requested now (`None`: no deadline).
    pub(crate) fn deadline_from_now(self) -> Option<Instant> {
        match self {
            Self::Graceful(limit) => Some(Instant::now() + limit),
            Self::Immediate => Some(Instant::now()),
            Self::Infinity => None,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy_table() {
        assert!(RestartPolicy::Permanent.restarts_after(true));
        assert!(RestartPolicy::Permanent.restarts_after(false));
        assert!(RestartPolicy::Transient.restarts_after(true));
        assert!(!RestartPolicy::Transient.restarts_after(false));
        assert!(!RestartPolicy::Temporary.restarts_after(true));
        assert!(!RestartPolicy::Temporary.restarts_after(false));
    }

    #[test]
    fn shutdown_deadlines() {
        assert!(ShutdownPolicy::Infinity.deadline_from_now().is_none());
        assert!(ShutdownPolicy::Immediate.deadline_from_now().is_some());
        assert_eq!(
            ShutdownPolicy::default(),
            ShutdownPolicy::Graceful(Duration::from_secs(5))
        );
    }
}
