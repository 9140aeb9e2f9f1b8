//! The holds in the store: the `holds` table (one row per cause) and the record of every
//! change. [`record`] is the one writer: it loads the holds, applies the event with
//! [`crate::risk::holds::apply`], writes what changed, records `HOLD_PLACED` / `HOLD_CLEARED`
//! (and `TRADING_STATE_CHANGED` when the state moves), and mirrors the state under the
//! `trading_state` / `trading_state_reason` keys of `runtime_state` for readers of older builds.

use super::models::{self, NewSafetyEvent};
use super::schema::{holds, runtime_state};
use super::StoreError;
use crate::risk::holds::{apply, Clearing, Hold, HoldCause, HoldEvent, Holds, HoldsUpdate};
use crate::risk::TradingState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

/// runtime_state key mirroring the trading state (derived from the holds; never read back
/// while the `holds` table has rows).
pub const STATE_KEY: &str = "trading_state";
/// runtime_state key mirroring why.
pub const REASON_KEY: &str = "trading_state_reason";
/// runtime_state key of the breaker an older build persisted; read once into a hold.
pub const BREAKER_KEY: &str = "breaker";

#[derive(Queryable, Insertable)]
#[diesel(table_name = holds)]
struct HoldRow {
    cause: String,
    level: String,
    since: NaiveDateTime,
    clears_on: String,
    detail: String,
    placed_by: String,
    created_at: NaiveDateTime,
}

fn from_row(r: HoldRow) -> Result<Hold, StoreError> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("holds.{what} = {v:?}"));
    let cause = HoldCause::parse(&r.cause).ok_or_else(|| corrupt("cause", &r.cause))?;
    let level = TradingState::parse(&r.level)
        .filter(|l| *l != TradingState::Active)
        .ok_or_else(|| corrupt("level", &r.level))?;
    let clears_on =
        Clearing::parse(&r.clears_on).ok_or_else(|| corrupt("clears_on", &r.clears_on))?;
    // A stored hold is never looser than its cause says.
    let level = if level.severity() < cause.level().severity() {
        cause.level()
    } else {
        level
    };
    Ok(Hold {
        cause,
        level,
        since: r.since,
        clears_on,
        detail: r.detail,
    })
}

/// The holds as stored. A store an older build wrote (no rows yet) is read from its
/// `breaker` and `trading_state` keys: a known reason becomes its cause, anything else a
/// BREAKER hold (HALTED until `reset-breaker`), so an upgrade never loosens the state.
pub fn load(conn: &mut SqliteConnection) -> Result<Holds, StoreError> {
    let rows: Vec<HoldRow> = holds::table.load(conn)?;
    if !rows.is_empty() {
        return Ok(Holds::from_list(
            rows.into_iter()
                .map(from_row)
                .collect::<Result<Vec<_>, _>>()?,
        ));
    }
    legacy(conn)
}

fn legacy(conn: &mut SqliteConnection) -> Result<Holds, StoreError> {
    let since = models::last_market_ts(conn)?.unwrap_or_else(models::now);
    let mut list = Vec::new();
    let split = |text: &str| -> (HoldCause, String) {
        match HoldCause::of_reason(text) {
            Some(c) => (
                c,
                text.split_once(':')
                    .map(|(_, rest)| rest.trim().to_string())
                    .unwrap_or_default(),
            ),
            None if text.starts_with("supervision escalated") => {
                (HoldCause::SupervisionEscalated, text.to_string())
            }
            None => (HoldCause::Breaker, text.to_string()),
        }
    };
    if let Some(b) = models::get_state(conn, BREAKER_KEY)? {
        let (cause, detail) = split(&b);
        // A breaker always halts.
        let cause = if cause.level() == TradingState::Halted {
            cause
        } else {
            HoldCause::Breaker
        };
        list.push(Hold::new(cause, detail, since));
    }
    let state = models::get_state(conn, STATE_KEY)?.and_then(|s| TradingState::parse(&s));
    if let Some(state) = state.filter(|s| *s != TradingState::Active) {
        let reason = models::get_state(conn, REASON_KEY)?.unwrap_or_default();
        let (mut cause, detail) = split(&reason);
        if cause.level().severity() < state.severity() {
            cause = HoldCause::Breaker;
        }
        list.push(Hold::new(cause, detail, since));
    }
    Ok(Holds::from_list(list))
}

