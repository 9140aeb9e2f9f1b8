//! Inside a session: the spot at a minute, read off a Brownian bridge from the day's open to
//! its close (5-minute marks, linear in between), and the instantaneous vol, interpolated
//! log-linearly from the previous close to today's.

use super::calendar::SESSION_MINUTES;
use super::path::{DayState, OVERNIGHT_SHARE, TRADING_DAYS_PER_YEAR};
use super::rng::{hash_parts, Rng, SALT_BRIDGE};
use super::symbol::SymbolSim;

/// Brownian-bridge marks per session (every 5 minutes).
const BRIDGE_STEPS: usize = 78;
const BRIDGE_STEP_MINUTES: i64 = 5;

/// The last day's bridge of one symbol (log prices at each 5-minute mark), kept so a session's
/// cycles build it once.
pub(super) struct Bridge {
    day: usize,
    points: [f64; BRIDGE_STEPS + 1],
}

impl Bridge {
    /// A bridge for no day yet.
    pub(super) fn empty() -> Bridge {
        Bridge {
            day: usize::MAX,
            points: [0.0; BRIDGE_STEPS + 1],
        }
    }

    /// Fills the marks with day `day`'s path from `state`'s log open to its log close.
    fn build(&mut self, key: u64, day: usize, state: &DayState) {
        let mut rng = Rng::new(hash_parts(&[key, SALT_BRIDGE, day as u64]));
        let step_sd = state.sigma
            * ((1.0 - OVERNIGHT_SHARE) / TRADING_DAYS_PER_YEAR / BRIDGE_STEPS as f64).sqrt();
        let mut walk = 0.0;
        self.points[0] = 0.0;
        for k in 1..=BRIDGE_STEPS {
            walk += step_sd * rng.normal();
            self.points[k] = walk;
        }
        let end = self.points[BRIDGE_STEPS];
        let n = BRIDGE_STEPS as f64;
        for (k, point) in self.points.iter_mut().enumerate() {
            let f = k as f64 / n;
            *point = state.log_open + f * (state.log_close - state.log_open) + (*point - f * end);
        }
        self.day = day;
    }
}

impl SymbolSim {
    /// Raw log price at `minute` of session `day`: the day's Brownian bridge, linearly
    /// interpolated between 5-minute marks.
    pub(super) fn intraday_log_price(&mut self, day: usize, minute: i64) -> f64 {
        let state = self.days[day];
        if minute <= 0 {
            return state.log_open;
        }
        if minute >= SESSION_MINUTES {
            return state.log_close;
        }
        if self.bridge.day != day {
            self.bridge.build(self.key, day, &state);
        }
        let mark = (minute / BRIDGE_STEP_MINUTES) as usize;
        let within = (minute % BRIDGE_STEP_MINUTES) as f64 / BRIDGE_STEP_MINUTES as f64;
        let a = self.bridge.points[mark];
        let b = self.bridge.points[(mark + 1).min(BRIDGE_STEPS)];
        a + (b - a) * within
    }
}

/// Instantaneous vol at `minute` into the session between the previous close and `today`'s.
pub(super) fn intraday_vol(prev: &DayState, today: &DayState, minute: i64) -> f64 {
    if minute >= SESSION_MINUTES {
        today.vol
    } else {
        let f = minute as f64 / SESSION_MINUTES as f64;
        (prev.vol.ln() * (1.0 - f) + today.vol.ln() * f).exp()
    }
}
