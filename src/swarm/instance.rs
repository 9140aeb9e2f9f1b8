//! Strategy instances: one JSON file per instance, binding a template to parameters.
//!
//! ```json
//! { "id": "tech_aggressive", "template": "vol_sniper", "sector": "technology",
//!   "enabled": true, "parameters": { "symbol_pool": ["NVDA", "AMD"], "min_iv_rank": 80 } }
//! ```
//!
//! Every parameter becomes a top-level template variable, so parameter keys must be
//! identifiers and must not shadow the variables the renderer adds ([`RESERVED_KEYS`]).
//!
//! Two optional parameters are common to every template: `min_dte` and `max_dte`, the window
//! of days to expiry an instance sees and trades ([`DteWindow`], default 30–45). They are
//! checked when the instance loads.

use super::template::Template;
use super::SwarmError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Template variables set by the renderer; parameters may not use these names.
pub const RESERVED_KEYS: [&str; 4] = ["instance_id", "sector", "market_data", "as_of"];

/// Smallest `min_dte` an instance may set: the shortest expiry a chain lists.
pub const DTE_FLOOR: i64 = 7;
/// Largest `max_dte` an instance may set: the longest expiry a chain lists.
pub const DTE_CEILING: i64 = 60;

/// The window of calendar days to expiry an instance sees (its prompt's chain) and trades in:
/// the `min_dte` and `max_dte` parameters, both optional (defaults 30 and 45), integers with
/// `DTE_FLOOR <= min_dte <= max_dte <= DTE_CEILING`.
///
/// An instance trades the expiry closest to [`DteWindow::target`]. `min_dte` should exceed the
/// Commander's `exit_dte`: a position opened at or below it is due for its time exit at once.
/// The instance cannot check that (it does not know the Commander's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DteWindow {
    /// Shortest days to expiry, inclusive.
    pub min_dte: i64,
    /// Longest days to expiry, inclusive.
    pub max_dte: i64,
}

impl DteWindow {
    /// The window of an instance that sets neither parameter: 30–45 DTE (target 37).
    pub const DEFAULT: DteWindow = DteWindow {
        min_dte: 30,
        max_dte: 45,
    };

    /// The preferred days to expiry: the window's midpoint, the earlier day when it falls
    /// between two (`(min_dte + max_dte) / 2` rounded down).
    pub fn target(self) -> i64 {
        (self.min_dte + self.max_dte).div_euclid(2)
    }

    /// True when `dte` is inside the window (both ends included).
    pub fn contains(self, dte: i64) -> bool {
        (self.min_dte..=self.max_dte).contains(&dte)
    }

    /// The smallest window covering both `self` and `other`.
    pub fn cover(self, other: DteWindow) -> DteWindow {
        DteWindow {
            min_dte: self.min_dte.min(other.min_dte),
            max_dte: self.max_dte.max(other.max_dte),
        }
    }
}

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

    /// The instance's [`DteWindow`] from its `min_dte` / `max_dte` parameters (defaults 30 and
    /// 45). An error ([`SwarmError::Parameter`]) names the offending key.
    pub fn dte_window(&self) -> Result<DteWindow, SwarmError> {
        dte_window_of(&self.parameters).map_err(|(key, message)| SwarmError::Parameter {
            instance: self.id.clone(),
            key: key.to_string(),
            message,
        })
    }
}

/// The smallest window covering every enabled instance's ([`DteWindow::DEFAULT`] when none is
/// enabled): the expiries a cycle's snapshot records.
pub fn enabled_span(instances: &[Instance]) -> Result<DteWindow, SwarmError> {
    let mut span: Option<DteWindow> = None;
    for instance in instances.iter().filter(|i| i.enabled) {
        let window = instance.dte_window()?;
        span = Some(span.map_or(window, |s| s.cover(window)));
    }
    Ok(span.unwrap_or(DteWindow::DEFAULT))
}

/// The window set by `parameters`, or the offending key and what is wrong with it.
fn dte_window_of(
    parameters: &serde_json::Map<String, Value>,
) -> Result<DteWindow, (&'static str, String)> {
    let day = |key: &'static str, default: i64| -> Result<i64, (&'static str, String)> {
        let Some(v) = parameters.get(key) else {
            return Ok(default);
        };
        match v.as_i64() {
            Some(d) if (DTE_FLOOR..=DTE_CEILING).contains(&d) => Ok(d),
            _ => Err((
                key,
                format!("must be a whole number of days in [{DTE_FLOOR}, {DTE_CEILING}], got {v}"),
            )),
        }
    };
    let window = DteWindow {
        min_dte: day("min_dte", DteWindow::DEFAULT.min_dte)?,
        max_dte: day("max_dte", DteWindow::DEFAULT.max_dte)?,
    };
    if window.min_dte > window.max_dte {
        return Err((
            "min_dte",
            format!(
                "must not exceed max_dte ({}), got {}",
                window.max_dte, window.min_dte
            ),
        ));
    }
    Ok(window)
}