/// Applies `event` to the stored holds and records it (see the module doc). Must run
/// inside a transaction the caller holds; [`record`] opens one.
pub fn record_in(
    conn: &mut SqliteConnection,
    event: &HoldEvent,
    actor: &str,
) -> Result<(Holds, HoldsUpdate), StoreError> {
    let stored_rows: i64 = holds::table.count().get_result(conn)?;
    let mut current = load(conn)?;
    let imported = stored_rows == 0 && !current.is_empty();
    let update = apply(&mut current, event);
    if !update.changed() && !imported {
        return Ok((current, update));
    }
    diesel::delete(holds::table).execute(conn)?;
    let rows: Vec<HoldRow> = current
        .list()
        .into_iter()
        .map(|h| HoldRow {
            cause: h.cause.as_str().into(),
            level: h.level.as_str().into(),
            since: h.since,
            clears_on: h.clears_on.as_str().into(),
            detail: h.detail,
            placed_by: actor.into(),
            created_at: models::now(),
        })
        .collect();
    diesel::insert_into(holds::table)
        .values(&rows)
        .execute(conn)?;
    diesel::delete(runtime_state::table.find(BREAKER_KEY)).execute(conn)?;
    models::set_state(conn, STATE_KEY, current.state().as_str())?;
    models::set_state(conn, REASON_KEY, &current.reason())?;
    for h in &update.placed {
        let severity = if h.level == TradingState::Halted {
            "critical"
        } else {
            "warning"
        };
        models::insert_safety_event(
            conn,
            &NewSafetyEvent::new("HOLD_PLACED", severity, Some(actor), describe(h)),
        )?;
    }
    for h in &update.cleared {
        models::insert_safety_event(
            conn,
            &NewSafetyEvent::new(
                "HOLD_CLEARED",
                "warning",
                Some(actor),
                format!("{} by={:?}", describe(h), event.describe()),
            ),
        )?;
    }
    if update.prev != update.current {
        let severity = if update.current.severity() > update.prev.severity() {
            "critical"
        } else {
            "warning"
        };
        models::insert_safety_event(
            conn,
            &NewSafetyEvent::new(
                "TRADING_STATE_CHANGED",
                severity,
                Some(actor),
                format!(
                    "from={} to={} reason={}",
                    update.prev,
                    update.current,
                    event.describe()
                ),
            ),
        )?;
    }
    Ok((current, update))
}

/// [`record_in`] in its own immediate transaction.
pub fn record(
    conn: &mut SqliteConnection,
    event: &HoldEvent,
    actor: &str,
) -> Result<(Holds, HoldsUpdate), StoreError> {
    conn.immediate_transaction(|c| record_in(c, event, actor))
}

