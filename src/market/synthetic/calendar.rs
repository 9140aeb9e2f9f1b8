//! The synthetic market's trading calendar: trading days numbered from [`EPOCH`] (weekdays,
//! no holidays), a timestamp's place in its session, and the expiries listed on a date.

use crate::clock::{const_date, SESSION_OPEN};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

/// First simulated trading day (a Monday). Day index 0.
pub const EPOCH: NaiveDate = const_date(2000, 1, 3);
/// The date on whose close every symbol trades exactly at its reference price level.
pub const REF_DATE: NaiveDate = const_date(2026, 1, 2);
/// Last date this source serves; later requests return [`super::MarketError::NoData`].
pub const LAST_DATE: NaiveDate = const_date(2100, 12, 31);

/// Minutes from the session open to the close (09:30–16:00).
pub(super) const SESSION_MINUTES: i64 = 390;
/// Option expiries listed: DTE window in calendar days.
pub(super) const MIN_DTE: i64 = 7;
pub(super) const MAX_DTE: i64 = 60;

/// `ts` with its seconds (and fractions) dropped.
pub(super) fn truncate_to_minute(ts: NaiveDateTime) -> NaiveDateTime {
    let time = ts.time();
    let minute = NaiveTime::from_hms_opt(time.hour(), time.minute(), 0).unwrap_or(time);
    ts.date().and_time(minute)
}

/// The trading day (index from [`EPOCH`]) whose state applies at `at`, and the minute into that
/// session (0..=390; 390 = the close). `None` before the first session.
pub(super) fn session_position(at: NaiveDateTime) -> Option<(usize, i64)> {
    let days = (at.date() - EPOCH).num_days();
    if days < 0 {
        return None;
    }
    let (weeks, weekday) = (days / 7, days % 7);
    let base = usize::try_from(weeks * 5).ok()?;
    if weekday >= 5 {
        return Some((base + 4, SESSION_MINUTES));
    }
    let day = base + weekday as usize;
    let time = at.time();
    if time < SESSION_OPEN {
        return day.checked_sub(1).map(|prev| (prev, SESSION_MINUTES));
    }
    let minute = (time - SESSION_OPEN).num_minutes().min(SESSION_MINUTES);
    Some((day, minute))
}

/// The date of trading day `index`.
pub(super) fn day_date(index: usize) -> NaiveDate {
    let (weeks, weekday) = (index / 5, index % 5);
    EPOCH + Duration::days((weeks * 7 + weekday) as i64)
}

/// Trading-day index of a weekday date on or after [`EPOCH`].
pub(super) fn day_index(date: NaiveDate) -> usize {
    let days = (date - EPOCH).num_days().max(0) as usize;
    days / 7 * 5 + (days % 7).min(4)
}

/// Expiries listed on `date`: every Friday 7–60 calendar days out plus third-Friday monthlies
/// in that window (which are Fridays too; merged and deduplicated), ascending.
pub(super) fn listed_expiries(date: NaiveDate) -> Vec<NaiveDate> {
    let first = date + Duration::days(MIN_DTE);
    let last = date + Duration::days(MAX_DTE);
    let to_friday = (Weekday::Fri.num_days_from_monday() as i64
        - first.weekday().num_days_from_monday() as i64)
        .rem_euclid(7);
    let mut expiries: Vec<NaiveDate> = Vec::with_capacity(10);
    let mut friday = first + Duration::days(to_friday);
    while friday <= last {
        expiries.push(friday);
        friday += Duration::days(7);
    }
    let mut month = first.with_day(1);
    while let Some(start) = month {
        if start > last {
            break;
        }
        if let Some(third) =
            NaiveDate::from_weekday_of_month_opt(start.year(), start.month(), Weekday::Fri, 3)
        {
            if third >= first && third <= last {
                expiries.push(third);
            }
        }
        month = start.checked_add_months(chrono::Months::new(1));
    }
    expiries.sort_unstable();
    expiries.dedup();
    expiries
}

#[cfg(test)]
mod tests {
    use super::super::test_support::at;
    use super::*;
    use crate::clock::SESSION_CLOSE;

    #[test]
    fn session_minutes_match_the_clock_session() {
        assert_eq!(
            (SESSION_CLOSE - SESSION_OPEN).num_minutes(),
            SESSION_MINUTES
        );
    }

    #[test]
    fn day_index_and_date_round_trip_over_weekdays_only() {
        for index in [0usize, 1, 4, 5, 6_789] {
            assert_eq!(day_index(day_date(index)), index);
            assert!(day_date(index).weekday().num_days_from_monday() < 5);
        }
        // Monday 2000-01-10 is the sixth trading day.
        assert_eq!(day_index(const_date(2000, 1, 10)), 5);
    }

    #[test]
    fn outside_a_session_the_previous_close_applies() {
        // Saturday and Monday 08:00 both read Friday's close (day 4, minute 390).
        assert_eq!(session_position(at(2000, 1, 8, 12, 0)), Some((4, 390)));
        assert_eq!(session_position(at(2000, 1, 10, 8, 0)), Some((4, 390)));
        assert_eq!(session_position(at(2000, 1, 10, 9, 45)), Some((5, 15)));
        assert_eq!(session_position(at(2000, 1, 10, 17, 0)), Some((5, 390)));
        assert_eq!(session_position(at(1999, 12, 31, 10, 0)), None);
    }

    #[test]
    fn listed_expiries_are_fridays_within_the_window() {
        let date = const_date(2026, 3, 2);
        let expiries = listed_expiries(date);
        assert_eq!(expiries.first(), Some(&const_date(2026, 3, 13)));
        assert_eq!(expiries.last(), Some(&const_date(2026, 5, 1)));
        assert_eq!(expiries.len(), 8);
        assert!(expiries.contains(&const_date(2026, 3, 20)), "third Friday");
    }
}
