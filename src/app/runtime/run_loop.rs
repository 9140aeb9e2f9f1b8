//! The run loop: cycles from the clock until the limit, a stop request or an escalation.

use super::summary::RunSummary;
use super::Runtime;
use crate::actors::messages::{CycleSummary, RunCycle};
use crate::clock::SimClock;
use crate::config::{ClockKind, Config};
use crate::store::models;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Why the run loop ended badly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Supervision gave up on an actor: trading was halted.
    #[error("supervision escalated ({0}); trading HALTED")]
    Escalated(String),
}

/// How many cycles to run: `--cycles 0` means what `max_cycles = 0` means, until stopped.
fn cycle_limit(config: &Config, cycles: Option<u64>) -> Option<u64> {
    match cycles {
        Some(0) => None,
        Some(n) => Some(n),
        None => config.runtime.max_cycles_limit(),
    }
}

/// The cycle loop over a started runtime.
pub async fn drive(
    config: &Config,
    rt: &mut Runtime,
    cycles: Option<u64>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<RunSummary> {
    let limit = cycle_limit(config, cycles);
    let last = rt.store.call(models::last_market_ts).await?;
    let mut clock = SimClock::new(
        config.runtime.sim_start,
        last,
        config.runtime.cycle_interval_s,
    );
    let started = Instant::now();
    let mut sum = RunSummary::default();
    let mut last_summary: Option<CycleSummary> = None;
    #[cfg(feature = "test-faults")]
    let fault = crate::actors::test_faults::TestFault::from_env();
    let mut seq: u32 = 0;
    while limit.is_none_or(|n| u64::from(seq) < n) {
        if stop.load(Ordering::SeqCst) {
            tracing::info!(target: "alphahive::runtime", "stop requested; finishing");
            break;
        }
        seq += 1;
        let market_ts = match config.runtime.clock {
            ClockKind::Simulated => clock.tick(),
            ClockKind::Wall => chrono::Local::now().naive_local(),
        };
        if let Some(s) = run_one(rt, seq, market_ts, &mut sum).await? {
            last_summary = Some(s);
        }
        #[cfg(feature = "test-faults")]
        if let Some(f) = &fault {
            f.after_cycle(seq, &rt.risk);
        }
        if let Ok(detail) = rt.escalations.try_recv() {
            escalate(&rt.store, &detail).await;
            return Err(RunError::Escalated(detail).into());
        }
        if config.runtime.clock == ClockKind::Wall {
            wait_for_next(config, &stop).await;
        }
    }
    sum.finish(config, &rt.store, started.elapsed(), last_summary)
        .await?;
    Ok(sum)
}

/// Runs cycle `seq`, adding it to `sum`; a failed or lost cycle is counted and the run goes
/// on, an escalation while it runs halts trading and ends the run.
async fn run_one(
    rt: &mut Runtime,
    seq: u32,
    market_ts: chrono::NaiveDateTime,
    sum: &mut RunSummary,
) -> anyhow::Result<Option<CycleSummary>> {
    let cycle = rt.commander.send(RunCycle { seq, market_ts });
    let outcome = tokio::select! {
        r = cycle => r,
        Some(detail) = rt.escalations.recv() => {
            escalate(&rt.store, &detail).await;
            return Err(RunError::Escalated(detail).into());
        }
    };
    match outcome {
        Ok(Ok(s)) => {
            sum.add(&s);
            return Ok(Some(s));
        }
        Ok(Err(e)) => {
            sum.failed_cycles += 1;
            tracing::error!(target: "alphahive::runtime", seq, error = %e, "cycle failed; recorded, going on");
        }
        Err(e) => {
            sum.failed_cycles += 1;
            tracing::error!(target: "alphahive::runtime", seq, error = %e, "cycle lost with its actor; going on");
        }
    }
    Ok(None)
}

/// On the wall clock: waits one cycle interval, waking every 100 ms to see a stop request.
async fn wait_for_next(config: &Config, stop: &AtomicBool) {
    let wait = config.runtime.cycle_interval();
    let until = Instant::now() + wait;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        tokio::time::sleep((until - Instant::now()).min(std::time::Duration::from_millis(100)))
            .await;
    }
}

/// Halts trading durably after supervision gave up.
async fn escalate(store: &Store, detail: &str) {
    tracing::error!(target: "alphahive::runtime", %detail, "supervision escalated: HALTING trading and exiting");
    let detail = detail.to_string();
    let r = store
        .call(move |c| {
            let since = models::last_market_ts(c)?.unwrap_or_else(models::now);
            let hold =
                crate::risk::Hold::new(crate::risk::HoldCause::SupervisionEscalated, detail, since);
            crate::store::holds::record(c, &crate::risk::HoldEvent::Place(hold), "runtime")
                .map(|_| ())
        })
        .await;
    if let Err(e) = r {
        tracing::error!(target: "alphahive::runtime", error = %e, "cannot record the halt");
    }
}
