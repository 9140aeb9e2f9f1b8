//! The run's totals: summed cycle by cycle, closed with the account as it ends.

use crate::actors::messages::CycleSummary;
use crate::config::Config;
use crate::store::models;
use crate::store::Store;
use rust_decimal::Decimal;
use serde::Serialize;

/// Totals of a run, printed at the end.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// Cycles completed.
    pub cycles: u32,
    /// Cycles that failed (recorded as failed).
    pub failed_cycles: u32,
    /// Valid signals.
    pub signals: u32,
    /// Abstentions, timeouts, errors.
    pub abstentions: u32,
    /// Orders approved.
    pub approved: u32,
    /// Orders denied.
    pub denied: u32,
    /// Leg fills.
    pub fills: u32,
    /// Equity at the end.
    pub equity: Decimal,
    /// Equity minus the starting cash of the paper account.
    pub pnl: Decimal,
    /// Trading state at the end.
    pub trading_state: String,
    /// Wall time in seconds.
    pub wall_s: f64,
    /// Cycles per second.
    pub cycles_per_s: f64,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cycles={} failed={} signals={} abstentions={} orders_approved={} orders_denied={} fills={} equity={:.2} pnl={:.2} state={} wall_s={:.3} cycles_per_s={:.1}",
            self.cycles, self.failed_cycles, self.signals, self.abstentions, self.approved, self.denied, self.fills,
            self.equity, self.pnl, self.trading_state, self.wall_s, self.cycles_per_s
        )
    }
}

impl RunSummary {
    /// Adds a completed cycle's counts.
    pub(super) fn add(&mut self, s: &CycleSummary) {
        self.cycles += 1;
        self.signals += s.signals_ok;
        self.abstentions += s.abstentions;
        self.approved += s.approved;
        self.denied += s.denied;
        self.fills += s.fills;
    }

    /// Closes the totals: wall time and rate, the equity and trading state at the end (the
    /// last cycle's, or the account as it stands when no cycle ran), and the P&L against the
    /// paper account's starting cash.
    pub(super) async fn finish(
        &mut self,
        config: &Config,
        store: &Store,
        elapsed: std::time::Duration,
        last: Option<CycleSummary>,
    ) -> anyhow::Result<()> {
        self.wall_s = elapsed.as_secs_f64();
        self.cycles_per_s = if self.wall_s > 0.0 {
            f64::from(self.cycles) / self.wall_s
        } else {
            0.0
        };
        match last {
            Some(s) => {
                self.equity = s.equity;
                self.trading_state = s.trading_state;
            }
            // No cycle ran (stopped at once): the account and state as they stand.
            None => (self.equity, self.trading_state) = standing_account(config, store).await?,
        }
        if let Some(start) = starting_cash(store).await? {
            self.pnl = self.equity - models::dec(&start)?;
        }
        Ok(())
    }
}

/// The paper account's equity (cash plus open positions at their marks) and the trading state.
async fn standing_account(config: &Config, store: &Store) -> anyhow::Result<(Decimal, String)> {
    let params = crate::broker::paper::PaperParams::from_config(&config.broker);
    let standing = store
        .call(move |c| {
            let cash = crate::broker::paper::ensure_account(c, &params)?;
            let value: Decimal = crate::broker::paper::open_positions(c)?
                .iter()
                .map(|p| -p.mark * Decimal::ONE_HUNDRED * Decimal::from(p.quantity))
                .sum();
            let state = crate::store::holds::load(c)?.state().to_string();
            Ok((cash + value, state))
        })
        .await?;
    Ok(standing)
}

/// The paper account's starting cash, as stored.
async fn starting_cash(store: &Store) -> anyhow::Result<Option<String>> {
    let starting = store
        .call(|c| {
            use crate::store::schema::paper_account;
            use diesel::prelude::*;
            Ok(paper_account::table
                .find(1)
                .select(paper_account::starting_cash)
                .first(c)
                .optional()?)
        })
        .await?;
    Ok(starting)
}
