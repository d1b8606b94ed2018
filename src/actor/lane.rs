//! Where a component actor keeps its live instance, so a caller can run a message on its
//! own task while the actor is idle.
//!
//! Every incarnation of a component actor puts its instance in a fresh [`Lane`]: the
//! instance behind an async mutex, the incarnation's [`StopSignal`] and its
//! [`ExitHandle`]. The component's [`InstanceSlot`] (one per child spec, shared by all its
//! incarnations) points at the current lane. A message then takes one of two ways:
//!
//! - **direct**: `Host::ask` finds the actor idle (no message queued or being handled,
//!   [`ActorRef::is_idle`]) and the lane free and empty, and leaves the message in the
//!   lane. Whoever takes the lane's lock next runs it: normally the
//!   caller, on its own task when it first polls its future; or the
//!   actor, first thing in `before_message`, if a message queued after it is ready before
//!   the caller has polled. The result waits in the lane for the caller.
//! - **queued**: otherwise the message goes to the mailbox, and the actor's task takes the
//!   lane's lock in `before_message`.
//!
//! Order is kept: no direct call is placed while anything is pending or already in the
//! lane, and the actor runs a waiting direct call before any message queued after it. A waiting direct call
//! that crashes records the crash in the lane and, when it ran on the caller's task, sends
//! the incarnation an exit signal: the supervisor restarts the component as for a crash in
//! its own task, and a message the actor has already taken is kept for the fresh
//! instance. A call that has to wait moves to a task of its own (`RunToEnd`, in
//! `direct_call.rs`), so no caller holds the lane by not polling. Stopping an incarnation
//! raises its stop signal after `post_stop` has run any message still waiting; a running
//! one is abandoned past the shutdown deadline (`stopped`), and so is a waiting one under
//! `ShutdownPolicy::Immediate`, which skips `post_stop`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use airssys_wasm_actors::{ActorRef, ExitHandle};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::actor::component_actor::{Envelope, WasmComponentActor};
use crate::actor::direct_call::{DirectCall, RunToEnd};
use crate::engine::StopSignal;
use crate::engine::executor::{ComponentInstance, Reply};
use crate::engine::loader::LoadedComponent;
use crate::error::Error;

/// A direct call's message, placed in the lane by `Host::ask`, waiting to be run or
/// collected. While it is there, no other is placed: later asks queue, and the actor runs
/// it before any of them.
pub(crate) enum Work {
    /// Not run yet.
    Waiting(Envelope),
    /// Run by the actor; the outcome waits for the caller.
    Done(Result<Reply, Error>),
}

/// One incarnation's instance and what a message run outside the actor needs beside it.
pub(crate) struct Lane {
    /// The component's name, for errors.
    pub(crate) name: Arc<str>,
    /// The live instance; `None` for good once a call run outside the actor crashed it
    /// (one abandoned midway stays, marked crashed).
    pub(crate) instance: Option<ComponentInstance>,
    /// At most one waiting direct call. It stays here while it runs, under the lane's lock.
    pub(crate) direct: Option<Work>,
    /// The crash of a waiting direct call, until the supervisor has restarted the component.
    pub(crate) crashed: Option<Error>,
    pub(crate) exit: ExitHandle,
    pub(crate) stop: Arc<StopSignal>,
    /// A new version's instance waiting to replace `instance` (shared with the slot).
    pub(crate) upgrade: Arc<PendingUpgrade>,
}

/// An upgrade's new instance, put by `InstanceSlot::upgrade` and installed by whoever
/// takes the lane's lock next, before it runs anything: a message the actor took from its
/// mailbox and waits with for the lock runs on the new version too.
#[derive(Default)]
pub(crate) struct PendingUpgrade {
    /// Checked on every lock without taking the mutex (an upgrade is rare).
    set: AtomicBool,
    instance: StdMutex<Option<ComponentInstance>>,
}

