//! Holds: why trading is restricted. The trading state is the strictest of a set of holds;
//! each hold has a cause, a level (REDUCING or HALTED), the market time it started and the one
//! event that clears it. [`apply`] is the only transition: every writer (the gate, supervision,
//! the kill switch, the watchdog, `reset-breaker`) sends it a [`HoldEvent`] and records the
//! [`HoldsUpdate`] it returns.
//!
//! | cause                 | level    | cleared by                         |
//! |-----------------------|----------|------------------------------------|
//! | DAILY_LOSS_LIMIT      | REDUCING | the next trading session           |
//! | CONSECUTIVE_LOSSES    | REDUCING | `reset-breaker`                    |
//! | WATCHDOG_LOST         | REDUCING | a good watchdog beat               |
//! | KILL_SWITCH           | HALTED   | `reset-breaker`                    |
//! | WATCHDOG_ALERT        | HALTED   | `reset-breaker`                    |
//! | CIRCUIT_BREAKER       | HALTED   | `reset-breaker`                    |
//! | BREAKER               | HALTED   | `reset-breaker`                    |
//! | SUPERVISION_ESCALATED | HALTED   | `reset-breaker`                    |
//! | STATE_UNAVAILABLE     | HALTED   | a successful load of the gate state|

use super::TradingState;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why a hold is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HoldCause {
    /// The day's loss reached `risk.daily_loss_limit`.
    DailyLossLimit,
    /// `risk.consecutive_loss_limit` losing closes in a row.
    ConsecutiveLosses,
    /// No watchdog answers on the socket.
    WatchdogLost,
    /// `alphahive kill-switch`.
    KillSwitch,
    /// The watchdog stopped a frozen or vanished runtime.
    WatchdogAlert,
    /// Drawdown from the day's high-water mark reached `risk.drawdown_circuit_breaker`.
    CircuitBreaker,
    /// Any other persisted breaker (also a breaker left by an older build).
    Breaker,
    /// Supervision gave up on an actor.
    SupervisionEscalated,
    /// The gate could not load its state from the store.
    StateUnavailable,
}

/// The one event that clears a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Clearing {
    /// A trading session later than the hold's start.
    NextSession,
    /// `alphahive reset-breaker --reason TEXT`.
    ResetBreaker,
    /// A heartbeat the watchdog acknowledges.
    WatchdogBeat,
    /// A successful load of the gate's state.
    StateLoaded,
}

const CAUSES: [(HoldCause, &str, TradingState, Clearing); 9] = [
    (
        HoldCause::DailyLossLimit,
        "DAILY_LOSS_LIMIT",
        TradingState::Reducing,
        Clearing::NextSession,
    ),
    (
        HoldCause::ConsecutiveLosses,
        "CONSECUTIVE_LOSSES",
        TradingState::Reducing,
        Clearing::ResetBreaker,
    ),
    (
        HoldCause::WatchdogLost,
        "WATCHDOG_LOST",
        TradingState::Reducing,
        Clearing::WatchdogBeat,
    ),
    (
        HoldCause::KillSwitch,
        "KILL_SWITCH",
        TradingState::Halted,
        Clearing::ResetBreaker,
    ),
    (
        HoldCause::WatchdogAlert,
        "WATCHDOG_ALERT",
        TradingState::Halted,
        Clearing::ResetBreaker,
    ),
    (
        HoldCause::CircuitBreaker,
        "CIRCUIT_BREAKER",
        TradingState::Halted,
        Clearing::ResetBreaker,
    ),
    (
        HoldCause::Breaker,
        "BREAKER",
        TradingState::Halted,
        Clearing::ResetBreaker,
    ),
    (
        HoldCause::SupervisionEscalated,
        "SUPERVISION_ESCALATED",
        TradingState::Halted,
        Clearing::ResetBreaker,
    ),
    (
        HoldCause::StateUnavailable,
        "STATE_UNAVAILABLE",
        TradingState::Halted,
        Clearing::StateLoaded,
    ),
];

