//! The task that runs one supervisor (internal).
//!
//! Like an actor task it starts parked and obeys its parent's commands; in between it
//! serves, in this order: control commands, child exits, requests (add, remove, stop).
//! It drives its children one command at a time and waits for each acknowledgement,
//! so stops happen in reverse start order and starts in start order.

use std::any::Any;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

use super::{
    ChildInfo, ChildKind, ChildStatus, RestartPolicy, SupervisorConfig, SupervisorRef,
    SupervisorShared,
};
use crate::address::{ActorId, ActorInfo};
use crate::error::ActorError;
use crate::lifecycle::{
    self, Ack, CONTROL_CAPACITY, ChildExit, ChildHandle, ChildLauncher, Command, Ctl, ExitKind,
    Halted, Launched, ParentLink, StopCmd, classify,
};
use crate::monitor::{LifecycleEvent, StopReason};
use crate::supervisor::intensity::RestartTracker;
use crate::system::{ActorSystem, lock};

/// Capacity of a supervisor's request mailbox.
const REQUEST_CAPACITY: usize = 64;
/// Capacity of a supervisor's child-exit channel. A child waiting for room still
/// obeys commands, so a full channel cannot deadlock.
const EXIT_CAPACITY: usize = 64;

type AnyAddress = Arc<dyn Any + Send + Sync>;

/// What a [`SupervisorRef`] asks of its supervisor.
pub(crate) enum Request {
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
pub(crate) struct SupervisorLauncher {
    id: String,
    config: SupervisorConfig,
    parent: SupervisorRef,
}

impl SupervisorLauncher {
    pub(crate) fn new(id: String, config: SupervisorConfig, parent: SupervisorRef) -> Self {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Task alive, no incarnation (mailbox kept).
    Parked,
    /// No task: the next start launches a fresh one.
    Dead,
}

struct Child {
    key: u64,
    launcher: Box<dyn ChildLauncher>,
    handle: Option<ChildHandle>,
    actor_id: Option<ActorId>,
    state: State,
    /// The generation of the incarnation last started; exits of older ones are stale.
    generation: u64,
    restarts: u32,
}

impl Child {
    fn info(&self) -> ChildInfo {
        ChildInfo {
            id: self.launcher.id().to_owned(),
            kind: self.launcher.kind(),
            actor_id: self.actor_id,
            restart_policy: self.launcher.restart_policy(),
            status: match self.state {
                State::Running => ChildStatus::Running,
                State::Parked => ChildStatus::Restarting,
                State::Dead => ChildStatus::Stopped,
            },
            restarts: self.restarts,
        }
    }
}

enum Next {
    Command(Option<Command>),
    Exit(ChildExit),
    Request(Request),
}

type Finish = (StopReason, Option<Ack>);

struct SupervisorRunner {
    shared: Arc<SupervisorShared>,
    system: ActorSystem,
    config: SupervisorConfig,
    tracker: RestartTracker,
    /// In start order.
    children: Vec<Child>,
    /// The children's ids, for the uniqueness check of `add_child` in constant time.
    ids: HashSet<String>,
    next_key: u64,
    next_generation: u64,
    requests: mpsc::Receiver<Request>,
    control: mpsc::Receiver<Command>,
    exits_tx: mpsc::Sender<ChildExit>,
    exits: mpsc::Receiver<ChildExit>,
    parent: Option<ParentLink>,
    generation: u64,
    /// A command received while busy, handled next.
    stashed: Option<Option<Command>>,
    parked_reason: Option<StopReason>,
    /// This supervisor's own failure, until its parent acts on it.
    unhandled_exit: Option<ExitKind>,
}

impl SupervisorRunner {
    fn label(&self) -> &str {
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
                    let _ = reply.send(None);
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
        self.system.emit(LifecycleEvent::Stopped {
            actor: self.label().to_owned(),
            reason,
        });
        if let Some(ack) = ack {
            let _ = ack.send(None);
        }
        lifecycle::close_and_drain(&mut self.control).await;
    }

