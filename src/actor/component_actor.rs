//! `WasmComponentActor`: one loaded component living in the actor runtime.
//!
//! The actor's state is its wasmtime `Store` (inside a [`ComponentInstance`]), built in
//! `pre_start` from the loader's `InstancePre`, so a restart is simply a fresh store. One
//! message is one call of `handle`. A `handler` error is a reply, not a crash; `trap`,
//! `fuel`, `timeout` and `memory` are crashes: the caller gets that error, the supervisor
//! restarts the actor, and messages queued behind the crashing one are answered by the
//! fresh instance, in order (the mailbox outlives the instance).
//!
//! The instance sits in the incarnation's lane ([`crate::actor::lane`]): while the actor
//! is idle, `Host::ask` places a direct call there and its caller runs it under the lane's
//! lock; the actor takes the same lock in `before_message` for each queued message, running
//! a waiting direct call first if its caller has not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use airssys_wasm_actors::{Actor, ActorContext, ChildSpec, ErrorAction};
use tokio::sync::Mutex;

use crate::actor::lane::{InstanceSlot, Lane, LaneGuard, lock_after_direct};
use crate::engine::StopSignal;
use crate::engine::executor::{ComponentInstance, Reply};
use crate::engine::loader::LoadedComponent;
use crate::error::Error;
use crate::imports::ComponentMessage;
use crate::store::Router;

/// What a component actor answers: the reply, or the component's handled `err(...)`
/// as [`Error::Handler`] (and a `timeout` for a message whose [`Envelope::deadline`] had
/// passed before it ran). Crashes come back as the ask's error instead.
pub type ComponentReply = Result<Reply, Error>;

/// A message for a component actor, with the latest moment it may run until when its
/// caller's own time is shorter than the component's `max_execution_time_ms` (a request
/// that came over a lattice carries what its caller had left).
#[derive(Debug)]
pub struct Envelope {
    /// The message.
    pub message: ComponentMessage,
    /// Past this the message ends in `timeout` (restarting the component, as its own limit
    /// would); one already past when the message's turn comes is answered `timeout` without
    /// running. `None`: the component's own limit only.
    pub deadline: Option<Instant>,
}

impl From<ComponentMessage> for Envelope {
    fn from(message: ComponentMessage) -> Envelope {
        Envelope {
            message,
            deadline: None,
        }
    }
}

/// An actor whose state is one instance of a component.
pub struct WasmComponentActor {
    loaded: Arc<LoadedComponent>,
    router: Option<Arc<dyn Router>>,
    slot: Arc<InstanceSlot>,
    /// This incarnation's lane and its stop signal, from `pre_start` on.
    lane: Option<(Arc<Mutex<Lane>>, Arc<StopSignal>)>,
    /// The lane's lock, taken in `before_message` for the next queued message.
    held: Option<LaneGuard>,
}

impl std::fmt::Debug for WasmComponentActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmComponentActor")
            .field("component", &self.loaded.name())
            .finish_non_exhaustive()
    }
}

impl WasmComponentActor {
    /// An actor for `loaded`; its instance is created when the actor starts. `router`
    /// carries the component's `send`/`request` calls.
    pub fn new(
        loaded: Arc<LoadedComponent>,
        router: Option<Arc<dyn Router>>,
    ) -> WasmComponentActor {
        WasmComponentActor::in_slot(loaded, router, Arc::default())
    }

    /// An actor whose incarnations put their instance in `slot`.
    fn in_slot(
        loaded: Arc<LoadedComponent>,
        router: Option<Arc<dyn Router>>,
        slot: Arc<InstanceSlot>,
    ) -> WasmComponentActor {
        WasmComponentActor {
            loaded,
            router,
            slot,
            lane: None,
            held: None,
        }
    }

    /// A child spec for a supervisor: id and registered name are the component's name; the
    /// factory builds a fresh actor (and so a fresh store) on every (re)start and counts
    /// restarts in the component's metrics. A stop waits for a running message up to its
    /// own time limit and one second more (at least 5 s), so stopping a healthy component
    /// for a sibling's restart never cuts a call short.
    pub fn child_spec(
        loaded: Arc<LoadedComponent>,
        router: Option<Arc<dyn Router>>,
    ) -> ChildSpec<WasmComponentActor> {
        WasmComponentActor::child_spec_in(loaded, router, Arc::default())
    }

    /// Like [`WasmComponentActor::child_spec`], every incarnation using `slot` (which the
    /// host keeps to run messages on their callers' tasks).
    pub(crate) fn child_spec_in(
        loaded: Arc<LoadedComponent>,
        router: Option<Arc<dyn Router>>,
        slot: Arc<InstanceSlot>,
    ) -> ChildSpec<WasmComponentActor> {
        let started = AtomicBool::new(false);
        let name = loaded.name().to_string();
        let limit = Duration::from_millis(loaded.manifest().resources.max_execution_time_ms);
        let shutdown = (limit + Duration::from_secs(1)).max(Duration::from_secs(5));
        ChildSpec::new(name, move || {
            if started.swap(true, Ordering::Relaxed) {
                loaded.metrics().restarts.fetch_add(1, Ordering::Relaxed);
            }
            // After an upgrade, the new version; otherwise the one the spec was made with.
            let loaded = slot.version().unwrap_or_else(|| loaded.clone());
            WasmComponentActor::in_slot(loaded, router.clone(), slot.clone())
        })
        .shutdown_timeout(shutdown)
    }

