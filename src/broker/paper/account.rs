//! The account: every open position re-marked, the equity, the day's start and high-water
//! mark, and (when recording) the marks persisted and an `account_snapshots` row.

use super::book::{cash, marks_json, open_positions, remark};
use crate::broker::AccountView;
use crate::market::MarketSnapshot;
use crate::store::models::{self, now};
use crate::store::schema::{account_snapshots, positions};
use crate::store::StoreError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

/// Marks every open position and computes the account; when `record`, persists the marks on
/// the positions and appends an `account_snapshots` row. One transaction.
pub fn mark_account(
    conn: &mut SqliteConnection,
    market: Option<&MarketSnapshot>,
    market_ts: NaiveDateTime,
    cycle_id: Option<i32>,
    record: bool,
) -> Result<AccountView, StoreError> {
    conn.immediate_transaction(|conn| {
        let cash = cash(conn)?;
        let mut positions_out = Vec::new();
        let mut value = Decimal::ZERO;
        for mut p in open_positions(conn)? {
            let remarked = remark(&mut p, market);
            let qty = Decimal::from(p.quantity);
            p.unrealized_pnl = (p.entry_price - p.mark) * Decimal::ONE_HUNDRED * qty;
            value -= p.mark * Decimal::ONE_HUNDRED * qty;
            if record && remarked {
                diesel::update(positions::table.filter(positions::position_id.eq(&p.position_id)))
                    .set((
                        positions::mark.eq(p.mark.to_string()),
                        positions::unrealized_pnl.eq(p.unrealized_pnl.to_string()),
                        positions::leg_marks_json.eq(marks_json(&p.leg_marks)?),
                        positions::marked_at.eq(Some(market_ts)),
                        positions::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
            positions_out.push(p);
        }
        let equity = cash + value;
        let day = market_ts.date();
        // The day starts from the previous session's close, so a gap at the open counts
        // toward the daily loss limit and the drawdown breaker.
        let (day_start, hwm) = match models::day_equity_marks(conn, day)? {
            Some((start, hwm)) => (start, hwm.max(equity)),
            None => {
                let start = models::previous_close_equity(conn, day)?.unwrap_or(equity);
                (start, start.max(equity))
            }
        };
        let view = AccountView {
            market_ts,
            cash,
            positions_value: value,
            equity,
            day_start_equity: day_start,
            high_water_mark: hwm,
            day_pnl: equity - day_start,
            positions: positions_out,
        };
        if record {
            diesel::insert_into(account_snapshots::table)
                .values(&models::AccountSnapshotRow {
                    cycle_id,
                    market_ts,
                    trading_day: day,
                    cash: view.cash.to_string(),
                    positions_value: view.positions_value.to_string(),
                    equity: view.equity.to_string(),
                    day_start_equity: view.day_start_equity.to_string(),
                    day_pnl: view.day_pnl.to_string(),
                    high_water_mark: view.high_water_mark.to_string(),
                    open_positions: view.positions.len() as i32,
                    created_at: now(),
                })
                .execute(conn)?;
        }
        Ok(view)
    })
}
