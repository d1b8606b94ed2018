//! Each folder of `src/` is a layer and imports only the layers below it.
//!
//! The order is written once, in `ARCHITECTURE.md`'s ```` ```layers ```` block (bottom
//! first); this test reads it, then every `crate::` path in every source file of the
//! library, and fails on a path that reaches a layer above the file's own. The same for
//! the actor runtime (`actors/src`, the ```` ```layers-actors ```` block).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layer order in the fenced block ```` ```NAME ```` of `ARCHITECTURE.md`: a line per
/// layer, bottom first; a line naming several modules makes them one layer (they may use
/// each other).
fn layer_order(block: &str) -> Vec<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let fence = format!("```{block}\n");
    let start = text
        .find(&fence)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no ```{block} block"))
        + fence.len();
    let end = start + text[start..].find("```").unwrap();
    text[start..end]
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|layer| !layer.is_empty())
        .collect()
}

/// The layer of a source file: its first path component under `src/` (a folder, or a
/// file's stem). `None` for the crate roots.
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// Every `crate::NAME` in the code of `text` (comments are not imports), with its line:
/// `crate::a::b` gives `a`, `crate::{a, b::c}` gives `a` and `b`.
fn crate_references(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_braces: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        // A `use crate::{` group that goes on over the next lines.
        if let Some(start) = in_braces {
            found.extend(group_names(line).into_iter().map(|n| (start, n)));
            if line.contains('}') {
                in_braces = None;
            }
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            // `airssys_wasm_crate::` or `$crate::` are not this crate's root.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                found.extend(group_names(group).into_iter().map(|n| (number + 1, n)));
                if !group.contains('}') {
                    in_braces = Some(number + 1);
                }
                continue;
            }
            let name = ident(rest);
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
    }
    found
}

/// The identifier `text` starts with.
fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The first segment of each item of a `{a, b::c, d::{e}}` group (or of its part on one
/// line), at the group's top level.
fn group_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut expect_name = true;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_name = true,
            c if expect_name && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                names.push(ident(&text[i..]));
                expect_name = false;
            }
            _ => {}
        }
    }
    names
}

/// What the crate root (`lib.rs`) re-exports, by name, to the module it comes from:
/// `crate::Host` is a use of the layer `host`.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut exports = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    let mut rest = flat.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap_or(rest.len());
        let item = &rest[..end];
        let module = ident(item);
        if module != "crate" && !module.is_empty() {
            let tail = &item[module.len()..];
            // Each item's name as the root knows it: `a::Name` is `Name`, `Name as Alias`
            // is `Alias`.
            let known_as = |item: &str| ident(item.trim().rsplit([':', ' ']).next().unwrap_or(""));
            let names: Vec<String> = match tail.find('{') {
                Some(open) => tail[open + 1..]
                    .split(['}', ','])
                    .map(known_as)
                    .filter(|name| !name.is_empty())
                    .collect(),
                None => vec![known_as(tail)],
            };
            for name in names {
                exports.insert(name, module.clone());
            }
        }
        rest = &rest[end..];
    }
    exports
}

