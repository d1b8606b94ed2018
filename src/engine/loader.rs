//! Loading: from a manifest to a component ready to instantiate many times.
//!
//! A `.wasm` component is compiled (off the async threads) or taken from the compilation
//! cache; a `.cwasm` is deserialized after wasmtime checks it was built for this engine.
//! The linker is checked up front, so a missing import is a `link` error naming it, and the
//! `handler` export is looked up once. The result holds an `InstancePre`: each
//! (re)instantiation only creates a store and runs the component's initialisers.
//!
//! Compiled and linked code is shared: loading the same component again (same bytes, or
//! the same unchanged `.cwasm`, for the same stack size) while an earlier load is alive
//! reuses its code instead of mapping another copy, so many components from one file cost
//! one copy of the code.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::{Engine, Precompiled};

use crate::engine::Engines;
use crate::engine::cache;
use crate::engine::code::{Code, CodeKey};
use crate::error::Error;
use crate::imports::bindings::ComponentPre;
use crate::manifest::Manifest;
use crate::store::StoreData;
use crate::store::capabilities::Grants;
use crate::store::metrics::Metrics;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// A component compiled, linked and checked, ready to instantiate. Share it with `Arc`.
pub struct LoadedComponent {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) name: Arc<str>,
    pub(crate) engine: Engine,
    pub(crate) code: Arc<Code>,
    pub(crate) grants: Grants,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) metrics: Arc<Metrics>,
    /// `[capabilities] http`, shared by every store.
    pub(crate) http_allowed: Arc<[crate::manifest::HttpOrigin]>,
    load_time: Duration,
}

/// A component file, identified but not yet compiled.
enum Source {
    Precompiled,
    Wasm(Vec<u8>),
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("name", &self.name)
            .field("wasm", &self.manifest.component.wasm)
            .field("from_cache", &self.code.precompiled)
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
    pub async fn load(engine: &Engines, manifest: Manifest) -> Result<Arc<LoadedComponent>, Error> {
        LoadedComponent::load_counting(engine, manifest, Arc::default()).await
    }