    /// The component this actor runs.
    pub fn component(&self) -> &Arc<LoadedComponent> {
        &self.loaded
    }

    fn no_instance(&self, reason: &str) -> Error {
        Error::Stopped {
            component: self.loaded.name().to_string(),
            reason: reason.into(),
        }
    }

    /// Ends this incarnation's lane: a direct call still waiting is abandoned, and new
    /// direct calls find no lane.
    fn retire(&mut self) {
        self.held = None;
        if let Some((lane, stop)) = self.lane.take() {
            stop.raise();
            self.slot.retire(&lane);
        }
    }
}

impl Drop for WasmComponentActor {
    fn drop(&mut self) {
        // `post_stop` is skipped under `ShutdownPolicy::Immediate`.
        self.retire();
    }
}

impl Actor for WasmComponentActor {
    type Message = Envelope;
    type Reply = ComponentReply;
    type Error = Error;

    async fn pre_start(&mut self, ctx: &mut ActorContext<Self>) -> Result<(), Error> {
        self.slot.set_exit(ctx.exit_handle());
        if !self.loaded.serves_messages() {
            // A `wasi:http` component only: each request gets its own instance.
            return Ok(());
        }
        let instance = self.loaded.instantiate(self.router.clone()).await?;
        let stop = Arc::new(StopSignal::default());
        let lane = Arc::new(Mutex::new(Lane {
            name: self.loaded.name.clone(),
            instance: Some(instance),
            direct: None,
            crashed: None,
            exit: ctx.exit_handle(),
            stop: stop.clone(),
            upgrade: self.slot.pending_upgrade(),
        }));
        self.slot.install(lane.clone());
        self.lane = Some((lane, stop));
        tracing::debug!(component = %self.loaded.name(), "component instance started");
        Ok(())
    }

    async fn before_message(&mut self, _ctx: &mut ActorContext<Self>) -> Result<(), Error> {
        if !self.loaded.serves_messages() {
            return Ok(());
        }
        let Some((lane, _)) = &self.lane else {
            return Err(self.no_instance("no live instance"));
        };
        // Waits for a message running on its caller's task. A direct call placed in the lane while the
        // actor was idle came before this one: it runs first if its caller has not got
        // to it yet, and its outcome waits in the lane.
        let (guard, crash) = lock_after_direct(lane).await;
        if let Some(crash) = crash {
            return Err(crash);
        }
        if let Some(crash) = &guard.crashed {
            return Err(crash.clone());
        }
        if guard
            .instance
            .as_ref()
            .is_none_or(ComponentInstance::has_crashed)
        {
            return Err(self.no_instance("its instance was lost in a call abandoned midway"));
        }
        self.held = Some(guard);
        Ok(())
    }

    async fn handle_message(
        &mut self,
        msg: Envelope,
        _ctx: &mut ActorContext<Self>,
    ) -> Result<ComponentReply, Error> {
        if !self.loaded.serves_messages() {
            // A reply, not a crash: the component is fine, the message had the wrong way in.
            return Ok(Err(self.loaded.http_only()));
        }
        // `before_message` took the lane (after running any waiting direct call) for this one.
        let Some(mut guard) = self.held.take() else {
            return Err(self.no_instance("no live instance"));
        };
        let Some(instance) = guard.instance.as_mut() else {
            return Err(self.no_instance("no live instance"));
        };
        match instance.call_until(&msg.message, None, msg.deadline).await {
            Ok(reply) => Ok(Ok(reply)),
            // A handled `err(...)`, or a deadline gone before the message ran.
            Err(e) if !instance.has_crashed() => Ok(Err(e)),
            Err(crash) => Err(crash),
        }
    }

    async fn post_stop(&mut self, _ctx: &mut ActorContext<Self>) {
        self.held = None;
        if let Some((lane, _)) = &self.lane {
            // A call running on its caller's task may finish, as a handler may, and a
            // direct call placed before the stop came is run: the runtime cancels this hook
            // at the shutdown deadline, and then `Drop` raises the stop signal, which
            // abandons the call.
            let (guard, _) = lock_after_direct(lane).await;
            // Raised under the lock: no direct call is placed after the last one ran.
            guard.stop.raise();
        }
        self.retire();
    }

    fn on_error(&mut self, error: &Error, _ctx: &mut ActorContext<Self>) -> ErrorAction {
        tracing::warn!(component = %self.loaded.name(), %error, "component crashed; restarting it");
        ErrorAction::Restart
    }
}