impl PendingUpgrade {
    fn put(&self, instance: ComponentInstance) {
        if let Ok(mut pending) = self.instance.lock() {
            *pending = Some(instance);
            self.set.store(true, Ordering::Release);
        }
    }

    fn take(&self) -> Option<ComponentInstance> {
        if !self.set.load(Ordering::Acquire) {
            return None;
        }
        let mut pending = self.instance.lock().ok()?;
        self.set.store(false, Ordering::Release);
        pending.take()
    }
}

impl Lane {
    /// A `stopped` error for this component.
    pub(crate) fn stopped(&self, reason: &str) -> Error {
        Error::Stopped {
            component: self.name.to_string(),
            reason: reason.into(),
        }
    }

    /// Installs a pending upgrade's instance in place of a live one (a crashed instance
    /// stays, for the restart, which starts from the new version anyway).
    pub(crate) fn apply_upgrade(&mut self) {
        if let Some(new) = self.upgrade.take()
            && self.crashed.is_none()
            && self.instance.as_ref().is_some_and(|old| !old.has_crashed())
        {
            self.instance = Some(new);
        }
    }

    /// Runs the direct call waiting in the lane, if any, on the live instance; `None` when
    /// none waits. The message stays in the lane while it runs (no copy into the caller's
    /// future), and whoever runs it then replaces it with its outcome or removes it.
    pub(crate) async fn run_direct(&mut self) -> Option<Result<Reply, Error>> {
        if !matches!(&self.direct, Some(Work::Waiting(_))) {
            return None;
        }
        self.apply_upgrade();
        let Some(Work::Waiting(envelope)) = &self.direct else {
            return None;
        };
        Some(match self.instance.as_mut() {
            _ if self.stop.is_raised() => {
                Err(self.stopped("it was stopped before this message ran"))
            }
            Some(instance) if !instance.has_crashed() => {
                instance
                    .call_until(&envelope.message, Some(&self.stop), envelope.deadline)
                    .await
            }
            _ => Err(self.stopped("its instance was lost before this message ran")),
        })
    }
}

/// The lock on a lane: held by a direct call, or by the actor for one queued message.
pub(crate) type LaneGuard = OwnedMutexGuard<Lane>;

/// Locks `lane` for the actor, first running the waiting direct call if it is still waiting
/// (its caller has not polled it yet) and leaving the outcome in the lane for the caller;
/// returns the lock and the crash that message caused, if any. The actor calls this
/// before its next message and before it stops: a waiting direct call came before both.
/// Once started, the message runs to its end even if the actor's hook is cancelled (a
/// stop arriving meanwhile); the incarnation's stop signal abandons it past the shutdown
/// deadline.
pub(crate) async fn lock_after_direct(lane: &Arc<Mutex<Lane>>) -> (LaneGuard, Option<Error>) {
    let mut guard = lane.clone().lock_owned().await;
    if !matches!(guard.direct, Some(Work::Waiting(_))) {
        guard.apply_upgrade();
        return (guard, None);
    }
    let crash = RunToEnd::new(run_waiting(guard)).await.flatten();
    let mut guard = lane.clone().lock_owned().await;
    guard.apply_upgrade();
    (guard, crash)
}

/// Runs the waiting direct call and leaves its outcome; returns its crash.
async fn run_waiting(mut guard: LaneGuard) -> Option<Error> {
    let lane = &mut *guard;
    let outcome = lane.run_direct().await?;
    let crashed = lane
        .instance
        .as_ref()
        .is_some_and(ComponentInstance::has_crashed);
    let crash = outcome
        .as_ref()
        .err()
        .filter(|e| crashed && e.kind().is_crash())
        .cloned();
    lane.direct = Some(Work::Done(outcome));
    crash
}