    /// Loads as [`LoadedComponent::load`], counting into `metrics` (a new version of a
    /// component keeps the counters of the old one).
    pub(crate) async fn load_counting(
        engine: &Engines,
        manifest: Manifest,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<LoadedComponent>, Error> {
        let started = Instant::now();
        let name: Arc<str> = manifest.component.name.as_str().into();
        let span = tracing::info_span!("load", component = %name);
        let _enter = span.enter();
        let grants = Grants::resolve(&manifest)?;
        let manifest = Arc::new(manifest);
        let component_error =
            |refusal: Refusal| refusal.into_error(&name, &manifest.component.wasm);
        let (wasm_engine, linker) = engine
            .engine_and_linker(manifest.resources.max_stack)
            .map_err(|e| component_error(Refusal::wasmtime("cannot configure the engine", e)))?;

        let max_stack = manifest.resources.max_stack;
        let path = manifest.component.wasm.clone();
        let code = if is_elf(&path) {
            // Deserializing maps the file and patches it, cheaper than a hop to the
            // blocking pool (docs/performance.md, load_cwasm). Compiling is what must stay off the async threads.
            code_for(engine, &wasm_engine, &linker, &name, &path, max_stack, true)?
        } else {
            let (engine, wasm_engine, name) = (engine.clone(), wasm_engine.clone(), name.clone());
            let task = tokio::task::spawn_blocking(move || {
                code_for(
                    &engine,
                    &wasm_engine,
                    &linker,
                    &name,
                    &path,
                    max_stack,
                    false,
                )
            });
            task.await
                .map_err(|e| component_error(format!("the compile task failed: {e}").into()))??
        };
        let cached = code.precompiled;
        let load_time = started.elapsed();
        tracing::debug!(?load_time, from_cache = cached, "component loaded");
        Ok(Arc::new(LoadedComponent {
            config: Arc::new(manifest.config.clone()),
            http_allowed: manifest.capabilities.http.clone().into(),
            manifest,
            name,
            engine: wasm_engine,
            code,
            grants,
            metrics,
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
        self.code.precompiled
    }

    /// How long loading took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The component's counters, shared by all its instances.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether it exports the message world's `handler` (it takes `ask` and `tell`).
    pub fn serves_messages(&self) -> bool {
        self.code.pre.is_some()
    }

    /// Whether it exports `wasi:http/incoming-handler` (it serves HTTP requests).
    pub fn serves_http(&self) -> bool {
        self.code.proxy.is_some()
    }

    /// The wasmtime engine it was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The shared code for the component at `path`: already loaded, or compiled (or
/// deserialized) and linked now.
fn code_for(
    engines: &Engines,
    engine: &Engine,
    linker: &wasmtime::component::Linker<StoreData>,
    name: &str,
    path: &Path,
    max_stack: u64,
    elf: bool,
) -> Result<Arc<Code>, Error> {
    let component_error = |refusal: Refusal| refusal.into_error(name, path);
    let (key, source) = identify(path, max_stack, elf).map_err(component_error)?;
    if let Some(code) = engines.code().get(&key) {
        return Ok(code);
    }
    let (component, precompiled) =
        compile_source(engines, engine, max_stack, path, &key, source).map_err(component_error)?;
    let (pre, proxy) = link(linker, &component, name, path)?;
    let code = Arc::new(Code {
        pre,
        proxy,
        precompiled,
    });
    engines.code().share(key, &code);
    Ok(code)
}

/// The code's two ways in: the message world's `handler` and the proxy world's
/// `wasi:http/incoming-handler`.
type Exports = (Option<ComponentPre<StoreData>>, Option<ProxyPre<StoreData>>);

/// Links `component` against the host's imports and finds its exports: `handler`,
/// `wasi:http/incoming-handler@0.2.x`, or both.
///
/// # Errors
///
/// `link` naming a missing import, or `component` when it exports neither.
pub(crate) fn link(
    linker: &wasmtime::component::Linker<StoreData>,
    component: &Component,
    name: &str,
    path: &Path,
) -> Result<Exports, Error> {
    let instance_pre = linker
        .instantiate_pre(component)
        .map_err(|e| link_error(name, e))?;
    let proxy = ProxyPre::new(instance_pre.clone()).ok();
    match ComponentPre::new(instance_pre) {
        Ok(pre) => Ok((Some(pre), proxy)),
        Err(_) if proxy.is_some() => Ok((None, proxy)),
        Err(e) => Err(Refusal::wasmtime(
            "it exports neither `airssys:component/handler@0.1.0` (with `handle: func(msg: message) -> result<list<u8>, string>`) nor `wasi:http/incoming-handler@0.2.x`",
            e,
        )
        .into_error(name, path)),
    }
}

/// Reads and compiles (or deserializes) the component at `path`, without sharing. Returns
/// whether the code was precompiled (cache hit or `.cwasm`).
pub(crate) fn compile(
    engines: &Engines,
    engine: &Engine,
    max_stack: u64,
    path: &Path,
) -> Result<(Component, bool), Refusal> {
    let (key, source) = identify(path, max_stack, is_elf(path))?;
    compile_source(engines, engine, max_stack, path, &key, source)
}

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// Names the code of a precompiled file (`elf`, from [`is_elf`]) or of a `.wasm` (read and
/// hashed).
fn identify(path: &Path, max_stack: u64, elf: bool) -> Result<(CodeKey, Source), Refusal> {
    if elf {
        let meta =
            std::fs::metadata(path).map_err(|e| Refusal::from(format!("cannot read it: {e}")))?;
        let key = CodeKey::Precompiled {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
            max_stack,
        };
        return Ok((key, Source::Precompiled));
    }
    let bytes = std::fs::read(path).map_err(|e| Refusal::from(format!("cannot read it: {e}")))?;
    check_component_header(&bytes).map_err(Refusal::from)?;
    Ok((
        CodeKey::Wasm {
            digest: cache::digest(&bytes),
            max_stack,
        },
        Source::Wasm(bytes),
    ))
}

fn compile_source(
    engines: &Engines,
    engine: &Engine,
    max_stack: u64,
    path: &Path,
    key: &CodeKey,
    source: Source,
) -> Result<(Component, bool), Refusal> {
    let bytes = match source {
        Source::Wasm(bytes) => bytes,
        Source::Precompiled => {
            return match Engine::detect_precompiled_file(path)
                .map_err(|e| Refusal::from(format!("cannot read it: {e}")))?
            {
                Some(Precompiled::Component) => {
                    // SAFETY: the manifest's author vouches for the file as the output of
                    // `airssys-wasm compile`; wasmtime checks the header, the wasmtime
                    // version and the engine settings, and refuses a file built for
                    // another engine.
                    let component =
                        unsafe { Component::deserialize_file(engine, path) }.map_err(|e| {
                            Refusal::wasmtime(
                                "not a precompiled component for this host's engine",
                                e,
                            )
                        })?;
                    Ok((component, true))
                }
                Some(Precompiled::Module) => Err(Refusal::from(
                    "a precompiled core module, not a component; precompile the component with `airssys-wasm compile`",
                )),
                None => Err(Refusal::from(
                    "an ELF file that is not a precompiled wasmtime component",
                )),
            };
        }
    };
    let result = match (engines.cache(), key) {
        (Some(cache), CodeKey::Wasm { digest, .. }) => {
            cache.get_or_compile(engine, max_stack, digest, &bytes)
        }
        _ => Component::new(engine, &bytes).map(|c| (c, false)),
    };
    result.map_err(|e| Refusal::wasmtime("not a valid component", e))
}

/// Tells a component from a core module or a file that is not wasm at all.
fn check_component_header(bytes: &[u8]) -> Result<(), &'static str> {
    match bytes {
        [0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00, ..] => Ok(()),
        [0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00, ..] => Err(
            "a core WebAssembly module, not a component (build it for wasm32-wasip2, or wrap it with `wasm-tools component new`)",
        ),
        [0, b'a', b's', b'm', ..] => Err("an unsupported WebAssembly binary version"),
        [b'(', ..] | [b' ' | b'\n' | b';', ..] => {
            Err("WebAssembly text (.wat), not a binary component")
        }
        _ => Err("not a WebAssembly file (no `\\0asm` header)"),
    }
}

/// Turns an `instantiate_pre` failure into a `link` error naming the missing import.
///
/// wasmtime's linker error gives the import's name only in its text (``component imports
/// instance `NAME`, but a matching implementation was not found in the linker``), so it is
/// read from there; `the_missing_import_is_read_from_wasmtimes_linker_error` fails if
/// wasmtime's wording changes.
fn link_error(name: &str, e: wasmtime::Error) -> Error {
    let import = format!("{e:#}")
        .split('`')
        .nth(1)
        .map_or_else(|| "an unknown import".to_string(), str::to_string);
    Error::Link {
        component: name.to_string(),
        import,
        cause: e.into(),
    }
}

/// Why a file is not a component for this host: our words, and wasmtime's error when
/// wasmtime refused it.
#[derive(Debug)]
pub(crate) struct Refusal {
    reason: String,
    cause: Option<wasmtime::Error>,
}

impl Refusal {
    /// wasmtime refused it: `reason` says what we were doing.
    pub(crate) fn wasmtime(reason: &str, cause: wasmtime::Error) -> Self {
        Refusal {
            reason: reason.to_string(),
            cause: Some(cause),
        }
    }

    /// The `component` error for component `name` at `path`.
    pub(crate) fn into_error(self, name: &str, path: &Path) -> Error {
        Error::Component {
            component: name.to_string(),
            path: path.to_path_buf(),
            reason: self.reason,
            cause: self.cause.map(Into::into),
        }
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal {
            reason,
            cause: None,
        }
    }
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        reason.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wasmtime names the missing import only in its message: this fails if its wording
    /// changes, so that `link_error` is fixed with it.
    #[test]
    fn the_missing_import_is_read_from_wasmtimes_linker_error() {
        let engine = Engine::default();
        let linker = wasmtime::component::Linker::<()>::new(&engine);
        let wat =
            r#"(component (import "airssys:absent/nothing@0.1.0" (instance (export "f" (func)))))"#;
        let component = Component::new(&engine, wat).unwrap();
        let Err(error) = linker.instantiate_pre(&component) else {
            panic!("linking an unknown import succeeded");
        };
        match link_error("subject", error) {
            Error::Link { import, .. } => assert_eq!(import, "airssys:absent/nothing@0.1.0"),
            other => panic!("expected a link error, got {other:?}"),
        }
    }

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
