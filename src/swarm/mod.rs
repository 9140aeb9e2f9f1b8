//! The strategy swarm: prompt templates, the instances that use them, prompt rendering and
//! validation of agent answers into [`Signal`](crate::domain::Signal)s.
//!
//! Data flow per cycle: [`template::load_templates`] + [`instance::load_instances`] (checked
//! with [`instance::validate_instances`]) → [`render::render`] the prompt over a
//! [`MarketSnapshot`](crate::market::MarketSnapshot) → an agent (LLM or the deterministic
//! [`crate::llm::rules`] baseline) answers with JSON text → [`signal::parse_answer`].

pub mod instance;
pub mod offer;
pub mod outcome;
pub mod params;
pub mod render;
pub mod sample;
pub mod signal;
pub mod template;

#[cfg(test)]
pub(crate) mod test_support;

use std::path::PathBuf;

/// Errors from loading, checking and rendering swarm configuration.
///
/// Agent answers that fail validation are not errors: they are
/// [`signal::Abstention`]s.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A template file is malformed.
    #[error("template {path}: {message}")]
    Template {
        /// The template file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An instance file is malformed.
    #[error("instance {path}: {message}")]
    Instance {
        /// The instance file.
        path: PathBuf,
        /// What is wrong (names the offending key).
        message: String,
    },
    /// Two instance files declare the same id.
    #[error("duplicate instance id {id:?} in {first} and {second}")]
    DuplicateInstance {
        /// The repeated id.
        id: String,
        /// The file that declared it first.
        first: PathBuf,
        /// The file that declared it again.
        second: PathBuf,
    },
    /// An instance names a template that was not loaded.
    #[error("instance {instance:?} uses unknown template {template:?} (known: {known})")]
    UnknownTemplate {
        /// The instance id.
        instance: String,
        /// The missing template name.
        template: String,
        /// Comma-separated names of the loaded templates.
        known: String,
    },
    /// A template failed to render for an instance.
    #[error("rendering template {template:?} for instance {instance:?}: {message}")]
    Render {
        /// The template name.
        template: String,
        /// The instance id.
        instance: String,
        /// What went wrong, naming undefined variables where possible.
        message: String,
        /// The variables strict mode found undefined (empty for other errors).
        undefined: Vec<String>,
    },
    /// A rules evaluator name is not known.
    #[error("unknown rules evaluator {0:?}")]
    UnknownEvaluator(String),
    /// An instance parameter is missing or invalid for the evaluator that reads it.
    #[error("instance {instance:?}: parameter {key:?} {message}")]
    Parameter {
        /// The instance id.
        instance: String,
        /// The parameter key.
        key: String,
        /// What is wrong.
        message: String,
    },
}
