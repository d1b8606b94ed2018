//! `WasmComponentActor`: one loaded component living in the actor runtime.
//!
//! The actor's state is its wasmtime `Store` (inside a [`ComponentInstance`]), built in
//! `pre_start` from the loader's `InstancePre`, so a restart is simply a fresh store. One
//! message is one call of `handle`. A `handler` error is a reply, not a crash; `trap`,
//! `fuel`, `timeout` and `memory` are crashes: the caller gets that error, the supervisor
//! restarts the actor, and messages queued behind the crashing one are answered by the
//! fresh instance, in order (the mailbox outlives the instance).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use airssys_wasm_actors::{Actor, ActorContext, ChildSpec, ErrorAction};

use crate::Message;
use crate::error::Error;
use crate::executor::{ComponentInstance, Reply};
use crate::host::messaging::Router;
use crate::loader::LoadedComponent;

/// What a component actor answers: the reply, or the component's handled `err(...)`
/// as [`Error::Handler`]. Crashes come back as the ask's error instead.
pub type ComponentReply = Result<Reply, Error>;

/// An actor whose state is one instance of a component.
pub struct WasmComponentActor {
    loaded: Arc<LoadedComponent>,
    router: Option<Arc<dyn Router>>,
    instance: Option<ComponentInstance>,
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
        WasmComponentActor {
            loaded,
            router,
            instance: None,
        }
    }

    /// A child spec for a supervisor: id and registered name are the component's name; the
    /// factory builds a fresh actor (and so a fresh store) on every (re)start and counts
    /// restarts in the component's metrics.
    pub fn child_spec(
        loaded: Arc<LoadedComponent>,
        router: Option<Arc<dyn Router>>,
    ) -> ChildSpec<WasmComponentActor> {
        let started = AtomicBool::new(false);
        let name = loaded.name().to_string();
        ChildSpec::new(name, move || {
            if started.swap(true, Ordering::Relaxed) {
                loaded.metrics().restarts.fetch_add(1, Ordering::Relaxed);
            }
            WasmComponentActor::new(loaded.clone(), router.clone())
        })
    }

    /// The component this actor runs.
    pub fn component(&self) -> &Arc<LoadedComponent> {
        &self.loaded
    }
}

impl Actor for WasmComponentActor {
    type Message = Message;
    type Reply = ComponentReply;
    type Error = Error;

    async fn pre_start(&mut self, _ctx: &mut ActorContext<Self>) -> Result<(), Error> {
        self.instance = Some(self.loaded.instantiate(self.router.clone()).await?);
        tracing::debug!(component = %self.loaded.name(), "component instance started");
        Ok(())
    }

    async fn handle_message(
        &mut self,
        msg: Message,
        _ctx: &mut ActorContext<Self>,
    ) -> Result<ComponentReply, Error> {
        let Some(instance) = self.instance.as_mut() else {
            return Err(Error::Stopped {
                component: self.loaded.name().to_string(),
                reason: "no live instance".into(),
            });
        };
        match instance.call_message(&msg).await {
            Ok(reply) => Ok(Ok(reply)),
            Err(e @ Error::Handler { .. }) => Ok(Err(e)),
            Err(crash) => Err(crash),
        }
    }

    async fn post_stop(&mut self, _ctx: &mut ActorContext<Self>) {
        self.instance = None;
    }

    fn on_error(&mut self, error: &Error, _ctx: &mut ActorContext<Self>) -> ErrorAction {
        tracing::warn!(component = %self.loaded.name(), %error, "component crashed; restarting it");
        ErrorAction::Restart
    }
}
