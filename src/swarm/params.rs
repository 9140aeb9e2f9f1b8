//! Declared instance parameters: what a template and its evaluator read, with types.
//!
//! Every instance parameter must be declared by one of: the parameters common to every
//! template ([`COMMON_PARAMS`]: `symbol_pool`, `min_dte`, `max_dte`), the template's rules
//! evaluator ([`crate::llm::rules::declared_params`]), or the template's own front matter
//! (`params: {name: kind, ...}`, for variables only the prompt reads). An undeclared name is an
//! error (with a "did you mean" when a declared name is close), and so is a value of the wrong
//! [`ParamKind`].

use serde_json::Value;

/// The JSON type a parameter must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Any finite JSON number.
    Number,
    /// A whole JSON number.
    Integer,
    /// A JSON string.
    String,
    /// `true` or `false`.
    Bool,
    /// A non-empty array of symbol strings.
    Symbols,
}

impl ParamKind {
    /// The kind named `name` in front matter (`number`, `integer`, `string`, `bool`,
    /// `symbols`).
    pub fn parse(name: &str) -> Option<ParamKind> {
        match name {
            "number" => Some(ParamKind::Number),
            "integer" => Some(ParamKind::Integer),
            "string" => Some(ParamKind::String),
            "bool" => Some(ParamKind::Bool),
            "symbols" => Some(ParamKind::Symbols),
            _ => None,
        }
    }

    /// The front matter name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Number => "number",
            ParamKind::Integer => "integer",
            ParamKind::String => "string",
            ParamKind::Bool => "bool",
            ParamKind::Symbols => "symbols",
        }
    }

    /// True when `v` has this kind.
    pub fn accepts(self, v: &Value) -> bool {
        match self {
            ParamKind::Number => v.as_f64().is_some_and(f64::is_finite),
            ParamKind::Integer => v.is_i64() || v.is_u64(),
            ParamKind::String => v.is_string(),
            ParamKind::Bool => v.is_boolean(),
            ParamKind::Symbols => v
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            ParamKind::Number => "a number",
            ParamKind::Integer => "a whole number",
            ParamKind::String => "a string",
            ParamKind::Bool => "true or false",
            ParamKind::Symbols => "a non-empty array of symbol strings",
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// The parameter name (a template variable).
    pub name: String,
    /// Its type.
    pub kind: ParamKind,
}

impl ParamSpec {
    /// A spec from a static name.
    pub fn new(name: &str, kind: ParamKind) -> ParamSpec {
        ParamSpec {
            name: name.to_string(),
            kind,
        }
    }
}

/// Parameters every template accepts: the pool and the expiry window.
pub const COMMON_PARAMS: [(&str, ParamKind); 3] = [
    ("symbol_pool", ParamKind::Symbols),
    ("min_dte", ParamKind::Integer),
    ("max_dte", ParamKind::Integer),
];

/// Checks `parameters` against `declared`: the first undeclared name or wrongly typed value,
/// as (key, message).
pub fn check(
    parameters: &serde_json::Map<String, Value>,
    declared: &[ParamSpec],
) -> Result<(), (String, String)> {
    for (key, value) in parameters {
        let Some(spec) = declared.iter().find(|s| s.name == *key) else {
            let mut names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            let hint = match closest(key, &names) {
                Some(near) => format!("did you mean {near:?}? "),
                None => String::new(),
            };
            return Err((
                key.clone(),
                format!("unknown parameter; {hint}declared: {}", names.join(", ")),
            ));
        };
        if !spec.kind.accepts(value) {
            return Err((
                key.clone(),
                format!("expected {}, got {value}", spec.kind.expected()),
            ));
        }
    }
    Ok(())
}

/// The name in `names` nearest to `key` by edit distance, when at most 2 edits (and fewer
/// than the key's length) away.
fn closest<'a>(key: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edit_distance(key, n), *n))
        .filter(|(d, _)| *d <= 2 && *d < key.chars().count())
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declared() -> Vec<ParamSpec> {
        vec![
            ParamSpec::new("symbol_pool", ParamKind::Symbols),
            ParamSpec::new("spread_width", ParamKind::Number),
            ParamSpec::new("min_dte", ParamKind::Integer),
        ]
    }

    fn map(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn item11_unknown_names_suggest_the_close_one() {
        let err = check(&map(json!({"sprad_width": 5})), &declared()).expect_err("unknown");
        assert_eq!(err.0, "sprad_width");
        assert!(
            err.1.contains("did you mean \"spread_width\"?"),
            "{}",
            err.1
        );
        let err = check(&map(json!({"colour": 5})), &declared()).expect_err("unknown");
        assert!(!err.1.contains("did you mean"), "{}", err.1);
        assert!(
            err.1.contains("min_dte, spread_width, symbol_pool"),
            "{}",
            err.1
        );
    }

    #[test]
    fn item11_wrong_types_are_named() {
        let err = check(&map(json!({"spread_width": "high"})), &declared()).expect_err("type");
        assert_eq!(
            err,
            (
                "spread_width".to_string(),
                "expected a number, got \"high\"".to_string()
            )
        );
        let err = check(&map(json!({"min_dte": 14.5})), &declared()).expect_err("type");
        assert_eq!(err.0, "min_dte");
        assert!(check(
            &map(json!({"symbol_pool": ["A"], "spread_width": 2.5, "min_dte": 14})),
            &declared()
        )
        .is_ok());
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("sprad_width", "spread_width"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
