//! Strategy instances: one JSON file per instance, binding a template to parameters.
//!
//! ```json
//! { "id": "tech_aggressive", "template": "vol_sniper", "sector": "technology",
//!   "enabled": true, "parameters": { "symbol_pool": ["NVDA", "AMD"], "min_iv_rank": 80 } }
//! ```
//!
//! Every parameter becomes a top-level template variable, so parameter keys must be
//! identifiers and must not shadow the variables the renderer adds ([`RESERVED_KEYS`]).

use super::template::Template;
use super::SwarmError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Template variables set by the renderer; parameters may not use these names.
pub const RESERVED_KEYS: [&str; 4] = ["instance_id", "sector", "market_data", "as_of"];

/// One configured strategy instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// Unique id (letters, digits, `_`, `-`).
    pub id: String,
    /// Name of the template (file stem) this instance renders.
    pub template: String,
    /// Sector label, e.g. "technology".
    pub sector: String,
    /// Disabled instances are loaded and checked but not run.
    pub enabled: bool,
    /// Template parameters; must hold `symbol_pool`, a non-empty array of symbols.
    pub parameters: serde_json::Map<String, Value>,
}

impl Instance {
    /// The `symbol_pool` parameter (validated non-empty by [`load_instances`]); non-string
    /// entries are skipped, so a hand-built instance without a pool yields an empty list.
    pub fn symbol_pool(&self) -> Vec<String> {
        self.parameters
            .get("symbol_pool")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A numeric parameter, if present and a number.
    pub fn param_f64(&self, key: &str) -> Option<f64> {
        self.parameters.get(key).and_then(Value::as_f64)
    }
}

/// Loads every `*.json` file of `dir` as an [`Instance`], sorted by id.
///
/// Errors name the file and the offending key; a repeated id is an error.
pub fn load_instances(dir: &Path) -> Result<Vec<Instance>, SwarmError> {
    let io = |source| SwarmError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut by_id: BTreeMap<String, (PathBuf, Instance)> = BTreeMap::new();
    for path in paths {
        let instance = load_instance(&path)?;
        if let Some((first, _)) = by_id.get(&instance.id) {
            return Err(SwarmError::DuplicateInstance {
                id: instance.id,
                first: first.clone(),
                second: path,
            });
        }
        by_id.insert(instance.id.clone(), (path, instance));
    }
    Ok(by_id.into_values().map(|(_, i)| i).collect())
}

/// Loads and checks one instance file.
pub fn load_instance(path: &Path) -> Result<Instance, SwarmError> {
    let text = fs::read_to_string(path).map_err(|source| SwarmError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let error = |message: String| SwarmError::Instance {
        path: path.to_path_buf(),
        message,
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let instance: Instance = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        if key == "." {
            error(inner.to_string())
        } else {
            error(format!("key {key:?}: {inner}"))
        }
    })?;
    de.end().map_err(|e| error(e.to_string()))?;
    check_instance(&instance).map_err(error)?;
    Ok(instance)
}

/// Checks the fields serde cannot; the error message names the key.
fn check_instance(instance: &Instance) -> Result<(), String> {
    let id_ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if instance.id.is_empty() || !instance.id.chars().all(id_ok) {
        return Err(format!(
            "key \"id\": {:?} must be non-empty letters, digits, '_' or '-'",
            instance.id
        ));
    }
    if instance.template.trim().is_empty() {
        return Err("key \"template\": must not be empty".into());
    }
    for key in instance.parameters.keys() {
        if RESERVED_KEYS.contains(&key.as_str()) {
            return Err(format!(
                "key \"parameters.{key}\": reserved for the renderer"
            ));
        }
        let mut chars = key.chars();
        let ident = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            return Err(format!(
                "key \"parameters.{key}\": parameter names must be identifiers"
            ));
        }
    }
    check_pool(instance.parameters.get("symbol_pool"))
        .map_err(|m| format!("key \"parameters.symbol_pool\": {m}"))
}

