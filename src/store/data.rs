//! What a component's wasmtime `Store` holds: WASI state, limits, the current deadline,
//! and the host's handles for the imports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::manifest::MessagingGrant;
use crate::store::Router;
use crate::store::capabilities::NetworkUse;
use crate::store::limits::MemoryLimiter;
use crate::store::log_budget::LogBudget;
use crate::store::metrics::Metrics;

/// The error an epoch callback or a waiting host call raises when the message's deadline
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
}

impl StoreData {
    pub(crate) fn count_denied(&self) {
        self.metrics.denied.fetch_add(1, Ordering::Relaxed);
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