impl HoldCause {
    fn row(self) -> &'static (HoldCause, &'static str, TradingState, Clearing) {
        CAUSES.iter().find(|r| r.0 == self).unwrap_or(&CAUSES[6]) // every cause has a row; BREAKER is the strict fallback
    }

    /// Stable code.
    pub fn as_str(self) -> &'static str {
        self.row().1
    }

    /// The level a hold of this cause holds trading at.
    pub fn level(self) -> TradingState {
        self.row().2
    }

    /// The one event that clears it.
    pub fn clears_on(self) -> Clearing {
        self.row().3
    }

    /// Parses a stable code.
    pub fn parse(s: &str) -> Option<HoldCause> {
        CAUSES.iter().find(|r| r.1 == s).map(|r| r.0)
    }

    /// The cause a reason text starts with (`"DAILY_LOSS_LIMIT: …"`), if any.
    pub fn of_reason(reason: &str) -> Option<HoldCause> {
        let code = reason.split(':').next().unwrap_or_default().trim();
        HoldCause::parse(code)
    }
}

impl fmt::Display for HoldCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Clearing {
    /// Stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Clearing::NextSession => "NEXT_SESSION",
            Clearing::ResetBreaker => "RESET_BREAKER",
            Clearing::WatchdogBeat => "WATCHDOG_BEAT",
            Clearing::StateLoaded => "STATE_LOADED",
        }
    }

    /// Parses a stable code.
    pub fn parse(s: &str) -> Option<Clearing> {
        [
            Clearing::NextSession,
            Clearing::ResetBreaker,
            Clearing::WatchdogBeat,
            Clearing::StateLoaded,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Clearing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason trading is restricted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Why.
    pub cause: HoldCause,
    /// REDUCING or HALTED.
    pub level: TradingState,
    /// Market time it started.
    pub since: NaiveDateTime,
    /// The one event that clears it.
    pub clears_on: Clearing,
    /// key=value context (e.g. `day_pnl=-1200.00 limit=1000.00`).
    pub detail: String,
}

impl Hold {
    /// A hold of `cause` from `since`; level and clearing event follow from the cause.
    pub fn new(cause: HoldCause, detail: impl Into<String>, since: NaiveDateTime) -> Hold {
        Hold {
            cause,
            level: cause.level(),
            since,
            clears_on: cause.clears_on(),
            detail: detail.into(),
        }
    }

    /// `CAUSE: detail`, the text a denial carries.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.cause, self.detail)
    }
}

/// An event applied to the holds.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldEvent {
    /// Places a hold (no-op when one of that cause is already there: its start is kept).
    Place(Hold),
    /// A trading session starts.
    Session {
        /// Its date.
        date: NaiveDate,
    },
    /// `reset-breaker`, with the operator's reason.
    ResetBreaker {
        /// Why it is safe to trade again.
        reason: String,
    },
    /// The watchdog acknowledged a heartbeat.
    WatchdogBeat,
    /// The gate's state loaded from the store.
    StateLoaded,
}

impl HoldEvent {
    /// What the event says, for the record.
    pub fn describe(&self) -> String {
        match self {
            HoldEvent::Place(h) => h.reason(),
            HoldEvent::Session { date } => format!("new trading day {date}"),
            HoldEvent::ResetBreaker { reason } => format!("breaker reset: {reason}"),
            HoldEvent::WatchdogBeat => "watchdog answers again".into(),
            HoldEvent::StateLoaded => "state loaded".into(),
        }
    }
}

/// The current holds, one per cause.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds(BTreeMap<HoldCause, Hold>);

impl Holds {
    /// Holds from a list (a later hold of the same cause replaces an earlier one).
    pub fn from_list(list: impl IntoIterator<Item = Hold>) -> Holds {
        Holds(list.into_iter().map(|h| (h.cause, h)).collect())
    }

    /// The trading state: the strictest hold's level, ACTIVE when there is none.
    pub fn state(&self) -> TradingState {
        self.0
            .values()
            .map(|h| h.level)
            .max_by_key(|s| s.severity())
            .unwrap_or(TradingState::Active)
    }

