//! A supervisor's children table: its entries in start order, the public snapshot of
//! them ([`ChildInfo`], read by [`SupervisorRef::children`](super::SupervisorRef)), and
//! the operations on one child: add, start, halt, retire.
//!
//! The snapshot is updated before the lifecycle event a child left to its supervisor
//! (see [`lifecycle`](crate::lifecycle)) is published: whoever sees `Started`,
//! `Restarted` or `Stopped` sees the snapshot agree.

use std::any::Any;
use std::sync::Arc;

use super::runner::{AnyAddress, SupervisorRunner};
use crate::error::ActorError;
use crate::id::ActorId;
use crate::lifecycle::{ChildHandle, ExitKind, Halted, ParentLink};
use crate::policy::RestartPolicy;
use crate::sync::lock;
use crate::system::ActorSystem;

/// What kind of child an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// An actor built from a [`ChildSpec`](crate::ChildSpec).
    Actor,
    /// A nested supervisor.
    Supervisor,
}

/// Where a child is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildStatus {
    /// Its current incarnation is running.
    Running,
    /// Between incarnations: being restarted (its mailbox is kept).
    Restarting,
    /// Stopped; started again (fresh) if its supervisor is restarted.
    Stopped,
}

/// A snapshot of one child, from [`SupervisorRef::children`](crate::SupervisorRef::children).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child id within its supervisor.
    pub id: String,
    /// Actor or supervisor.
    pub kind: ChildKind,
    /// The id of the child's current task, if it has one.
    pub actor_id: Option<ActorId>,
    /// Its restart policy.
    pub restart_policy: RestartPolicy,
    /// Where it is in its life.
    pub status: ChildStatus,
    /// How many times its supervisor restarted it.
    pub restarts: u32,
}

/// What a supervisor knows how to start: a type-erased child spec.
pub(crate) trait ChildLauncher: Send + Sync {
    /// The child's id within its supervisor.
    fn id(&self) -> &str;
    fn restart_policy(&self) -> RestartPolicy;
    fn kind(&self) -> ChildKind;
    /// Creates the child's task, parked, and registers its name.
    fn launch(&self, system: &ActorSystem, parent: ParentLink) -> Result<Launched, ActorError>;
}

/// A freshly created (parked) child task.
pub(crate) struct Launched {
    pub(crate) handle: ChildHandle,
    pub(crate) id: ActorId,
    /// The typed address (`ActorRef<A>` or `SupervisorRef`).
    pub(crate) address: Arc<dyn Any + Send + Sync>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Running,
    /// Task alive, no incarnation (mailbox kept).
    Parked,
    /// No task: the next start launches a fresh one.
    Dead,
}

/// One entry of the table.
pub(super) struct Child {
    pub(super) key: u64,
    pub(super) launcher: Box<dyn ChildLauncher>,
    pub(super) handle: Option<ChildHandle>,
    pub(super) actor_id: Option<ActorId>,
    pub(super) state: State,
    /// The generation of the incarnation last started; exits of older ones are stale.
    pub(super) generation: u64,
    pub(super) restarts: u32,
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

impl SupervisorRunner {
    pub(super) fn index_of(&self, key: u64) -> Option<usize> {
        self.children.iter().position(|child| child.key == key)
    }

    /// Rebuilds the children snapshot (`SupervisorRef::children`) from scratch.
    pub(super) fn publish(&self) {
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

    /// Adds a child at the end of the start order and starts it; on failure it is
    /// removed again.
    pub(super) async fn add_child(
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

    /// Stops child `id` for good and removes it.
    pub(super) async fn remove_child(&mut self, id: String) -> Result<(), ActorError> {
        match self
            .children
            .iter()
            .position(|child| child.launcher.id() == id)
        {
            Some(index) => {
                self.retire(index).await;
                Ok(())
            }
            None => Err(ActorError::NotFound { name: id }),
        }
    }

    /// Starts child `index` (launching a fresh task if it has none) and waits for its
    /// `pre_start`.
    pub(super) async fn start_child(
        &mut self,
        index: usize,
        reason: Option<String>,
    ) -> Result<(), String> {
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
            Ok(_) => {
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
        // Only now its `Started` / `Restarted`: the snapshot already shows it.
        result.map(|event| {
            if let Some(event) = event {
                self.system.emit(event);
            }
        })
    }

    /// Ends child `index`'s incarnation. With `discard`, an actor child stops for good
    /// (a supervisor child stops its own actors for good and stays parked). Returns the
    /// child's own exit if it had ended on its own without this supervisor knowing.
    pub(super) async fn halt_child(&mut self, index: usize, discard: bool) -> Option<ExitKind> {
        let child = &mut self.children[index];
        let Some(handle) = &child.handle else {
            child.state = State::Dead;
            return None;
        };
        match handle.halt(discard).await {
            Halted::Parked(acked) => {
                if discard && child.launcher.kind() == ChildKind::Actor {
                    child.handle = None;
                    child.state = State::Dead;
                } else {
                    child.state = State::Parked;
                }
                if let Some(event) = acked.event {
                    // A discarded actor's `Stopped`, once the snapshot shows it.
                    self.publish_child(index);
                    self.system.emit(event);
                }
                acked.exited
            }
            Halted::Gone => {
                child.handle = None;
                child.state = State::Dead;
                None
            }
        }
    }

    /// Halts every child in reverse start order; `Temporary` ones are removed.
    pub(super) async fn halt_children(&mut self, discard: bool) {
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
    pub(super) async fn stop_children(&mut self) {
        while let Some(child) = self.children.pop() {
            self.ids.remove(child.launcher.id());
            self.unpublish_child(self.children.len());
            self.stop(&child).await;
        }
    }

    /// Removes child `index` (from the snapshot too, before it announces its stop)
    /// and stops it for good.
    pub(super) async fn retire(&mut self, index: usize) {
        let child = self.children.remove(index);
        self.ids.remove(child.launcher.id());
        self.unpublish_child(index);
        self.stop(&child).await;
    }

    /// Stops a child already removed from the table and the snapshot, then publishes
    /// the `Stopped` event it left to this supervisor.
    async fn stop(&self, child: &Child) {
        if let Some(handle) = &child.handle
            && let Some(event) = handle.stop().await
        {
            self.system.emit(event);
        }
    }
}
