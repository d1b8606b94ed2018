//! [`Host`]: the library's front door. Components in an actor system, by name.
//!
//! ```no_run
//! use airssys_wasm::{Host, EngineConfig, Manifest};
//! use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SystemConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let system = ActorSystem::new(SystemConfig::default());
//! let host = Host::start(&system, EngineConfig::default()).await?;
//! let supervisor = system.spawn_supervisor(SupervisorConfig::new(Strategy::OneForOne)).name("components").start().await?;
//! host.spawn_component(&supervisor, Manifest::from_file("examples/components/echo/Component.toml")?).await?;
//! let reply = host.ask("echo", "greet", b"hello").await?;
//! assert_eq!(reply.payload, b"hello");
//! system.shutdown().await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};
use std::time::Instant;

use airssys_wasm_actors::{
    ActorRef, ActorSystem, AskError, DEFAULT_MAILBOX_CAPACITY, RestartPolicy, SendError,
    ShutdownPolicy, SupervisorRef,
};

use crate::actor::component_actor::{Envelope, WasmComponentActor};
use crate::actor::direct_call::DirectCall;
use crate::actor::lane::InstanceSlot;
use crate::engine::executor::Reply;
use crate::engine::loader::LoadedComponent;
use crate::engine::proxy::ProxyPool;
use crate::engine::{EngineConfig, Engines};
use crate::error::Error;
use crate::imports::ComponentMessage;
use crate::manifest::InstanceMode;
use crate::manifest::{Manifest, ManifestError};
use crate::store::Router;
use crate::store::metrics::MetricsSnapshot;
use registry::{Entry, HttpGate, Registry};

pub use registry::{ComponentEvent, ComponentState};
pub use remote::{Remote, RemoteReply};

mod registry;
mod remote;

