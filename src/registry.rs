//! The component registry: names to component actors, kept current from the runtime's
//! lifecycle events.
//!
//! The registry actor owns the table: it adds a component when its actor is spawned and
//! follows the runtime's monitoring (started, restarted, stopped). Senders read the table
//! directly through a shared read lock, so routing by name costs no extra mailbox hop. A
//! component's address stays the same across restarts (the mailbox outlives the
//! instance), so a restarted component stays reachable under its name; a stopped one
//! answers `stopped` until its name is used again.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use airssys_wasm_actors::{ActorRef, LifecycleEvent};
use tokio::sync::broadcast;

use crate::component_actor::WasmComponentActor;
use crate::loader::LoadedComponent;

/// One registered component.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) address: ActorRef<WasmComponentActor>,
    pub(crate) loaded: Arc<LoadedComponent>,
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
        self.table.read().ok()?.get(name).cloned()
    }

    /// Registers `name`, failing if a running component already has it.
    pub(crate) fn insert(&self, name: &str, entry: Entry) -> Result<(), ()> {
        let mut table = self.table.write().map_err(|_| ())?;
        if table.get(name).is_some_and(|e| e.state == ComponentState::Running) {
            return Err(());
        }
        table.insert(name.to_string(), entry);
        Ok(())
    }

    /// Whether a running component has this name.
    pub(crate) fn is_running(&self, name: &str) -> bool {
        self.get(name).is_some_and(|e| e.state == ComponentState::Running)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.table.read().map(|t| t.keys().cloned().collect()).unwrap_or_default()
    }

    fn set_state(&self, name: &str, state: ComponentState) {
        if let Ok(mut table) = self.table.write()
            && let Some(entry) = table.get_mut(name)
        {
            entry.state = state;
        }
    }

    /// Follows lifecycle events until the runtime's event stream closes.
    pub(crate) async fn follow(self, mut events: broadcast::Receiver<LifecycleEvent>) {
        loop {
            match events.recv().await {
                Ok(event) => self.apply(&event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the registry missed lifecycle events; rechecking addresses");
                    self.resync();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn apply(&self, event: &LifecycleEvent) {
        match event {
            LifecycleEvent::Started { actor } | LifecycleEvent::Restarted { actor, .. } => {
                if self.get(actor).is_some() {
                    self.set_state(actor, ComponentState::Running);
                }
            }
            LifecycleEvent::Stopped { actor, reason } => {
                if self.get(actor).is_some() {
                    tracing::info!(component = %actor, ?reason, "component stopped");
                    self.set_state(actor, ComponentState::Stopped(format!("{reason:?}")));
                }
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
