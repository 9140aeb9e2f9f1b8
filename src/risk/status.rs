//! The risk gate's counters and trading state as reported to the cycle and its snapshot.

use super::TradingState;
use serde::{Deserialize, Serialize};

/// The risk gate's counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskStatus {
    /// Trading state.
    pub trading_state: TradingState,
    /// Why.
    pub reason: String,
    /// Opening trades today.
    pub trades_today: u32,
    /// Loss streak.
    pub loss_streak: u32,
    /// The trading day of the counters.
    pub day: Option<chrono::NaiveDate>,
    /// The holds behind the state (none when ACTIVE).
    pub holds: Vec<super::Hold>,
}
