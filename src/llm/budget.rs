//! LLM spend caps (`[swarm] budget_*`) and the run's running spend, shared by the swarm and
//! the LLM commander. The caps are hard: before each call its worst case (a conservative bound
//! on its input tokens plus `max_tokens`, priced) is reserved against every cap, and a call
//! whose worst case does not fit is not sent ([`LlmError::BudgetExhausted`]); after the call
//! the reservation is settled with the billed usage. "Per day" is the market day of the cycle
//! (`cycles.market_ts`), not the wall-clock day. A store error reading the day's spend fails
//! closed: no call is made.

use crate::llm::client::{LlmClient, LlmError, LlmRequest, LlmResponse, TokenPrices};
use crate::store::models;
use crate::store::Store;
use chrono::NaiveDate;
use futures::future::BoxFuture;
use futures::FutureExt;
use rust_decimal::Decimal;
use std::sync::{Arc, Mutex, MutexGuard};

/// LLM spend caps from `[swarm]`; zero means no limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budget {
    /// Dollars per run.
    pub usd_per_run: Decimal,
    /// Dollars per market day.
    pub usd_per_day: Decimal,
    /// Tokens per run.
    pub tokens_per_run: u64,
    /// Tokens per market day.
    pub tokens_per_day: u64,
}

/// Dollars and tokens.
pub type Spend = (Decimal, u64);

fn add(a: Spend, b: Spend) -> Spend {
    (a.0.saturating_add(b.0), a.1.saturating_add(b.1))
}

fn sub(a: Spend, b: Spend) -> Spend {
    ((a.0 - b.0).max(Decimal::ZERO), a.1.saturating_sub(b.1))
}

impl Budget {
    /// From `[swarm]`.
    pub fn from_config(s: &crate::config::SwarmConfig) -> Budget {
        Budget {
            usd_per_run: crate::money::to_dec(s.budget_usd_per_run),
            usd_per_day: crate::money::to_dec(s.budget_usd_per_day),
            tokens_per_run: s.budget_tokens_per_run,
            tokens_per_day: s.budget_tokens_per_day,
        }
    }

    /// Which cap, if any, `run` and `day` (spend plus reservations) would pass with `more`
    /// on top; `more = 0` asks whether a cap is already reached.
    pub fn exceeded(&self, run: Spend, day: Spend, more: Spend) -> Option<String> {
        let over_usd = |used: Decimal, cap: Decimal| {
            cap > Decimal::ZERO
                && if more == (Decimal::ZERO, 0) {
                    used >= cap
                } else {
                    used.saturating_add(more.0) > cap
                }
        };
        let over_tok = |used: u64, cap: u64| {
            cap > 0
                && if more == (Decimal::ZERO, 0) {
                    used >= cap
                } else {
                    used.saturating_add(more.1) > cap
                }
        };
        let worst = if more == (Decimal::ZERO, 0) {
            String::new()
        } else {
            format!(" + this call's worst case {} tokens ${:.4}", more.1, more.0)
        };
        let caps = [
            (
                over_usd(run.0, self.usd_per_run),
                format!(
                    "run spend ${:.4}{worst} > budget_usd_per_run ${}",
                    run.0, self.usd_per_run
                ),
            ),
            (
                over_usd(day.0, self.usd_per_day),
                format!(
                    "day spend ${:.4}{worst} > budget_usd_per_day ${}",
                    day.0, self.usd_per_day
                ),
            ),
            (
                over_tok(run.1, self.tokens_per_run),
                format!(
                    "run tokens {}{worst} > budget_tokens_per_run {}",
                    run.1, self.tokens_per_run
                ),
            ),
            (
                over_tok(day.1, self.tokens_per_day),
                format!(
                    "day tokens {}{worst} > budget_tokens_per_day {}",
                    day.1, self.tokens_per_day
                ),
            ),
        ];
        caps.into_iter().find(|(hit, _)| *hit).map(|(_, why)| why)
    }

    fn any(&self) -> bool {
        *self != Budget::default()
    }

    /// An allowance for one swarm consultation or commander choice on market day `day`:
    /// reads the day's recorded spend from the store (skipped without caps). A store error,
    /// or a cap already reached, is `Err` with the reason: then no call may be made.
    pub async fn open(
        &self,
        store: &Store,
        run: &RunSpend,
        day: NaiveDate,
    ) -> Result<Arc<Allowance>, String> {
        let day_base = if self.any() {
            store
                .call(move |c| day_spend(c, day))
                .await
                .map_err(|e| format!("cannot read the day's LLM spend ({e}): failing closed"))?
        } else {
            (Decimal::ZERO, 0)
        };
        let allowance = Allowance {
            budget: self.clone(),
            run: Arc::clone(run),
            day_base,
            run_at_open: lock(run).spent,
            settled: tokio::sync::Notify::new(),
        };
        let (run_used, day_used) = allowance.used(&lock(run));
        match self.exceeded(run_used, day_used, (Decimal::ZERO, 0)) {
            Some(why) => Err(why),
            None => Ok(Arc::new(allowance)),
        }
    }
}

