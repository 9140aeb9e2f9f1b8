//! Issue 10: dependencies point one way. Each top-level module of `src/` sits in a layer;
//! product code may use its own layer and the layers below, never one above. Nothing outside
//! `src/actors/` and `src/app/` (and `main.rs`) names the actors. The layers are listed in
//! `docs/ARCHITECTURE.md` ("Layout"); change both together.

mod common;

use common::{repo, rust_files};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layers from the bottom up; a module may use its own layer and those below.
const LAYERS: &[&[&str]] = &[
    &[
        "domain",
        "money",
        "orders",
        "clock",
        "bounded_set",
        "process_identity",
        "console",
        "data_dir_lock",
    ],
    &["skills", "config"],
    &["market"],
    &["pricing", "account"],
    &["risk"],
    &["store"],
    &["broker"],
    // The swarm renders templates and validates answers; the rules evaluators under llm/
    // read the swarm's views, and the swarm asks them what a template offers.
    &["swarm", "llm"],
    &["policy", "validate"],
    &["safety", "watchdog"],
    &["actors"],
    &["app", "main", "lib"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `src/risk/gate.rs` → `risk`, `src/money.rs` → `money`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Product code of a file: none for test-only files, else the text before `#[cfg(test)]`.
fn product_code(file: &Path) -> String {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "tests.rs" || name == "test_support.rs" {
        return String::new();
    }
    let text = std::fs::read_to_string(file).expect("source");
    text.split("#[cfg(test)]").next().unwrap_or("").to_string()
}

/// The top-level modules a text names through `crate::NAME`.
fn crate_paths(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .filter(|(i, _)| {
            // `$crate::` inside a macro is the same crate; skip `alphahive::crate` lookalikes.
            !text[..*i].ends_with('$')
        })
        .map(|(i, m)| {
            text[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every (from module, to module, file) import in product code.
fn imports() -> Vec<(String, String, PathBuf)> {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let from = top_module(&src, &file);
        let code = product_code(&file);
        assert!(
            !code.contains("use crate::{"),
            "{}: grouped `use crate::{{…}}` hides the layer of each path; write one use per module",
            file.display()
        );
        for to in crate_paths(&code) {
            if to != from {
                out.push((from.clone(), to, file.clone()));
            }
        }
    }
    out
}

#[test]
fn every_module_of_src_has_a_layer() {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let missing: Vec<String> = files
        .iter()
        .map(|f| top_module(&src, f))
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
}

#[test]
fn dependencies_point_down() {
    let mut upward: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let all = imports();
    assert!(
        all.iter().any(|(f, t, _)| f == "risk" && t == "pricing"),
        "the scan found no risk -> pricing import: it is broken"
    );
    for (from, to, file) in all {
        let (Some(lf), Some(lt)) = (layer_of(&from), layer_of(&to)) else {
            continue; // a macro or item at the crate root, e.g. `crate::say!`
        };
        if lt > lf {
            upward
                .entry(format!("{from} -> {to}"))
                .or_default()
                .push(file.display().to_string());
        }
    }
    assert!(upward.is_empty(), "upward imports: {upward:#?}");
}

#[test]
fn only_actors_and_app_name_the_actors() {
    let offenders: Vec<String> = imports()
        .into_iter()
        .filter(|(from, to, _)| {
            to == "actors" && !["actors", "app", "main"].contains(&from.as_str())
        })
        .map(|(from, _, file)| format!("{from}: {}", file.display()))
        .collect();
    assert!(
        offenders.is_empty(),
        "outside actors/ and app/: {offenders:?}"
    );
}