/// A WebAssembly component host inside an actor system. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engines,
    system: ActorSystem,
    registry: Registry,
    mailbox_capacity: usize,
    router: Arc<HostRouter>,
    /// Where names this host does not run go (shared by the hosts `with_mailbox_capacity`
    /// makes); read only on that way.
    remote: Arc<RwLock<Option<Arc<dyn Remote>>>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("components", &self.inner.registry.names())
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts a host in `system`: its engines and registry.
    ///
    /// # Errors
    ///
    /// Fails when the registry actor cannot start (the system is shutting down).
    pub async fn start(system: &ActorSystem, config: EngineConfig) -> std::io::Result<Host> {
        let engine = Engines::new(config);
        let registry = Registry::default();
        registry
            .start(system)
            .await
            .map_err(std::io::Error::other)?;
        Ok(Host::assemble(
            engine,
            system.clone(),
            registry,
            DEFAULT_MAILBOX_CAPACITY,
            Arc::default(),
        ))
    }

    /// A host over these parts, with its own router pointing back at it.
    fn assemble(
        engine: Engines,
        system: ActorSystem,
        registry: Registry,
        mailbox_capacity: usize,
        remote: Arc<RwLock<Option<Arc<dyn Remote>>>>,
    ) -> Host {
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            engine,
            system,
            registry,
            mailbox_capacity,
            router: Arc::new(HostRouter { host: weak.clone() }),
            remote,
        });
        Host { inner }
    }

    /// The same host with another mailbox capacity for components spawned from now on.
    pub fn with_mailbox_capacity(&self, capacity: usize) -> Host {
        let inner = &self.inner;
        Host::assemble(
            inner.engine.clone(),
            inner.system.clone(),
            inner.registry.clone(),
            capacity.max(1),
            inner.remote.clone(),
        )
    }

    /// Sends messages for names this host does not run (or whose component stopped for
    /// good) to `remote` from now on, instead of answering `not-found`: the other hosts of a
    /// lattice. `None` takes it away again. A live local component always wins.
    pub fn set_remote(&self, remote: Option<Arc<dyn Remote>>) {
        if let Ok(mut current) = self.inner.remote.write() {
            *current = remote;
        }
    }

    fn remote(&self) -> Option<Arc<dyn Remote>> {
        self.inner.remote.read().ok().and_then(|r| r.clone())
    }

    /// The host's engines.
    pub fn engine(&self) -> &Engines {
        &self.inner.engine
    }

    /// The actor system the host lives in.
    pub fn system(&self) -> &ActorSystem {
        &self.inner.system
    }

    /// Loads a component (compiling it, or taking it from the cache).
    ///
    /// # Errors
    ///
    /// `manifest`, `component` or `link`, as [`LoadedComponent::load`].
    pub async fn load(&self, manifest: Manifest) -> Result<Arc<LoadedComponent>, Error> {
        LoadedComponent::load(&self.inner.engine, manifest).await
    }

    /// Loads the component of `manifest` and starts it as a child of `supervisor`,
    /// registered under its name.
    ///
    /// # Errors
    ///
    /// `manifest`, `component`, `link` from loading; `manifest` naming `component.name`
    /// when a running component of this host already has the name; the first crash kind
    /// when the component cannot even start.
    pub async fn spawn_component(
        &self,
        supervisor: &SupervisorRef,
        manifest: Manifest,
    ) -> Result<ActorRef<WasmComponentActor>, Error> {
        let loaded = self.load(manifest).await?;
        self.spawn_loaded(supervisor, loaded).await
    }

    /// Starts an already loaded component as a child of `supervisor`.
    ///
    /// # Errors
    ///
    /// As [`Host::spawn_component`], without the loading.
    pub async fn spawn_loaded(
        &self,
        supervisor: &SupervisorRef,
        loaded: Arc<LoadedComponent>,
    ) -> Result<ActorRef<WasmComponentActor>, Error> {
        self.spawn_loaded_with(supervisor, loaded, SpawnOptions::default())
            .await
    }

    /// Starts an already loaded component as a child of `supervisor`, with `options`
    /// (its restart policy, its mailbox capacity).
    ///
    /// # Errors
    ///
    /// As [`Host::spawn_loaded`].
    pub async fn spawn_loaded_with(
        &self,
        supervisor: &SupervisorRef,
        loaded: Arc<LoadedComponent>,
        options: SpawnOptions,
    ) -> Result<ActorRef<WasmComponentActor>, Error> {
        let name = loaded.name().to_string();
        if self.inner.registry.is_running(&name) {
            return Err(name_taken(&loaded));
        }
        let router: Arc<dyn Router> = self.inner.router.clone();
        let slot = Arc::new(InstanceSlot::default());
        let spec = WasmComponentActor::child_spec_in(loaded.clone(), Some(router), slot.clone())
            .mailbox_capacity(
                options
                    .mailbox_capacity
                    .unwrap_or(self.inner.mailbox_capacity),
            )
            .restart_policy(options.restart_policy);
        let spec = match options.shutdown_policy {
            Some(policy) => spec.shutdown_policy(policy),
            None => spec,
        };
        let address = supervisor
            .add_child(spec)
            .await
            .map_err(|e| Error::Stopped {
                component: name.clone(),
                reason: format!("it could not be started: {e}"),
            })?;
        let http = loaded.manifest().http.unwrap_or_default();
        if loaded.manifest().http.is_some() && !loaded.serves_http() {
            tracing::info!(component = %name, "its manifest's [http] table is ignored: it does not export wasi:http/incoming-handler");
        }
        let gate = Arc::new(HttpGate {
            running: Arc::new(tokio::sync::Semaphore::new(http.concurrency.max(1) as usize)),
            waiting: Default::default(),
            max_waiting: options
                .mailbox_capacity
                .unwrap_or(self.inner.mailbox_capacity) as u64,
        });
        let pool = (loaded.serves_http() && http.instance == InstanceMode::Reuse).then(|| {
            let slot = slot.clone();
            Arc::new(ProxyPool::new(move |crash: &Error| {
                slot.crashed(&crash.to_string())
            }))
        });
        let entry = Entry {
            address: address.clone(),
            loaded: loaded.clone(),
            slot,
            gate,
            pool,
            supervisor: supervisor.clone(),
            state: ComponentState::Running,
            crashes_seen: loaded.metrics().snapshot().crashes(),
        };
        if self.inner.registry.insert(&name, entry).is_err() {
            // Another component of the name started meanwhile: this one does not run
            // unregistered.
            let _ = supervisor.remove_child(&name).await;
            return Err(name_taken(&loaded));
        }
        self.inner
            .registry
            .publish(ComponentEvent::Started { component: name });
        Ok(address)
    }

    /// Sends a message to the component `to` and waits for its reply.
    ///
    /// The message takes its place when `ask` is called, before the returned future is
    /// first polled: asks made one after another are handled in that order. When the
    /// component is idle (nothing queued or running), `ask` places a direct call in its lane and the call runs
    /// on the task that polls the future, without a hop through the actor's mailbox; if a
    /// message sent later is ready first, the actor runs the direct call before it.
    /// Otherwise the message is queued for the component actor. Either way the limits,
    /// the error kinds and the supervision are the same: a crash restarts the component
    /// and messages queued behind it go to the fresh instance. A dropped ask is still
    /// handled (to the end, if it had started) and its reply discarded. The payload is
    /// anything that becomes a `Vec<u8>`: a `Vec` is moved in, a slice is copied.
    ///
    /// # Errors
    ///
    /// `not-found` for an unknown name, `overloaded` when its mailbox is full, `handler`
    /// when it returned `err(...)`, `trap`/`fuel`/`timeout`/`memory` when this message
    /// crashed it, `stopped` when it was stopped or its supervisor gave up.
    ///
    /// On a lattice ([`Host::set_remote`]), a name this host does not run is asked
    /// elsewhere, with the same kinds of errors, and `timeout` past the remote's own
    /// default deadline (30 s in `serve`; [`Host::ask_timeout`] sets one).
    pub fn ask(
        &self,
        to: &str,
        topic: &str,
        payload: impl Into<Vec<u8>>,
    ) -> impl Future<Output = Result<Reply, Error>> + Send + 'static {
        self.ask_from(Way::Outside, to, outside(topic, payload.into()), None)
    }

    /// Sends a message to the component `to` and waits for its reply at most `limit`.
    ///
    /// Past the limit the caller gets `timeout`, and the message is still handled (to
    /// its end, if it had started) with its reply discarded, as for a dropped [`Host::ask`].
    /// Asked on another host of a lattice, the message runs there within `limit` only.
    ///
    /// # Errors
    ///
    /// As [`Host::ask`], and `timeout` when no reply came within `limit`.
    pub async fn ask_timeout(
        &self,
        to: &str,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        limit: std::time::Duration,
    ) -> Result<Reply, Error> {
        let started = Instant::now();
        let ask = self.ask_from(
            Way::Outside,
            to,
            outside(topic, payload.into()),
            // A limit too far to be an instant (`Duration::MAX`) is no limit.
            started.checked_add(limit),
        );
        match tokio::time::timeout(limit, ask).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::past_budget(to, limit, started.elapsed())),
        }
    }

    /// Sends a message to the component `to` without waiting for a reply, waiting for room
    /// in its mailbox when it is full. The payload is taken as by [`Host::ask`].
    ///
    /// # Errors
    ///
    /// `not-found` or `stopped` (also when it stops while this waits for room), with the
    /// message that was not delivered ([`Undelivered::into_message`]).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it waits for room drops the message, undelivered.
    pub async fn tell(
        &self,
        to: &str,
        topic: &str,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), Undelivered> {
        let delivered = match self.entry_for(to, outside(topic, payload.into())) {
            Ok((entry, message)) => entry
                .address
                .tell(Envelope::from(message))
                .await
                .map_err(|e| refused(to, &entry, e)),
            Err(undelivered) => Err(undelivered),
        };
        delivered.or_else(|undelivered| self.tell_elsewhere(Way::Outside, to, undelivered))
    }

    /// Sends a message to the component `to` without waiting, neither for a reply nor for
    /// room. The payload is taken as by [`Host::ask`].
    ///
    /// # Errors
    ///
    /// `not-found`, `overloaded` or `stopped`, with the message that was not delivered
    /// ([`Undelivered::into_message`]), so the caller can retry or store it.
    pub fn try_tell(
        &self,
        to: &str,
        topic: &str,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), Undelivered> {
        self.tell_from(Way::Outside, to, outside(topic, payload.into()))
    }

    /// A component's counters.
    ///
    /// # Errors
    ///
    /// `not-found` for an unknown name.
    pub fn metrics(&self, name: &str) -> Result<MetricsSnapshot, Error> {
        Ok(self.entry(name)?.loaded.metrics().snapshot())
    }

    /// Whether the component `name` serves HTTP requests (exports
    /// `wasi:http/incoming-handler`); `None` for an unknown name.
    pub fn serves_http(&self, name: &str) -> Option<bool> {
        self.inner
            .registry
            .with(name, |entry| entry.loaded.serves_http())
    }

    /// Serves `request` with the `wasi:http` component `name`: a fresh instance with the
    /// manifest's limits for this request. At most `[http] concurrency` requests of a
    /// component run at once; up to its mailbox capacity more wait their turn.
    ///
    /// # Errors
    ///
    /// `not-found`; `stopped` when it is not running; `overloaded` when as many requests
    /// wait as its mailbox holds; `component` when it does not serve HTTP; and the
    /// request's own failure before the response head (`trap`, `fuel`, `timeout`,
    /// `memory`, or `handler` when it set no response).
    ///
    /// # Cancel safety
    ///
    /// Dropped while it waits for its turn, the request is not served; dropped later, its
    /// instance runs to its end (within its limits), and the response is discarded.
    pub async fn serve_http<B>(
        &self,
        name: &str,
        request: hyper::Request<B>,
    ) -> Result<crate::engine::ProxyResponse, Error>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        // What a request needs of the entry, taken under the registry's read lock.
        let (loaded, gate, pool) = self
            .inner
            .registry
            .with(name, |entry| {
                if entry.state != ComponentState::Running || !entry.address.is_alive() {
                    return Err(stopped(name, entry));
                }
                Ok((entry.loaded.clone(), entry.gate.clone(), entry.pool.clone()))
            })
            .ok_or_else(|| Error::NotFound {
                name: name.to_string(),
            })??;
        let gate = &gate;
        let permit = match gate.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Counted while it waits, also when its caller gives up and drops it.
                let _waiting = Waiting::enter(gate).ok_or_else(|| Error::Overloaded {
                    component: name.to_string(),
                })?;
                let permit = gate.running.clone().acquire_owned().await;
                permit.map_err(|_| Error::Stopped {
                    component: name.to_string(),
                    reason: "its requests are no longer served".into(),
                })?
            }
        };
        let router: Arc<dyn Router> = self.inner.router.clone();
        loaded
            .serve_request(request, Some(router), pool, permit)
            .await
    }

    /// How many messages wait in the mailbox of the component `name` (not counting the one
    /// running).
    ///
    /// # Errors
    ///
    /// `not-found` for an unknown name.
    pub fn mailbox_depth(&self, name: &str) -> Result<usize, Error> {
        self.inner
            .registry
            .with(name, |entry| entry.address.mailbox_len())
            .ok_or_else(|| Error::NotFound {
                name: name.to_string(),
            })
    }

    /// The components' lifecycle from now on: started, restarted (with the kind of the
    /// crash that caused it), stopped. A subscriber that falls more than 1,024 events
    /// behind gets `RecvError::Lagged` and skips ahead; publishing never waits.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<ComponentEvent> {
        self.inner.registry.subscribe()
    }

    /// The names of the host's components (running or stopped).
    pub fn components(&self) -> Vec<String> {
        self.inner.registry.names()
    }

    /// What the host last heard of the component `name`: running, or stopped and why.
    ///
    /// # Errors
    ///
    /// `not-found` for an unknown name.
    pub fn state(&self, name: &str) -> Result<ComponentState, Error> {
        Ok(self.entry(name)?.state)
    }

    /// Stops the component `name` for good and removes it from its supervisor: its
    /// running message finishes (within its time limit), queued ones are answered
    /// `stopped`, and so is every later message to the name, until a component is spawned
    /// under it again.
    ///
    /// # Errors
    ///
    /// `not-found` for an unknown name; `stopped` when it is not running (already removed,
    /// or its supervisor gave up).
    pub async fn remove_component(&self, name: &str) -> Result<(), Error> {
        let entry = self.entry(name)?;
        entry
            .supervisor
            .remove_child(name)
            .await
            .map_err(|e| Error::Stopped {
                component: name.to_string(),
                reason: format!("it cannot be removed: {e}"),
            })
    }

    /// Upgrades the running component named as `manifest` says to the version it
    /// describes, in place: it keeps its name, its mailbox and its counters. The new
    /// version is loaded, linked and instantiated once first; then the message running
    /// finishes on the old version, and every queued and later message runs on the new one
    /// (restarts too). Nothing is refused meanwhile.
    ///
    /// # Errors
    ///
    /// `not-found` when no component has the manifest's name; `manifest`, `component` or
    /// `link` when the new version does not load, and its start error when it cannot be
    /// instantiated. In every error case the old version keeps serving, unchanged.
    pub async fn upgrade(&self, manifest: Manifest) -> Result<Arc<LoadedComponent>, Error> {
        let name = manifest.component.name.clone();
        let entry = self.entry(&name)?;
        let loaded = LoadedComponent::load_counting(
            &self.inner.engine,
            manifest,
            entry.loaded.metrics.clone(),
        )
        .await?;
        let router: Arc<dyn Router> = self.inner.router.clone();
        // Instantiated once before it takes any work: its message instance (which then
        // serves), and for a wasi:http component a first proxy instance (then dropped).
        let instance = if loaded.serves_messages() {
            Some(loaded.instantiate(Some(router.clone())).await?)
        } else {
            None
        };
        if loaded.serves_http() {
            loaded.check_proxy(Some(router)).await?;
        }
        self.inner.registry.set_loaded(&name, loaded.clone());
        entry.slot.upgrade(loaded.clone(), instance).await;
        if let Some(pool) = &entry.pool {
            pool.set_version(&loaded);
        }
        tracing::info!(component = %name, version = %loaded.manifest().component.version, "component upgraded");
        Ok(loaded)
    }

    /// The entry of the component `to` that `message` is for; the message back, undelivered,
    /// when there is none or it takes no messages.
    fn entry_for(
        &self,
        to: &str,
        message: ComponentMessage,
    ) -> Result<(Entry, ComponentMessage), Undelivered> {
        match self.entry(to) {
            Ok(entry) if !entry.loaded.serves_messages() => {
                Err(Undelivered::new(entry.loaded.http_only(), message))
            }
            Ok(entry) => Ok((entry, message)),
            Err(error) => Err(Undelivered::new(error, message)),
        }
    }

    fn entry(&self, name: &str) -> Result<Entry, Error> {
        self.inner
            .registry
            .get(name)
            .ok_or_else(|| Error::NotFound {
                name: name.to_string(),
            })
    }

    fn ask_from(
        &self,
        way: Way,
        to: &str,
        message: ComponentMessage,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Reply, Error>> + Send + 'static {
        // Reserved or enqueued under the registry's read lock: no entry is cloned on the
        // way. Messages between components always go through the mailbox, so a call never
        // runs inside another component's call.
        let mut message = Some(message);
        let route = self.inner.registry.with(to, |entry| {
            if !entry.loaded.serves_messages() {
                return Ok(Route::Refused(Box::new(entry.loaded.http_only())));
            }
            let Some(message) = message.take() else {
                return Ok(Route::Refused(Box::new(Error::NotFound {
                    name: to.to_string(),
                })));
            };
            if way != Way::FromLattice && !matches!(entry.state, ComponentState::Running) {
                // Stopped for good here: a live one elsewhere may answer.
                return Err(message);
            }
            // A local caller's deadline ends its own wait only (the callee runs to its own
            // limit, its reply discarded); one that came over a lattice bounds the run.
            let envelope = Envelope {
                message,
                deadline: deadline.filter(|_| way == Way::FromLattice),
            };
            let envelope = match way {
                Way::FromComponent => envelope,
                Way::Outside | Way::FromLattice => {
                    match entry.slot.try_direct(&entry.address, envelope) {
                        Ok(call) => return Ok(Route::Direct(call)),
                        Err(envelope) => envelope,
                    }
                }
            };
            let queued = Queued {
                loaded: entry.loaded.clone(),
                registry: self.inner.registry.clone(),
            };
            Ok(match entry.address.try_ask(envelope) {
                // Boxed: the mailbox path's future is several times a direct call's,
                // and inline it would make every ask's future (moved on each call) as
                // large.
                Ok(reply) => Route::Queued(queued, Box::pin(reply)),
                Err(SendError::Overloaded { .. }) => Route::Refused(Box::new(Error::Overloaded {
                    component: to.to_string(),
                })),
                Err(SendError::Stopped { .. }) => Route::Refused(Box::new(stopped(to, entry))),
            })
        });
        // `here`: whether this host has the name (stopped for good), whose error it answers
        // if no other host has one live either.
        let elsewhere = match (route, message) {
            (Some(Err(message)), _) => Ok((message, true)),
            (None, Some(message)) => Ok((message, false)),
            (Some(Ok(route)), _) => Err(route),
            (None, None) => Err(Route::Refused(Box::new(Error::NotFound {
                name: to.to_string(),
            }))),
        };
        let route = match elsewhere {
            Err(route) => route,
            Ok((message, here)) => match (way, self.remote()) {
                (Way::Outside | Way::FromComponent, Some(remote)) => {
                    let reply = remote.ask(to, message, deadline);
                    match here.then(|| self.entry(to)) {
                        Some(Ok(entry)) => {
                            let here = stopped(to, &entry);
                            Route::Remote(Box::pin(async move {
                                reply.await.map_err(|e| nowhere_else(e, Some(here)))
                            }))
                        }
                        _ => Route::Remote(reply),
                    }
                }
                _ => match self.entry(to) {
                    Ok(entry) => Route::Refused(Box::new(stopped(to, &entry))),
                    Err(e) => Route::Refused(Box::new(e)),
                },
            },
        };
        async move {
            match route {
                Route::Direct(call) => call.await,
                Route::Refused(error) => Err(*error),
                Route::Queued(queued, reply) => match reply.await {
                    Ok(reply) => reply,
                    Err(e) => Err(ask_error(&queued.registry, &queued.loaded, e)),
                },
                Route::Remote(reply) => reply.await,
            }
        }
    }

    fn tell_from(&self, way: Way, to: &str, message: ComponentMessage) -> Result<(), Undelivered> {
        let delivered = match self.entry_for(to, message) {
            Ok((entry, message)) => entry
                .address
                .try_tell(Envelope::from(message))
                .map_err(|e| refused(to, &entry, e)),
            Err(undelivered) => Err(undelivered),
        };
        delivered.or_else(|undelivered| self.tell_elsewhere(way, to, undelivered))
    }

    /// A message no live local component takes (none of the name, or one stopped for
    /// good), sent elsewhere when the host has a remote and `way` allows; otherwise given
    /// back.
    fn tell_elsewhere(
        &self,
        way: Way,
        to: &str,
        undelivered: Undelivered,
    ) -> Result<(), Undelivered> {
        let gone = match undelivered.error() {
            Error::NotFound { .. } => true,
            Error::Stopped { .. } => !self.inner.registry.is_running(to),
            _ => false,
        };
        match self.remote() {
            Some(remote) if way != Way::FromLattice && gone => {
                let here = Some(undelivered.error().clone())
                    .filter(|e| matches!(e, Error::Stopped { .. }));
                let message = undelivered.into_message();
                remote
                    .tell(to, message.clone())
                    .map_err(|error| Undelivered::new(nowhere_else(error, here), message))
            }
            _ => Err(undelivered),
        }
    }

    /// Asks the component `to` of this host, for a message that came from another host of
    /// a lattice: never passed on elsewhere, and ending in `timeout` at `deadline` (what its
    /// caller had left) if that comes before the component's own `max_execution_time_ms`.
    /// Otherwise as [`Host::ask`], the message's `sender` as the component sees it.
    ///
    /// # Errors
    ///
    /// As [`Host::ask`]; `timeout` (without running it) when `deadline` passed while it
    /// waited for its turn.
    pub fn ask_here(
        &self,
        to: &str,
        message: ComponentMessage,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Reply, Error>> + Send + 'static {
        self.ask_from(Way::FromLattice, to, message, deadline)
    }

    /// Sends to the component `to` of this host without waiting, for a message that came
    /// from another host of a lattice: as [`Host::try_tell`], never passed on elsewhere.
    ///
    /// # Errors
    ///
    /// As [`Host::try_tell`].
    pub fn tell_here(&self, to: &str, message: ComponentMessage) -> Result<(), Undelivered> {
        self.tell_from(Way::FromLattice, to, message)
    }
}

