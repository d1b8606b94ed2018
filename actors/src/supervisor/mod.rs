//! Supervisors: actors whose job is to start, watch and restart other actors.
//!
//! A supervisor owns an ordered list of children (start order), each described by a
//! spec: [`ChildSpec`] for an actor, or a nested supervisor added with
//! [`SupervisorRef::add_supervisor`]. Children of one supervisor may be of different
//! actor types. When a child crashes, the supervisor applies its [`Strategy`] within
//! its [`RestartIntensity`]; past the intensity it stops its children and fails to its
//! parent, whose strategy then applies. A top-level supervisor that fails gives up:
//! it publishes [`LifecycleEvent::SupervisorGaveUp`](crate::LifecycleEvent) and logs an
//! error; its children stay stopped.
//!
//! Restarts keep mailboxes: a restarted child (and a sibling restarted by the
//! strategy) handles every message queued for it. When a supervisor fails, its actors
//! are stopped for good (queued asks answered `Stopped`); if its parent restarts it,
//! its actors are started fresh, with new mailboxes, under the same names.
//!
//! Files, by job: [`Strategy`] and [`SupervisorConfig`] (what it does), [`ChildSpec`]
//! (an actor child), `children` (the children table and its snapshot), `restart`
//! (applying the strategy to a child's exit), `escalation` (failing to the parent or
//! giving up), `runner` (the task and its loop), and here the address,
//! [`SupervisorRef`].

mod child_spec;
mod children;
mod config;
mod escalation;
mod restart;
mod runner;
mod strategy;

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

pub use child_spec::ChildSpec;
pub use children::{ChildInfo, ChildKind, ChildStatus};
pub use config::SupervisorConfig;
pub(crate) use runner::spawn_supervisor;
pub use strategy::Strategy;
// Kept at their former paths (`supervisor::RestartPolicy`, ...); they live in `policy`.
pub use crate::policy::{Backoff, HealthConfig, RestartIntensity, RestartPolicy, ShutdownPolicy};

use crate::actor::Actor;
use crate::address::{ActorInfo, ActorRef};
use crate::error::ActorError;
use crate::id::ActorId;
use crate::sync::lock;
use children::ChildLauncher;
use runner::{Request, SupervisorLauncher};

/// State shared by a supervisor's task and its addresses.
pub(crate) struct SupervisorShared {
    info: ActorInfo,
    requests: mpsc::Sender<Request>,
    children: Mutex<Vec<ChildInfo>>,
    /// The parent supervisor and this supervisor's child id there.
    parent: Option<(SupervisorRef, String)>,
}

