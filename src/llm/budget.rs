//! LLM spend caps (`[swarm] budget_*`) and the run's running spend, shared by the swarm and
//! the LLM commander: once a cap is reached no more calls are made.

use crate::llm::client::CallRecord;
use crate::store::models;
use crate::store::Store;
use chrono::NaiveDate;
use std::sync::{Arc, Mutex};

/// LLM spend caps from `[swarm]`; zero means no limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budget {
    /// Dollars per run.
    pub usd_per_run: rust_decimal::Decimal,
    /// Dollars per trading day.
    pub usd_per_day: rust_decimal::Decimal,
    /// Tokens per run.
    pub tokens_per_run: u64,
    /// Tokens per trading day.
    pub tokens_per_day: u64,
}

impl Budget {
    /// From `[swarm]`.
    pub fn from_config(s: &crate::config::SwarmConfig) -> Budget {
        Budget {
            usd_per_run: crate::risk::gate::to_dec(s.budget_usd_per_run),
            usd_per_day: crate::risk::gate::to_dec(s.budget_usd_per_day),
            tokens_per_run: s.budget_tokens_per_run,
            tokens_per_day: s.budget_tokens_per_day,
        }
    }

    /// Which cap, if any, the spend has reached.
    pub fn exhausted(
        &self,
        run: (rust_decimal::Decimal, u64),
        day: (rust_decimal::Decimal, u64),
    ) -> Option<String> {
        use rust_decimal::Decimal;
        let caps = [
            (
                self.usd_per_run > Decimal::ZERO && run.0 >= self.usd_per_run,
                format!(
                    "run spend ${:.4} >= budget_usd_per_run ${}",
                    run.0, self.usd_per_run
                ),
            ),
            (
                self.usd_per_day > Decimal::ZERO && day.0 >= self.usd_per_day,
                format!(
                    "day spend ${:.4} >= budget_usd_per_day ${}",
                    day.0, self.usd_per_day
                ),
            ),
            (
                self.tokens_per_run > 0 && run.1 >= self.tokens_per_run,
                format!(
                    "run tokens {} >= budget_tokens_per_run {}",
                    run.1, self.tokens_per_run
                ),
            ),
            (
                self.tokens_per_day > 0 && day.1 >= self.tokens_per_day,
                format!(
                    "day tokens {} >= budget_tokens_per_day {}",
                    day.1, self.tokens_per_day
                ),
            ),
        ];
        caps.into_iter().find(|(hit, _)| *hit).map(|(_, why)| why)
    }

    fn any(&self) -> bool {
        *self != Budget::default()
    }

    /// Which cap, if any, this run's spend (`spent_run`) and the store's spend on `day` have
    /// reached; `None` without caps (and then the store is not read).
    pub async fn check(
        &self,
        store: &Store,
        spent_run: &RunSpend,
        day: NaiveDate,
    ) -> Option<String> {
        if !self.any() {
            return None;
        }
        let run = spent_run.lock().map(|s| *s).unwrap_or_default();
        let day_spent = store
            .call(move |c| day_spend(c, day))
            .await
            .unwrap_or_default();
        self.exhausted(run, day_spent)
    }
}

/// Dollars and tokens spent on LLM calls by this run, shared by the swarm and the commander.
pub type RunSpend = Arc<Mutex<(rust_decimal::Decimal, u64)>>;

/// Adds the calls' cost and tokens to the run's spend.
pub fn add_spend(spent_run: &RunSpend, calls: &[CallRecord]) {
    if let Ok(mut spent) = spent_run.lock() {
        for r in calls {
            spent.0 += r.cost;
            spent.1 += r.input_tokens + r.output_tokens;
        }
    }
}

/// Dollars and tokens of LLM calls made by cycles on `day`.
fn day_spend(
    conn: &mut diesel::sqlite::SqliteConnection,
    day: chrono::NaiveDate,
) -> Result<(rust_decimal::Decimal, u64), crate::store::StoreError> {
    use crate::store::schema::{cycles, llm_calls};
    use diesel::prelude::*;
    let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = start + chrono::Duration::days(1);
    let rows: Vec<(String, i32, i32)> = llm_calls::table
        .inner_join(cycles::table.on(llm_calls::cycle_id.eq(cycles::id.nullable())))
        .filter(cycles::market_ts.ge(start).and(cycles::market_ts.lt(end)))
        .select((
            llm_calls::cost,
            llm_calls::input_tokens,
            llm_calls::output_tokens,
        ))
        .load(conn)?;
    let mut out = (rust_decimal::Decimal::ZERO, 0u64);
    for (cost, i, o) in rows {
        out.0 += models::dec(&cost)?;
        out.1 += (i.max(0) + o.max(0)) as u64;
    }
    Ok(out)
}
