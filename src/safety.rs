//! The privileged, recorded safety paths that work without the runtime: halting with a
//! persisted breaker, flattening the paper book, the kill switch, and resetting the breaker.

use crate::broker::paper::{self, PaperParams};
use crate::config::Config;
use crate::process_identity::{Liveness, ProcessIdentity};
use crate::risk::holds::{Hold, HoldCause, HoldEvent, Holds};
use crate::store::models::{self, NewSafetyEvent};
use crate::store::{Store, StoreError};
use diesel::sqlite::SqliteConnection;

/// runtime_state key holding the running runtime's [`ProcessIdentity`] record (pid, start
/// time, executable).
pub const PID_KEY: &str = "runtime_pid";

/// Places a HALTED hold of the cause `event_type` names (KILL_SWITCH, WATCHDOG_ALERT,
/// CIRCUIT_BREAKER; anything else is a BREAKER hold), persisted with its events: a restarted
/// runtime starts HALTED, and a running gate follows it, until `alphahive reset-breaker`.
pub fn halt(
    conn: &mut SqliteConnection,
    event_type: &str,
    actor: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let cause = HoldCause::parse(event_type)
        .filter(|c| c.level() == crate::risk::TradingState::Halted)
        .unwrap_or(HoldCause::Breaker);
    let detail = if cause == HoldCause::Breaker {
        format!("{event_type}: {reason}")
    } else {
        reason.to_string()
    };
    let since = models::last_market_ts(conn)?.unwrap_or_else(models::now);
    crate::store::holds::record(
        conn,
        &HoldEvent::Place(Hold::new(cause, detail, since)),
        actor,
    )?;
    Ok(())
}

/// Halts (see [`halt`]), flattens every paper position at its last mark, and records
/// `event_type`. Returns the number of positions flattened.
pub fn halt_and_flatten(
    conn: &mut SqliteConnection,
    params: &PaperParams,
    event_type: &str,
    actor: &str,
    reason: &str,
) -> Result<usize, StoreError> {
    halt(conn, event_type, actor, reason)?;
    paper::ensure_account(conn, params)?;
    let ts = models::last_market_ts(conn)?.unwrap_or_else(models::now);
    let closed = paper::flatten_all(conn, None, params, ts, actor, reason)?;
    models::insert_safety_event(
        conn,
        &NewSafetyEvent::new(
            event_type,
            "critical",
            Some(actor),
            format!("reason={reason:?} flattened={}", closed.len()),
        ),
    )?;
    Ok(closed.len())
}

/// True when `pid` is a live process (not a zombie).
pub fn is_alive(pid: i32) -> bool {
    if pid <= 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesised command name.
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .map(|rest| rest.trim_start().starts_with('Z'))
                != Some(true)
        }
        Err(_) => false,
    }
}

/// What [`kill_verified`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillOutcome {
    /// The process was SIGKILLed and is gone.
    Killed,
    /// It had already exited: nothing was signalled.
    AlreadyGone,
    /// Its pid belongs to another process now (or cannot be verified): nothing was signalled.
    Stale(String),
    /// It was SIGKILLed and is still there after 5 s.
    Survived,
}

