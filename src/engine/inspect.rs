//! What a component file imports and exports, and whether it fits the host's world.

use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;

use crate::engine::Engines;
use crate::engine::loader::{Refusal, compile, link};
use crate::error::Error;

/// One import or export of a component, by its WIT name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The WIT name, e.g. `wasi:cli/environment@0.2.6` or `airssys:component/handler@0.1.0`.
    pub name: String,
    /// What it is (`instance`, `func`, `type`, ...).
    pub kind: &'static str,
    /// For an instance, the names of its functions (and other items).
    pub members: Vec<String>,
}

/// The outcome of [`inspect`].
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The file inspected.
    pub path: PathBuf,
    /// What the component imports.
    pub imports: Vec<Item>,
    /// What it exports.
    pub exports: Vec<Item>,
    /// `Ok` when the host can run it: every import provided and `handler` or
    /// `wasi:http/incoming-handler` exported; otherwise the `link` or `component` error
    /// loading it would give.
    pub fits: Result<(), Error>,
    /// Whether it takes messages (exports `airssys:component/handler`).
    pub serves_messages: bool,
    /// Whether it serves HTTP (exports `wasi:http/incoming-handler@0.2.x`).
    pub serves_http: bool,
}

/// Reads a `.wasm` or `.cwasm` component and describes it.
///
/// # Errors
///
/// A `component` error when the file is not a component for this host.
pub fn inspect(engine: &Engines, path: &Path) -> Result<Inspection, Error> {
    const STACK: u64 = 1 << 20;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let component_error = |refusal: Refusal| refusal.into_error(&name, path);
    let (wasm_engine, linker) = engine
        .engine_and_linker(STACK)
        .map_err(|e| component_error(Refusal::wasmtime("cannot configure the engine", e)))?;
    let (component, _) = compile(engine, &wasm_engine, STACK, path).map_err(component_error)?;
    let ty = component.component_type();
    let imports = ty
        .imports(&wasm_engine)
        .map(|(n, item)| describe(&wasm_engine, n, &item.ty))
        .collect();
    let exports = ty
        .exports(&wasm_engine)
        .map(|(n, item)| describe(&wasm_engine, n, &item.ty))
        .collect();
    let linked = link(&linker, &component, &name, path);
    let (serves_messages, serves_http) = match &linked {
        Ok((pre, proxy)) => (pre.is_some(), proxy.is_some()),
        Err(_) => (false, false),
    };
    Ok(Inspection {
        path: path.to_path_buf(),
        imports,
        exports,
        fits: linked.map(|_| ()),
        serves_messages,
        serves_http,
    })
}

fn describe(engine: &Engine, name: &str, item: &ComponentItem) -> Item {
    let (kind, members) = match item {
        ComponentItem::ComponentFunc(_) => ("func", Vec::new()),
        ComponentItem::CoreFunc(_) => ("core func", Vec::new()),
        ComponentItem::Module(_) => ("module", Vec::new()),
        ComponentItem::Component(_) => ("component", Vec::new()),
        ComponentItem::ComponentInstance(instance) => (
            "instance",
            instance
                .exports(engine)
                .map(|(n, _)| n.to_string())
                .collect(),
        ),
        ComponentItem::Type(_) => ("type", Vec::new()),
        ComponentItem::Resource(_) => ("resource", Vec::new()),
    };
    Item {
        name: name.to_string(),
        kind,
        members,
    }
}
