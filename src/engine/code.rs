//! The shared-code table: compiled and linked code in use, shared by every load of the
//! same component (same bytes, or the same unchanged `.cwasm`, for the same stack size).
//!
//! It sits apart from [`Engines`](super::Engines) and the [loader](super::loader) so that
//! both use it without depending on each other.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use crate::engine::cache::Digest;
use crate::imports::bindings::ComponentPre;
use crate::store::StoreData;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// Compiled and linked code, shared by every load of the same component: its message
/// world (`handler`), its `wasi:http/proxy` world (`wasi:http/incoming-handler`), or both.
pub(crate) struct Code {
    pub(crate) pre: Option<ComponentPre<StoreData>>,
    pub(crate) proxy: Option<ProxyPre<StoreData>>,
    /// Whether it came precompiled (a cache hit or a `.cwasm`).
    pub(crate) precompiled: bool,
}

/// What makes two loads the same code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CodeKey {
    /// A `.wasm` component, by content.
    Wasm { digest: Digest, max_stack: u64 },
    /// A `.cwasm`, by file identity (path, size and modification time).
    Precompiled {
        path: PathBuf,
        len: u64,
        modified: Option<SystemTime>,
        max_stack: u64,
    },
}

/// Code in use, by key; an entry lives while some load holds its code.
#[derive(Default)]
pub(crate) struct CodeTable {
    table: Mutex<HashMap<CodeKey, Weak<Code>>>,
}

impl CodeTable {
    /// The code already loaded under `key`, if something still uses it.
    pub(crate) fn get(&self, key: &CodeKey) -> Option<Arc<Code>> {
        self.table.lock().ok()?.get(key)?.upgrade()
    }

    /// Remembers `code` under `key` while something uses it; forgets code no one uses.
    pub(crate) fn share(&self, key: CodeKey, code: &Arc<Code>) {
        if let Ok(mut table) = self.table.lock() {
            table.retain(|_, weak| weak.strong_count() > 0);
            table.insert(key, Arc::downgrade(code));
        }
    }
}