/// Where a message comes from, which decides the ways it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// From the host's user: run on the caller's task when the component is idle, or sent
    /// to another host when none here runs it.
    Outside,
    /// From a component's `send`/`request`: always through the mailbox (never run inside
    /// the caller's call); to another host when none here runs it.
    FromComponent,
    /// From another host of a lattice: this host's components only.
    FromLattice,
}

/// A message from the host's user (no sender).
fn outside(topic: &str, payload: Vec<u8>) -> ComponentMessage {
    ComponentMessage {
        topic: topic.to_string(),
        payload,
        sender: None,
    }
}

/// A request waiting for its turn at a component's [`HttpGate`].
struct Waiting<'a>(&'a HttpGate);

impl<'a> Waiting<'a> {
    /// One more waiting, unless as many wait as the mailbox holds.
    fn enter(gate: &'a HttpGate) -> Option<Waiting<'a>> {
        use std::sync::atomic::Ordering;
        if gate.waiting.fetch_add(1, Ordering::AcqRel) >= gate.max_waiting {
            gate.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Waiting(gate))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0
            .waiting
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// How a component runs under its supervisor, for [`Host::spawn_loaded_with`].
///
/// | setting | default |
/// |---|---|
/// | [`restart_policy`](SpawnOptions::restart_policy) | [`RestartPolicy::Permanent`] |
/// | [`mailbox_capacity`](SpawnOptions::mailbox_capacity) | the host's ([`Host::with_mailbox_capacity`]) |
/// | [`shutdown_policy`](SpawnOptions::shutdown_policy) | graceful, for the component's `max_execution_time_ms` and 1 s more (at least 5 s) |
#[derive(Debug, Clone, Copy, Default)]
pub struct SpawnOptions {
    restart_policy: RestartPolicy,
    mailbox_capacity: Option<usize>,
    shutdown_policy: Option<ShutdownPolicy>,
}

impl SpawnOptions {
    /// When the component is restarted: always, after a crash only, or never.
    pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart_policy = policy;
        self
    }

    /// How a stop treats the message running: let it finish (up to a duration, or as long
    /// as it takes), or cut it at once (its caller gets `stopped`).
    pub fn shutdown_policy(mut self, policy: ShutdownPolicy) -> Self {
        self.shutdown_policy = Some(policy);
        self
    }

    /// How many messages may wait in the component's mailbox (at least 1).
    pub fn mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = Some(capacity.max(1));
        self
    }
}

/// A [`Host::tell`] or [`Host::try_tell`] that was not delivered: why, and the message itself, given back.
///
/// Boxed inside: a `Result<(), Undelivered>` stays one pointer wide on the way back.
#[derive(Debug, Clone)]
pub struct Undelivered(Box<UndeliveredParts>);

#[derive(Debug, Clone)]
struct UndeliveredParts {
    error: Error,
    message: ComponentMessage,
}

impl Undelivered {
    fn new(error: Error, message: ComponentMessage) -> Self {
        Undelivered(Box::new(UndeliveredParts { error, message }))
    }