/// The run's LLM spend: settled (billed) and reserved by calls in flight.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Ledger {
    /// Billed dollars and tokens (and the reservations of calls abandoned mid-flight).
    pub spent: Spend,
    /// Worst cases of the calls in flight.
    pub reserved: Spend,
}

/// This run's LLM spend, shared by the swarm and the commander.
pub type RunSpend = Arc<Mutex<Ledger>>;

fn lock(run: &RunSpend) -> MutexGuard<'_, Ledger> {
    run.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one consultation (or choice) may still spend: the caps, the run's ledger and the
/// market day's spend recorded before it opened.
#[derive(Debug)]
pub struct Allowance {
    budget: Budget,
    run: RunSpend,
    day_base: Spend,
    run_at_open: Spend,
    /// Woken whenever a reservation is settled or released.
    settled: tokio::sync::Notify,
}

impl Allowance {
    /// (run, day) spend including reservations: the day adds what this run spent since the
    /// allowance opened (not in the store yet) to what the store held then.
    fn used(&self, ledger: &Ledger) -> (Spend, Spend) {
        let run = add(ledger.spent, ledger.reserved);
        let day = add(
            self.day_base,
            add(sub(ledger.spent, self.run_at_open), ledger.reserved),
        );
        (run, day)
    }

    /// Reserves `worst`, waiting while calls in flight may settle below their worst case and
    /// make room; fails (with the cap it would pass) once it does not fit with nothing in
    /// flight. Callers bound the wait (the agent timeout).
    pub async fn reserve_when_free(self: &Arc<Self>, worst: Spend) -> Result<Reservation, String> {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.reserve(worst) {
                Ok(r) => return Ok(r),
                Err(why) if lock(&self.run).reserved == (Decimal::ZERO, 0) => return Err(why),
                Err(_) => notified.await,
            }
        }
    }

    /// Reserves `worst` against every cap, or says which cap it would pass.
    pub fn reserve(self: &Arc<Self>, worst: Spend) -> Result<Reservation, String> {
        let mut ledger = lock(&self.run);
        let (run, day) = self.used(&ledger);
        if let Some(why) = self.budget.exceeded(run, day, worst) {
            return Err(why);
        }
        ledger.reserved = add(ledger.reserved, worst);
        Ok(Reservation {
            allowance: Arc::clone(self),
            worst,
            settled: false,
        })
    }
}

/// A call's reserved worst case. Settle it with the billed usage; dropped unsettled (the call
/// was abandoned, e.g. at the agent timeout, and may have been billed) it is charged in full.
#[derive(Debug)]
pub struct Reservation {
    allowance: Arc<Allowance>,
    worst: Spend,
    settled: bool,
}

impl Reservation {
    /// Replaces the reservation by the billed spend.
    pub fn settle(mut self, billed: Spend) {
        self.settled = true;
        self.finish(billed);
    }

    fn finish(&self, billed: Spend) {
        {
            let mut ledger = lock(&self.allowance.run);
            ledger.reserved = sub(ledger.reserved, self.worst);
            ledger.spent = add(ledger.spent, billed);
        }
        self.allowance.settled.notify_waiters();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.finish(self.worst);
        }
    }
}

/// A client whose every call is reserved against an [`Allowance`] before it is sent.
#[derive(Debug)]
pub struct Budgeted {
    inner: Arc<dyn LlmClient>,
    allowance: Arc<Allowance>,
}

impl Budgeted {
    /// `inner` under `allowance`.
    pub fn wrap(inner: Arc<dyn LlmClient>, allowance: Arc<Allowance>) -> Arc<dyn LlmClient> {
        Arc::new(Budgeted { inner, allowance })
    }
}

impl LlmClient for Budgeted {
    fn complete(&self, req: LlmRequest) -> BoxFuture<'_, Result<LlmResponse, LlmError>> {
        async move {
            let prices = self.inner.prices();
            let input = req.input_token_bound();
            let output = u64::from(req.max_tokens);
            let worst = (prices.cost(input, output), input.saturating_add(output));
            let reservation = self.allowance.reserve_when_free(worst).await.map_err(|why| {
                tracing::warn!(target: "alphahive::budget", %why, "LLM call not sent: it does not fit the budget");
                LlmError::BudgetExhausted(why)
            })?;
            let out = self.inner.complete(req).await;
            match &out {
                Ok(resp) => reservation.settle((
                    prices.cost(resp.input_tokens, resp.output_tokens),
                    resp.input_tokens.saturating_add(resp.output_tokens),
                )),
                // A 2xx that did not parse, or a timeout, may have been billed: keep the
                // worst case.
                Err(LlmError::Malformed(_) | LlmError::Timeout) => drop(reservation),
                Err(_) => reservation.settle((Decimal::ZERO, 0)),
            }
            out
        }
        .boxed()
    }

    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn prices(&self) -> TokenPrices {
        self.inner.prices()
    }
}

