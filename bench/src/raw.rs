//! The raw baseline: the same components driven by plain wasmtime, as a careful user of
//! wasmtime would, with the host's exact engine settings and per-call limits.
//!
//! Per call, like the host: fuel refilled to the manifest's `max_fuel_per_execution`, the
//! guest yielding every [`YIELD_INTERVAL`] units of fuel, and the call abandoned at the
//! first yield or host call return past its wall-clock deadline (`max_execution_time_ms`
//! ahead), or by a timer while blocked in a host call ([`within`]). No actor, no mailbox, no registry, no metrics.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{CallHook, Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use airssys_wasm::manifest::Resources;

use crate::Result;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "component",
        imports: { default: trappable },
        exports: { default: async },
    });
}

pub use bindings::airssys::component::types::Message;
use bindings::airssys::component::{config, logging, messaging, types};

/// Fuel between two yields of a guest, as in the host.
pub const YIELD_INTERVAL: u64 = 100_000;

/// Makes the guest of `store` yield every [`YIELD_INTERVAL`] units of fuel, and fail with
/// [`DeadlineExceeded`] on return from a host call past the deadline `deadline` reads
/// from the store's data (as the host does).
///
/// # Errors
///
/// When the engine does not meter fuel.
pub fn stop_at_deadline<T: 'static>(
    store: &mut Store<T>,
    deadline: fn(&T) -> Instant,
) -> wasmtime::Result<()> {
    store.fuel_async_yield_interval(Some(YIELD_INTERVAL))?;
    store.call_hook(move |ctx, hook| match hook {
        CallHook::ReturningFromHost if Instant::now() >= deadline(ctx.data()) => {
            Err(wasmtime::Error::new(DeadlineExceeded))
        }
        _ => Ok(()),
    });
    Ok(())
}

/// Runs `call` unless `deadline` passes first: checked at each of the guest's yields and by
/// a timer (for a guest blocked in a host call).
///
/// # Errors
///
/// [`DeadlineExceeded`] when the deadline passed first.
pub async fn within<T>(
    deadline: Instant,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let mut call = std::pin::pin!(call);
    let mut timer = std::pin::pin!(tokio::time::sleep_until(deadline.into()));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = call.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        if timer.as_mut().poll(cx).is_ready() || Instant::now() >= deadline {
            return Poll::Ready(Err(wasmtime::Error::new(DeadlineExceeded)));
        }
        Poll::Pending
    })
    .await
}

/// A message for `handle` with no sender.
pub fn message(topic: &str, payload: &[u8]) -> Message {
    Message {
        topic: topic.to_string(),
        payload: payload.to_vec(),
        sender: None,
    }
}

/// Store data: WASI and the current call's deadline.
pub struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
    deadline: Instant,
}

impl RawState {
    fn new() -> RawState {
        RawState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            deadline: Instant::now(),
        }
    }
}

impl WasiView for RawState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl messaging::Host for RawState {
    fn send(
        &mut self,
        _to: String,
        _topic: String,
        _payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(Err("no messaging in the raw baseline".into()))
    }

    fn request(
        &mut self,
        _to: String,
        _topic: String,
        _payload: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        Ok(Err("no messaging in the raw baseline".into()))
    }
}

impl logging::Host for RawState {
    fn log(&mut self, _level: logging::Level, _message: String) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl config::Host for RawState {
    fn get(&mut self, _key: String) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }
}

impl types::Host for RawState {}

/// A call abandoned past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
pub struct DeadlineExceeded;

/// An engine with its linker (WASI 0.2 + stub imports).
pub struct RawEngine {
    engine: Engine,
    linker: Arc<Linker<RawState>>,
}

impl RawEngine {
    /// An engine with the settings `host` gives a component with these `resources`: the
    /// same engine as ours runs that component on.
    ///
    /// # Errors
    ///
    /// As [`RawEngine::new`].
    pub fn of(host: &airssys_wasm::Host, resources: &Resources) -> Result<RawEngine> {
        RawEngine::new(&host.engine().wasmtime_config(resources.max_stack)?)
    }

    /// An engine of `config` (take it from [`airssys_wasm::Engines::wasmtime_config`]).
    ///
    /// # Errors
    ///
    /// wasmtime's.
    pub fn new(config: &Config) -> Result<RawEngine> {
        let engine = Engine::new(config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::Component::add_to_linker::<RawState, HasSelf<RawState>>(&mut linker, |s| s)?;
        Ok(RawEngine {
            engine,
            linker: Arc::new(linker),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles the component at `wasm` and links it, to run under `limits`.
    ///
    /// # Errors
    ///
    /// wasmtime's.
    pub fn compile(&self, wasm: &Path, limits: &Resources) -> Result<RawComponent> {
        let component = Component::from_file(&self.engine, wasm)?;
        self.link(&component, limits)
    }

    /// Links an already compiled component, to run under `limits`.
    ///
    /// # Errors
    ///
    /// wasmtime's.
    pub fn link(&self, component: &Component, limits: &Resources) -> Result<RawComponent> {
        let pre = bindings::ComponentPre::new(self.linker.instantiate_pre(component)?)?;
        Ok(RawComponent {
            engine: self.engine.clone(),
            pre,
            fuel: limits.max_fuel_per_execution,
            time: Duration::from_millis(limits.max_execution_time_ms),
        })
    }
}

/// A linked component: instantiate it many times.
pub struct RawComponent {
    engine: Engine,
    pre: bindings::ComponentPre<RawState>,
    fuel: u64,
    time: Duration,
}

impl RawComponent {
    /// A fresh store and instance (the store's fuel and deadline set as for a call, as
    /// initialisers run under limits too).
    ///
    /// # Errors
    ///
    /// wasmtime's.
    pub async fn instantiate(&self) -> Result<RawInstance> {
        let mut store = Store::new(&self.engine, RawState::new());
        stop_at_deadline(&mut store, |state| state.deadline)?;
        arm(&mut store, self.fuel, self.time)?;
        let deadline = store.data().deadline;
        let bindings = within(deadline, self.pre.instantiate_async(&mut store)).await?;
        Ok(RawInstance {
            store,
            bindings,
            fuel: self.fuel,
            time: self.time,
        })
    }

    /// Sets the wall-clock limit of every call from now on (instances made after this).
    pub fn set_time_limit(&mut self, time: Duration) {
        self.time = time;
    }
}

fn arm(store: &mut Store<RawState>, fuel: u64, time: Duration) -> wasmtime::Result<()> {
    store.set_fuel(fuel)?;
    store.data_mut().deadline = Instant::now() + time;
    Ok(())
}

/// One live store with its instance.
pub struct RawInstance {
    store: Store<RawState>,
    bindings: bindings::Component,
    fuel: u64,
    time: Duration,
}

impl RawInstance {
    /// One call of `handle`, with fuel and deadline set first. The outer error is a trap.
    ///
    /// # Errors
    ///
    /// A trap, fuel exhaustion or [`DeadlineExceeded`].
    pub async fn call(&mut self, msg: &Message) -> wasmtime::Result<Result<Vec<u8>, String>> {
        arm(&mut self.store, self.fuel, self.time)?;
        let deadline = self.store.data().deadline;
        let call = self
            .bindings
            .airssys_component_handler()
            .call_handle(&mut self.store, msg);
        within(deadline, call).await
    }

    /// When the call in flight (or the last one) must end.
    pub fn deadline(&self) -> Instant {
        self.store.data().deadline
    }
}
