//! The account as a venue reports it: cash, equity, the day's start and high-water mark, the
//! open positions at their marks, and what the venue did with an order. The risk gate checks
//! against it; a venue (paper, IBKR) produces it.

use crate::domain::{Intent, Leg, Structure};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One open position as the broker marks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionView {
    /// Position id (the opening order's client order id).
    pub position_id: String,
    /// Instance that opened it.
    pub instance_id: String,
    /// Underlying.
    pub underlying: String,
    /// Structure.
    pub strategy: Structure,
    /// Expiry.
    pub expiry: NaiveDate,
    /// Legs of one combo unit, as opened.
    pub legs: Vec<Leg>,
    /// Combo quantity.
    pub quantity: u32,
    /// Net entry per share (credit positive).
    pub entry_price: Decimal,
    /// Current net mark per share in the opening convention (credit positive).
    pub mark: Decimal,
    /// Max loss in dollars for the whole position.
    pub max_risk: Decimal,
    /// Max profit in dollars for the whole position.
    pub max_profit: Decimal,
    /// Unrealized P&L in dollars.
    pub unrealized_pnl: Decimal,
    /// Market time opened.
    pub opened_at: NaiveDateTime,
    /// Per-leg quotes at the last mark (bid/ask/mid), in leg order, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leg_marks: Option<Vec<crate::pricing::LegQuote>>,
}

/// The account as the broker knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    /// Market time of the marks.
    pub market_ts: NaiveDateTime,
    /// Cash.
    pub cash: Decimal,
    /// Marked value of open positions (negative for net short premium).
    pub positions_value: Decimal,
    /// Cash plus positions value.
    pub equity: Decimal,
    /// Equity at the start of the trading day.
    pub day_start_equity: Decimal,
    /// Highest equity seen today.
    pub high_water_mark: Decimal,
    /// Equity minus day start equity.
    pub day_pnl: Decimal,
    /// Open positions.
    pub positions: Vec<PositionView>,
}

impl AccountView {
    /// Sum of max risk of open positions on one underlying.
    pub fn exposure_in(&self, underlying: &str) -> Decimal {
        self.positions
            .iter()
            .filter(|p| p.underlying == underlying)
            .map(|p| p.max_risk)
            .sum()
    }

    /// Sum of max risk of all open positions.
    pub fn total_exposure(&self) -> Decimal {
        self.positions.iter().map(|p| p.max_risk).sum()
    }

    /// An open position by id.
    pub fn position(&self, id: &str) -> Option<&PositionView> {
        self.positions.iter().find(|p| p.position_id == id)
    }
}

/// One filled leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegFill {
    /// Contract key.
    pub contract: String,
    /// BUY or SELL.
    pub action: crate::domain::Action,
    /// Contracts.
    pub quantity: u32,
    /// Per-share price.
    pub price: Decimal,
    /// Commission.
    pub commission: Decimal,
    /// Cash moved (premium and commission).
    pub cash_delta: Decimal,
}

/// What the broker did with an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// The order.
    pub client_order_id: String,
    /// Intent of the order.
    pub intent: Intent,
    /// `FILLED`, `REJECTED` or `CANCELED`.
    pub status: String,
    /// Leg fills (empty unless filled).
    pub fills: Vec<LegFill>,
    /// Net price per share (credit positive).
    pub net_price: Decimal,
    /// Realized P&L when the order closed (part of) a position.
    pub realized_pnl: Option<Decimal>,
    /// Why it was rejected, if it was.
    pub reason: Option<String>,
}
