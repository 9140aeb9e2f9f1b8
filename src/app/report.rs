//! `alphahive report`: a summary of what the store holds.

use crate::config::Config;
use crate::store::schema::{cycles, fills, orders, positions, safety_events, signals};
use crate::store::Store;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// The report's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Cycles by status.
    pub cycles: BTreeMap<String, i64>,
    /// Signals by status.
    pub signals: BTreeMap<String, i64>,
    /// Orders by status.
    pub orders: BTreeMap<String, i64>,
    /// Denials by code.
    pub denials: BTreeMap<String, i64>,
    /// Fills.
    pub fills: i64,
    /// Open positions.
    pub open_positions: i64,
    /// Safety events by type.
    pub safety_events: BTreeMap<String, i64>,
    /// Equity now: cash plus the open positions at their last marks.
    pub equity: Option<String>,
    /// Cash now (the paper account's).
    pub cash: Option<String>,
    /// Marked value of the open positions now (negative for net short premium).
    pub positions_value: Option<String>,
    /// Market time of the oldest of the open positions' last marks.
    pub marked_at: Option<String>,
    /// The trading state: the strictest hold's level (ACTIVE with none).
    pub trading_state: String,
    /// Every hold: cause, level, since (market time), clears_on, detail.
    pub holds: Vec<crate::risk::Hold>,
}

fn grouped(rows: Vec<(Option<String>, i64)>) -> BTreeMap<String, i64> {
    rows.into_iter()
        .map(|(k, n)| (k.unwrap_or_else(|| "-".into()), n))
        .collect()
}

/// Reads the report from the store.
pub fn read(cfg: &Config) -> anyhow::Result<Report> {
    let store = Store::open_read_only(&cfg.runtime.data_dir)?;
    Ok(store.call_blocking(|c| {
        use diesel::dsl::count_star;
        let mut r = Report {
            cycles: grouped(
                cycles::table
                    .group_by(cycles::status)
                    .select((cycles::status.nullable(), count_star()))
                    .load(c)?,
            ),
            signals: grouped(
                signals::table
                    .group_by(signals::status)
                    .select((signals::status.nullable(), count_star()))
                    .load(c)?,
            ),
            orders: grouped(
                orders::table
                    .group_by(orders::status)
                    .select((orders::status.nullable(), count_star()))
                    .load(c)?,
            ),
            denials: grouped(
                orders::table
                    .filter(orders::deny_code.is_not_null())
                    .group_by(orders::deny_code)
                    .select((orders::deny_code, count_star()))
                    .load(c)?,
            ),
            fills: fills::table.count().get_result(c)?,
            open_positions: positions::table
                .filter(positions::quantity.gt(0))
                .count()
                .get_result(c)?,
            safety_events: grouped(
                safety_events::table
                    .group_by(safety_events::event_type)
                    .select((safety_events::event_type.nullable(), count_star()))
                    .load(c)?,
            ),
            ..Default::default()
        };
        let holds = crate::store::holds::load(c)?;
        r.trading_state = holds.state().to_string();
        r.holds = holds.list();
        // The account as it is now, not the last cycle's row: after a flatten that row still
        // shows the positions the flatten closed.
        let cash: Option<String> = crate::store::schema::paper_account::table
            .find(1)
            .select(crate::store::schema::paper_account::cash)
            .first(c)
            .optional()?;
        if let Some(cash) = cash {
            let cash = crate::store::models::dec(&cash)?;
            let open = crate::broker::paper::open_positions(c)?;
            let value: rust_decimal::Decimal = open
                .iter()
                .map(|p| {
                    -p.mark
                        * rust_decimal::Decimal::ONE_HUNDRED
                        * rust_decimal::Decimal::from(p.quantity)
                })
                .sum();
            let marked: Option<chrono::NaiveDateTime> = positions::table
                .filter(positions::quantity.gt(0))
                .select(diesel::dsl::min(positions::marked_at))
                .first(c)?;
            let cents = |d: rust_decimal::Decimal| d.round_dp(2).to_string();
            r.cash = Some(cents(cash));
            r.positions_value = Some(cents(value));
            r.equity = Some(cents(cash + value));
            r.marked_at = marked.map(|t| t.to_string());
        }
        Ok(r)
    })?)
}

/// Prints the report as text or JSON.
pub fn print(cfg: &Config, json: bool) -> anyhow::Result<i32> {
    let r = read(cfg)?;
    if json {
        crate::say!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        crate::say!("cycles:        {:?}", r.cycles);
        crate::say!("signals:       {:?}", r.signals);
        crate::say!("orders:        {:?}", r.orders);
        crate::say!("denials:       {:?}", r.denials);
        crate::say!("fills:         {}", r.fills);
        crate::say!("open positions {}", r.open_positions);
        crate::say!("safety events: {:?}", r.safety_events);
        crate::say!("equity:        {}", r.equity.as_deref().unwrap_or("-"));
        crate::say!("cash:          {}", r.cash.as_deref().unwrap_or("-"));
        crate::say!(
            "positions:     {}",
            r.positions_value.as_deref().unwrap_or("-")
        );
        crate::say!("marked at:     {}", r.marked_at.as_deref().unwrap_or("-"));
        crate::say!("trading state: {}", r.trading_state);
        for h in &r.holds {
            crate::say!(
                "hold:          {} {} since {} until {} ({})",
                h.cause,
                h.level,
                h.since,
                h.clears_on,
                h.detail
            );
        }
    }
    Ok(0)
}
