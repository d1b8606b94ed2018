//! Running messages: one message is one call of the component's `handle` export.
//!
//! Before every call the store's fuel is refilled to `max_fuel_per_execution` and a
//! wall-clock deadline `max_execution_time_ms` ahead is set. A guest running wasm yields to
//! its task every [`YIELD_INTERVAL`] units of fuel, where the clock is read: one spinning
//! past its deadline is stopped at its next yield. The clock is also read on the way back
//! from every host call (a loop of cheap-in-fuel, costly-in-time host calls). A guest
//! blocked in a host call is stopped by a timer. The yields' clock check and the timer are
//! armed only when the call actually waits (a call that ends before its first yield pays
//! for neither). Fuel rather than epochs: the metering is on anyway, and epoch checks on
//! top of it made every call slower (docs/performance.md). The outcome is the reply or
//! exactly one of the error kinds `handler`, `trap`, `fuel`, `timeout`, `memory`; fuel
//! consumed and elapsed time are recorded for every call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use wasmtime::{CallHook, Store, Trap};

use crate::engine::StopSignal;
use crate::engine::loader::LoadedComponent;
use crate::error::{Error, ErrorKind};
use crate::imports::bindings;
use crate::store::Router;
use crate::store::log_budget::LogBudget;
use crate::store::{DeadlineExceeded, Messaging, StoreData};

/// A successful call: the reply bytes and what the call cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The bytes the component returned in `ok(...)`.
    pub payload: Vec<u8>,
    /// Fuel the call consumed.
    pub fuel_consumed: u64,
    /// Wall-clock time of the call.
    pub elapsed: Duration,
}

/// One live instance of a component: its own store, memory and state.
///
/// After a crash (`trap`, `fuel`, `timeout`, `memory`), or a call abandoned midway (its
/// future dropped), the instance must not be used again; [`ComponentInstance::call`] then
/// answers `stopped`. Instantiate a fresh one, as the component actor's supervisor does.
pub struct ComponentInstance {
    loaded: Arc<LoadedComponent>,
    store: Store<StoreData>,
    bindings: bindings::Component,
    /// Set when a call starts and cleared when it ends without a crash, so a call whose
    /// future was dropped midway leaves the instance marked.
    crashed: bool,
    /// What instantiating it cost: the initialisers' fuel and the time it took.
    start: (u64, Duration),
}

impl std::fmt::Debug for ComponentInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentInstance")
            .field("component", &self.loaded.name)
            .field("crashed", &self.crashed)
            .finish_non_exhaustive()
    }
}

impl LoadedComponent {
    /// Creates a fresh instance in a new store with the manifest's limits.
    ///
    /// `router` carries the instance's `send`/`request` calls; without one, messaging
    /// targets are not found.
    ///
    /// # Errors
    ///
    /// `trap`, `fuel`, `timeout` or `memory` when the component's initialisers fail within
    /// the limits of one message; `component` when the store cannot be set up.
    pub async fn instantiate(
        self: &Arc<Self>,
        router: Option<Arc<dyn Router>>,
    ) -> Result<ComponentInstance, Error> {
        let Some(pre) = &self.code.pre else {
            return Err(self.http_only());
        };
        let mut store = self.new_store(router)?;
        let started = arm(self, &mut store);
        let deadline = store.data().deadline;
        let result = with_deadline(pre.instantiate_async(&mut store), deadline, None).await;
        match result {
            Waited::Done(Ok(bindings)) => Ok(ComponentInstance {
                start: (fuel_used(self, &store), started.elapsed()),
                loaded: self.clone(),
                store,
                bindings,
                crashed: false,
            }),
            Waited::Done(Err(e)) => Err(self.start_error(&mut store, e, started.elapsed())),
            Waited::TimedOut | Waited::Stopped => Err(timeout(self, started.elapsed())),
        }
    }

    /// The `component` error of a message to a component that only serves HTTP.
    pub(crate) fn http_only(&self) -> Error {
        Error::Component {
            component: self.name.to_string(),
            path: self.manifest.component.wasm.clone(),
            reason: "it exports only `wasi:http/incoming-handler`, not `airssys:component/handler`: serve it over HTTP (a [[http.route]] of a host file) instead of sending it messages".into(),
            cause: None,
        }
    }