    fn final_reason(&self) -> StopReason {
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
                        let _ = ack.send(started);
                    }
                    Ctl::Stop(StopCmd::Halt(ack)) => {
                        self.halt_children(false).await;
                        parked = true;
                        let _ = ack.send(self.unhandled_exit.take());
                    }
                    Ctl::Stop(StopCmd::Discard(ack)) => {
                        self.halt_children(true).await;
                        parked = true;
                        let _ = ack.send(self.unhandled_exit.take());
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
    async fn start(&mut self, reason: Option<String>) -> Result<(), String> {
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
        self.system.emit(match reason {
            None => LifecycleEvent::Started { actor },
            Some(reason) => LifecycleEvent::Restarted { actor, reason },
        });
        Ok(())
    }

    fn index_of(&self, key: u64) -> Option<usize> {
        self.children.iter().position(|child| child.key == key)
    }

    /// Rebuilds the children snapshot (`SupervisorRef::children`) from scratch.
    fn publish(&self) {
        let snapshot = self.children.iter().map(Child::info).collect();
        *lock(&self.shared.children) = snapshot;
    }

    /// Updates child `index` in the snapshot (appending it when new): a start or restart
    /// costs the same with 10 children as with 10,000.
    fn publish_child(&self, index: usize) {
        let Some(child) = self.children.get(index) else {
            return;
        };
        let mut snapshot = lock(&self.shared.children);
        match index.cmp(&snapshot.len()) {
            std::cmp::Ordering::Less => snapshot[index] = child.info(),
            std::cmp::Ordering::Equal => snapshot.push(child.info()),
            std::cmp::Ordering::Greater => {
                drop(snapshot);
                self.publish();
            }
        }
    }

    /// Removes child `index` from the snapshot, after it left `children`.
    fn unpublish_child(&self, index: usize) {
        let mut snapshot = lock(&self.shared.children);
        if snapshot.len() == self.children.len() + 1 && index < snapshot.len() {
            snapshot.remove(index);
        } else {
            drop(snapshot);
            self.publish();
        }
    }

    /// Starts child `index` (launching a fresh task if it has none) and waits for its
    /// `pre_start`.
    async fn start_child(&mut self, index: usize, reason: Option<String>) -> Result<(), String> {
        let child = &mut self.children[index];
        if child.handle.as_ref().is_none_or(ChildHandle::is_gone) {
            let link = ParentLink {
                exits: self.exits_tx.clone(),
                key: child.key,
            };
            let launched = child
                .launcher
                .launch(&self.system, link)
                .map_err(|error| error.to_string())?;
            child.handle = Some(launched.handle);
            child.actor_id = Some(launched.id);
            child.state = State::Parked;
        }
        self.next_generation += 1;
        child.generation = self.next_generation;
        let restarting = reason.is_some();
        let result = match &child.handle {
            Some(handle) => handle.start(child.generation, reason).await,
            None => Err("no task".to_owned()),
        };
        match &result {
            Ok(()) => {
                child.state = State::Running;
                if restarting {
                    child.restarts += 1;
                }
            }
            Err(_) => {
                if child.handle.as_ref().is_none_or(ChildHandle::is_gone) {
                    child.handle = None;
                    child.state = State::Dead;
                } else {
                    child.state = State::Parked;
                }
            }
        }
        self.publish_child(index);
        result
    }

    /// Ends child `index`'s incarnation. With `discard`, an actor child stops for good
    /// (a supervisor child stops its own actors for good and stays parked). Returns the
    /// child's own exit if it had ended on its own without this supervisor knowing.
    async fn halt_child(&mut self, index: usize, discard: bool) -> Option<ExitKind> {
        let child = &mut self.children[index];
        let Some(handle) = &child.handle else {
            child.state = State::Dead;
            return None;
        };
        match handle.halt(discard).await {
            Halted::Parked(exited) => {
                if discard && child.launcher.kind() == ChildKind::Actor {
                    child.handle = None;
                    child.state = State::Dead;
                } else {
                    child.state = State::Parked;
                }
                exited
            }
            Halted::Gone => {
                child.handle = None;
                child.state = State::Dead;
                None
            }
        }
    }

    /// Halts every child in reverse start order; `Temporary` ones are removed.
    async fn halt_children(&mut self, discard: bool) {
        let keys: Vec<u64> = self.children.iter().rev().map(|child| child.key).collect();
        for key in keys {
            let Some(index) = self.index_of(key) else {
                continue;
            };
            if self.children[index].launcher.restart_policy() == RestartPolicy::Temporary {
                self.retire(index).await;
            } else {
                self.halt_child(index, discard).await;
            }
        }
        self.publish();
    }

    /// Stops every child for good, in reverse start order, and forgets them.
    async fn stop_children(&mut self) {
        while let Some(child) = self.children.pop() {
            self.ids.remove(child.launcher.id());
            self.unpublish_child(self.children.len());
            if let Some(handle) = &child.handle {
                handle.stop().await;
            }
        }
    }

    /// Removes child `index` (from the snapshot too, before it announces its stop)
    /// and stops it for good.
    async fn retire(&mut self, index: usize) {
        let child = self.children.remove(index);
        self.ids.remove(child.launcher.id());
        self.unpublish_child(index);
        if let Some(handle) = &child.handle {
            handle.stop().await;
        }
    }

    /// Handles a child's exit; `Some(reason)` if this supervisor must fail.
    async fn on_child_exit(&mut self, exit: ChildExit) -> Option<String> {
        let index = self.index_of(exit.key)?;
        let child = &mut self.children[index];
        if child.state != State::Running || child.generation != exit.generation {
            return None; // stale: that incarnation was already dealt with
        }
        child.state = State::Parked;
        let id = child.launcher.id().to_owned();
        let policy = child.launcher.restart_policy();
        match exit.kind {
            ExitKind::Escalate(reason) => Some(format!("child `{id}` escalated: {reason}")),
            kind => {
                let crashed = !matches!(kind, ExitKind::Normal);
                if policy.restarts_after(crashed) {
                    self.restart(exit.key, kind.reason()).await
                } else {
                    tracing::info!(child = %id, reason = %kind.reason(), ?policy, "child not restarted");
                    self.retire(index).await;
                    None
                }
            }
        }
    }

    /// Restarts child `key` and the siblings its strategy names, until every restart
    /// succeeded or the intensity is exceeded (`Some(reason)`).
    async fn restart(&mut self, key: u64, reason: String) -> Option<String> {
        let mut next = Some((key, reason));
        while let Some((key, reason)) = next.take() {
            let index = self.index_of(key)?;
            let failed_id = self.children[index].launcher.id().to_owned();
            if !self.tracker.try_record(Instant::now()) {
                let limit = self.tracker.limit();
                return Some(format!(
                    "restart intensity exceeded ({} restarts within {:?}); last failure: child `{failed_id}`: {reason}",
                    limit.max_restarts, limit.window
                ));
            }
            let strategy = self.config.strategy;
            tracing::warn!(child = %failed_id, %reason, %strategy, "restarting");
            if let Some(backoff) = self.config.backoff {
                let delay = backoff.delay(self.tracker.recent());
                if !delay.is_zero() {
                    tokio::select! {
                        biased;
                        command = self.control.recv() => {
                            // The parent comes first; the restart is abandoned.
                            self.stashed = Some(command);
                            return None;
                        }
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
            let keys: Vec<u64> = self.children[strategy.affected(index, self.children.len())]
                .iter()
                .map(|child| child.key)
                .collect();
            // Stop phase: reverse start order. Temporary siblings are removed.
            for &sibling in keys.iter().rev() {
                if sibling == key {
                    continue;
                }
                let Some(i) = self.index_of(sibling) else {
                    continue;
                };
                let policy = self.children[i].launcher.restart_policy();
                if policy == RestartPolicy::Temporary {
                    self.retire(i).await;
                    continue;
                }
                if self.children[i].state != State::Running {
                    continue;
                }
                // A sibling that ended on its own meanwhile is judged by its own exit.
                match self.halt_child(i, false).await {
                    Some(ExitKind::Escalate(escalation)) => {
                        let id = self.children[i].launcher.id();
                        return Some(format!("child `{id}` escalated: {escalation}"));
                    }
                    Some(ExitKind::Normal) if !policy.restarts_after(false) => {
                        self.retire(i).await;
                    }
                    _ => {}
                }
            }
            // Start phase: start order.
            for &sibling in &keys {
                let Some(i) = self.index_of(sibling) else {
                    continue;
                };
                if self.children[i].state == State::Running {
                    continue;
                }
                let why = if sibling == key {
                    reason.clone()
                } else {
                    format!("{strategy} restart after child `{failed_id}` failed: {reason}")
                };
                if let Err(failure) = self.start_child(i, Some(why)).await {
                    next = Some((sibling, format!("restart failed: {failure}")));
                    break;
                }
            }
        }
        None
    }

    /// This supervisor failed: stop its actors and report to the parent (then wait,
    /// parked), or give up at the top level. `Some` ends the task.
    async fn fail(&mut self, reason: String) -> Option<Finish> {
        let Some(link) = self.parent.clone() else {
            self.stop_children().await;
            tracing::error!(supervisor = %self.label(), %reason, "supervisor gave up");
            self.system.emit(LifecycleEvent::SupervisorGaveUp {
                supervisor: self.label().to_owned(),
                reason: reason.clone(),
            });
            return Some((StopReason::Failed(reason), None));
        };
        tracing::error!(supervisor = %self.label(), %reason, "supervisor failed; escalating to its parent");
        self.halt_children(true).await;
        self.parked_reason = Some(StopReason::Failed(reason.clone()));
        self.unhandled_exit = Some(ExitKind::Crash(reason.clone()));
        let exit = ChildExit {
            key: link.key,
            generation: self.generation,
            kind: ExitKind::Crash(reason),
        };
        tokio::select! {
            biased;
            command = self.control.recv() => self.stashed = Some(command),
            sent = link.exits.send(exit) => {
                if sent.is_err() {
                    self.stop_children().await;
                    return Some((self.final_reason(), None));
                }
            }
        }
        None
    }

    async fn on_request(&mut self, request: Request) -> Option<Finish> {
        match request {
            Request::AddChild { launcher, reply } => {
                let result = self.add_child(launcher).await;
                let _ = reply.send(result);
                None
            }
            Request::RemoveChild { id, reply } => {
                let result = match self
                    .children
                    .iter()
                    .position(|child| child.launcher.id() == id)
                {
                    Some(index) => {
                        self.retire(index).await;
                        Ok(())
                    }
                    None => Err(ActorError::NotFound { name: id }),
                };
                let _ = reply.send(result);
                None
            }
            Request::Stop { reply } => {
                self.stop_children().await;
                Some((StopReason::Shutdown, Some(reply)))
            }
        }
    }

    async fn add_child(
        &mut self,
        launcher: Box<dyn ChildLauncher>,
    ) -> Result<AnyAddress, ActorError> {
        let id = launcher.id().to_owned();
        if self.ids.contains(&id) {
            return Err(ActorError::DuplicateChild {
                supervisor: self.label().to_owned(),
                id,
            });
        }
        self.next_key += 1;
        let key = self.next_key;
        let link = ParentLink {
            exits: self.exits_tx.clone(),
            key,
        };
        let launched = launcher.launch(&self.system, link)?;
        self.ids.insert(id.clone());
        self.children.push(Child {
            key,
            launcher,
            handle: Some(launched.handle),
            actor_id: Some(launched.id),
            state: State::Parked,
            generation: 0,
            restarts: 0,
        });
        let index = self.children.len() - 1;
        if let Err(reason) = self.start_child(index, None).await {
            if let Some(index) = self.index_of(key) {
                self.retire(index).await;
            }
            return Err(ActorError::StartFailed { actor: id, reason });
        }
        Ok(launched.address)
    }
}