    /// Why it was not delivered: `not-found`, `overloaded` or `stopped`.
    pub fn error(&self) -> &Error {
        &self.0.error
    }

    /// The kind of [`error`](Self::error).
    pub fn kind(&self) -> crate::ErrorKind {
        self.0.error.kind()
    }

    /// The message that was not delivered.
    pub fn into_message(self) -> ComponentMessage {
        self.0.message
    }

    /// The error, without the message.
    pub fn into_error(self) -> Error {
        self.0.error
    }
}

impl std::fmt::Display for Undelivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.error.fmt(f)
    }
}

/// Its `Display` is the error's; the error's own source comes next.
impl std::error::Error for Undelivered {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.error)
    }
}

impl From<Undelivered> for Error {
    fn from(undelivered: Undelivered) -> Error {
        undelivered.into_error()
    }
}

/// The ways of an ask: run on the caller's task, queued for the actor, sent to another
/// host, or refused.
enum Route<Q> {
    Direct(DirectCall),
    Queued(Queued, Q),
    Remote(RemoteReply),
    /// Boxed: a refusal is rare, and inline the error would grow every ask's future.
    Refused(Box<Error>),
}

/// What a queued ask needs to name its error (cloned on the mailbox path only).
struct Queued {
    loaded: Arc<LoadedComponent>,
    registry: Registry,
}

