//! Deterministic quantitative skills: option pricing, implied volatility, position sizing and
//! spread analysis, plus a JSON [`registry`] that exposes them as tools.
//!
//! Everything here is pure computation on `f64`: no I/O, no clock, no global state.

pub mod black_scholes;
pub mod implied_vol;
pub mod kelly;
pub mod normal;
pub mod registry;
pub mod spreads;

/// Why a skill could not produce a result. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    /// An argument is missing, malformed or out of range.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The inputs are valid but no answer exists (e.g. a price outside the no-arbitrage bounds).
    #[error("no solution: {0}")]
    NoSolution(String),
    /// The registry has no skill with this name.
    #[error("unknown skill `{0}`: call skills::registry::list() for the available skill names")]
    UnknownSkill(String),
}

/// Returns `Err(InvalidInput)` unless `value` is finite; `hint` says what the field should hold.
pub(crate) fn require_finite(name: &str, value: f64, hint: &str) -> Result<(), SkillError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(SkillError::InvalidInput(format!(
            "{name} must be a finite number (got {value}); pass {hint}"
        )))
    }
}

/// Returns `Err(InvalidInput)` unless `value` is finite and strictly positive.
pub(crate) fn require_positive(name: &str, value: f64, hint: &str) -> Result<(), SkillError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(SkillError::InvalidInput(format!(
            "{name} must be a finite number > 0 (got {value}); pass {hint}"
        )))
    }
}

/// Returns `Err(InvalidInput)` unless `value` is finite and not negative.
pub(crate) fn require_non_negative(name: &str, value: f64, hint: &str) -> Result<(), SkillError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(SkillError::InvalidInput(format!(
            "{name} must be a finite number >= 0 (got {value}); pass {hint}"
        )))
    }
}