/// Dollars and tokens of LLM calls made by cycles on market day `day`.
fn day_spend(
    conn: &mut diesel::sqlite::SqliteConnection,
    day: NaiveDate,
) -> Result<Spend, crate::store::StoreError> {
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
    let mut out = (Decimal::ZERO, 0u64);
    for (cost, i, o) in rows {
        let tokens = u64::try_from(i.max(0))
            .unwrap_or(0)
            .saturating_add(u64::try_from(o.max(0)).unwrap_or(0));
        out = add(out, (models::dec(&cost)?, tokens));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowance(budget: Budget, run: &RunSpend, day_base: Spend) -> Arc<Allowance> {
        Arc::new(Allowance {
            budget,
            run: Arc::clone(run),
            day_base,
            run_at_open: lock(run).spent,
            settled: tokio::sync::Notify::new(),
        })
    }

    #[test]
    fn item7_reservations_keep_concurrent_calls_under_the_cap() {
        let run = RunSpend::default();
        let budget = Budget {
            tokens_per_run: 10_000,
            ..Budget::default()
        };
        let a = allowance(budget, &run, (Decimal::ZERO, 0));
        let worst = (Decimal::ZERO, 3_000);
        let held: Vec<Reservation> = (0..5).filter_map(|_| a.reserve(worst).ok()).collect();
        assert_eq!(
            held.len(),
            3,
            "only three 3,000-token worst cases fit 10,000"
        );
        let why = a.reserve(worst).expect_err("a fourth does not fit");
        assert!(why.contains("budget_tokens_per_run 10000"), "{why}");
        let mut held = held.into_iter();
        if let Some(r) = held.next() {
            r.settle((Decimal::ZERO, 1_000));
        }
        // 1,000 billed + 6,000 reserved: one more worst case fits, a second does not.
        let fourth = a.reserve(worst).expect("fits after a settle");
        assert!(a.reserve(worst).is_err());
        drop(fourth); // abandoned: charged in full
        drop(held);
        assert_eq!(lock(&run).spent, (Decimal::ZERO, 1_000 + 3 * 3_000));
        assert_eq!(lock(&run).reserved, (Decimal::ZERO, 0));
    }

    #[test]
    fn item7_day_and_dollar_caps_count_the_store_and_this_run() {
        let run = RunSpend::default();
        lock(&run).spent = (Decimal::new(5, 2), 100);
        let budget = Budget {
            usd_per_day: Decimal::new(10, 2),
            ..Budget::default()
        };
        // $0.04 recorded today before the allowance opened, $0.05 spent by the run before.
        let a = allowance(budget, &run, (Decimal::new(4, 2), 0));
        assert!(a.reserve((Decimal::new(6, 2), 1)).is_ok());
        let why = a
            .reserve((Decimal::new(1, 2), 1))
            .expect_err("0.04 + 0.06 + 0.01 > 0.10");
        assert!(why.contains("budget_usd_per_day"), "{why}");
        // Saturating: an absurd count cannot wrap the ledger around to zero.
        lock(&run).spent.1 = u64::MAX - 1;
        let a2 = allowance(Budget::default(), &run, (Decimal::ZERO, 0));
        let r = a2.reserve((Decimal::ZERO, 10));
        assert!(r.is_ok());
        if let Ok(r) = r {
            r.settle((Decimal::ZERO, u64::MAX));
        }
        assert_eq!(lock(&run).spent.1, u64::MAX);
    }

    #[tokio::test]
    async fn item7_a_store_error_fails_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let day = NaiveDate::from_ymd_opt(2026, 3, 23).expect("date");
        let budget = Budget {
            usd_per_day: Decimal::ONE,
            ..Budget::default()
        };
        let run = RunSpend::default();
        assert!(budget.open(&store, &run, day).await.is_ok());
        store
            .call(|c| {
                use diesel::RunQueryDsl;
                diesel::sql_query("DROP TABLE llm_calls").execute(c)?;
                Ok(())
            })
            .await
            .expect("drop");
        let why = budget
            .open(&store, &run, day)
            .await
            .expect_err("fails closed");
        assert!(why.contains("failing closed"), "{why}");
        // Without caps the store is not read and calls go on.
        assert!(Budget::default().open(&store, &run, day).await.is_ok());
    }
}