/// Where a file reaches a layer above its own: `file:line: layer -> higher layer`.
fn violations(
    file: &str,
    own: &str,
    text: &str,
    order: &[Vec<String>],
    exports: &BTreeMap<String, String>,
) -> Vec<String> {
    let rank = |name: &str| {
        order
            .iter()
            .position(|layer| layer.iter().any(|m| m == name))
    };
    let Some(own_rank) = rank(own) else {
        return vec![format!("{file}: layer `{own}` is not in the layer order")];
    };
    crate_references(text)
        .into_iter()
        .filter_map(|(line, name)| {
            let target = if rank(&name).is_some() {
                name
            } else {
                exports.get(&name)?.clone()
            };
            let target_rank = rank(&target)?;
            (target_rank > own_rank).then(|| format!("{file}:{line}: `{own}` uses `{target}`"))
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Checks every file of `src` against `order`; returns the violations and the layers seen.
fn check_tree(src: &Path, order: &[Vec<String>]) -> (Vec<String>, BTreeMap<String, usize>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let exports = root_exports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for file in files {
        let Some(own) = layer_of(src, &file) else {
            continue;
        };
        *seen.entry(own.clone()).or_insert(0) += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file.strip_prefix(src).unwrap().display().to_string();
        problems.extend(violations(&shown, &own, &text, order, &exports));
    }
    (problems, seen)
}

/// Checks `src` against the block `block`: every module is in the order, every layer
/// named exists (when `all_named` is set), and no module uses a layer above its own.
fn check(block: &str, src: &str, all_named: bool) {
    let order = layer_order(block);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let (problems, seen) = check_tree(&src, &order);
    let named: Vec<&String> = order.iter().flatten().collect();
    for module in seen.keys() {
        assert!(
            named.contains(&module),
            "{}/{module} is not in the ```{block} order",
            src.display()
        );
    }
    if all_named {
        for module in named {
            assert!(
                seen.contains_key(module),
                "```{block} names `{module}`, which does not exist"
            );
        }
    }
    assert!(
        problems.is_empty(),
        "imports of a higher layer:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_library_module_imports_only_the_layers_below_it() {
    check("layers", "src", true);
}

#[test]
fn every_actor_runtime_module_imports_only_the_layers_below_it() {
    check("layers-actors", "actors/src", true);
}

#[test]
fn the_check_catches_an_import_from_above_and_allows_one_from_below() {
    let order: Vec<Vec<String>> = [vec!["manifest"], vec!["store", "limits"], vec!["engine"]]
        .map(|layer| layer.into_iter().map(String::from).collect())
        .to_vec();
    let none = BTreeMap::new();
    let upward = "use crate::manifest::Manifest;\nfn f() { crate::engine::run(); }\n";
    assert_eq!(
        violations("store/data.rs", "store", upward, &order, &none),
        ["store/data.rs:2: `store` uses `engine`"]
    );
    let downward = "use crate::manifest::Manifest;\nuse $crate::engine;";
    assert!(violations("engine/x.rs", "engine", downward, &order, &none).is_empty());
    assert!(
        violations(
            "store/x.rs",
            "store",
            "use airssys_crate::engine;",
            &order,
            &none
        )
        .is_empty()
    );
    // Comments are not imports.
    assert!(
        violations(
            "store/x.rs",
            "store",
            "/// [`x`](crate::engine::X)",
            &order,
            &none
        )
        .is_empty()
    );
    // Modules of one layer may use each other.
    assert!(violations("limits.rs", "limits", "use crate::store::X;", &order, &none).is_empty());
    // A group, on one line or over several.
    let grouped = "use crate::{manifest::M, engine::E};\nuse crate::{\n    manifest,\n    engine::{A, B},\n};";
    assert_eq!(
        violations("store/x.rs", "store", grouped, &order, &none),
        [
            "store/x.rs:1: `store` uses `engine`",
            "store/x.rs:2: `store` uses `engine`"
        ]
    );
    // A name the crate root re-exports counts as a use of the layer it comes from.
    let exports = root_exports(
        "mod engine;\npub use engine::{\n    Engines,\n    Loaded as Other,\n};\npub use manifest::m::Manifest;\npub use crate::x;",
    );
    assert_eq!(exports.get("Engines").map(String::as_str), Some("engine"));
    assert_eq!(exports.get("Other").map(String::as_str), Some("engine"));
    assert_eq!(
        exports.get("Manifest").map(String::as_str),
        Some("manifest")
    );
    assert_eq!(
        violations(
            "store/x.rs",
            "store",
            "use crate::Engines;\nuse crate::Manifest;",
            &order,
            &exports
        ),
        ["store/x.rs:1: `store` uses `engine`"]
    );
    assert_eq!(
        layer_of(Path::new("/s"), Path::new("/s/store/limits.rs")).as_deref(),
        Some("store")
    );
    assert_eq!(
        layer_of(Path::new("/s"), Path::new("/s/error.rs")).as_deref(),
        Some("error")
    );
    assert_eq!(layer_of(Path::new("/s"), Path::new("/s/lib.rs")), None);
}
