//! The component registry: names to component actors, kept current from the runtime's
//! lifecycle events.
//!
//! The registry actor owns the table's state: the host adds a component when its actor is
//! spawned, and the registry actor follows the runtime's monitoring (started, restarted,
//! stopped), forwarded to its mailbox. Senders read the table
//! directly through a shared read lock, so routing by name costs no extra mailbox hop. A
//! component's address stays the same across restarts (the mailbox outlives the
//! instance), so a restarted component stays reachable under its name; a stopped one
//! answers `stopped` until its name is used again.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use airssys_wasm_actors::{Actor, ActorContext, ActorError, ActorRef, ActorSystem, LifecycleEvent};
use tokio::sync::broadcast;

use crate::component_actor::WasmComponentActor;
use crate::instance_slot::InstanceSlot;
use crate::loader::LoadedComponent;

/// One registered component.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) address: ActorRef<WasmComponentActor>,
    pub(crate) loaded: Arc<LoadedComponent>,
    /// Where the component's incarnations keep their instance (for claimed calls).
    pub(crate) slot: Arc<InstanceSlot>,
    pub(crate) state: ComponentState,
}

/// What the registry last heard of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentState {
    /// Running (started, or restarted).
    Running,
    /// Stopped: removed, or its supervisor gave up. The reason, as the runtime said it.
    Stopped(String),
}

/// The shared table of a host's components.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    table: Arc<RwLock<HashMap<String, Entry>>>,
}

impl Registry {
    pub(crate) fn get(&self, name: &str) -> Option<Entry> {
        self.with(name, Entry::clone)
    }

    /// Runs `f` on the entry of `name` under the table's read lock, without cloning it.
    pub(crate) fn with<R>(&self, name: &str, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.table.read().ok()?.get(name).map(f)
    }

    /// Registers `name`, failing if a running component already has it.
    pub(crate) fn insert(&self, name: &str, entry: Entry) -> Result<(), ()> {
        let mut table = self.table.write().map_err(|_| ())?;
        if table
            .get(name)
            .is_some_and(|e| e.state == ComponentState::Running)
        {
            return Err(());
        }
        table.insert(name.to_string(), entry);
        Ok(())
    }

    /// Whether a running component has this name.
    pub(crate) fn is_running(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|e| e.state == ComponentState::Running)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.table
            .read()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Sets the state of a registered component; returns whether `name` is one.
    fn set_state(&self, name: &str, state: ComponentState) -> bool {
        let Ok(mut table) = self.table.write() else {
            return false;
        };
        match table.get_mut(name) {
            Some(entry) => {
                entry.state = state;
                true
            }
            None => false,
        }
    }

    /// Starts the registry actor in `system` and the task that forwards the runtime's
    /// lifecycle events to it.
    pub(crate) async fn start(&self, system: &ActorSystem) -> Result<(), ActorError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "airssys-wasm-registry-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut events = system.subscribe();
        let actor = system
            .spawn()
            .with_name(name)
            .spawn(RegistryActor {
                registry: self.clone(),
            })
            .await?;
        tokio::spawn(async move {
            loop {
                let update = match events.recv().await {
                    Ok(event) => Update::Event(event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "the registry missed lifecycle events; rechecking addresses"
                        );
                        Update::Resync
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if actor.tell(update).await.is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    fn apply(&self, event: &LifecycleEvent, system: &ActorSystem) {
        match event {
            LifecycleEvent::Started { actor } | LifecycleEvent::Restarted { actor, .. } => {
                // A subtree restarted by its parent gets fresh actors: follow the name.
                if let Some(address) = system.lookup::<WasmComponentActor>(actor)
                    && let Ok(mut table) = self.table.write()
                    && let Some(entry) = table.get_mut(actor.as_str())
                {
                    entry.address = address;
                    entry.state = ComponentState::Running;
                }
            }
            LifecycleEvent::Stopped { actor, reason }
                if self.set_state(actor, ComponentState::Stopped(format!("{reason:?}"))) =>
            {
                tracing::info!(component = %actor, ?reason, "component stopped");
            }
            _ => {}
        }
    }

    /// After missed events: a component whose actor is gone is marked stopped.
    fn resync(&self) {
        if let Ok(mut table) = self.table.write() {
            for entry in table.values_mut() {
                if !entry.address.is_alive() {
                    entry.state = ComponentState::Stopped("the actor is no longer alive".into());
                }
            }
        }
    }
}

/// What the registry actor is told.
#[derive(Debug)]
pub(crate) enum Update {
    /// A lifecycle event of the runtime.
    Event(LifecycleEvent),
    /// Events were missed: recheck every address.
    Resync,
}

/// The actor that owns the registry's table and keeps it current.
pub(crate) struct RegistryActor {
    registry: Registry,
}

impl Actor for RegistryActor {
    type Message = Update;
    type Reply = ();
    type Error = Infallible;

    async fn handle_message(
        &mut self,
        update: Update,
        ctx: &mut ActorContext<Self>,
    ) -> Result<(), Infallible> {
        match update {
            Update::Event(event) => self.registry.apply(&event, ctx.system()),
            Update::Resync => self.registry.resync(),
        }
        Ok(())
    }
}
