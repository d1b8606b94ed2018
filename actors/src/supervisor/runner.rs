//! The task that runs one supervisor (internal): its state and its loop.
//!
//! Like an actor task it starts parked and obeys its parent's commands; in between it
//! serves, in this order: control commands, child exits, requests (add, remove, stop).
//! It drives its children one command at a time and waits for each acknowledgement,
//! so stops happen in reverse start order and starts in start order.
//!
//! The loop is here; the rest of [`SupervisorRunner`] is split by job: the children
//! table (`children`), reacting to a child's exit with the strategy (`restart`), and
//! failing to the parent or giving up (`escalation`).

use std::any::Any;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::children::{Child, ChildKind, ChildLauncher, Launched, State};
use super::{SupervisorConfig, SupervisorRef, SupervisorShared};
use crate::address::ActorInfo;
use crate::error::ActorError;
use crate::id::ActorId;
use crate::lifecycle::{
    self, Ack, Acked, CONTROL_CAPACITY, ChildExit, ChildHandle, Command, Ctl, ExitKind, ParentLink,
    StopCmd, classify,
};
use crate::monitor::{LifecycleEvent, StopReason};
use crate::policy::RestartPolicy;
use crate::policy::intensity::RestartTracker;
use crate::system::ActorSystem;

/// Capacity of a supervisor's request mailbox.
const REQUEST_CAPACITY: usize = 64;
/// Capacity of a supervisor's child-exit channel. A child waiting for room still
/// obeys commands, so a full channel cannot deadlock.
const EXIT_CAPACITY: usize = 64;

pub(super) type AnyAddress = Arc<dyn Any + Send + Sync>;

/// What a [`SupervisorRef`] asks of its supervisor.
pub(super) enum Request {
    AddChild {
        launcher: Box<dyn ChildLauncher>,
        reply: oneshot::Sender<Result<AnyAddress, ActorError>>,
    },
    RemoveChild {
        id: String,
        reply: oneshot::Sender<Result<(), ActorError>>,
    },
    Stop {
        reply: Ack,
    },
}

/// The spec of a nested supervisor child.
pub(super) struct SupervisorLauncher {
    id: String,
    config: SupervisorConfig,
    parent: SupervisorRef,
}

impl SupervisorLauncher {
    pub(super) fn new(id: String, config: SupervisorConfig, parent: SupervisorRef) -> Self {
        Self { id, config, parent }
    }
}

impl ChildLauncher for SupervisorLauncher {
    fn id(&self) -> &str {
        &self.id
    }

    fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::Permanent
    }

    fn kind(&self) -> ChildKind {
        ChildKind::Supervisor
    }

    fn launch(&self, system: &ActorSystem, parent: ParentLink) -> Result<Launched, ActorError> {
        let (supervisor, handle) = spawn_supervisor(
            system,
            self.config,
            Some(self.id.clone()),
            Some(parent),
            Some((self.parent.clone(), self.id.clone())),
        )?;
        Ok(Launched {
            handle,
            id: supervisor.id(),
            address: Arc::new(supervisor),
        })
    }
}

