//! Market clocks: the simulated session calendar (09:30–16:00, weekdays) and wall time.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// Session open, 09:30 market time.
pub const SESSION_OPEN: NaiveTime = const_time(9, 30);
/// Session close, 16:00 market time (what an expiring option settles against).
pub const SESSION_CLOSE: NaiveTime = const_time(16, 0);

/// A time of day known at compile time (a bad constant fails the build).
pub const fn const_time(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

/// A date known at compile time (a bad constant fails the build).
pub const fn const_date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid constant date"),
    }
}

/// Session open.
pub fn open() -> NaiveTime {
    SESSION_OPEN
}

/// Session close.
pub fn close() -> NaiveTime {
    SESSION_CLOSE
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first session day on or after `d`.
pub fn session_day_on_or_after(mut d: NaiveDate) -> NaiveDate {
    while !is_weekday(d) {
        d = d.succ_opt().unwrap_or(d);
    }
    d
}

/// Simulated market time: cycle stamps every `interval` from the open, never at or after the
/// close, rolling over to the next weekday's open.
#[derive(Debug, Clone)]
pub struct SimClock {
    next: NaiveDateTime,
    interval: Duration,
}

impl SimClock {
    /// Starts at the later of `start`'s session open and the cycle just after `last` (a
    /// previous run's last cycle): a second run continues the calendar, and a `start` later
    /// than the recorded cycles skips ahead to it.
    pub fn new(start: NaiveDate, last: Option<NaiveDateTime>, interval_s: f64) -> SimClock {
        let interval = Duration::milliseconds((interval_s * 1000.0).round().max(1.0) as i64);
        let first = session_day_on_or_after(start).and_time(open());
        let mut clock = SimClock {
            next: first,
            interval,
        };
        if let Some(last) = last {
            clock.next = last.max(first - interval);
            clock.advance();
        }
        clock
    }

    fn advance(&mut self) {
        let candidate = self.next + self.interval;
        if candidate.time() < close() && candidate.time() >= open() {
            self.next = candidate;
        } else {
            let day =
                session_day_on_or_after(self.next.date().succ_opt().unwrap_or(self.next.date()));
            self.next = day.and_time(open());
        }
    }

    /// The next cycle's market time.
    pub fn tick(&mut self) -> NaiveDateTime {
        let now = self.next;
        self.advance();
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_has_78_five_minute_cycles_then_rolls_to_monday() {
        let friday = NaiveDate::from_ymd_opt(2026, 3, 6).expect("date");
        let mut c = SimClock::new(friday, None, 300.0);
        let stamps: Vec<_> = (0..79).map(|_| c.tick()).collect();
        assert_eq!(stamps[0], friday.and_hms_opt(9, 30, 0).expect("t"));
        assert_eq!(stamps[77], friday.and_hms_opt(15, 55, 0).expect("t"));
        let monday = NaiveDate::from_ymd_opt(2026, 3, 9).expect("date");
        assert_eq!(stamps[78], monday.and_hms_opt(9, 30, 0).expect("t"));
    }

    #[test]
    fn resumes_after_the_last_recorded_cycle() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let last = day.and_hms_opt(15, 55, 0).expect("t");
        let mut c = SimClock::new(day, Some(last), 300.0);
        assert_eq!(
            c.tick(),
            NaiveDate::from_ymd_opt(2026, 3, 3)
                .expect("d")
                .and_hms_opt(9, 30, 0)
                .expect("t")
        );
    }

    #[test]
    fn a_later_start_skips_ahead_of_the_last_recorded_cycle() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let last = day.and_hms_opt(11, 0, 0).expect("t");
        let later = NaiveDate::from_ymd_opt(2026, 5, 18).expect("date");
        let mut c = SimClock::new(later, Some(last), 300.0);
        assert_eq!(c.tick(), later.and_hms_opt(9, 30, 0).expect("t"));
        assert_eq!(c.tick(), later.and_hms_opt(9, 35, 0).expect("t"));
        // An earlier start never moves the clock back.
        let mut c = SimClock::new(day, Some(last), 300.0);
        assert_eq!(c.tick(), day.and_hms_opt(11, 5, 0).expect("t"));
    }
}
