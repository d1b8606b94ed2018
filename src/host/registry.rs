//! The component registry: names to component actors, kept current from the runtime's
//! lifecycle events.
//!
//! The registry actor owns the table's state: the host adds a component when its actor is
//! spawned, and the registry actor follows the runtime's monitoring (started, restarted,
//! stopped), forwarded to its mailbox. Senders read the table
//! directly through a shared read lock, so routing by name costs no extra mailbox hop. The
//! table is split in shards by the name's hash, each behind its own lock: taking a read
//! lock writes the lock's word, and one lock for all would bounce between the cores on
//! every message. A
//! component's address stays the same across restarts (the mailbox outlives the
//! instance), so a restarted component stays reachable under its name; a stopped one
//! answers `stopped` until its name is used again.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use airssys_wasm_actors::{
    Actor, ActorContext, ActorError, ActorRef, ActorSystem, LifecycleEvent, SupervisorRef,
};
use rustc_hash::FxBuildHasher;
use tokio::sync::broadcast;

use crate::actor::component_actor::WasmComponentActor;
use crate::actor::lane::InstanceSlot;
use crate::engine::loader::LoadedComponent;
use crate::error::ErrorKind;

/// How many component events a slow subscriber may fall behind before it skips ahead.
const EVENT_CAPACITY: usize = 1024;

/// One registered component.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) address: ActorRef<WasmComponentActor>,
    pub(crate) loaded: Arc<LoadedComponent>,
    /// Where the component's incarnations keep their instance (for direct calls).
    pub(crate) slot: Arc<InstanceSlot>,
    /// The supervisor it is a child of.
    pub(crate) supervisor: SupervisorRef,
    pub(crate) state: ComponentState,
    /// How many HTTP requests a `wasi:http` component serves at once, and how many wait.
    pub(crate) gate: Arc<HttpGate>,
    /// The idle instances of a `wasi:http` component with `[http] instance = "reuse"`.
    pub(crate) pool: Option<Arc<crate::engine::proxy::ProxyPool>>,
    /// The component's crash count when the registry last heard of it: a restart after
    /// more crashes was caused by the last one, otherwise by a sibling's.
    pub(crate) crashes_seen: u64,
}

/// The concurrency limit of a `wasi:http` component: `[http] concurrency` requests served
/// at once; up to the mailbox capacity more wait; past that, `overloaded`.
pub(crate) struct HttpGate {
    pub(crate) running: Arc<tokio::sync::Semaphore>,
    pub(crate) waiting: AtomicU64,
    pub(crate) max_waiting: u64,
}

/// Something that happened to one of the host's components, from [`Host::events`].
///
/// [`Host::events`]: crate::Host::events
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentEvent {
    /// Its first incarnation started (also when a removed name is spawned again).
    Started {
        /// The component.
        component: String,
    },
    /// A new incarnation started after the previous one ended.
    Restarted {
        /// The component.
        component: String,
        /// The kind of its crash (`trap`, `fuel`, `timeout`, `memory`); `None` when it
        /// was restarted for a sibling's crash (one-for-all, rest-for-one).
        crash: Option<ErrorKind>,
        /// Why, as the runtime said it.
        reason: String,
    },
    /// It stopped for good: removed, shut down, or its supervisor gave up.
    Stopped {
        /// The component.
        component: String,
        /// The kind of the crash that ended it, if a crash did.
        crash: Option<ErrorKind>,
        /// Why, as the runtime said it.
        reason: String,
    },
}

/// What the registry last heard of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentState {
    /// Running (started, or restarted).
    Running,
    /// Stopped: removed, or its supervisor gave up. The reason, as the runtime said it.
    Stopped(String),
}

/// Shards of the table.
const SHARDS: usize = 32;

/// The table of one shard, keyed with rustc's Fx hash: names come from the host's own
/// manifests, so a fast hash without DoS resistance is the right trade for a lookup on
/// every message.
type Table = HashMap<String, Entry, FxBuildHasher>;

/// The shared table of a host's components: a small sharded map, each shard a `HashMap`
/// behind its own `std` read-write lock.
///
/// Kept by hand over `dashmap`: swapped in (32 shards, the same hash), it measured no
/// faster and slightly slower in alternating runs of one session (`roundtrip_64b` 1.51-1.60x
/// raw against 1.47-1.56x, `throughput_1000_actors` 1.63-1.69x against 1.55-1.70x; see
/// docs/performance.md, "Registry"), for a dependency more.
#[derive(Clone)]
pub(crate) struct Registry {
    shards: Arc<[RwLock<Table>; SHARDS]>,
    events: broadcast::Sender<ComponentEvent>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            shards: Arc::default(),
            events: broadcast::channel(EVENT_CAPACITY).0,
        }
    }
}