    /// The error of an instantiation that failed.
    pub(crate) fn start_error(
        &self,
        store: &mut Store<StoreData>,
        e: wasmtime::Error,
        elapsed: Duration,
    ) -> Error {
        classify(self, store, e, elapsed)
            // Not the guest's own failure: the host could not give it a store (a full
            // pool, no memory for its slot).
            .unwrap_or_else(|e| Error::Component {
                component: self.name.to_string(),
                path: self.manifest.component.wasm.clone(),
                reason: "cannot instantiate it".into(),
                cause: Some(e.into()),
            })
    }

    /// A fresh store with the manifest's limits and grants.
    pub(crate) fn new_store(
        self: &Arc<Self>,
        router: Option<Arc<dyn Router>>,
    ) -> Result<Store<StoreData>, Error> {
        let resources = &self.manifest.resources;
        // A placeholder: each call's `arm` sets the deadlines.
        let now = Instant::now();
        let log_budget = LogBudget::new(self.name.clone(), self.metrics.clone());
        let wasi = self
            .grants
            .wasi_ctx(&self.manifest, &self.name, &self.metrics, &log_budget)
            .map_err(|e| Error::Component {
                component: self.name.to_string(),
                path: self.manifest.component.wasm.clone(),
                reason: format!("cannot set up its WASI context: {e}"),
                cause: None,
            })?;
        let state = StoreData {
            name: self.name.clone(),
            wasi,
            table: Default::default(),
            limiter: crate::store::limits::MemoryLimiter::new(resources.max_memory),
            deadline: now,
            config: self.config.clone(),
            messaging: Messaging {
                grant: self.manifest.capabilities.messaging.clone(),
                router,
            },
            metrics: self.metrics.clone(),
            log_budget,
            network: self.grants.network_use(),
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            http_hooks: crate::store::http::HttpHooks {
                name: self.name.clone(),
                allowed: self.http_allowed.clone(),
                metrics: self.metrics.clone(),
                deadline: now,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // Fuel metering is always on in the host's engines, so this cannot fail.
        let _ = store.fuel_async_yield_interval(Some(YIELD_INTERVAL));
        // A guest may spend its time in host calls that cost it little fuel (a 4 MiB string
        // lifted for every `log`, a large random read): the clock is also read on the way
        // back from every host call, so such a loop ends at its deadline too.
        store.call_hook(|ctx, hook| match hook {
            CallHook::ReturningFromHost if Instant::now() >= ctx.data().deadline => {
                Err(wasmtime::Error::new(DeadlineExceeded))
            }
            _ => Ok(()),
        });
        Ok(store)
    }
}

/// Refills fuel and sets the deadline for one call; returns when it started.
pub(crate) fn arm(loaded: &LoadedComponent, store: &mut Store<StoreData>) -> Instant {
    arm_until(loaded, store, None)
}

/// Like [`arm`], the deadline no later than `cap` (a caller's own deadline, carried with
/// its message).
pub(crate) fn arm_until(
    loaded: &LoadedComponent,
    store: &mut Store<StoreData>,
    cap: Option<Instant>,
) -> Instant {
    let resources = &loaded.manifest.resources;
    // Fuel metering is always on in the host's engines, so this cannot fail.
    let _ = store.set_fuel(resources.max_fuel_per_execution);
    let now = Instant::now();
    let own = now + Duration::from_millis(resources.max_execution_time_ms);
    store
        .data_mut()
        .set_deadline(cap.map_or(own, |cap| cap.min(own)));
    let _ = store.data_mut().limiter.take_refusal();
    store.data().log_budget.refill();
    now
}

impl ComponentInstance {
    /// Runs one message through the component's `handle` export.
    ///
    /// # Errors
    ///
    /// `handler` when the component returned `err(...)` (the instance stays usable);
    /// `trap`, `fuel`, `timeout` or `memory` when it crashed (the instance is finished);
    /// `stopped` when it had crashed before.
    pub async fn call(
        &mut self,
        topic: &str,
        payload: &[u8],
        sender: Option<&str>,
    ) -> Result<Reply, Error> {
        let message = bindings::airssys::component::types::Message {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            sender: sender.map(str::to_string),
        };
        self.call_message(&message).await
    }

    /// Like [`ComponentInstance::call`], with the message already built.
    pub async fn call_message(
        &mut self,
        message: &crate::imports::ComponentMessage,
    ) -> Result<Reply, Error> {
        self.call_until(message, None, None).await
    }

    /// Runs one message unless `stop` is raised while the call waits: the call is then
    /// abandoned (the instance is finished) and the answer is `stopped`. `cap` brings its
    /// deadline forward (never back): past it the call ends in `timeout`, as past the
    /// component's own `max_execution_time_ms`.
    pub(crate) async fn call_until(
        &mut self,
        message: &crate::imports::ComponentMessage,
        stop: Option<&StopSignal>,
        cap: Option<Instant>,
    ) -> Result<Reply, Error> {
        // Borrowed, not cloned: an `Arc` clone per call is two atomic operations.
        let loaded = &*self.loaded;
        if self.crashed {
            return Err(Error::Stopped {
                component: loaded.name.to_string(),
                reason: "this instance crashed earlier; instantiate a fresh one".into(),
            });
        }
        let span =
            tracing::debug_span!("message", component = %loaded.name, topic = %message.topic);
        let _enter = span.enter();
        if let Some(cap) = cap
            && cap <= Instant::now()
        {
            // Its caller's time ran out while it waited: answered without running, the
            // instance untouched.
            return Err(Error::past_budget(
                &loaded.name,
                Duration::ZERO,
                Duration::ZERO,
            ));
        }
        let started = arm_until(loaded, &mut self.store, cap);
        let deadline = self.store.data().deadline;
        self.crashed = true;
        let call = self
            .bindings
            .airssys_component_handler()
            .call_handle(&mut self.store, message);
        let result = with_deadline(call, deadline, stop).await;
        let elapsed = started.elapsed();
        let fuel_consumed = fuel_used(loaded, &self.store);
        let outcome = match result {
            Waited::Done(Ok(Ok(payload))) => Ok(Reply {
                payload,
                fuel_consumed,
                elapsed,
            }),
            Waited::Done(Ok(Err(message))) => Err(Error::Handler {
                component: loaded.name.to_string(),
                message,
            }),
            Waited::Done(Err(e)) => Err(call_failure(loaded, &mut self.store, e, elapsed)),
            Waited::TimedOut => Err(timeout_at(loaded, started, deadline, elapsed)),
            Waited::Stopped => {
                tracing::debug!(?elapsed, "call abandoned: the component is stopping");
                return Err(Error::Stopped {
                    component: loaded.name.to_string(),
                    reason: "it was stopped while handling this message".into(),
                });
            }
        };
        let kind = outcome.as_ref().err().map(Error::kind);
        loaded.metrics.record(kind, fuel_consumed, elapsed);
        self.crashed = kind.is_some_and(ErrorKind::is_crash);
        if let Err(e) = &outcome {
            tracing::debug!(error = %e, fuel_consumed, ?elapsed, "message failed");
        }
        outcome
    }

    /// The component this is an instance of.
    pub fn component(&self) -> &Arc<LoadedComponent> {
        &self.loaded
    }

    /// Whether this instance crashed (or a call was abandoned midway) and must be
    /// replaced.
    pub fn has_crashed(&self) -> bool {
        self.crashed
    }

    /// Bytes of linear memory the instance holds. A wasm memory never shrinks, so this is
    /// also the most it has held.
    pub fn memory_size(&self) -> u64 {
        self.store.data().limiter.granted()
    }

    /// Fuel its initialisers consumed when it was instantiated (under the limits of one
    /// message).
    pub fn start_fuel(&self) -> u64 {
        self.start.0
    }

    /// How long instantiating it took.
    pub fn start_time(&self) -> Duration {
        self.start.1
    }
}

pub(crate) fn timeout(loaded: &LoadedComponent, elapsed: Duration) -> Error {
    Error::Timeout {
        component: loaded.name.to_string(),
        limit_ms: loaded.manifest.resources.max_execution_time_ms,
        budget: false,
        elapsed,
    }
}

/// The `timeout` of a call armed at `started` to end at `deadline`: the manifest's limit,
/// or the caller's budget when that came first.
fn timeout_at(
    loaded: &LoadedComponent,
    started: Instant,
    deadline: Instant,
    elapsed: Duration,
) -> Error {
    let own = loaded.manifest.resources.max_execution_time_ms;
    let limit = deadline.saturating_duration_since(started);
    if limit >= Duration::from_millis(own) {
        return timeout(loaded, elapsed);
    }
    Error::past_budget(&loaded.name, limit, elapsed)
}

/// Fuel a call used: the limit it was armed with, less what is left.
pub(crate) fn fuel_used(loaded: &LoadedComponent, store: &Store<StoreData>) -> u64 {
    let limit = loaded.manifest.resources.max_fuel_per_execution;
    limit.saturating_sub(store.get_fuel().unwrap_or(0))
}

/// The error of a call that failed in wasmtime: its kind as [`classify`] finds it; a host
/// function's own error ends the call as a trap would.
pub(crate) fn call_failure(
    loaded: &LoadedComponent,
    store: &mut Store<StoreData>,
    e: wasmtime::Error,
    elapsed: Duration,
) -> Error {
    classify(loaded, store, e, elapsed).unwrap_or_else(|e| Error::Trap {
        component: loaded.name.to_string(),
        reason: format!("{e:#}"),
        cause: Some(e.into()),
    })
}

/// Maps a wasmtime failure of the guest to its error kind: a timeout, refused memory
/// growth, fuel or a trap. Any other failure comes back as it is, for the caller to name.
pub(crate) fn classify(
    loaded: &LoadedComponent,
    store: &mut Store<StoreData>,
    e: wasmtime::Error,
    elapsed: Duration,
) -> Result<Error, wasmtime::Error> {
    let component = loaded.name.to_string();
    tracing::debug!(component, error = ?e, "call failed");
    if e.is::<DeadlineExceeded>() {
        return Ok(timeout(loaded, elapsed));
    }
    if let Some(requested) = store.data_mut().limiter.take_refusal() {
        return Ok(Error::Memory {
            component,
            limit: loaded.manifest.resources.max_memory,
            requested,
        });
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Ok(Error::Fuel {
            component,
            limit: loaded.manifest.resources.max_fuel_per_execution,
        }),
        Some(trap) => Ok(Error::Trap {
            component,
            reason: trap.to_string(),
            cause: Some(e.into()),
        }),
        None => Err(e),
    }
}

/// Fuel a guest runs between two yields to its task, where its deadline is checked (about
/// 50-100 µs of compiled Rust).
pub(crate) const YIELD_INTERVAL: u64 = 100_000;

/// How waiting for a call ended.
pub(crate) enum Waited<T> {
    Done(T),
    TimedOut,
    Stopped,
}

/// Polls `fut` once with the calling task's context: its output if it is ready, or
/// `Pending` (and it has registered to be woken) if it has to wait.
pub(crate) async fn poll_once<F: Future + ?Sized>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Polls `work` once on the calling task and, if it has to wait, leaves it to finish on a
/// task of its own: work that completes at once (most does) costs no task hop, and work
/// that waits goes on whether or not its caller stays.
pub(crate) async fn run_here_first<F>(mut work: F)
where
    F: Future<Output = ()> + Send + Unpin + 'static,
{
    if poll_once(Pin::new(&mut work)).await.is_pending() {
        tokio::spawn(work);
    }
}

/// Runs `fut` to completion unless `deadline` passes first or `stop` is raised. The timer
/// and the stop signal are armed only if the future actually waits, so calls that complete
/// at once pay nothing for them.
pub(crate) async fn with_deadline<F: Future>(
    fut: F,
    deadline: Instant,
    stop: Option<&StopSignal>,
) -> Waited<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await;
    if let Some(output) = first {
        return Waited::Done(output);
    }
    if Instant::now() >= deadline {
        return Waited::TimedOut;
    }
    // Boxed: only a call that waits gets here, and inline the timer and the stop signal's
    // wait would size every actor's task (and every direct call) for them.
    Box::pin(async {
        // The timer is for a guest blocked in a host call that does not end at the
        // deadline itself; a small grace lets the ones that do (a `request` waiting for its
        // reply) report it first. A guest running wasm is caught at its next yield by the
        // clock.
        let grace = Duration::from_millis(2);
        let timer = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline + grace));
        let stopped = async {
            match stop {
                Some(stop) => stop.raised().await,
                None => std::future::pending().await,
            }
        };
        let mut timer = std::pin::pin!(timer);
        let mut stopped = std::pin::pin!(stopped);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = fut.as_mut().poll(cx) {
                return Poll::Ready(Waited::Done(output));
            }
            if stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Waited::Stopped);
            }
            // A guest running wasm yields every YIELD_INTERVAL of fuel: its deadline is
            // read from the clock then, as the timer may not have fired yet on a busy
            // worker.
            if timer.as_mut().poll(cx).is_ready() || Instant::now() >= deadline {
                return Poll::Ready(Waited::TimedOut);
            }
            Poll::Pending
        })
        .await
    })
    .await
}
