//! What the gate saw when it decided one order, recorded with the verdict in the cycle's
//! snapshot, and the same decision taken again from that record alone: no store, no broker,
//! no market source. `replay` uses it to check every verdict of a cycle.

use super::gate::{ApprovedOrder, RiskEngine, RiskLimits, RiskState};
use super::holds::Holds;
use super::DenyReason;
use crate::account::AccountView;
use crate::market::MarketSnapshot;
use crate::orders::OrderRequest;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// The inputs of one gate decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateInput {
    /// The account the gate checked against (read from the venue just before).
    pub account: AccountView,
    /// The holds in force.
    pub holds: Holds,
    /// The trading day of the counters.
    pub day: Option<NaiveDate>,
    /// Opening trades approved that day before this order.
    pub trades_today: u32,
    /// Losing closes in a row.
    pub loss_streak: u32,
    /// Market times of recent approvals (rate limit).
    pub recent: Vec<NaiveDateTime>,
    /// The client order id was already in the store or decided by this process.
    pub already_recorded: bool,
    /// The market cut to the order's legs ([`MarketSnapshot::restricted_to`]).
    pub market: MarketSnapshot,
}

impl GateInput {
    /// Captures what `state` and the lookups give the gate for `order`, before it decides.
    pub fn capture(
        state: &RiskState,
        order: &OrderRequest,
        account: &AccountView,
        market: &MarketSnapshot,
        already_recorded: bool,
    ) -> GateInput {
        GateInput {
            account: account.clone(),
            holds: state.holds.clone(),
            day: state.day,
            trades_today: state.trades_today,
            loss_streak: state.loss_streak,
            recent: state.recent.iter().copied().collect(),
            already_recorded: already_recorded || state.seen_ids.contains(&order.client_order_id),
            market: market.restricted_to(order.legs.iter().map(|l| &l.contract)),
        }
    }
}

/// Decides `order` again under `limits` from the recorded inputs, as the gate did.
pub fn decide_again(
    limits: RiskLimits,
    order: &OrderRequest,
    input: &GateInput,
) -> Result<ApprovedOrder, DenyReason> {
    let state = RiskState {
        holds: input.holds.clone(),
        day: input.day,
        trades_today: input.trades_today,
        loss_streak: input.loss_streak,
        recent: input.recent.iter().copied().collect(),
        ..RiskState::default()
    };
    let mut engine = RiskEngine::new(limits, state);
    engine.check(order, &input.account, &input.market, input.already_recorded)
}
