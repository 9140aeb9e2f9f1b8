//! The one start-up validation shared by `alphahive check` and `run`: what one refuses, the
//! other refuses with the same message, before anything is written.
//!
//! On top of [`crate::config::load`] (which already checked every key of the config file):
//! - values this build cannot run: `market.kind` other than `synthetic`, `broker.kind` other
//!   than `paper`, an LLM provider whose client cannot be built (no model, an unset API key
//!   variable), an LLM commander's unreadable `commander.prompt`;
//! - templates: every front matter `evaluator` is a built-in rules evaluator;
//! - instances: at least one is enabled; each names a loaded template; each parameter is
//!   declared ([`crate::swarm::params`]) with the declared type and a value its evaluator can
//!   use; each pool symbol is in `market.symbols`; an enabled instance's `min_dte` is above
//!   `commander.exit_dte`;
//! - every instance's template renders in strict mode (an undefined variable is an error) over
//!   the sample market data.
//!
//! Every error is a [`ValidationError`]: one line naming the file and the key.

use crate::config::{BrokerKind, Config, MarketKind, ProviderKind};
use crate::llm::rules;
use crate::swarm::instance::{self, Instance};
use crate::swarm::params::{self, ParamSpec, COMMON_PARAMS};
use crate::swarm::template::{self, Template};
use crate::swarm::SwarmError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What start-up needs once validation passed.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The templates, by name.
    pub templates: BTreeMap<String, Template>,
    /// The instances (enabled or not), sorted by id.
    pub instances: Vec<Instance>,
}

/// Why the config, a template or an instance cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// A file's key holds something this build cannot run.
    #[error("{}: {key}: {message}", .file.display())]
    Key {
        /// The config, template or instance file.
        file: PathBuf,
        /// The key (dotted for the config, `parameters.NAME` for an instance, the variable
        /// for a template).
        key: String,
        /// What is wrong, on one line.
        message: String,
    },
    /// A template or instance file could not be loaded (the message names the file and key).
    #[error(transparent)]
    Load(#[from] SwarmError),
}

fn key_error(file: &Path, key: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError::Key {
        file: file.to_path_buf(),
        key: key.into(),
        message: message.into(),
    }
}