fn name_taken(loaded: &LoadedComponent) -> Error {
    Error::Manifest(ManifestError::Invalid {
        file: loaded.manifest().path.clone(),
        key: "component.name".into(),
        expected: "a name no other running component of this host has".into(),
        found: format!("{:?}, already running", loaded.name()),
    })
}

/// A message the mailbox of `to` refused, given back with why.
fn refused(to: &str, entry: &Entry, e: SendError<Envelope>) -> Undelivered {
    match e {
        SendError::Overloaded { message, .. } => Undelivered::new(
            Error::Overloaded {
                component: to.to_string(),
            },
            message.message,
        ),
        SendError::Stopped { message, .. } => Undelivered::new(stopped(to, entry), message.message),
    }
}

/// The error of a message sent elsewhere for want of a live local component: a `not-found`
/// from elsewhere is this host's own `stopped` when it has the component, stopped for good
/// (`here`), as it would be without a lattice.
fn nowhere_else(elsewhere: Error, here: Option<Error>) -> Error {
    match (elsewhere, here) {
        (Error::NotFound { .. }, Some(here)) => here,
        (elsewhere, _) => elsewhere,
    }
}

fn stopped(name: &str, entry: &Entry) -> Error {
    let reason = match &entry.state {
        ComponentState::Stopped(reason) => reason.clone(),
        ComponentState::Running => "its actor is not running".into(),
    };
    Error::Stopped {
        component: name.to_string(),
        reason,
    }
}

