//! `alphahive report`: a summary of what the store holds.

use crate::config::Config;
use crate::store::schema::{
    account_snapshots, cycles, fills, orders, positions, safety_events, signals,
};
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
    /// Last recorded equity.
    pub equity: Option<String>,
    /// Last recorded cash.
    pub cash: Option<String>,
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
        let last: Option<(String, String)> = account_snapshots::table
            .order(account_snapshots::id.desc())
            .select((account_snapshots::equity, account_snapshots::cash))
            .first(c)
            .optional()?;
        if let Some((equity, cash)) = last {
            r.equity = Some(equity);
            r.cash = Some(cash);
        }
        Ok(r)
    })?)
}

/// Prints the report as text or JSON.
pub fn print(cfg: &Config, json: bool) -> anyhow::Result<i32> {
    let r = read(cfg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("cycles:        {:?}", r.cycles);
        println!("signals:       {:?}", r.signals);
        println!("orders:        {:?}", r.orders);
        println!("denials:       {:?}", r.denials);
        println!("fills:         {}", r.fills);
        println!("open positions {}", r.open_positions);
        println!("safety events: {:?}", r.safety_events);
        println!("equity:        {}", r.equity.as_deref().unwrap_or("-"));
        println!("cash:          {}", r.cash.as_deref().unwrap_or("-"));
    }
    Ok(0)
}
