//! Where a component actor keeps its live instance, so a caller can run a message on its
//! own task while the actor is idle.
//!
//! Every incarnation of a component actor puts its instance in a fresh [`Lane`]: the
//! instance behind an async mutex, the incarnation's [`StopSignal`] and its
//! [`ExitHandle`]. The component's [`InstanceSlot`] (one per child spec, shared by all its
//! incarnations) points at the current lane. A message then takes one of two ways:
//!
//! - **claimed**: `Host::ask` finds the actor idle (no message queued or being handled,
//!   [`ActorRef::is_idle`]) and the lane free, takes the lane's lock and runs the call on
//!   the caller's task, with no mailbox hop;
//! - **queued**: otherwise the message goes to the mailbox, and the actor's task takes the
//!   lane's lock in `before_message`, after any claimed call.
//!
//! Order is kept because a claim is refused while anything is queued, and a queued message
//! waits for the claimed call before it runs. A claimed call that crashes records the
//! crash in the lane and sends the incarnation an exit signal: the supervisor restarts the
//! component as for a crash in its own task, and a message the actor has already taken is
//! kept for the fresh instance. Stopping an incarnation raises its stop signal: a claimed
//! call still waiting is abandoned and answered `stopped`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use airssys_wasm_actors::{ActorRef, ExitHandle};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::component_actor::WasmComponentActor;
use crate::error::Error;
use crate::executor::ComponentInstance;

/// Raised once when an incarnation stops; wakes a claimed call that is waiting.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    raised: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    /// Raises the signal (for good).
    pub(crate) fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether it has been raised.
    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Completes once the signal is raised.
    pub(crate) async fn raised(&self) {
        let notified = self.notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if self.is_raised() {
            return;
        }
        notified.await;
    }
}

/// One incarnation's instance and what a claimed call needs beside it.
pub(crate) struct Lane {
    /// `None` while a claimed call has it out, and for good once it crashed there (or the
    /// call was abandoned).
    pub(crate) instance: Option<ComponentInstance>,
    /// The crash of a claimed call, until the supervisor has restarted the component.
    pub(crate) crashed: Option<Error>,
    pub(crate) exit: ExitHandle,
    pub(crate) stop: Arc<StopSignal>,
}

/// The lock on a lane: held by a claimed call, or by the actor for one queued message.
pub(crate) type LaneGuard = OwnedMutexGuard<Lane>;

/// A component's current lane (none while no incarnation runs).
#[derive(Default)]
pub(crate) struct InstanceSlot {
    current: StdMutex<Option<Arc<Mutex<Lane>>>>,
}

impl InstanceSlot {
    /// Makes `lane` the current one.
    pub(crate) fn install(&self, lane: Arc<Mutex<Lane>>) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some(lane);
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

    /// The lane, locked, with its instance taken out, when a message may run on the
    /// caller's task now: the actor is idle, the lane free, its instance live and its
    /// incarnation not stopping. The claimed call puts the instance back unless it crashed.
    pub(crate) fn try_claim(
        &self,
        address: &ActorRef<WasmComponentActor>,
    ) -> Option<(LaneGuard, ComponentInstance)> {
        if !address.is_idle() {
            return None;
        }
        let lane = self.current.lock().ok()?.clone()?;
        let mut guard = lane.try_lock_owned().ok()?;
        // Checked again under the lock: a message queued meanwhile goes first.
        if guard.crashed.is_some() || guard.stop.is_raised() || !address.is_idle() {
            return None;
        }
        let instance = guard.instance.take_if(|instance| !instance.has_crashed())?;
        Some((guard, instance))
    }
}
