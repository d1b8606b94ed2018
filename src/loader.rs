//! Loading: from a manifest to a component ready to instantiate many times.
//!
//! A `.wasm` component is compiled (off the async threads) or taken from the compilation
//! cache; a `.cwasm` is deserialized after wasmtime checks it was built for this engine.
//! The linker is checked up front, so a missing import is a `link` error naming it, and the
//! `handler` export is looked up once. The result holds an `InstancePre`: each
//! (re)instantiation only creates a store and runs the component's initialisers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::{Engine, Precompiled};

use crate::capabilities::Grants;
use crate::engine::HostEngine;
use crate::error::Error;
use crate::host::bindings::ComponentPre;
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use crate::state::HostState;

/// A component compiled, linked and checked, ready to instantiate. Share it with `Arc`.
pub struct LoadedComponent {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) name: Arc<str>,
    pub(crate) host_engine: HostEngine,
    pub(crate) engine: Engine,
    pub(crate) pre: ComponentPre<HostState>,
    pub(crate) grants: Grants,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) metrics: Arc<Metrics>,
    cached: bool,
    load_time: Duration,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("name", &self.name)
            .field("wasm", &self.manifest.component.wasm)
            .field("from_cache", &self.cached)
            .field("load_time", &self.load_time)
            .finish_non_exhaustive()
    }
}

impl LoadedComponent {
    /// Loads the component `manifest` describes.
    ///
    /// # Errors
    ///
    /// `manifest` when a grant cannot be resolved, `component` when the file is not a
    /// component for this host (or lacks the `handler` export), `link` when it imports
    /// something the host does not provide.
    pub async fn load(
        engine: &HostEngine,
        manifest: Manifest,
    ) -> Result<Arc<LoadedComponent>, Error> {
        let started = Instant::now();
        let name: Arc<str> = manifest.component.name.as_str().into();
        let span = tracing::info_span!("load", component = %name);
        let _enter = span.enter();
        let grants = Grants::resolve(&manifest)?;
        let manifest = Arc::new(manifest);
        let component_error = |reason: String| Error::Component {
            component: name.to_string(),
            path: manifest.component.wasm.clone(),
            reason,
        };
        let (wasm_engine, linker) = engine
            .engine_and_linker(manifest.resources.max_stack)
            .map_err(|e| component_error(format!("cannot configure the engine: {e}")))?;

        let (component, cached) = {
            let (path, engine, wasm_engine) = (
                manifest.component.wasm.clone(),
                engine.clone(),
                wasm_engine.clone(),
            );
            let max_stack = manifest.resources.max_stack;
            tokio::task::spawn_blocking(move || compile(&engine, &wasm_engine, max_stack, &path))
                .await
                .map_err(|e| component_error(format!("the compile task failed: {e}")))?
                .map_err(component_error)?
        };

        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| link_error(&name, &e))?;
        let pre = ComponentPre::new(instance_pre).map_err(|e| {
            component_error(format!(
                "it does not export `airssys:component/handler@0.1.0` with `handle: func(msg: message) -> result<list<u8>, string>` ({e})"
            ))
        })?;
        let load_time = started.elapsed();
        tracing::debug!(?load_time, from_cache = cached, "component loaded");
        Ok(Arc::new(LoadedComponent {
            config: Arc::new(manifest.config.clone()),
            manifest,
            name,
            host_engine: engine.clone(),
            engine: wasm_engine,
            pre,
            grants,
            metrics: Arc::default(),
            cached,
            load_time,
        }))
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The manifest it was loaded from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether the compiled code came from the compilation cache or a `.cwasm`.
    pub fn was_precompiled(&self) -> bool {
        self.cached
    }

    /// How long loading took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The component's counters, shared by all its instances.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The wasmtime engine it was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Reads and compiles (or deserializes) the component at `path`. Returns whether the code
/// was precompiled (cache hit or `.cwasm`).
pub(crate) fn compile(
    host: &HostEngine,
    engine: &Engine,
    max_stack: u64,
    path: &Path,
) -> Result<(Component, bool), String> {
    let mut magic = [0u8; 4];
    let is_elf = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == *b"\x7fELF";
    if is_elf {
        return match Engine::detect_precompiled_file(path).map_err(|e| format!("cannot read it: {e}"))? {
            Some(Precompiled::Component) => {
                // SAFETY: the manifest's author vouches for the file as the output of
                // `airssys-wasm compile`; wasmtime checks the header, the wasmtime version
                // and the engine settings, and refuses a file built for another engine.
                let component = unsafe { Component::deserialize_file(engine, path) }
                    .map_err(|e| format!("not a precompiled component for this host's engine: {e}"))?;
                Ok((component, true))
            }
            Some(Precompiled::Module) => Err(
                "a precompiled core module, not a component; precompile the component with `airssys-wasm compile`".into(),
            ),
            None => Err("an ELF file that is not a precompiled wasmtime component".into()),
        };
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    check_component_header(&bytes)?;
    let result = match host.cache() {
        Some(cache) => cache.get_or_compile(engine, max_stack, &bytes),
        None => Component::new(engine, &bytes).map(|c| (c, false)),
    };
    result.map_err(|e| format!("not a valid component: {e:#}"))
}

/// Tells a component from a core module or a file that is not wasm at all.
fn check_component_header(bytes: &[u8]) -> Result<(), String> {
    match bytes {
        [0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00, ..] => Ok(()),
        [0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00, ..] => Err("a core WebAssembly module, not a component (build it for wasm32-wasip2, or wrap it with `wasm-tools component new`)".into()),
        [0, b'a', b's', b'm', ..] => Err("an unsupported WebAssembly binary version".into()),
        [b'(', ..] | [b' ' | b'\n' | b';', ..] => Err("WebAssembly text (.wat), not a binary component".into()),
        _ => Err("not a WebAssembly file (no `\\0asm` header)".into()),
    }
}

/// Turns an `instantiate_pre` failure into a `link` error naming the missing import.
pub(crate) fn link_error(name: &str, e: &wasmtime::Error) -> Error {
    let reason = format!("{e:#}");
    let import = reason
        .split('`')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| "an unknown import".to_string());
    Error::Link {
        component: name.to_string(),
        import,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_tell_components_from_modules_and_junk() {
        assert!(check_component_header(b"\0asm\x0d\0\x01\0rest").is_ok());
        assert!(
            check_component_header(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(
            check_component_header(b"(component)")
                .unwrap_err()
                .contains(".wat")
        );
        assert!(
            check_component_header(b"hello")
                .unwrap_err()
                .contains("not a WebAssembly file")
        );
        assert!(
            check_component_header(b"")
                .unwrap_err()
                .contains("not a WebAssembly file")
        );
    }
}
