//! Helpers shared by the synthetic market's unit tests.

use super::SyntheticMarket;
use crate::market::{MarketData, MarketSnapshot};
use chrono::{NaiveDate, NaiveDateTime};

/// Owned symbol names.
pub(super) fn symbols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The default config's six symbols.
pub(super) fn default_symbols() -> Vec<String> {
    symbols(&["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"])
}

/// A market timestamp.
pub(super) fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, min, 0))
        .expect("valid test timestamp")
}

/// The snapshot at `ts`, which must be in range.
pub(super) fn snap(market: &mut SyntheticMarket, ts: NaiveDateTime) -> MarketSnapshot {
    market.snapshot(ts).expect("snapshot in range")
}