/// A component's current lane (none while no incarnation runs), and the version its
/// next incarnations start from once it was upgraded.
#[derive(Default)]
pub(crate) struct InstanceSlot {
    current: StdMutex<Option<Arc<Mutex<Lane>>>>,
    version: StdMutex<Option<Arc<LoadedComponent>>>,
    upgrade: Arc<PendingUpgrade>,
    /// The current incarnation's exit signal (for a crash outside its lane: a reused
    /// `wasi:http` instance).
    exit: StdMutex<Option<ExitHandle>>,
}

impl InstanceSlot {
    /// Keeps the current incarnation's exit signal.
    pub(crate) fn set_exit(&self, exit: ExitHandle) {
        if let Ok(mut current) = self.exit.lock() {
            *current = Some(exit);
        }
    }

    /// Tells the current incarnation that it crashed: its supervisor restarts it, under
    /// its intensity, as for a crash of its own.
    pub(crate) fn crashed(&self, reason: &str) {
        if let Some(exit) = self.exit.lock().ok().and_then(|e| e.clone()) {
            exit.exit(reason.to_string());
        }
    }

    /// Makes `lane` the current one.
    pub(crate) fn install(&self, lane: Arc<Mutex<Lane>>) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some(lane);
        }
    }

    /// The version an incarnation starts from after an upgrade; `None`: the child spec's own.
    pub(crate) fn version(&self) -> Option<Arc<LoadedComponent>> {
        self.version.lock().ok().and_then(|version| version.clone())
    }

    /// Where an upgrade leaves its instance, for the lanes of this slot.
    pub(crate) fn pending_upgrade(&self) -> Arc<PendingUpgrade> {
        self.upgrade.clone()
    }

    /// Upgrades in place: every incarnation from now on starts from `loaded`, and the
    /// current one swaps its instance for `instance` (an instance of `loaded`) as soon as
    /// the message it is running ends, before it runs any other, even one the actor has
    /// already taken from its mailbox. Returns once the swap is done (or there was no live
    /// instance to swap, when the next incarnation starts from `loaded` anyway).
    pub(crate) async fn upgrade(
        &self,
        loaded: Arc<LoadedComponent>,
        instance: Option<ComponentInstance>,
    ) {
        if let Ok(mut version) = self.version.lock() {
            *version = Some(loaded);
        }
        // A component without a message instance (wasi:http only) has no lane to swap.
        let Some(instance) = instance else {
            return;
        };
        self.upgrade.put(instance);
        let lane = self.current.lock().ok().and_then(|current| current.clone());
        if let Some(lane) = lane {
            lane.lock().await.apply_upgrade();
        }
    }

    /// Clears the current lane if it is `lane` (a later incarnation's stays).
    pub(crate) fn retire(&self, lane: &Arc<Mutex<Lane>>) {
        if let Ok(mut current) = self.current.lock()
            && current.as_ref().is_some_and(|c| Arc::ptr_eq(c, lane))
        {
            *current = None;
        }
    }

    /// Reserves `message` when it may run outside the mailbox: the actor is idle, the
    /// lane free and empty, its instance live and its incarnation not stopping. Otherwise
    /// the message comes back, for the mailbox.
    pub(crate) fn try_direct(
        &self,
        address: &ActorRef<WasmComponentActor>,
        message: Envelope,
    ) -> Result<DirectCall, Envelope> {
        if !address.is_idle() {
            return Err(message);
        }
        let Some(lane) = self.current.lock().ok().and_then(|current| current.clone()) else {
            return Err(message);
        };
        let Ok(mut guard) = lane.try_lock() else {
            return Err(message);
        };
        let usable = guard.direct.is_none()
            && guard.crashed.is_none()
            && !guard.stop.is_raised()
            && guard
                .instance
                .as_ref()
                .is_some_and(|instance| !instance.has_crashed())
            // Checked again under the lock: a message queued meanwhile goes first.
            && address.is_idle();
        if !usable {
            return Err(message);
        }
        guard.direct = Some(Work::Waiting(message));
        let name = guard.name.clone();
        drop(guard);
        Ok(DirectCall::new(lane, name))
    }
}