/// The address of a supervisor. Cheap to clone, `Send + Sync`; valid until the
/// supervisor stops for good (a supervisor restarted by its parent keeps it).
///
/// A supervisor handles one request at a time and waits for its children while it
/// starts or stops them. So a child must not wait on its own supervisor (for example
/// `add_child` from `pre_start`): from `pre_start` that never returns; from
/// `handle_message` it is only resolved when the child's `ShutdownPolicy` deadline
/// cancels the handler.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_wasm_actors::prelude::*;
///
/// #[derive(Default)]
/// struct Echo;
///
/// impl Actor for Echo {
///     type Message = String;
///     type Reply = String;
///     type Error = std::io::Error;
///
///     async fn handle_message(&mut self, msg: String, _: &mut ActorContext<Self>) -> Result<String, Self::Error> {
///         Ok(msg)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new(SystemConfig::default());
/// let root = system
///     .spawn_supervisor(SupervisorConfig::new(Strategy::OneForOne).restart_limit(3, Duration::from_secs(60)))
///     .name("root")
///     .await?;
/// let echo = root.add_child(ChildSpec::new("echo", Echo::default).mailbox_capacity(16)).await?;
/// assert_eq!(echo.ask("hi".to_owned()).await?, "hi");
/// let workers = root.add_supervisor("workers", SupervisorConfig::new(Strategy::RestForOne)).await?;
/// assert_eq!(root.children().len(), 2);
/// assert!(system.lookup::<Echo>("echo").is_some());
/// root.remove_child("echo").await?;
/// assert!(!echo.is_alive());
/// # drop(workers);
/// system.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SupervisorRef {
    shared: Arc<SupervisorShared>,
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("id", &self.shared.info.id)
            .field("name", &self.shared.info.name)
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl SupervisorRef {
    /// The supervisor's id.
    pub fn id(&self) -> ActorId {
        self.shared.info.id
    }

    /// Its registered name, if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.info.name.as_deref()
    }

    /// The name, or the id when anonymous.
    pub fn label(&self) -> &str {
        &self.shared.info.label
    }

    /// `false` once the supervisor has stopped for good.
    pub fn is_alive(&self) -> bool {
        !self.shared.requests.is_closed()
    }

    /// Adds an actor child at the end of the start order, starts it (`pre_start`
    /// done when this returns) and returns its address.
    ///
    /// # Errors
    ///
    /// [`ActorError::DuplicateChild`] if the id is used in this supervisor,
    /// [`ActorError::NameTaken`] if its name is taken in the system,
    /// [`ActorError::StartFailed`] if it failed to start (it is not added),
    /// [`ActorError::SupervisorStopped`], [`ActorError::InvalidConfig`].
    pub async fn add_child<A: Actor>(&self, spec: ChildSpec<A>) -> Result<ActorRef<A>, ActorError> {
        let id = spec.id().to_owned();
        let address = self.request_add(Box::new(spec)).await?;
        address
            .downcast::<ActorRef<A>>()
            .map(|address| (*address).clone())
            .map_err(|_| ActorError::StartFailed {
                actor: id,
                reason: "internal error: unexpected address type".to_owned(),
            })
    }

    /// Adds a nested supervisor child (restart policy `Permanent`, waits for its
    /// subtree to stop). `id` is also its registered name.
    ///
    /// # Errors
    ///
    /// As [`add_child`](Self::add_child).
    pub async fn add_supervisor(
        &self,
        id: impl Into<String>,
        config: SupervisorConfig,
    ) -> Result<SupervisorRef, ActorError> {
        let id = id.into();
        let launcher = SupervisorLauncher::new(id.clone(), config, self.clone());
        let address = self.request_add(Box::new(launcher)).await?;
        address
            .downcast::<SupervisorRef>()
            .map(|address| (*address).clone())
            .map_err(|_| ActorError::StartFailed {
                actor: id,
                reason: "internal error: unexpected address type".to_owned(),
            })
    }

    /// Stops the child `id` for good (`post_stop` runs, queued asks are answered
    /// `Stopped`) and removes it. For a nested supervisor, its whole subtree.
    ///
    /// # Errors
    ///
    /// [`ActorError::NotFound`] if there is no such child,
    /// [`ActorError::SupervisorStopped`].
    pub async fn remove_child(&self, id: &str) -> Result<(), ActorError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::RemoveChild {
            id: id.to_owned(),
            reply,
        };
        self.send(request).await?;
        answer.await.map_err(|_| self.stopped())?
    }

    /// A snapshot of the children, in start order. A child's `Started`, `Restarted`
    /// or `Stopped` event is published only once this snapshot shows it.
    pub fn children(&self) -> Vec<ChildInfo> {
        lock(&self.shared.children).clone()
    }

    /// Stops the supervisor for good: its children in reverse start order, then
    /// itself. A nested supervisor is removed from its parent.
    pub async fn stop(&self) {
        if let Some((parent, id)) = &self.shared.parent {
            let _ = parent.remove_child(id).await;
            return;
        }
        let (reply, answer) = oneshot::channel();
        if self.send(Request::Stop { reply }).await.is_ok() {
            let _ = answer.await;
        }
    }

    async fn request_add(
        &self,
        launcher: Box<dyn ChildLauncher>,
    ) -> Result<Arc<dyn std::any::Any + Send + Sync>, ActorError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::AddChild { launcher, reply }).await?;
        answer.await.map_err(|_| self.stopped())?
    }

    async fn send(&self, request: Request) -> Result<(), ActorError> {
        self.shared
            .requests
            .send(request)
            .await
            .map_err(|_| self.stopped())
    }

    fn stopped(&self) -> ActorError {
        ActorError::SupervisorStopped {
            supervisor: self.label().to_owned(),
        }
    }
}