/// Registers and spawns a supervisor task, parked.
pub(crate) fn spawn_supervisor(
    system: &ActorSystem,
    config: SupervisorConfig,
    name: Option<String>,
    link: Option<ParentLink>,
    parent: Option<(SupervisorRef, String)>,
) -> Result<(SupervisorRef, ChildHandle), ActorError> {
    let id = ActorId::next();
    let (requests_tx, requests_rx) = mpsc::channel(REQUEST_CAPACITY);
    let (control_tx, control_rx) = mpsc::channel(CONTROL_CAPACITY);
    let (exits_tx, exits_rx) = mpsc::channel(EXIT_CAPACITY);
    let shared = Arc::new(SupervisorShared {
        info: ActorInfo::new(id, name),
        requests: requests_tx,
        children: Mutex::new(Vec::new()),
        parent,
    });
    let supervisor = SupervisorRef {
        shared: Arc::clone(&shared),
    };
    if let Some(name) = &shared.info.name {
        system
            .registry()
            .register(name, id, Arc::new(supervisor.clone()))?;
    }
    let label = shared.info.label.clone();
    let runner = SupervisorRunner {
        shared,
        system: system.clone(),
        config,
        tracker: RestartTracker::new(config.intensity),
        children: Vec::new(),
        ids: HashSet::new(),
        next_key: 0,
        next_generation: 0,
        requests: requests_rx,
        control: control_rx,
        exits_tx,
        exits: exits_rx,
        parent: link,
        generation: 0,
        stashed: None,
        parked_reason: None,
        unhandled_exit: None,
    };
    let span = tracing::info_span!("supervisor", supervisor = %label, id = %id);
    let task = tokio::spawn(runner.run().instrument(span));
    system.track_task(id, &label, task.abort_handle());
    Ok((supervisor, ChildHandle::new(control_tx)))
}

enum Next {
    Command(Option<Command>),
    Exit(ChildExit),
    Request(Request),
}

/// How the loop ended: why, and whom to acknowledge once stopped.
pub(super) type Finish = (StopReason, Option<Ack>);

/// A supervisor's task state. Its methods are split over this module (the loop),
/// `children`, `restart` and `escalation`.
pub(super) struct SupervisorRunner {
    pub(super) shared: Arc<SupervisorShared>,
    pub(super) system: ActorSystem,
    pub(super) config: SupervisorConfig,
    pub(super) tracker: RestartTracker,
    /// In start order.
    pub(super) children: Vec<Child>,
    /// The children's ids, for the uniqueness check of `add_child` in constant time.
    pub(super) ids: HashSet<String>,
    pub(super) next_key: u64,
    pub(super) next_generation: u64,
    pub(super) requests: mpsc::Receiver<Request>,
    pub(super) control: mpsc::Receiver<Command>,
    pub(super) exits_tx: mpsc::Sender<ChildExit>,
    pub(super) exits: mpsc::Receiver<ChildExit>,
    pub(super) parent: Option<ParentLink>,
    pub(super) generation: u64,
    /// A command received while busy, handled next.
    pub(super) stashed: Option<Option<Command>>,
    pub(super) parked_reason: Option<StopReason>,
    /// This supervisor's own failure, until its parent acts on it.
    pub(super) unhandled_exit: Option<ExitKind>,
}

impl SupervisorRunner {
    pub(super) fn label(&self) -> &str {
        &self.shared.info.label
    }

    async fn run(mut self) {
        let (reason, ack) = self.lifecycle().await;
        self.requests.close();
        while let Some(request) = self.requests.recv().await {
            let stopped = ActorError::SupervisorStopped {
                supervisor: self.label().to_owned(),
            };
            match request {
                Request::AddChild { reply, .. } => {
                    let _ = reply.send(Err(stopped));
                }
                Request::RemoveChild { reply, .. } => {
                    let _ = reply.send(Err(stopped));
                }
                Request::Stop { reply } => {
                    let _ = reply.send(Acked::default());
                }
            }
        }
        let id = self.shared.info.id;
        if let Some(name) = &self.shared.info.name {
            self.system.registry().unregister(name, id);
        }
        self.system.forget_task(id);
        self.publish();
        tracing::debug!(%reason, "supervisor stopped");
        // Published here even when supervised: its parent took it out of its
        // snapshot before stopping it for good.
        self.system.emit(LifecycleEvent::Stopped {
            actor: self.label().to_owned(),
            reason,
        });
        if let Some(ack) = ack {
            let _ = ack.send(Acked::default());
        }
        lifecycle::close_and_drain(&mut self.control).await;
    }

    pub(super) fn final_reason(&self) -> StopReason {
        self.parked_reason.clone().unwrap_or(StopReason::Shutdown)
    }

