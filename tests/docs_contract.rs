//! Issue 9 item 15: every code, status, safety event, hold and config key the source can emit
//! or read is named in the repository's own docs (`docs/ARCHITECTURE.md`, the README), so a
//! new one cannot land undocumented.

mod common;

use common::repo;
use std::collections::BTreeSet;

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A source text without its unit tests (everything from the first `#[cfg(test)]`).
fn product(src: &str) -> &str {
    src.split("#[cfg(test)]").next().unwrap_or(src)
}

/// The docs a user reads: the architecture map and the README.
fn docs() -> String {
    format!("{}\n{}", read("docs/ARCHITECTURE.md"), read("README.md"))
}

/// String literals of `SCREAMING_SNAKE` words (5 characters or more) in a source text.
fn screaming_literals(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for piece in src.split('"').skip(1).step_by(2) {
        let screaming = piece.len() >= 5
            && piece.starts_with(|c: char| c.is_ascii_uppercase())
            && piece.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        if screaming {
            out.insert(piece.to_string());
        }
    }
    // serde attribute values, not codes.
    for attr in ["SCREAMING_SNAKE_CASE", "UPPERCASE"] {
        out.remove(attr);
    }
    out
}

/// The string literal that directly follows each occurrence of `marker` (after blanks), as
/// in `NewSafetyEvent::new("ORDER_REJECTED", …)`.
fn literals_after(src: &str, marker: &str) -> BTreeSet<String> {
    src.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = src[i + marker.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

fn undocumented(names: &BTreeSet<String>, docs: &str) -> Vec<String> {
    names
        .iter()
        .filter(|n| !docs.contains(&format!("`{n}`")) && !docs.contains(&format!("{n},")))
        .cloned()
        .collect()
}

#[test]
fn item15_every_code_hold_status_and_event_is_named_in_the_docs() {
    let docs = docs();
    let mut codes = BTreeSet::new();
    for file in [
        "src/risk/denial.rs",
        "src/swarm/signal.rs",
        "src/risk/holds.rs",
        "src/risk/state.rs",
        "src/actors/swarm_pool.rs",
        "src/orders.rs",
        "src/domain.rs",
    ] {
        codes.extend(screaming_literals(product(&read(file))));
    }
    // Safety events written anywhere.
    let mut sources = String::new();
    for dir in ["src", "src/actors", "src/watchdog", "src/store", "src/risk"] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(product(&std::fs::read_to_string(&path).expect("source")));
            }
        }
    }
    codes.extend(literals_after(&sources, "NewSafetyEvent::new("));
    // The literals must have been found: a broken scan would pass vacuously.
    for known in [
        "MAX_RISK_PER_TRADE",
        "EXPIRY_OUTSIDE_WINDOW",
        "WATCHDOG_LOST",
        "BUDGET_EXHAUSTED",
        "ORDER_REJECTED",
        "HOLD_PLACED",
        "CANCELED",
        "TIME_EXIT",
    ] {
        assert!(codes.contains(known), "the scan missed {known}: {codes:?}");
    }
    let missing = undocumented(&codes, &docs);
    assert!(
        missing.is_empty(),
        "codes not named in docs/ARCHITECTURE.md or README.md: {missing:?}"
    );
}

#[test]
fn item15_every_llm_call_status_is_named_in_the_docs() {
    let docs = docs();
    let statuses = literals_after(product(&read("src/llm/client.rs")), "=>");
    let statuses: BTreeSet<String> = statuses
        .into_iter()
        .filter(|s| s.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !s.is_empty())
        .collect();
    assert!(statuses.contains("rate_limited"), "{statuses:?}");
    let missing = undocumented(&statuses, &docs);
    assert!(
        missing.is_empty(),
        "llm_calls statuses not documented: {missing:?}"
    );
}

#[test]
fn item15_every_shipped_config_key_is_named_in_the_docs() {
    let arch = read("docs/ARCHITECTURE.md");
    let config: toml::Table = read("config.toml").parse().expect("config.toml parses");
    let mut keys = BTreeSet::new();
    fn walk(t: &toml::Table, keys: &mut BTreeSet<String>) {
        for (k, v) in t {
            keys.insert(k.clone());
            if let toml::Value::Table(sub) = v {
                walk(sub, keys);
            }
        }
    }
    walk(&config, &mut keys);
    assert!(keys.contains("limit_fill_probability"), "{keys:?}");
    // `rules` is a provider's name, not a key.
    keys.remove("rules");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| {
            !arch
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|w| w == k.as_str())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "config keys not in docs/ARCHITECTURE.md section 7: {missing:?}"
    );
}