impl Registry {
    fn shard(&self, name: &str) -> &RwLock<Table> {
        let hash = FxBuildHasher.hash_one(name);
        // The high bits: the table inside picks buckets by the low ones.
        &self.shards[(hash >> 59) as usize % SHARDS]
    }

    pub(crate) fn get(&self, name: &str) -> Option<Entry> {
        self.with(name, Entry::clone)
    }

    /// Runs `f` on the entry of `name` under its shard's read lock, without cloning it.
    pub(crate) fn with<R>(&self, name: &str, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.shard(name).read().ok()?.get(name).map(f)
    }

    /// Registers `name`, failing if another running, live actor already has it. The
    /// `Started` event of the new actor may reach the registry first and point a removed
    /// component's old entry at it: that entry is the new actor's, and is replaced.
    pub(crate) fn insert(&self, name: &str, entry: Entry) -> Result<(), ()> {
        let mut table = self.shard(name).write().map_err(|_| ())?;
        if table.get(name).is_some_and(|e| {
            e.state == ComponentState::Running
                && e.address.is_alive()
                && e.address.id() != entry.address.id()
        }) {
            return Err(());
        }
        table.insert(name.to_string(), entry);
        Ok(())
    }

    /// Whether a running component has this name.
    pub(crate) fn is_running(&self, name: &str) -> bool {
        self.with(name, |e| e.state == ComponentState::Running)
            .unwrap_or(false)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for shard in self.shards.iter() {
            if let Ok(table) = shard.read() {
                names.extend(table.keys().cloned());
            }
        }
        names
    }

    /// Points the entry of `name` at a new version of its component.
    pub(crate) fn set_loaded(&self, name: &str, loaded: Arc<LoadedComponent>) {
        self.update(name, |entry| entry.loaded = loaded);
    }

    /// Runs `f` on the entry of `name` under its shard's write lock; returns whether
    /// `name` is registered.
    fn update(&self, name: &str, f: impl FnOnce(&mut Entry)) -> bool {
        let Ok(mut table) = self.shard(name).write() else {
            return false;
        };
        table.get_mut(name).map(f).is_some()
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
            .name(name)
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

    /// Publishes `event` to the subscribers (none is no error).
    pub(crate) fn publish(&self, event: ComponentEvent) {
        let _ = self.events.send(event);
    }

    /// Subscribes to the components' events from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ComponentEvent> {
        self.events.subscribe()
    }

    fn apply(&self, event: &LifecycleEvent, system: &ActorSystem) {
        let published = match event {
            LifecycleEvent::Started { actor } | LifecycleEvent::Restarted { actor, .. } => {
                // A subtree restarted by its parent gets fresh actors: follow the name.
                let Some(address) = system.lookup::<WasmComponentActor>(actor) else {
                    return;
                };
                let mut crash = None;
                let known = self.update(actor, |entry| {
                    entry.address = address;
                    entry.state = ComponentState::Running;
                    crash = new_crash(entry);
                });
                // `Started` is published by the host once the component is registered (the
                // runtime's event may come first).
                match event {
                    LifecycleEvent::Restarted { reason, .. } if known => {
                        ComponentEvent::Restarted {
                            component: actor.clone(),
                            crash,
                            reason: reason.clone(),
                        }
                    }
                    _ => return,
                }
            }
            LifecycleEvent::Stopped { actor, reason } => {
                let state = ComponentState::Stopped(format!("{reason:?}"));
                let mut crash = None;
                if !self.update(actor, |entry| {
                    entry.state = state;
                    crash = new_crash(entry).filter(|_| !reason.is_normal());
                }) {
                    return;
                }
                tracing::info!(component = %actor, ?reason, "component stopped");
                ComponentEvent::Stopped {
                    component: actor.clone(),
                    crash,
                    reason: reason.to_string(),
                }
            }
            _ => return,
        };
        self.publish(published);
    }

    /// After missed events: a component whose actor is gone is marked stopped.
    fn resync(&self) {
        for shard in self.shards.iter() {
            if let Ok(mut table) = shard.write() {
                for entry in table.values_mut() {
                    if !entry.address.is_alive() {
                        entry.state =
                            ComponentState::Stopped("the actor is no longer alive".into());
                    }
                }
            }
        }
    }
}

/// The kind of the crash `entry` had since the registry last looked, if any.
fn new_crash(entry: &mut Entry) -> Option<ErrorKind> {
    let metrics = entry.loaded.metrics();
    let crashes = metrics.snapshot().crashes();
    let crashed = crashes > entry.crashes_seen;
    entry.crashes_seen = crashes;
    if crashed { metrics.last_crash() } else { None }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_spread_over_the_shards() {
        let registry = Registry::default();
        let used: std::collections::HashSet<_> = (0..1000)
            .map(|i| registry.shard(&format!("tp-{i}")) as *const _)
            .collect();
        assert_eq!(used.len(), SHARDS, "1,000 names use every shard");
    }
}