/// Validates `cfg` (loaded from `config_path`) with its templates and instances.
pub fn validate(cfg: &Config, config_path: &Path) -> Result<Validated, ValidationError> {
    check_build(cfg, config_path)?;
    let templates = template::load_templates(&cfg.swarm.templates_dir)?;
    for t in templates.values() {
        if !rules::EVALUATORS.contains(&t.evaluator.as_str()) {
            return Err(key_error(
                &template_file(cfg, t),
                "evaluator",
                format!(
                    "{:?} is not a built-in evaluator (expected one of {})",
                    t.evaluator,
                    rules::EVALUATORS.join(", ")
                ),
            ));
        }
    }
    let files = instance::load_instance_files(&cfg.swarm.instances_dir)?;
    if !files.iter().any(|(_, i)| i.enabled) {
        return Err(key_error(
            config_path,
            "swarm.instances_dir",
            format!(
                "no enabled instance in {} (expected at least one *.json instance with \"enabled\": true)",
                cfg.swarm.instances_dir.display()
            ),
        ));
    }
    for (file, inst) in &files {
        let Some(t) = templates.get(&inst.template) else {
            return Err(key_error(
                file,
                "template",
                format!(
                    "unknown template {:?} (known: {})",
                    inst.template,
                    templates.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        check_instance(cfg, file, inst, t)?;
        let sample = crate::swarm::render::sample_snapshot(&inst.symbol_pool());
        crate::swarm::render::render(t, inst, &sample).map_err(|e| match e {
            SwarmError::Render {
                message, undefined, ..
            } => key_error(
                &template_file(cfg, t),
                if undefined.is_empty() {
                    "body".to_string()
                } else {
                    undefined.join(", ")
                },
                format!(
                    "does not render in strict mode for instance {:?} ({}) with sample data: {message}",
                    inst.id,
                    file.display()
                ),
            ),
            other => ValidationError::Load(other),
        })?;
    }
    Ok(Validated {
        templates,
        instances: files.into_iter().map(|(_, i)| i).collect(),
    })
}

/// The file template `t` was loaded from.
fn template_file(cfg: &Config, t: &Template) -> PathBuf {
    cfg.swarm.templates_dir.join(format!("{}.md", t.name))
}

/// The serde spelling of a config enum value (`"csv"`).
fn spelled<T: serde::Serialize + std::fmt::Debug>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}"))
}

/// Values the config accepts but this build cannot run.
fn check_build(cfg: &Config, config_path: &Path) -> Result<(), ValidationError> {
    if cfg.market.kind != MarketKind::Synthetic {
        return Err(key_error(
            config_path,
            "market.kind",
            format!(
                "{} is not available in this build (only \"synthetic\")",
                spelled(&cfg.market.kind)
            ),
        ));
    }
    if cfg.broker.kind != BrokerKind::Paper {
        return Err(key_error(
            config_path,
            "broker.kind",
            format!(
                "{} is not available in this build (only \"paper\")",
                spelled(&cfg.broker.kind)
            ),
        ));
    }
    for (key, name) in [
        ("swarm.provider", &cfg.swarm.provider),
        ("commander.provider", &cfg.commander.provider),
    ] {
        let Some(p) = cfg.llm.provider(name) else {
            return Err(key_error(
                config_path,
                key,
                format!("no provider named {name:?}"),
            ));
        };
        if p.kind == ProviderKind::Rules {
            continue;
        }
        // Builds (and drops) the client: the model, the timeout and the API key variable are
        // checked as `run` checks them; the key is never printed.
        crate::llm::client::build_client(name, p, None)
            .map_err(|e| key_error(config_path, format!("llm.providers.{name}"), e.to_string()))?;
        if key == "commander.provider" {
            std::fs::read_to_string(&cfg.commander.prompt).map_err(|e| {
                key_error(
                    config_path,
                    "commander.prompt",
                    format!("cannot read {}: {e}", cfg.commander.prompt.display()),
                )
            })?;
        }
    }
    Ok(())
}

/// One instance's parameters, pool and window against its template, evaluator and config.
fn check_instance(
    cfg: &Config,
    file: &Path,
    inst: &Instance,
    t: &Template,
) -> Result<(), ValidationError> {
    let mut declared: Vec<ParamSpec> = COMMON_PARAMS
        .iter()
        .map(|(n, k)| ParamSpec::new(n, *k))
        .collect();
    for (n, k) in rules::declared_params(&t.evaluator).unwrap_or(&[]) {
        declared.push(ParamSpec::new(n, *k));
    }
    declared.extend(t.params.iter().cloned());
    params::check(&inst.parameters, &declared).map_err(|(key, message)| {
        key_error(
            file,
            format!("parameters.{key}"),
            format!("{message} (template {})", t.name),
        )
    })?;
    let parameter_error = |e: SwarmError| match e {
        SwarmError::Parameter { key, message, .. } => {
            key_error(file, format!("parameters.{key}"), message)
        }
        other => ValidationError::Load(other),
    };
    rules::check_params(&t.evaluator, inst).map_err(parameter_error)?;
    for symbol in inst.symbol_pool() {
        if !cfg.market.symbols.contains(&symbol) {
            return Err(key_error(
                file,
                "parameters.symbol_pool",
                format!(
                    "{symbol:?} is not in market.symbols ({})",
                    cfg.market.symbols.join(", ")
                ),
            ));
        }
    }
    instance::check_exit_dte(std::slice::from_ref(inst), cfg.commander.exit_dte)
        .map_err(parameter_error)?;
    Ok(())
}
