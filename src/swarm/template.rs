//! Strategy prompt templates: Markdown files with a small front matter block.
//!
//! ```text
//! ---
//! name: vol_sniper
//! evaluator: vol_sniper
//! description: Sells OTM credit spreads when IV rank is high.
//! ---
//! (Jinja prompt body)
//! ```
//!
//! The front matter is a restricted YAML subset parsed here: one `key: value` per line, blank
//! lines and `#` comments allowed, values optionally wrapped in matching quotes. The keys
//! `name`, `evaluator` and `description` are required. The optional `structures` lists the
//! structures the template offers (`structures: [SHORT_PUT_SPREAD, SHORT_CALL_SPREAD]`);
//! without it, the structures of its evaluator ([`crate::llm::rules::offered_structures`]).
//! `NO_TRADE` is always offered. An answer with any other structure is an abstention
//! (`STRUCTURE_NOT_OFFERED`). The optional `params` declares parameters only the prompt
//! reads, with their kinds (`params: {risk_style: string, max_names: integer}`; kinds
//! `number`, `integer`, `string`, `bool`, `symbols`), besides the common ones and those of
//! the evaluator ([`super::params`]). Any other key is an error.

use super::params::{ParamKind, ParamSpec};
use super::SwarmError;
use crate::domain::Structure;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A loaded prompt template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Template name: the file stem, which must equal the front matter `name`.
    pub name: String,
    /// The Rust rules evaluator used in rules mode (see [`crate::llm::rules`]).
    pub evaluator: String,
    /// One-line human description.
    pub description: String,
    /// The structures an answer may trade (`NO_TRADE` is always allowed besides these).
    pub structures: Vec<Structure>,
    /// Parameters declared by the front matter `params` key (the prompt's own variables).
    pub params: Vec<ParamSpec>,
    /// The Jinja body after the front matter.
    pub body: String,
    /// Hex SHA-256 of the whole file (front matter and body), to tie records to a version.
    pub sha256: String,
}

const KEYS: [&str; 5] = ["name", "evaluator", "description", "structures", "params"];

/// Loads every `*.md` file of `dir` as a [`Template`], keyed by name.
///
/// Other files are ignored. Errors name the file and what is wrong with it.
pub fn load_templates(dir: &Path) -> Result<BTreeMap<String, Template>, SwarmError> {
    let io = |source| SwarmError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = BTreeMap::new();
    for path in paths {
        let template = load_template(&path)?;
        out.insert(template.name.clone(), template);
    }
    Ok(out)
}

/// Loads one template file.
pub fn load_template(path: &Path) -> Result<Template, SwarmError> {
    let text = fs::read_to_string(path).map_err(|source| SwarmError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| template_error(path, "file name is not valid UTF-8"))?;
    parse_template(stem, &text).map_err(|message| template_error(path, &message))
}

fn template_error(path: &Path, message: &str) -> SwarmError {
    SwarmError::Template {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Parses template text whose file stem is `stem`; the error is a message without the path.
fn parse_template(stem: &str, text: &str) -> Result<Template, String> {
    let mut lines = text.split_inclusive('\n');
    let mut consumed = match lines.next() {
        Some(first) if first.trim_end() == "---" => first.len(),
        _ => return Err("must start with a `---` front matter line".into()),
    };
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    let mut closed = false;
    for (index, line) in lines.enumerate() {
        consumed += line.len();
        let line_no = index + 2;
        let trimmed = line.trim();
        if trimmed == "---" {
            closed = true;
            break;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, value) = trimmed
            .split_once(':')
            .ok_or_else(|| format!("front matter line {line_no}: expected `key: value`"))?;
        let key = key.trim();
        let Some(known) = KEYS.iter().find(|k| **k == key) else {
            return Err(format!(
                "front matter line {line_no}: unknown key {key:?} (expected {})",
                KEYS.join(", ")
            ));
        };
        let value = unquote(value.trim());
        if value.is_empty() {
            return Err(format!("front matter line {line_no}: key {key:?} is empty"));
        }
        if fields.insert(known, value.to_string()).is_some() {
            return Err(format!("front matter line {line_no}: key {key:?} repeated"));
        }
    }
    if !closed {
        return Err("front matter is not closed by a `---` line".into());
    }
    let mut take = |key: &str| {
        fields
            .remove(key)
            .ok_or_else(|| format!("front matter is missing key {key:?}"))
    };
    let name = take("name")?;
    let evaluator = take("evaluator")?;
    let description = take("description")?;
    if name != stem {
        return Err(format!(
            "front matter name {name:?} differs from the file stem {stem:?}"
        ));
    }
    let body = text[consumed..].to_string();
    if body.trim().is_empty() {
        return Err("body after the front matter is empty".into());
    }
    let structures = match fields.remove("structures") {
        Some(list) => parse_structures(&list)?,
        None => crate::llm::rules::offered_structures(&evaluator).ok_or_else(|| {
            format!(
                "front matter has no key \"structures\" and evaluator {evaluator:?} is not built in, so the structures it offers are unknown"
            )
        })?,
    };
    let params = match fields.remove("params") {
        Some(map) => parse_params(&map)?,
        None => Vec::new(),
    };
    Ok(Template {
        name,
        evaluator,
        description,
        structures,
        params,
        body,
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    })
}

/// Parses `[A, B]` (brackets optional) into structures; `NO_TRADE` is implied, not listed.
fn parse_structures(list: &str) -> Result<Vec<Structure>, String> {
    let inner = list
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(list);
    let mut out = Vec::new();
    for name in inner.split(',').map(|n| unquote(n.trim())) {
        match Structure::parse(&name.to_ascii_uppercase()) {
            Some(Structure::NoTrade) | None => {
                return Err(format!(
                    "front matter key \"structures\": {name:?} is not a tradable structure (expected SHORT_PUT_SPREAD, SHORT_CALL_SPREAD, IRON_CONDOR, LONG_CALL_SPREAD or LONG_PUT_SPREAD)"
                ))
            }
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
        }
    }
    Ok(out)
}

/// Parses `{name: kind, ...}` (braces optional) into parameter declarations.
fn parse_params(map: &str) -> Result<Vec<ParamSpec>, String> {
    let inner = map
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or(map);
    let mut out: Vec<ParamSpec> = Vec::new();
    for entry in inner.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, kind) = entry.split_once(':').ok_or_else(|| {
            format!("front matter key \"params\": expected `name: kind`, got {entry:?}")
        })?;
        let name = unquote(name.trim());
        let kind_name = unquote(kind.trim());
        let kind = ParamKind::parse(kind_name).ok_or_else(|| {
            format!(
                "front matter key \"params\": {name:?} has kind {kind_name:?} (expected number, integer, string, bool or symbols)"
            )
        })?;
        if out.iter().any(|p| p.name == name) {
            return Err(format!("front matter key \"params\": {name:?} repeated"));
        }
        out.push(ParamSpec::new(name, kind));
    }
    Ok(out)
}