/// The error of a failed ask to `loaded`; `stopped` takes its reason from the registry.
fn ask_error(registry: &Registry, loaded: &LoadedComponent, e: AskError<Error>) -> Error {
    let name = loaded.name();
    match e {
        AskError::Failed { error, .. } => error,
        AskError::Panicked { message, .. } => Error::Trap {
            component: name.to_string(),
            reason: format!("the component actor panicked: {message}"),
            cause: None,
        },
        AskError::Stopped { .. } => match registry.get(name) {
            Some(entry) => stopped(name, &entry),
            None => Error::Stopped {
                component: name.to_string(),
                reason: "it is no longer registered".into(),
            },
        },
        AskError::Timeout { after, .. } => Error::Timeout {
            component: name.to_string(),
            limit_ms: loaded.manifest().resources.max_execution_time_ms,
            budget: false,
            elapsed: after,
        },
    }
}

/// Routes components' `send`/`request` through the host's registry.
struct HostRouter {
    host: Weak<Inner>,
}

impl HostRouter {
    fn host(&self) -> Result<Host, String> {
        self.host
            .upgrade()
            .map(|inner| Host { inner })
            .ok_or_else(|| "stopped: the host is shutting down".to_string())
    }
}

impl Router for HostRouter {
    fn send(&self, from: &str, to: &str, topic: String, payload: Vec<u8>) -> Result<(), String> {
        let message = ComponentMessage {
            topic,
            payload,
            sender: Some(from.to_string()),
        };
        self.host()?
            .tell_from(Way::FromComponent, to, message)
            .map_err(|undelivered| undelivered.into_error().for_guest())
    }

    fn request<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
        topic: String,
        payload: Vec<u8>,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            let host = self.host()?;
            let message = ComponentMessage {
                topic,
                payload,
                sender: Some(from.to_string()),
            };
            host.ask_from(Way::FromComponent, to, message, Some(deadline))
                .await
                .map(|r| r.payload)
                .map_err(Error::for_guest)
        })
    }
}
