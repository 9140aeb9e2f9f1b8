//! The book: the account's cash and the positions (read, opened, closed), as stored rows.

use super::order_risk;
use crate::broker::PositionView;
use crate::domain::{Leg, Structure};
use crate::market::MarketSnapshot;
use crate::pricing::{self, LegQuote};
use crate::risk::ApprovedOrder;
use crate::store::models::{self, dec, now, PositionRow};
use crate::store::schema::{paper_account, positions};
use crate::store::StoreError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

use super::PaperParams;
use crate::domain::Intent;

/// Creates the account row on first use; returns the cash.
pub fn ensure_account(
    conn: &mut SqliteConnection,
    params: &PaperParams,
) -> Result<Decimal, StoreError> {
    let existing: Option<String> = paper_account::table
        .find(1)
        .select(paper_account::cash)
        .first(conn)
        .optional()?;
    if let Some(cash) = existing {
        return dec(&cash);
    }
    diesel::insert_into(paper_account::table)
        .values((
            paper_account::id.eq(1),
            paper_account::cash.eq(params.starting_cash.to_string()),
            paper_account::starting_cash.eq(params.starting_cash.to_string()),
            paper_account::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(params.starting_cash)
}

pub(super) fn cash(conn: &mut SqliteConnection) -> Result<Decimal, StoreError> {
    let c: String = paper_account::table
        .find(1)
        .select(paper_account::cash)
        .first(conn)?;
    dec(&c)
}

pub(super) fn add_cash(conn: &mut SqliteConnection, delta: Decimal) -> Result<(), StoreError> {
    let c = cash(conn)? + delta;
    diesel::update(paper_account::table.find(1))
        .set((
            paper_account::cash.eq(c.to_string()),
            paper_account::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Converts a stored position row.
pub fn position_view(row: &PositionRow) -> Result<PositionView, StoreError> {
    let legs: Vec<Leg> = serde_json::from_str(&row.legs_json)
        .map_err(|e| StoreError::Corrupt(format!("position {} legs: {e}", row.position_id)))?;
    Ok(PositionView {
        position_id: row.position_id.clone(),
        instance_id: row.instance_id.clone(),
        underlying: row.underlying.clone(),
        strategy: Structure::parse(&row.strategy).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "position {} strategy {}",
                row.position_id, row.strategy
            ))
        })?,
        expiry: row.expiry,
        legs,
        quantity: u32::try_from(row.quantity).unwrap_or(0),
        entry_price: dec(&row.entry_price)?,
        mark: dec(&row.mark)?,
        max_risk: dec(&row.max_risk)?,
        max_profit: dec(&row.max_profit)?,
        unrealized_pnl: dec(&row.unrealized_pnl)?,
        opened_at: row.opened_at,
        leg_marks: match &row.leg_marks_json {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| {
                StoreError::Corrupt(format!("position {} leg marks: {e}", row.position_id))
            })?),
            None => None,
        },
    })
}

/// Open positions as last marked.
pub fn open_positions(conn: &mut SqliteConnection) -> Result<Vec<PositionView>, StoreError> {
    models::open_positions(conn)?
        .iter()
        .map(position_view)
        .collect()
}

/// Re-marks a position against `market`: its legs' quotes and their net mid (credit positive).
/// Without a market, or when a leg has no mark, the last marks stand.
pub(super) fn remark(p: &mut PositionView, market: Option<&MarketSnapshot>) -> bool {
    match market.and_then(|m| pricing::leg_quotes(&p.legs, m)) {
        Some(quotes) => {
            p.mark = pricing::net_mid(&p.legs, &quotes);
            p.leg_marks = Some(quotes);
            true
        }
        None => false,
    }
}

pub(super) fn marks_json(marks: &Option<Vec<LegQuote>>) -> Result<Option<String>, StoreError> {
    marks
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Commission of one combo unit.
fn unit_commission(legs: &[Leg], per_contract: Decimal) -> Decimal {
    legs.iter()
        .map(|l| per_contract * Decimal::from(l.quantity))
        .sum()
}

#[allow(clippy::too_many_arguments)]
/// Closes `quantity` units of a position at `net` (per share, credit positive) and returns
/// the realized P&L including both sides' commissions.
pub(super) fn close_position(
    conn: &mut SqliteConnection,
    pos: &PositionView,
    quantity: u32,
    net: Decimal,
    close_commission: Decimal,
    per_contract: Decimal,
    intent: Intent,
    market_ts: NaiveDateTime,
) -> Result<Decimal, StoreError> {
    let q = Decimal::from(quantity);
    let realized = (pos.entry_price + net) * Decimal::ONE_HUNDRED * q
        - unit_commission(&pos.legs, per_contract) * q
        - close_commission;
    let row: PositionRow = positions::table
        .filter(positions::position_id.eq(&pos.position_id))
        .select(PositionRow::as_select())
        .first(conn)?;
    let remaining = pos.quantity - quantity;
    let keep = Decimal::from(remaining) / Decimal::from(pos.quantity.max(1));
    let total_realized = dec(&row.realized_pnl)? + realized;
    diesel::update(positions::table.filter(positions::position_id.eq(&pos.position_id)))
        .set((
            positions::quantity.eq(remaining as i32),
            positions::realized_pnl.eq(total_realized.to_string()),
            positions::max_risk.eq((pos.max_risk * keep).round_dp(2).to_string()),
            positions::max_profit.eq((pos.max_profit * keep).round_dp(2).to_string()),
            positions::closed_at.eq(if remaining == 0 {
                Some(market_ts)
            } else {
                None
            }),
            positions::close_intent.eq(if remaining == 0 {
                Some(intent.as_str())
            } else {
                None
            }),
            positions::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(realized)
}

/// Records the position an OPEN order's fill creates, marked at the market it opened in.
pub(super) fn open_position(
    conn: &mut SqliteConnection,
    approved: &ApprovedOrder,
    prices: &[Decimal],
    net: Decimal,
    quotes: &[LegQuote],
) -> Result<(), StoreError> {
    let order = approved.order();
    let legs: Vec<Leg> = order
        .legs
        .iter()
        .zip(prices)
        .map(|(l, p)| Leg {
            price: p.to_string().parse().unwrap_or(l.price),
            ..l.clone()
        })
        .collect();
    let risk =
        order_risk(&order.legs, net, order.quantity).unwrap_or_else(|_| approved.risk().clone());
    let mark = pricing::net_mid(&order.legs, quotes);
    let expiry = order
        .legs
        .first()
        .map(|l| l.contract.expiry)
        .unwrap_or_else(|| order.market_ts.date());
    diesel::insert_into(positions::table)
        .values(&PositionRow {
            position_id: order.client_order_id.clone(),
            instance_id: order.instance_id.clone(),
            underlying: order.underlying.clone(),
            strategy: order.strategy.as_str().to_string(),
            expiry,
            legs_json: serde_json::to_string(&legs)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            quantity: order.quantity as i32,
            entry_price: net.to_string(),
            max_risk: risk.max_loss.to_string(),
            max_profit: risk.max_profit.to_string(),
            // Marked at once at the market it opened in, not at its own fill.
            mark: mark.to_string(),
            unrealized_pnl: ((net - mark) * Decimal::ONE_HUNDRED * Decimal::from(order.quantity))
                .to_string(),
            realized_pnl: "0".into(),
            opened_at: order.market_ts,
            closed_at: None,
            close_intent: None,
            updated_at: now(),
            leg_marks_json: marks_json(&Some(quotes.to_vec()))?,
            marked_at: Some(order.market_ts),
        })
        .execute(conn)?;
    Ok(())
}