/// Strips one pair of matching surrounding quotes.
fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\nname: t1\nevaluator: vol_sniper\n# comment\n\ndescription: \"Quoted: yes\"\n---\nHello {{ instance_id }}\n";

    #[test]
    fn parses_front_matter_and_body() {
        let t = parse_template("t1", GOOD).expect("valid template");
        assert_eq!(t.name, "t1");
        assert_eq!(t.evaluator, "vol_sniper");
        assert_eq!(t.description, "Quoted: yes");
        assert_eq!(t.body, "Hello {{ instance_id }}\n");
        assert_eq!(t.sha256.len(), 64);
        assert_eq!(
            t.structures,
            [Structure::ShortPutSpread, Structure::ShortCallSpread],
            "the evaluator's structures when the key is absent"
        );
    }

    #[test]
    fn item10_structures_come_from_the_front_matter_or_the_evaluator() {
        let t = parse_template(
            "t1",
            "---\nname: t1\nevaluator: custom\ndescription: d\nstructures: [IRON_CONDOR, \"long_put_spread\"]\n---\nb\n",
        )
        .expect("valid");
        assert_eq!(
            t.structures,
            [Structure::IronCondor, Structure::LongPutSpread]
        );
        let err = parse_template(
            "t1",
            "---\nname: t1\nevaluator: custom\ndescription: d\n---\nb\n",
        )
        .expect_err("unknown evaluator, no structures");
        assert!(
            err.contains("structures") && err.contains("custom"),
            "{err}"
        );
        let err = parse_template(
            "t1",
            "---\nname: t1\nevaluator: vol_sniper\ndescription: d\nstructures: [STRADDLE]\n---\nb\n",
        )
        .expect_err("unknown structure");
        assert!(err.contains("STRADDLE"), "{err}");
    }

    #[test]
    fn front_matter_errors() {
        let cases: [(&str, &str, &str); 8] = [
            ("no opening", "name: t1\n---\nbody", "must start with"),
            ("not closed", "---\nname: t1\nevaluator: e\n", "not closed"),
            (
                "no colon",
                "---\nname t1\n---\nbody",
                "line 2: expected `key: value`",
            ),
            (
                "unknown key",
                "---\nname: t1\nmodel: x\n---\nbody",
                "unknown key \"model\"",
            ),
            (
                "repeated",
                "---\nname: t1\nname: t1\n---\nbody",
                "\"name\" repeated",
            ),
            (
                "empty value",
                "---\nname: t1\nevaluator:\n---\nb",
                "\"evaluator\" is empty",
            ),
            (
                "missing key",
                "---\nname: t1\nevaluator: e\n---\nb",
                "missing key \"description\"",
            ),
            (
                "stem mismatch",
                "---\nname: other\nevaluator: e\ndescription: d\n---\nb",
                "differs from the file stem",
            ),
        ];
        for (name, text, expected) in cases {
            let err = parse_template("t1", text).expect_err(name);
            assert!(err.contains(expected), "{name}: {err}");
        }
        let err = parse_template(
            "t1",
            "---\nname: t1\nevaluator: vol_sniper\ndescription: d\nparams: {style: colour}\n---\nb\n",
        )
        .expect_err("unknown kind");
        assert!(err.contains("\"colour\""), "{err}");
        let t = parse_template(
            "t1",
            "---\nname: t1\nevaluator: vol_sniper\ndescription: d\nparams: {style: string, max_names: integer}\n---\nb\n",
        )
        .expect("params");
        assert_eq!(
            t.params,
            [
                ParamSpec::new("style", ParamKind::String),
                ParamSpec::new("max_names", ParamKind::Integer)
            ]
        );
        let empty_body = "---\nname: t1\nevaluator: e\ndescription: d\n---\n  \n";
        assert!(parse_template("t1", empty_body)
            .expect_err("empty body")
            .contains("body"));
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("t1.md"), GOOD).expect("write");
        fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
        let loaded = load_templates(dir.path()).expect("loads");
        assert_eq!(loaded.keys().collect::<Vec<_>>(), ["t1"]);

        fs::write(dir.path().join("bad.md"), "no front matter").expect("write");
        let err = load_templates(dir.path())
            .expect_err("bad file")
            .to_string();
        assert!(
            err.contains("bad.md") && err.contains("must start with"),
            "{err}"
        );
    }

    #[test]
    fn missing_dir_is_io_error() {
        let err = load_templates(Path::new("/nonexistent/templates")).expect_err("missing");
        assert!(matches!(err, SwarmError::Io { .. }));
    }
}