    async fn lifecycle(&mut self) -> Finish {
        let mut parked = true;
        loop {
            let next = match self.stashed.take() {
                Some(command) => Next::Command(command),
                None => tokio::select! {
                    biased;
                    command = self.control.recv() => Next::Command(command),
                    Some(exit) = self.exits.recv(), if !parked => Next::Exit(exit),
                    Some(request) = self.requests.recv(), if !parked => Next::Request(request),
                },
            };
            match next {
                Next::Command(command) => match classify(command) {
                    Ctl::Start {
                        generation,
                        reason,
                        ack,
                    } => {
                        self.generation = generation;
                        let started = self.start(reason).await;
                        parked = started.is_err();
                        if let Err(Ok(Some(event))) = ack.send(started) {
                            self.system.emit(event); // the parent is gone
                        }
                    }
                    Ctl::Stop(StopCmd::Halt(ack)) => {
                        self.halt_children(false).await;
                        parked = true;
                        let _ = ack.send(Acked::exited(self.unhandled_exit.take()));
                    }
                    Ctl::Stop(StopCmd::Discard(ack)) => {
                        self.halt_children(true).await;
                        parked = true;
                        let _ = ack.send(Acked::exited(self.unhandled_exit.take()));
                    }
                    Ctl::Stop(StopCmd::Final(ack)) => {
                        self.stop_children().await;
                        return (self.final_reason(), Some(ack));
                    }
                    Ctl::Stop(StopCmd::Orphaned) => {
                        self.stop_children().await;
                        return (self.final_reason(), None);
                    }
                },
                Next::Exit(exit) => {
                    if let Some(failure) = self.on_child_exit(exit).await {
                        match self.fail(failure).await {
                            Some(finish) => return finish,
                            None => parked = true,
                        }
                    }
                }
                Next::Request(request) => {
                    if let Some(finish) = self.on_request(request).await {
                        return finish;
                    }
                }
            }
        }
    }

    /// Starts (or restarts) this supervisor: every child not running, in start order.
    /// A nested supervisor returns its `Started` / `Restarted` event for its parent
    /// to publish (see [`lifecycle`]).
    async fn start(&mut self, reason: Option<String>) -> Result<Option<LifecycleEvent>, String> {
        if reason.is_some() {
            // A restarted supervisor starts with a fresh intensity, as a new one would.
            self.tracker.reset();
        }
        self.parked_reason = None;
        self.unhandled_exit = None;
        let child_reason = reason
            .as_ref()
            .map(|reason| format!("supervisor `{}` restarted: {reason}", self.label()));
        let keys: Vec<u64> = self.children.iter().map(|child| child.key).collect();
        for key in keys {
            let Some(index) = self.index_of(key) else {
                continue;
            };
            if self.children[index].state == State::Running {
                continue;
            }
            if let Err(failure) = self.start_child(index, child_reason.clone()).await {
                let id = self.children[index].launcher.id().to_owned();
                let failure = format!("child `{id}` failed to start: {failure}");
                self.halt_children(false).await;
                self.parked_reason = Some(StopReason::Failed(failure.clone()));
                return Err(failure);
            }
        }
        let actor = self.label().to_owned();
        let event = match reason {
            None => LifecycleEvent::Started { actor },
            Some(reason) => LifecycleEvent::Restarted { actor, reason },
        };
        if self.parent.is_some() {
            return Ok(Some(event));
        }
        self.system.emit(event);
        Ok(None)
    }

    async fn on_request(&mut self, request: Request) -> Option<Finish> {
        match request {
            Request::AddChild { launcher, reply } => {
                let result = self.add_child(launcher).await;
                let _ = reply.send(result);
                None
            }
            Request::RemoveChild { id, reply } => {
                let result = self.remove_child(id).await;
                let _ = reply.send(result);
                None
            }
            Request::Stop { reply } => {
                self.stop_children().await;
                Some((StopReason::Shutdown, Some(reply)))
            }
        }
    }
}