fn describe(h: &Hold) -> String {
    format!(
        "cause={} level={} since={} clears_on={} detail={:?}",
        h.cause,
        h.level,
        h.since.format("%Y-%m-%d %H:%M:%S"),
        h.clears_on,
        h.detail
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;

    fn conn() -> (tempfile::TempDir, SqliteConnection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = crate::store::pool::connect(&dir.path().join("t.db")).expect("db");
        crate::store::pool::run_migrations(&mut c).expect("migrate");
        (dir, c)
    }

    fn at(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 4, 1)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .expect("time")
    }

    fn events(c: &mut SqliteConnection, kind: &str) -> Vec<String> {
        use super::super::schema::safety_events;
        safety_events::table
            .filter(safety_events::event_type.eq(kind))
            .order(safety_events::id.asc())
            .select(safety_events::detail)
            .load(c)
            .expect("events")
    }

    #[test]
    fn item12_holds_are_persisted_with_their_events_and_reload_the_same() {
        let (_d, mut c) = conn();
        let place = |cause, detail: &str, h| HoldEvent::Place(Hold::new(cause, detail, at(h)));
        record(
            &mut c,
            &place(HoldCause::WatchdogLost, "no watchdog", 10),
            "RiskGate",
        )
        .expect("1");
        let (holds, u) = record(
            &mut c,
            &place(HoldCause::ConsecutiveLosses, "streak=5 limit=5", 11),
            "RiskGate",
        )
        .expect("2");
        assert!(u.changed() && u.prev == u.current);
        assert_eq!(
            load(&mut c).expect("load"),
            holds,
            "what was written reloads"
        );
        assert_eq!(events(&mut c, "HOLD_PLACED").len(), 2);
        assert_eq!(
            events(&mut c, "TRADING_STATE_CHANGED"),
            vec!["from=ACTIVE to=REDUCING reason=WATCHDOG_LOST: no watchdog".to_string()],
            "the second REDUCING cause does not change the state"
        );
        // A good beat clears the watchdog's hold only: still REDUCING for the streak.
        let (holds, _) = record(&mut c, &HoldEvent::WatchdogBeat, "RiskGate").expect("3");
        assert_eq!(holds.state(), TradingState::Reducing);
        assert!(holds.has(HoldCause::ConsecutiveLosses) && !holds.has(HoldCause::WatchdogLost));
        assert_eq!(
            models::get_state(&mut c, STATE_KEY).expect("k").as_deref(),
            Some("REDUCING")
        );
        let cleared = events(&mut c, "HOLD_CLEARED");
        assert_eq!(cleared.len(), 1);
        assert!(cleared[0].contains("cause=WATCHDOG_LOST"), "{}", cleared[0]);
        // An unchanged event writes nothing.
        let n = events(&mut c, "HOLD_PLACED").len() + events(&mut c, "HOLD_CLEARED").len();
        record(&mut c, &HoldEvent::WatchdogBeat, "RiskGate").expect("4");
        assert_eq!(
            events(&mut c, "HOLD_PLACED").len() + events(&mut c, "HOLD_CLEARED").len(),
            n
        );
        let (holds, u) = record(
            &mut c,
            &HoldEvent::ResetBreaker {
                reason: "reviewed".into(),
            },
            "operator",
        )
        .expect("5");
        assert_eq!(
            (u.prev, u.current),
            (TradingState::Reducing, TradingState::Active)
        );
        assert!(holds.is_empty());
        assert!(load(&mut c).expect("load").is_empty());
    }

    #[test]
    fn item12_an_older_store_is_read_without_loosening() {
        let (_d, mut c) = conn();
        c.batch_execute(
            "INSERT INTO runtime_state (key, value, updated_at) VALUES \
             ('breaker', 'WATCHDOG_ALERT: no heartbeat for 60 s', '2026-01-01 00:00:00'), \
             ('trading_state', 'HALTED', '2026-01-01 00:00:00'), \
             ('trading_state_reason', 'breaker set: WATCHDOG_ALERT: no heartbeat', '2026-01-01 00:00:00')",
        )
        .expect("legacy rows");
        let holds = load(&mut c).expect("load");
        assert_eq!(holds.state(), TradingState::Halted);
        assert!(holds.has(HoldCause::WatchdogAlert));
        // The first change writes the imported holds as rows and retires the breaker key.
        record(&mut c, &HoldEvent::WatchdogBeat, "RiskGate").expect("beat");
        assert_eq!(load(&mut c).expect("load").state(), TradingState::Halted);
        assert_eq!(models::get_state(&mut c, BREAKER_KEY).expect("k"), None);
        let (holds, _) = record(
            &mut c,
            &HoldEvent::ResetBreaker {
                reason: "reviewed".into(),
            },
            "operator",
        )
        .expect("reset");
        assert!(holds.is_empty(), "{holds:?}");
        assert!(
            load(&mut c).expect("load").is_empty(),
            "no re-import after a reset"
        );
    }
}
