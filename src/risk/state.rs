//! Trading states: ACTIVE, REDUCING (only risk-reducing orders), HALTED (nothing but cancels).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The trading state the risk gate enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradingState {
    /// Everything within limits may trade.
    Active,
    /// Only orders that reduce risk.
    Reducing,
    /// Nothing but cancels and the watchdog's flatten.
    Halted,
}

impl TradingState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Active => "ACTIVE",
            TradingState::Reducing => "REDUCING",
            TradingState::Halted => "HALTED",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<TradingState> {
        match s {
            "ACTIVE" => Some(TradingState::Active),
            "REDUCING" => Some(TradingState::Reducing),
            "HALTED" => Some(TradingState::Halted),
            _ => None,
        }
    }

    /// How strict the state is: moving to a stricter state is always allowed.
    pub fn severity(self) -> u8 {
        match self {
            TradingState::Active => 0,
            TradingState::Reducing => 1,
            TradingState::Halted => 2,
        }
    }
}

impl fmt::Display for TradingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
