//! The host's wasmtime engines, their settings and the compilation cache.
//!
//! wasmtime's stack limit (`max_wasm_stack`) is a setting of the engine, not of a store, so
//! the host keeps one [`wasmtime::Engine`] per distinct `max_stack` among the loaded
//! manifests, created on first use; all share one cache folder. Most
//! hosts use one or two stack sizes, hence one or two engines.
//!
//! Every engine: Component Model, Cranelift at `OptLevel::Speed`, fuel metering (which also
//! bounds a message's time: see [`crate::engine::executor`]; no epoch interruption, which
//! slowed every call), `concurrency_support(false)` (our world uses no component-model async, and
//! with it on every `call_async` pays for the concurrent event loop), no guard page before
//! linear memories (one mapping less per store: 10,000 live stores fit in the default
//! `vm.max_map_count`), and either on-demand or pooled instance allocation.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use wasmtime::component::Linker;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Strategy,
};

use crate::engine::cache::{self, CompileCache};
use crate::engine::code::CodeTable;
use crate::store::StoreData;

/// The stack limit of the engine used by [`Engines::precompile`].
const DEFAULT_STACK: u64 = 1 << 20;

/// Host stack on top of a component's `max_stack`, for host functions running on the same fiber.
const HOST_STACK_HEADROOM: usize = 1 << 20;

/// Freed pool slots reset together (wasmtime's default is one at a time). Up to
/// `min(cores, 16) * (DECOMMIT_BATCH - 1)` slots wait for their reset; a slot that waits is
/// not reused until its batch is flushed, which the pool does when it runs short.
const DECOMMIT_BATCH: usize = 16;

/// How instances get their memories, tables and stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    /// Allocate on demand with `mmap` per instance: no up-front reservation, works for any
    /// component. The default.
    OnDemand,
    /// Wasmtime's pooling allocator: slots reserved up front, instantiation several times
    /// faster (cheap restarts), at most `max_instances` live instances per engine, each
    /// memory at most `max_memory_per_instance` bytes.
    Pooling {
        /// Live component instances per engine (and core instances, memories and tables
        /// are sized from it).
        max_instances: u32,
        /// The largest linear memory one slot holds; components asking for more fail to
        /// instantiate with a clear error.
        max_memory_per_instance: u64,
    },
}

impl Allocation {
    /// Live instances per engine in the pool [`Allocation::serving`] picks: `wasmtime
    /// serve`'s default.
    pub const SERVING_INSTANCES: u32 = 1000;

    /// The allocation `airssys-wasm serve` runs with, picked as `wasmtime serve` and Spin
    /// pick theirs: the pooling allocator ([`Allocation::SERVING_INSTANCES`] instances,
    /// memories up to `max_memory` bytes each) when the system grants the address space it
    /// reserves up front, otherwise on demand (a small virtual address space, a low
    /// `ulimit -v`). Per request, a pooled instance costs no `mmap`/`munmap`: the HTTP rate
    /// is about twice the on-demand one (docs/performance.md).
    pub fn serving(max_memory: u64) -> Allocation {
        let pooling = Allocation::Pooling {
            max_instances: Allocation::SERVING_INSTANCES,
            max_memory_per_instance: max_memory,
        };
        let probe = Engines::new(
            EngineConfig::default()
                .cache_dir(None)
                .allocation(pooling.clone()),
        );
        // Creating the engine reserves its pool: if that works, the first real one will
        // (a later one, for another `max_stack`, may still be refused).
        match probe
            .wasmtime_config(DEFAULT_STACK)
            .and_then(|config| Engine::new(&config))
        {
            Ok(_) => pooling,
            Err(error) => {
                tracing::info!(%error, "the pooling allocator's reservation was refused: instances are allocated on demand");
                Allocation::OnDemand
            }
        }
    }
}

/// Settings of the engines. Build with [`EngineConfig::default`] and the setters.
///
/// | setting | default |
/// |---|---|
/// | [`cache_dir`](EngineConfig::cache_dir) | `$AIRSSYS_WASM_CACHE_DIR`, `$XDG_CACHE_HOME/airssys-wasm` or `~/.cache/airssys-wasm` |
/// | [`allocation`](EngineConfig::allocation) | [`Allocation::OnDemand`] |
/// | [`wasm_backtraces`](EngineConfig::wasm_backtraces) | on |
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) allocation: Allocation,
    pub(crate) wasm_backtraces: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: cache::default_dir(),
            allocation: Allocation::OnDemand,
            wasm_backtraces: true,
        }
    }
}

impl EngineConfig {
    /// Where compiled components are cached; `None` turns the cache off.
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// How instances are allocated.
    pub fn allocation(mut self, allocation: Allocation) -> Self {
        self.allocation = allocation;
        self
    }

