//! The privileged, recorded safety paths that work without the runtime: the kill switch
//! (halt and flatten now) and resetting a persisted breaker.

use crate::actors::risk_gate::{BREAKER_KEY, REASON_KEY, STATE_KEY};
use crate::broker::paper::{self, PaperParams};
use crate::config::Config;
use crate::store::models::{self, NewSafetyEvent};
use crate::store::{Store, StoreError};
use diesel::sqlite::SqliteConnection;

/// Sets the breaker, records HALTED, and flattens every paper position. Returns the number
/// of positions flattened.
pub fn halt_and_flatten(
    conn: &mut SqliteConnection,
    params: &PaperParams,
    event_type: &str,
    actor: &str,
    reason: &str,
) -> Result<usize, StoreError> {
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
    )?;
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

/// `alphahive kill-switch`: halt and flatten through the store's paper book.
pub fn kill_switch(cfg: &Config, reason: &str) -> anyhow::Result<i32> {
    let store = Store::open(&cfg.runtime.data_dir)?;
    let params = PaperParams::from_config(&cfg.broker);
    let reason = reason.to_string();
    let n = store.call_blocking(move |c| {
        halt_and_flatten(c, &params, "KILL_SWITCH", "kill-switch", &reason)
    })?;
    println!("kill switch: trading HALTED, {n} position(s) flattened; `alphahive reset-breaker --reason TEXT` to trade again");
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
    println!("breaker cleared; trading ACTIVE at the next start");
    Ok(0)
}

use diesel::prelude::*;