/// Loads every `*.json` file of `dir` as an [`Instance`], sorted by id.
///
/// Errors name the file and the offending key; a repeated id is an error.
pub fn load_instances(dir: &Path) -> Result<Vec<Instance>, SwarmError> {
    Ok(load_instance_files(dir)?
        .into_iter()
        .map(|(_, i)| i)
        .collect())
}

/// Like [`load_instances`], with the file each instance was read from.
pub fn load_instance_files(dir: &Path) -> Result<Vec<(PathBuf, Instance)>, SwarmError> {
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
    Ok(by_id.into_values().collect())
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
        .map_err(|m| format!("key \"parameters.symbol_pool\": {m}"))?;
    dte_window_of(&instance.parameters)
        .map(|_| ())
        .map_err(|(key, m)| format!("key \"parameters.{key}\": {m}"))
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

/// Checks that no enabled instance trades expiries the Commander would close at once: its
/// `min_dte` must be above `commander.exit_dte`.
pub fn check_exit_dte(instances: &[Instance], exit_dte: u32) -> Result<(), SwarmError> {
    for instance in instances.iter().filter(|i| i.enabled) {
        let window = instance.dte_window()?;
        if window.min_dte <= i64::from(exit_dte) {
            return Err(SwarmError::Parameter {
                instance: instance.id.clone(),
                key: "min_dte".into(),
                message: format!(
                    "is {}, at or below commander.exit_dte {exit_dte}: a position opened there \
                     is due for its time exit at once; raise min_dte or lower exit_dte",
                    window.min_dte
                ),
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
        let window = |extra: &str| {
            format!(
                r#"{{"id":"a","template":"t","sector":"s","enabled":true,"parameters":{{"symbol_pool":["A"]{extra}}}}}"#
            )
        };
        let cases: [(&str, String, &str); 12] = [
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
            (
                "min_dte below the chain",
                window(r#","min_dte":5"#),
                "parameters.min_dte\": must be a whole number of days in [7, 60], got 5",
            ),
            (
                "max_dte above the chain",
                window(r#","max_dte":61"#),
                "parameters.max_dte\": must be a whole number",
            ),
            (
                "fractional max_dte",
                window(r#","max_dte":20.5"#),
                "parameters.max_dte\": must be a whole number",
            ),
            (
                "inverted window",
                window(r#","min_dte":28,"max_dte":14"#),
                "parameters.min_dte\": must not exceed max_dte (14), got 28",
            ),
        ];
        for (name, text, expected) in cases {
            let err = load_one(&text).expect_err(name).to_string();
            assert!(err.contains("x.json"), "{name}: {err}");
            assert!(err.contains(expected), "{name}: {err}");
        }
    }

    #[test]
    fn dte_window_defaults_and_target() {
        let loaded = load_one(&json("a", "")).expect("loads");
        assert_eq!(loaded[0].dte_window().expect("window"), DteWindow::DEFAULT);
        assert_eq!(
            DteWindow::DEFAULT.target(),
            37,
            "30-45: 37.5, the earlier day"
        );
        let short = DteWindow {
            min_dte: 14,
            max_dte: 28,
        };
        assert_eq!(short.target(), 21);
        assert!(short.contains(14) && short.contains(28) && !short.contains(29));
        assert_eq!(
            short.cover(DteWindow::DEFAULT),
            DteWindow {
                min_dte: 14,
                max_dte: 45
            }
        );
        let mut inst = loaded[0].clone();
        inst.parameters.insert("min_dte".into(), 14.into());
        inst.parameters.insert("max_dte".into(), 28.into());
        assert_eq!(inst.dte_window().expect("window"), short);
        inst.parameters.insert("max_dte".into(), "28".into());
        let err = inst.dte_window().expect_err("a string").to_string();
        assert!(err.contains("\"max_dte\""), "{err}");
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

    #[test]
    fn a_window_under_the_time_exit_is_an_error() {
        let mut loaded = load_one(&json("short", "")).expect("loads");
        assert!(check_exit_dte(&loaded, 5).is_ok(), "default 30-45 is fine");
        loaded[0].parameters.insert("min_dte".into(), 7.into());
        assert!(check_exit_dte(&loaded, 5).is_ok());
        let err = check_exit_dte(&loaded, 7).expect_err("7 <= 7").to_string();
        assert!(
            err.contains("\"short\"") && err.contains("\"min_dte\"") && err.contains("exit_dte 7"),
            "{err}"
        );
        loaded[0].enabled = false;
        assert!(
            check_exit_dte(&loaded, 7).is_ok(),
            "disabled instances do not trade"
        );
    }
}