    /// Whether trap messages carry a wasm backtrace (costs some time on every trap).
    pub fn wasm_backtraces(mut self, enable: bool) -> Self {
        self.wasm_backtraces = enable;
        self
    }
}

type EngineAndLinker = (Engine, Arc<Linker<StoreData>>);

/// The host's engines. Cheap to clone (an `Arc` inside); all clones share engines and the
/// cache.
#[derive(Clone)]
pub struct Engines {
    inner: Arc<Inner>,
}

struct Inner {
    config: EngineConfig,
    /// One engine and its linker per `max_stack`.
    engines: Mutex<HashMap<u64, EngineAndLinker>>,
    /// Compiled and linked code in use, shared by every load of the same component.
    code: CodeTable,
    cache: Option<CompileCache>,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engines {
    /// Creates the engines' shared parts; each engine is created when first needed.
    pub fn new(config: EngineConfig) -> Engines {
        let cache = config.cache_dir.clone().map(CompileCache::new);
        Engines {
            inner: Arc::new(Inner {
                config,
                engines: Mutex::default(),
                code: CodeTable::default(),
                cache,
            }),
        }
    }

    /// The host's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The engine for components whose stack limit is `max_stack` bytes, created on first use.
    pub fn engine_for(&self, max_stack: u64) -> wasmtime::Result<Engine> {
        Ok(self.engine_and_linker(max_stack)?.0)
    }

    /// The engine for `max_stack` and its linker with every import the host provides.
    pub(crate) fn engine_and_linker(
        &self,
        max_stack: u64,
    ) -> wasmtime::Result<(Engine, Arc<Linker<StoreData>>)> {
        let mut engines = self
            .inner
            .engines
            .lock()
            .map_err(|_| wasmtime::Error::msg("the engine table was poisoned by a panic"))?;
        if let Some((engine, linker)) = engines.get(&max_stack) {
            return Ok((engine.clone(), linker.clone()));
        }
        let engine = Engine::new(&self.wasmtime_config(max_stack)?)?;
        let linker = Arc::new(crate::imports::linker(&engine)?);
        engines.insert(max_stack, (engine.clone(), linker.clone()));
        Ok((engine, linker))
    }

    /// The wasmtime configuration of the engine for `max_stack`.
    pub fn wasmtime_config(&self, max_stack: u64) -> wasmtime::Result<Config> {
        let max_stack = usize::try_from(max_stack)?;
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .strategy(Strategy::Cranelift)
            .cranelift_opt_level(OptLevel::Speed)
            .consume_fuel(true)
            .concurrency_support(false)
            .max_wasm_stack(max_stack)
            .async_stack_size(max_stack + HOST_STACK_HEADROOM)
            .guard_before_linear_memory(false);
        if !self.inner.config.wasm_backtraces {
            config.wasm_backtrace_max_frames(None);
        }
        if let Allocation::Pooling {
            max_instances,
            max_memory_per_instance,
        } = self.inner.config.allocation
        {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_component_instances(max_instances)
                .total_core_instances(max_instances.saturating_mul(4))
                .total_memories(max_instances.saturating_mul(2))
                .total_tables(max_instances.saturating_mul(4))
                .total_stacks(max_instances)
                .max_memory_size(usize::try_from(max_memory_per_instance)?)
                // A freed slot is reset with `madvise`, and every `madvise` flushes the
                // TLB of each core running a host thread (an IPI per core): batched, a
                // restart does not pay for it (docs/performance.md, restart_after_trap).
                .decommit_batch_size(DECOMMIT_BATCH);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            // Data segments copied into the slot at instantiation instead of mapped
            // copy-on-write: each first write to a copy-on-write page replaces a mapping,
            // which also flushes the TLB of every other core running a host thread (an
            // IPI each). A restart then costs a copy of the data segments, not a fault
            // and a shootdown per page (docs/performance.md, restart_after_trap).
            config.memory_init_cow(false);
        }
        Ok(config)
    }

    /// Compiles a component to the `.cwasm` format of this host's engines, for a manifest
    /// to name as its `wasm`. The stack limit is not part of the compiled code, so one
    /// `.cwasm` serves any `max_stack`.
    ///
    /// # Errors
    ///
    /// wasmtime's error when `wasm` is not a valid component.
    pub fn precompile(&self, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.engine_for(DEFAULT_STACK)?.precompile_component(wasm)
    }

    /// The table of compiled and linked code in use.
    pub(crate) fn code(&self) -> &CodeTable {
        &self.inner.code
    }

    pub(crate) fn cache(&self) -> Option<&CompileCache> {
        self.inner.cache.as_ref()
    }
}
