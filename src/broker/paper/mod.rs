//! The paper venue: cash and positions live in the store, so any process holding a
//! connection (the runtime's Broker actor, the watchdog, the kill switch) can read, mark,
//! fill and flatten the same book. Every fill is one SQLite transaction: fills, order status,
//! cash and position move together or not at all.
//!
//! Where things live: `book` the cash and the positions (open, close, read) · `account` marking
//! the book and the account snapshot · `fills` the fill model applied to an approved order ·
//! `settlement` expiry at intrinsic value and venue-originated closes · `flatten` closing
//! everything · `reconcile` orders left in flight by a crash.

mod account;
mod book;
mod fills;
mod flatten;
mod reconcile;
mod settlement;

pub use account::mark_account;
pub use book::{ensure_account, open_positions, position_view};
pub use fills::{execute, limit_fill};
pub use flatten::flatten_all;
pub use reconcile::{reconcile, ReconcileReport};
pub use settlement::settle_expired;

use crate::money::to_dec;
use crate::pricing::FillParams;
use crate::risk::gate::order_risk;
use rust_decimal::Decimal;

/// The venue's fill parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperParams {
    /// Commission per contract per leg.
    pub commission_per_contract: Decimal,
    /// Dollars per share a fill moves from mid against us.
    pub slippage_per_share: Decimal,
    /// Cash the account starts with.
    pub starting_cash: Decimal,
    /// How fills are priced.
    pub fill_model: crate::config::FillModel,
    /// Fraction of the half-spread paid under `half_spread`.
    pub fill_k: Decimal,
    /// Chance that a limit better than the model's fill price fills (at the limit).
    pub limit_fill_probability: f64,
}

impl PaperParams {
    /// The fill model these parameters describe.
    pub fn fill(&self) -> FillParams {
        FillParams {
            model: self.fill_model,
            fill_k: self.fill_k,
            slippage_per_share: self.slippage_per_share,
        }
    }

    /// From `[broker]`.
    pub fn from_config(b: &crate::config::BrokerConfig) -> PaperParams {
        PaperParams {
            fill_model: b.fill_model,
            fill_k: to_dec(b.fill_k),
            limit_fill_probability: b.limit_fill_probability,
            commission_per_contract: to_dec(b.commission_per_contract),
            slippage_per_share: to_dec(b.slippage_per_share),
            starting_cash: to_dec(b.starting_cash),
        }
    }
}
