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

/// Every `crate::NAME` in `text` (use lines, paths in code and in doc links), with its line.
fn crate_references(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            // `airssys_wasm_crate::` or `$crate::` are not this crate's root.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
    }
    found
}

/// Where a file reaches a layer above its own: `file:line: layer -> higher layer`.
fn violations(file: &str, own: &str, text: &str, order: &[Vec<String>]) -> Vec<String> {
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
        .filter_map(|(line, target)| {
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
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for file in files {
        let Some(own) = layer_of(src, &file) else {
            continue;
        };
        *seen.entry(own.clone()).or_insert(0) += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file.strip_prefix(src).unwrap().display().to_string();
        problems.extend(violations(&shown, &own, &text, order));
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
    let upward = "use crate::manifest::Manifest;\nfn f() { crate::engine::run(); }\n";
    assert_eq!(
        violations("store/data.rs", "store", upward, &order),
        ["store/data.rs:2: `store` uses `engine`"]
    );
    let downward =
        "use crate::manifest::Manifest;\n/// [`x`](crate::store::X)\nuse $crate::engine;";
    assert!(violations("engine/x.rs", "engine", downward, &order).is_empty());
    assert!(violations("store/x.rs", "store", "use airssys_crate::engine;", &order).is_empty());
    // Modules of one layer may use each other.
    assert!(violations("limits.rs", "limits", "use crate::store::X;", &order).is_empty());
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