    /// The hold that sets the state: the strictest, the earliest of those.
    pub fn governing(&self) -> Option<&Hold> {
        let state = self.state();
        self.0
            .values()
            .filter(|h| h.level == state)
            .min_by_key(|h| h.since)
    }

    /// Why the state is what it is (every hold, strictest first).
    pub fn reason(&self) -> String {
        let mut list: Vec<&Hold> = self.0.values().collect();
        list.sort_by_key(|h| (std::cmp::Reverse(h.level.severity()), h.since));
        if list.is_empty() {
            return "no holds".into();
        }
        list.iter()
            .map(|h| h.reason())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Whether a hold of `cause` is there.
    pub fn has(&self, cause: HoldCause) -> bool {
        self.0.contains_key(&cause)
    }

    /// Every hold, by cause.
    pub fn list(&self) -> Vec<Hold> {
        self.0.values().cloned().collect()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What one event did.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldsUpdate {
    /// The trading state before.
    pub prev: TradingState,
    /// The trading state after.
    pub current: TradingState,
    /// Holds the event placed.
    pub placed: Vec<Hold>,
    /// Holds the event cleared.
    pub cleared: Vec<Hold>,
}

impl HoldsUpdate {
    /// Whether the holds changed.
    pub fn changed(&self) -> bool {
        !self.placed.is_empty() || !self.cleared.is_empty()
    }
}

/// The transition: applies `event` to `holds`. A hold is placed once (its start kept) and
/// only its own clearing event removes it; nothing else loosens the state.
pub fn apply(holds: &mut Holds, event: &HoldEvent) -> HoldsUpdate {
    let prev = holds.state();
    let mut placed = Vec::new();
    let mut cleared = Vec::new();
    let mut clear_where = |holds: &mut Holds, keep: &dyn Fn(&Hold) -> bool| {
        let gone: Vec<HoldCause> = holds
            .0
            .values()
            .filter(|h| !keep(h))
            .map(|h| h.cause)
            .collect();
        for c in gone {
            if let Some(h) = holds.0.remove(&c) {
                cleared.push(h);
            }
        }
    };
    match event {
        HoldEvent::Place(h) => {
            if !holds.0.contains_key(&h.cause) {
                let h = Hold::new(h.cause, h.detail.clone(), h.since);
                holds.0.insert(h.cause, h.clone());
                placed.push(h);
            }
        }
        HoldEvent::Session { date } => clear_where(holds, &|h| {
            !(h.clears_on == Clearing::NextSession && h.since.date() < *date)
        }),
        HoldEvent::ResetBreaker { .. } => {
            clear_where(holds, &|h| h.clears_on != Clearing::ResetBreaker)
        }
        HoldEvent::WatchdogBeat => clear_where(holds, &|h| h.clears_on != Clearing::WatchdogBeat),
        HoldEvent::StateLoaded => clear_where(holds, &|h| h.clears_on != Clearing::StateLoaded),
    }
    HoldsUpdate {
        prev,
        current: holds.state(),
        placed,
        cleared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 4, day)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .expect("time")
    }

    fn place(cause: HoldCause, day: u32) -> HoldEvent {
        HoldEvent::Place(Hold::new(cause, "x=1", at(day, 10)))
    }

    fn reset() -> HoldEvent {
        HoldEvent::ResetBreaker {
            reason: "reviewed".into(),
        }
    }

    /// (events applied in order, the causes left, the state).
    #[test]
    fn item12_each_hold_is_cleared_only_by_its_own_event() {
        use HoldCause::*;
        use TradingState::*;
        let session = |day| HoldEvent::Session {
            date: NaiveDate::from_ymd_opt(2026, 4, day).expect("date"),
        };
        let cases: Vec<(&str, Vec<HoldEvent>, Vec<HoldCause>, TradingState)> = vec![
            ("none", vec![], vec![], Active),
            (
                "daily loss ends with the next session",
                vec![place(DailyLossLimit, 1), session(1), session(2)],
                vec![],
                Active,
            ),
            (
                "a daily loss the same day survives that day's session event",
                vec![place(DailyLossLimit, 2), session(2)],
                vec![DailyLossLimit],
                Reducing,
            ),
            (
                "the loss streak outlives the day; only reset-breaker ends it",
                vec![
                    place(DailyLossLimit, 1),
                    place(ConsecutiveLosses, 1),
                    session(2),
                    HoldEvent::WatchdogBeat,
                ],
                vec![ConsecutiveLosses],
                Reducing,
            ),
            (
                "a good beat clears only WATCHDOG_LOST",
                vec![
                    place(ConsecutiveLosses, 1),
                    place(WatchdogLost, 1),
                    HoldEvent::WatchdogBeat,
                ],
                vec![ConsecutiveLosses],
                Reducing,
            ),
            (
                "HALTED over REDUCING, and a reset leaves the watchdog's hold",
                vec![place(WatchdogLost, 1), place(KillSwitch, 1), reset()],
                vec![WatchdogLost],
                Reducing,
            ),
            (
                "reset-breaker does not end the day's loss",
                vec![place(DailyLossLimit, 3), place(CircuitBreaker, 3), reset()],
                vec![DailyLossLimit],
                Reducing,
            ),
            (
                "several breakers stay separate and one reset clears all",
                vec![place(WatchdogAlert, 1), place(SupervisionEscalated, 1)],
                vec![WatchdogAlert, SupervisionEscalated],
                Halted,
            ),
            (
                "a failed state load clears on a good load, not by a reset",
                vec![place(StateUnavailable, 1), reset(), HoldEvent::StateLoaded],
                vec![],
                Active,
            ),
        ];
        for (name, events, left, state) in cases {
            let mut holds = Holds::default();
            for e in &events {
                apply(&mut holds, e);
            }
            let causes: Vec<HoldCause> = holds.list().iter().map(|h| h.cause).collect();
            let mut want = left.clone();
            want.sort();
            assert_eq!(causes, want, "{name}");
            assert_eq!(holds.state(), state, "{name}");
        }
    }

    #[test]
    fn item12_a_second_cause_is_kept_beside_the_first_and_a_hold_keeps_its_start() {
        let mut holds = Holds::default();
        let u = apply(&mut holds, &place(HoldCause::DailyLossLimit, 1));
        assert_eq!(
            (u.prev, u.current),
            (TradingState::Active, TradingState::Reducing)
        );
        assert_eq!(u.placed.len(), 1);
        let u = apply(&mut holds, &place(HoldCause::ConsecutiveLosses, 1));
        assert_eq!(
            (u.prev, u.current),
            (TradingState::Reducing, TradingState::Reducing)
        );
        assert!(u.changed(), "a second cause is recorded, not dropped");
        assert!(holds.reason().contains("DAILY_LOSS_LIMIT: x=1"));
        assert!(holds.reason().contains("CONSECUTIVE_LOSSES: x=1"));
        // Placed again later: the start stays.
        let u = apply(
            &mut holds,
            &HoldEvent::Place(Hold::new(HoldCause::DailyLossLimit, "x=2", at(5, 9))),
        );
        assert!(!u.changed());
        let daily = holds
            .list()
            .into_iter()
            .find(|h| h.cause == HoldCause::DailyLossLimit)
            .expect("daily");
        assert_eq!(daily.since, at(1, 10));
        assert_eq!(daily.clears_on, Clearing::NextSession);
        let u = apply(&mut holds, &reset());
        assert_eq!(u.cleared.len(), 1);
        assert_eq!(u.cleared[0].cause, HoldCause::ConsecutiveLosses);
    }

    #[test]
    fn codes_round_trip() {
        for (cause, code, _, clearing) in CAUSES {
            assert_eq!(HoldCause::parse(code), Some(cause));
            assert_eq!(cause.as_str(), code);
            assert_eq!(Clearing::parse(clearing.as_str()), Some(clearing));
        }
        assert_eq!(
            HoldCause::of_reason("WATCHDOG_LOST: no watchdog answers"),
            Some(HoldCause::WatchdogLost)
        );
        assert_eq!(HoldCause::of_reason("restored"), None);
    }
}
