//! What a component's wasmtime `Store` holds: WASI state, limits, the current deadline,
//! and the host's handles for the imports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::manifest::MessagingGrant;
use crate::store::Router;
use crate::store::capabilities::NetworkUse;
use crate::store::http::HttpHooks;
use crate::store::limits::MemoryLimiter;
use crate::store::log_budget::LogBudget;
use crate::store::metrics::Metrics;

/// The error a waiting host call raises when the message's deadline
/// has passed; the executor reports it as `timeout`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the message's deadline passed")]
pub(crate) struct DeadlineExceeded;

/// Messaging grant and route.
pub(crate) struct Messaging {
    pub(crate) grant: MessagingGrant,
    pub(crate) router: Option<Arc<dyn Router>>,
}

/// The data of one component's store.
pub(crate) struct StoreData {
    pub(crate) name: Arc<str>,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// When the current message must be done.
    pub(crate) deadline: Instant,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) messaging: Messaging,
    pub(crate) metrics: Arc<Metrics>,
    /// Log lines left for the current message (shared with the stdout/stderr streams).
    pub(crate) log_budget: LogBudget,
    /// What the network grants allow (the WASI context enforces them; this is for logging).
    pub(crate) network: NetworkUse,
    /// `wasi:http`: the context, and the hooks that apply `[capabilities] http`.
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_hooks: HttpHooks,
}

impl StoreData {
    pub(crate) fn count_denied(&self) {
        self.metrics.denied.fetch_add(1, Ordering::Relaxed);
    }
}

impl StoreData {
    /// Sets when the current message (or request) must be done, for host calls that wait
    /// and for outgoing HTTP requests.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.http_hooks.deadline = deadline;
    }
}

/// `wasi:http` shares the WASI resource table: bodies are `wasi:io` streams.
impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
