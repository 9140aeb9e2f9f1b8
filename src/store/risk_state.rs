//! The risk gate's state as the store holds it: the holds, today's opening trades, the loss
//! streak and the last minute's approvals, rebuilt on every start and restart so a restart
//! never loosens a limit.

use crate::risk::holds::HoldEvent;
use crate::risk::RiskState;
use crate::store::models;
use crate::store::schema::{orders, positions};
use crate::store::StoreError;
use chrono::Duration;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

/// runtime_state key set by `reset-breaker`: the market time of the last position closed
/// before the reset; the loss streak counts only positions closed after it.
pub const STREAK_SINCE_KEY: &str = "loss_streak_since";

/// Rebuilds the gate's state from the store: the holds (a successful load clears a
/// STATE_UNAVAILABLE hold), today's opening trades, the loss streak, and the last minute's
/// approvals.
pub fn load_state(conn: &mut SqliteConnection) -> Result<RiskState, StoreError> {
    let mut st = RiskState::default();
    let (holds, _) = crate::store::holds::record(conn, &HoldEvent::StateLoaded, "RiskGate")?;
    st.holds = holds;
    let last: Option<chrono::NaiveDateTime> = orders::table
        .filter(orders::status.eq_any(["APPROVED", "SUBMITTED", "FILLED"]))
        .select(diesel::dsl::max(orders::market_ts))
        .first(conn)?;
    if let Some(last) = last {
        let day = last.date();
        st.day = Some(day);
        let start = day.and_hms_opt(0, 0, 0).unwrap_or(last);
        let opens: i64 = orders::table
            .filter(orders::intent.eq("OPEN"))
            .filter(orders::status.eq_any(["APPROVED", "SUBMITTED", "FILLED"]))
            .filter(orders::market_ts.ge(start))
            .count()
            .get_result(conn)?;
        st.trades_today = opens as u32;
        st.recent = orders::table
            .filter(orders::status.eq_any(["APPROVED", "SUBMITTED", "FILLED"]))
            .filter(orders::market_ts.gt(last - Duration::seconds(60)))
            .order(orders::market_ts.asc())
            .select(orders::market_ts)
            .load(conn)?
            .into();
    }
    let since = models::get_state(conn, STREAK_SINCE_KEY)?
        .and_then(|s| chrono::NaiveDateTime::parse_from_str(&s, STREAK_SINCE_FORMAT).ok());
    let mut closed_q = positions::table
        .filter(positions::quantity.eq(0))
        .into_boxed();
    if let Some(since) = since {
        closed_q = closed_q.filter(positions::closed_at.gt(since));
    }
    let closed: Vec<String> = closed_q
        .order((positions::closed_at.desc(), positions::id.desc()))
        .select(positions::realized_pnl)
        .load(conn)?;
    for r in closed {
        if models::dec(&r)? < Decimal::ZERO {
            st.loss_streak += 1;
        } else {
            break;
        }
    }
    Ok(st)
}

/// How [`STREAK_SINCE_KEY`] is written.
pub const STREAK_SINCE_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// Starts the loss streak afresh from now on (for `reset-breaker`): records the close time of
/// the last closed position under [`STREAK_SINCE_KEY`].
pub fn restart_loss_streak(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let last: Option<chrono::NaiveDateTime> = positions::table
        .filter(positions::quantity.eq(0))
        .select(diesel::dsl::max(positions::closed_at))
        .first(conn)?;
    if let Some(last) = last {
        models::set_state(
            conn,
            STREAK_SINCE_KEY,
            &last.format(STREAK_SINCE_FORMAT).to_string(),
        )?;
    }
    Ok(())
}