/// SIGKILLs the recorded process only after verifying pid, start time and executable, then
/// waits (up to 5 s) until it is gone.
pub fn kill_verified(id: &ProcessIdentity) -> KillOutcome {
    match id.liveness() {
        Liveness::Running => {}
        Liveness::Gone => return KillOutcome::AlreadyGone,
        Liveness::Stale(why) => return KillOutcome::Stale(why),
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(id.pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if id.liveness() != Liveness::Running {
            return KillOutcome::Killed;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    KillOutcome::Survived
}

/// Stops the runtime recorded under [`PID_KEY`] (see [`kill_verified`]); returns what to say
/// about it. A record that does not verify is reported as stale and never signalled.
fn stop_recorded_runtime(record: Option<String>) -> anyhow::Result<String> {
    let Some(record) = record else {
        return Ok(String::new());
    };
    let id = match ProcessIdentity::parse(&record) {
        Ok(id) => id,
        Err(_) => {
            return Ok(format!(
                "stale runtime record {record:?} (no start time to verify it by) not signalled, "
            ))
        }
    };
    if id.pid == std::process::id() as i32 {
        return Ok(String::new());
    }
    match kill_verified(&id) {
        KillOutcome::Killed => Ok(format!("runtime pid {} killed, ", id.pid)),
        KillOutcome::AlreadyGone => Ok(format!("runtime pid {} had already exited, ", id.pid)),
        KillOutcome::Stale(why) => {
            tracing::warn!(target: "alphahive::safety", pid = id.pid, %why, "stale runtime pid: not signalled");
            Ok(format!("stale pid {} not signalled ({why}), ", id.pid))
        }
        KillOutcome::Survived => anyhow::bail!(
            "kill-switch: runtime pid {} did not die after SIGKILL; nothing flattened",
            id.pid
        ),
    }
}

/// `alphahive kill-switch`: stop a running runtime (SIGKILL, after verifying it is the
/// recorded one), then halt and flatten through the store's paper book.
pub fn kill_switch(cfg: &Config, reason: &str) -> anyhow::Result<i32> {
    let store = Store::open(&cfg.runtime.data_dir)?;
    let params = PaperParams::from_config(&cfg.broker);
    // A running runtime is stopped first, so nothing trades while the book is flattened.
    let record = store.call_blocking(|c| models::get_state(c, PID_KEY))?;
    let killed = stop_recorded_runtime(record)?;
    let reason = reason.to_string();
    let n = store.call_blocking(move |c| {
        halt_and_flatten(c, &params, "KILL_SWITCH", "kill-switch", &reason)
    })?;
    crate::say!(
        "kill switch: {killed}trading HALTED, {n} position(s) flattened; run reset-breaker --reason TEXT to trade again"
    );
    Ok(0)
}

/// `alphahive reset-breaker`: clears the breaker and returns trading to ACTIVE, recorded.
pub fn reset_breaker(cfg: &Config, reason: &str) -> anyhow::Result<i32> {
    if reason.trim().is_empty() {
        anyhow::bail!("reset-breaker: --reason must say why it is safe to trade again");
    }
    let store = Store::open(&cfg.runtime.data_dir)?;
    let reason = reason.to_string();
    let (holds, update) = store.call_blocking(move |c| {
        c.immediate_transaction(|c| {
            let (holds, update) = crate::store::holds::record_in(
                c,
                &HoldEvent::ResetBreaker {
                    reason: reason.clone(),
                },
                "operator",
            )?;
            // Losses before the reset are reviewed: they no longer count toward the streak.
            crate::store::risk_state::restart_loss_streak(c)?;
            let cleared: Vec<&str> = update.cleared.iter().map(|h| h.cause.as_str()).collect();
            models::insert_safety_event(
                c,
                &NewSafetyEvent::new(
                    "BREAKER_RESET",
                    "warning",
                    Some("operator"),
                    format!("cleared={cleared:?} reason={reason:?}"),
                ),
            )?;
            Ok((holds, update))
        })
    })?;
    let cleared: Vec<&str> = update.cleared.iter().map(|h| h.cause.as_str()).collect();
    crate::say!(
        "breaker reset: cleared {}; trading {}{}",
        if cleared.is_empty() {
            "no hold".to_string()
        } else {
            cleared.join(", ")
        },
        holds.state(),
        still_held(&holds)
    );
    Ok(0)
}

/// ` (still held by …)` when holds that reset-breaker does not clear remain.
fn still_held(holds: &Holds) -> String {
    if holds.is_empty() {
        String::new()
    } else {
        format!(" (still held: {})", holds.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_of_processes() {
        assert!(is_alive(std::process::id() as i32));
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        assert!(is_alive(pid));
        let _ = child.kill();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!is_alive(pid), "a zombie is not alive");
        let _ = child.wait();
        assert!(!is_alive(pid));
        assert!(!is_alive(0) && !is_alive(-1));
    }
}
