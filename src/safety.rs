//! The privileged, recorded safety paths that work without the runtime: halting with a
//! persisted breaker, flattening the paper book, the kill switch, and resetting the breaker.

use crate::actors::risk_gate::{BREAKER_KEY, REASON_KEY, STATE_KEY};
use crate::broker::paper::{self, PaperParams};
use crate::config::Config;
use crate::store::models::{self, NewSafetyEvent};
use crate::store::{Store, StoreError};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

/// runtime_state key holding the pid of the running runtime.
pub const PID_KEY: &str = "runtime_pid";

/// Sets the persisted breaker and records HALTED (a restarted runtime starts HALTED until
/// `alphahive reset-breaker`).
pub fn halt(
    conn: &mut SqliteConnection,
    event_type: &str,
    actor: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let from = models::get_state(conn, STATE_KEY)?.unwrap_or_else(|| "ACTIVE".into());
    models::set_state(conn, BREAKER_KEY, &format!("{event_type}: {reason}"))?;
    models::set_state(conn, STATE_KEY, "HALTED")?;
    models::set_state(conn, REASON_KEY, &format!("{event_type}: {reason}"))?;
    models::insert_safety_event(
        conn,
        &NewSafetyEvent::new(
            "TRADING_STATE_CHANGED",
            "critical",
            Some(actor),
            format!("from={from} to=HALTED reason={event_type}: {reason}"),
        ),
    )
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

/// SIGKILLs `pid` and waits (up to 5 s) until it is gone. True when it is gone.
pub fn kill_and_wait(pid: i32) -> bool {
    if !is_alive(pid) {
        return true;
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if !is_alive(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// `alphahive kill-switch`: stop a running runtime (SIGKILL), then halt and flatten through
/// the store's paper book.
pub fn kill_switch(cfg: &Config, reason: &str) -> anyhow::Result<i32> {
    let store = Store::open(&cfg.runtime.data_dir)?;
    let params = PaperParams::from_config(&cfg.broker);
    // A running runtime is stopped first, so nothing trades while the book is flattened.
    let pid = store
        .call_blocking(|c| models::get_state(c, PID_KEY))?
        .and_then(|p| p.parse::<i32>().ok())
        .filter(|p| *p != std::process::id() as i32 && is_alive(*p));
    if let Some(pid) = pid {
        if !kill_and_wait(pid) {
            anyhow::bail!(
                "kill-switch: runtime pid {pid} did not die after SIGKILL; nothing flattened"
            );
        }
    }
    let reason = reason.to_string();
    let n = store.call_blocking(move |c| {
        halt_and_flatten(c, &params, "KILL_SWITCH", "kill-switch", &reason)
    })?;
    let killed = pid
        .map(|p| format!("runtime pid {p} killed, "))
        .unwrap_or_default();
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
    store.call_blocking(move |c| {
        let from = models::get_state(c, STATE_KEY)?.unwrap_or_else(|| "ACTIVE".into());
        let breaker = models::get_state(c, BREAKER_KEY)?;
        diesel::delete(crate::store::schema::runtime_state::table.find(BREAKER_KEY)).execute(c)?;
        models::set_state(c, STATE_KEY, "ACTIVE")?;
        models::set_state(c, REASON_KEY, &format!("breaker reset: {reason}"))?;
        // Losses before the reset are reviewed: they no longer count toward the streak.
        crate::actors::risk_gate::restart_loss_streak(c)?;
        models::insert_safety_event(
            c,
            &NewSafetyEvent::new(
                "BREAKER_RESET",
                "warning",
                Some("operator"),
                format!("breaker={breaker:?} reason={reason:?}"),
            ),
        )?;
        models::insert_safety_event(
            c,
            &NewSafetyEvent::new(
                "TRADING_STATE_CHANGED",
                "warning",
                Some("operator"),
                format!("from={from} to=ACTIVE reason=breaker reset: {reason}"),
            ),
        )?;
        Ok(())
    })?;
    crate::say!("breaker cleared; trading ACTIVE at the next start");
    Ok(0)
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