fn check_pool(pool: Option<&Value>) -> Result<(), String> {
    let Some(pool) = pool else {
        return Err("missing (a non-empty array of symbols is required)".into());
    };
    let Some(items) = pool.as_array() else {
        return Err(format!("expected an array of strings, got {pool}"));
    };
    if items.is_empty() {
        return Err("must not be empty".into());
    }
    let mut seen = BTreeSet::new();
    for item in items {
        match item.as_str() {
            Some(s) if !s.trim().is_empty() && s.trim() == s => {
                if !seen.insert(s) {
                    return Err(format!("symbol {s:?} repeated"));
                }
            }
            _ => return Err(format!("entry {item} is not a symbol string")),
        }
    }
    Ok(())
}

/// Checks that every instance names a loaded template.
pub fn validate_instances(
    instances: &[Instance],
    templates: &BTreeMap<String, Template>,
) -> Result<(), SwarmError> {
    for instance in instances {
        if !templates.contains_key(&instance.template) {
            return Err(SwarmError::UnknownTemplate {
                instance: instance.id.clone(),
                template: instance.template.clone(),
                known: templates.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, text: &str) {
        fs::write(dir.join(file), text).expect("write instance");
    }

    fn json(id: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "{id}", "template": "vol_sniper", "sector": "tech", "enabled": true,
               "parameters": {{"symbol_pool": ["NVDA"], "min_iv_rank": 80}}{extra}}}"#
        )
    }

    fn load_one(text: &str) -> Result<Vec<Instance>, SwarmError> {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "x.json", text);
        load_instances(dir.path())
    }

    #[test]
    fn loads_sorted_by_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.json", &json("zeta", ""));
        write(dir.path(), "b.json", &json("alpha", ""));
        write(dir.path(), "readme.txt", "ignored");
        let loaded = load_instances(dir.path()).expect("loads");
        let ids: Vec<_> = loaded.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["alpha", "zeta"]);
        assert_eq!(loaded[0].symbol_pool(), ["NVDA"]);
        assert_eq!(loaded[0].param_f64("min_iv_rank"), Some(80.0));
    }

    #[test]
    fn instance_errors_name_file_and_key() {
        let cases: [(&str, String, &str); 8] = [
            ("unknown key", json("a", r#", "model": "x""#), "unknown field `model`"),
            (
                "missing pool",
                r#"{"id":"a","template":"t","sector":"s","enabled":true,"parameters":{}}"#.into(),
                "parameters.symbol_pool",
            ),
            (
                "empty pool",
                r#"{"id":"a","template":"t","sector":"s","enabled":true,"parameters":{"symbol_pool":[]}}"#.into(),
                "must not be empty",
            ),
            (
                "pool of numbers",
                r#"{"id":"a","template":"t","sector":"s","enabled":true,"parameters":{"symbol_pool":[1]}}"#.into(),
                "not a symbol string",
            ),
            (
                "wrong type",
                r#"{"id":"a","template":"t","sector":"s","enabled":"yes","parameters":{}}"#.into(),
                "key \"enabled\"",
            ),
            (
                "reserved parameter",
                r#"{"id":"a","template":"t","sector":"s","enabled":true,"parameters":{"symbol_pool":["A"],"sector":"x"}}"#.into(),
                "parameters.sector\": reserved",
            ),
            ("bad id", json("a b", ""), "key \"id\""),
            ("not json", "{".into(), "EOF"),
        ];
        for (name, text, expected) in cases {
            let err = load_one(&text).expect_err(name).to_string();
            assert!(err.contains("x.json"), "{name}: {err}");
            assert!(err.contains(expected), "{name}: {err}");
        }
    }

    #[test]
    fn duplicate_ids_are_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "one.json", &json("same", ""));
        write(dir.path(), "two.json", &json("same", ""));
        let err = load_instances(dir.path())
            .expect_err("duplicate")
            .to_string();
        assert!(
            err.contains("\"same\"") && err.contains("one.json") && err.contains("two.json"),
            "{err}"
        );
    }

    #[test]
    fn unknown_template_is_an_error() {
        let loaded = load_one(&json("a", "")).expect("loads");
        let err = validate_instances(&loaded, &BTreeMap::new())
            .expect_err("no templates")
            .to_string();
        assert!(err.contains("unknown template \"vol_sniper\""), "{err}");
    }
}
