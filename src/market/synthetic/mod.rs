//! Synthetic market: a deterministic, seedable option market for paper trading.
//!
//! Every number this source produces is a pure function of `(seed, symbol, ts)` (and the
//! configured rate, which only affects option pricing). Nothing depends on which timestamps
//! were requested before, or in which order.
//!
//! # Model
//!
//! * **Calendar.** Trading days are weekdays (no holidays). A session runs 09:30–16:00 market
//!   time. Each symbol's daily state is produced by stepping day by day from a fixed epoch
//!   ([`EPOCH`], a Monday in 2000); the per-day random numbers come from a counter-based stream
//!   keyed by `(seed, symbol, day)`, so the path is fixed forever for a seed. Computed days are
//!   cached; stepping costs roughly 0.5 µs per symbol-day (a few ms per symbol for the
//!   26 years up to [`REF_DATE`], paid in [`SyntheticMarket::new`]).
//! * **Volatility.** Each symbol has an instantaneous vol
//!   `v = base_vol · exp(A·tanh((level + x)/A))`, `A = 0.35`: `level` chases the target of a
//!   calm / normal / stressed Markov regime (mean stays of 10 / 5 / 7 trading days; up fast,
//!   down a little slower) and `x` is an Ornstein–Uhlenbeck noise term negatively correlated
//!   with returns (leverage effect). The soft bound keeps a year's extremes close to the
//!   typical calm and stressed levels, so IV rank swings through both ends every few weeks
//!   instead of being pinned by one outlier. The 30-day ATM IV adds a term structure that
//!   mean-reverts from `v` to `base_vol`, plus an earnings event variance while an earnings
//!   date lies inside the window (crushed the day it passes).
//! * **Price.** Overnight gap plus session move, GBM driven by `0.9 · v` of the previous close,
//!   with a market-wide factor shared by all symbols of a seed and an earnings jump at the open
//!   of earnings days. The raw path is scaled so each symbol trades at its reference level on
//!   [`REF_DATE`] (e.g. NVDA ≈ 180 at the start of 2026).
//! * **Intraday.** The spot at a minute is read off a Brownian bridge from the day's open to
//!   its close, sampled at 5-minute marks and interpolated linearly in between; the
//!   instantaneous vol is interpolated log-linearly from the previous close to today's close.
//! * **Chain.** Fridays 7–60 calendar days out (third-Friday monthlies included), strikes
//!   within ±25 % of spot on the listed-strike grid, both rights, Black–Scholes priced off
//!   `iv = atm(T) · (1 + skew·ln(K/F) + smile·ln(K/F)²)`.
//!
//! Intraday, `sma20`, `rsi14` and `iv_rank` treat the current spot / ATM IV as today's
//! provisional close; at 16:00 they equal the end-of-day values.
//!
//! # Timestamps outside a session
//!
//! `ts` is truncated to the minute. Before 09:30 on a trading day, on weekends, and after 16:00
//! the underlying state (spot, vol, indicators) is the close of the most recent session at or
//! before `ts`; the option chain is still priced at `ts` (expiries and time to expiry are
//! measured from `ts`). Requests before the first day with a full year of history (early
//! 2001) or after [`LAST_DATE`] return [`MarketError::NoData`].
//!
//! # Where things live
//!
//! `calendar` trading days, session position, listed expiries · `rng` seeded streams ·
//! `profile` per-symbol parameters and earnings dates · `regime` the vol process · `path` the
//! daily step · `intraday` the bridge and intraday vol · `indicators` IV rank, SMA, RSI,
//! realized vol · `chain` strikes, smile and quotes · `symbol` one symbol's state and snapshot.

mod calendar;
mod chain;
mod indicators;
mod intraday;
mod path;
mod profile;
mod regime;
mod rng;
mod symbol;
#[cfg(test)]
mod test_support;

pub use calendar::{EPOCH, LAST_DATE, REF_DATE};

use super::{MarketData, MarketError, MarketSnapshot};
use calendar::{listed_expiries, session_position, truncate_to_minute};
use chrono::NaiveDateTime;
use indicators::IV_RANK_WINDOW;
use rng::{hash_parts, SALT_MARKET};
use std::collections::BTreeMap;
use symbol::SymbolSim;

/// First day index served: a full IV-rank window of history behind it.
const FIRST_SERVED_INDEX: usize = IV_RANK_WINDOW;

/// The continuous risk-free rate the runtime's synthetic market prices at (the Commander's
/// source, the Broker's settlement source and replay must all agree on it).
pub const DEFAULT_RATE: f64 = 0.04;

/// A deterministic synthetic option market over a fixed list of symbols.
///
/// Construct with [`SyntheticMarket::new`]; read through [`MarketData::snapshot`].
pub struct SyntheticMarket {
    rate: f64,
    market_key: u64,
    symbols: Vec<SymbolSim>,
}

impl SyntheticMarket {
    /// A market over `symbols` (duplicates ignored) driven by `seed`, pricing options at the
    /// continuous risk-free `rate` (e.g. 0.04).
    ///
    /// Each symbol's parameters and path depend only on `seed` and its own name, so adding a
    /// symbol never changes another one. Construction simulates every symbol up to
    /// [`REF_DATE`] (~4 ms per symbol in a release build).
    pub fn new(symbols: &[String], seed: u64, rate: f64) -> SyntheticMarket {
        let market_key = hash_parts(&[seed, SALT_MARKET]);
        let mut sims: Vec<SymbolSim> = Vec::with_capacity(symbols.len());
        for name in symbols {
            if sims.iter().all(|s| &s.name != name) {
                sims.push(SymbolSim::new(name, seed, market_key));
            }
        }
        SyntheticMarket {
            rate,
            market_key,
            symbols: sims,
        }
    }
}

impl MarketData for SyntheticMarket {
    fn snapshot(&mut self, ts: NaiveDateTime) -> Result<MarketSnapshot, MarketError> {
        let at = truncate_to_minute(ts);
        let date = at.date();
        if date > LAST_DATE {
            return Err(MarketError::NoData(ts));
        }
        let (day, minute) = session_position(at).ok_or(MarketError::NoData(ts))?;
        if day < FIRST_SERVED_INDEX {
            return Err(MarketError::NoData(ts));
        }
        let expiries = listed_expiries(date);
        let mut underlyings = BTreeMap::new();
        for sim in &mut self.symbols {
            sim.ensure_day(day, self.market_key);
            let snap = sim.underlying(day, minute, at, &expiries, self.rate);
            underlyings.insert(sim.name.clone(), snap);
        }
        Ok(MarketSnapshot {
            ts,
            rate: self.rate,
            underlyings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::calendar::{day_date, day_index, SESSION_MINUTES};
    use super::test_support::{at, default_symbols, snap, symbols};
    use super::*;
    use crate::clock::{const_date, SESSION_CLOSE};
    use chrono::{Duration, NaiveDate};
    use std::time::Instant;

    /// `n` trading days starting at `start` (a weekday).
    fn trading_days(start: NaiveDate, n: usize) -> Vec<NaiveDate> {
        let first = day_index(start);
        (first..first + n).map(day_date).collect()
    }

    #[test]
    fn same_seed_same_snapshot_in_any_order() {
        let times = [
            at(2026, 3, 2, 9, 30),
            at(2026, 3, 2, 11, 17),
            at(2026, 4, 15, 15, 55),
            at(2026, 3, 7, 12, 0), // Saturday
            at(2027, 1, 5, 10, 0),
        ];
        let mut forward = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        let mut backward = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        let a: Vec<_> = times.iter().map(|t| snap(&mut forward, *t)).collect();
        let mut b: Vec<_> = times
            .iter()
            .rev()
            .map(|t| snap(&mut backward, *t))
            .collect();
        b.reverse();
        assert_eq!(a, b);
        // Asking again (after other days were visited) gives the same answer.
        assert_eq!(snap(&mut forward, times[1]), a[1]);
    }

    #[test]
    fn different_seed_differs_and_symbols_are_independent() {
        let ts = at(2026, 3, 2, 10, 0);
        let a = snap(&mut SyntheticMarket::new(&default_symbols(), 42, 0.04), ts);
        let b = snap(&mut SyntheticMarket::new(&default_symbols(), 43, 0.04), ts);
        assert_ne!(a, b);
        for (name, u) in &a.underlyings {
            assert_ne!(u.spot, b.underlyings[name].spot, "{name}");
        }
        let mut alone = SyntheticMarket::new(&symbols(&["TSLA"]), 42, 0.04);
        assert_eq!(
            snap(&mut alone, ts).underlyings["TSLA"],
            a.underlyings["TSLA"]
        );
    }

    #[test]
    fn intraday_path_and_sessions() {
        let mut m = SyntheticMarket::new(&default_symbols(), 7, 0.04);
        let spot = |m: &mut SyntheticMarket, ts| snap(m, ts).underlyings["NVDA"].spot;
        let close = spot(&mut m, at(2026, 3, 6, 16, 0)); // Friday
        assert_eq!(spot(&mut m, at(2026, 3, 6, 20, 0)), close);
        assert_eq!(spot(&mut m, at(2026, 3, 7, 12, 0)), close);
        assert_eq!(spot(&mut m, at(2026, 3, 9, 8, 0)), close);
        let open = spot(&mut m, at(2026, 3, 9, 9, 30));
        assert_ne!(open, close, "the overnight gap moves the price");
        let with_seconds = NaiveDate::from_ymd_opt(2026, 3, 9)
            .and_then(|d| d.and_hms_milli_opt(10, 7, 45, 500))
            .expect("valid");
        assert_eq!(
            spot(&mut m, with_seconds),
            spot(&mut m, at(2026, 3, 9, 10, 7))
        );
        let path: Vec<f64> = (0..=SESSION_MINUTES)
            .map(|k| spot(&mut m, at(2026, 3, 9, 9, 30) + Duration::minutes(k)))
            .collect();
        assert!(path.windows(2).any(|w| w[0] != w[1]));
        let moves = path.windows(2).map(|w| (w[1] / w[0]).ln().abs());
        assert!(
            moves.fold(0.0, f64::max) < 0.02,
            "no jumps inside a session"
        );
    }

    #[test]
    fn reference_levels_and_out_of_range() {
        let mut m = SyntheticMarket::new(&symbols(&["NVDA", "GS", "SPY", "ZZZQ"]), 42, 0.04);
        let s = snap(&mut m, REF_DATE.and_time(SESSION_CLOSE));
        assert!((s.underlyings["NVDA"].spot - 180.0).abs() < 1e-6);
        assert!((s.underlyings["GS"].spot - 550.0).abs() < 1e-6);
        let other = s.underlyings["ZZZQ"].spot;
        assert!((20.0..=300.0).contains(&other), "{other}");
        assert_eq!(s.underlyings["SPY"].earnings_date, None);
        let earnings = s.underlyings["NVDA"].earnings_date.expect("stocks report");
        assert!((0..=95).contains(&(earnings - REF_DATE).num_days()));
        assert!(matches!(
            m.snapshot(at(2000, 6, 1, 10, 0)),
            Err(MarketError::NoData(_))
        ));
        assert!(matches!(
            m.snapshot(at(2101, 1, 3, 10, 0)),
            Err(MarketError::NoData(_))
        ));
        assert!(m.snapshot(at(2001, 6, 1, 10, 0)).is_ok());
    }

    #[test]
    fn indicators_stay_in_range() {
        let mut m = SyntheticMarket::new(&default_symbols(), 3, 0.04);
        for day in trading_days(const_date(2026, 1, 5), 60) {
            for (h, min) in [(9, 30), (12, 33), (16, 0)] {
                let s = snap(&mut m, day.and_hms_opt(h, min, 0).expect("valid"));
                for u in s.underlyings.values() {
                    assert!((0.0..=100.0).contains(&u.iv_rank), "{}", u.iv_rank);
                    assert!((0.0..=100.0).contains(&u.rsi14), "{}", u.rsi14);
                    assert!(u.atm_iv > 0.1 && u.atm_iv < 1.5, "{}", u.atm_iv);
                    assert!((u.sma20 / u.spot - 1.0).abs() < 0.5);
                }
            }
        }
    }

    /// Counts, over the first `n` of `ranks` (per day, per symbol), the days with some symbol
    /// at or above `level`.
    fn days_with_any(ranks: &[Vec<f64>], level: f64) -> usize {
        ranks
            .iter()
            .filter(|r| r.iter().any(|x| *x >= level))
            .count()
    }

    #[test]
    fn iv_rank_extremes_are_common() {
        let mut m = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        let days = trading_days(const_date(2026, 3, 2), 40);
        let ranks: Vec<Vec<f64>> = days
            .iter()
            .map(|d| {
                let s = snap(&mut m, d.and_time(SESSION_CLOSE));
                s.underlyings.values().map(|u| u.iv_rank).collect()
            })
            .collect();
        let first = snap(&mut m, at(2026, 3, 2, 9, 30));
        println!(
            "2026-03-02 09:30 ranks: {:?}",
            first
                .underlyings
                .values()
                .map(|u| u.iv_rank.round())
                .collect::<Vec<_>>()
        );
        assert!(first.underlyings.values().any(|u| u.iv_rank >= 80.0));
        assert!(ranks[0].iter().any(|x| *x >= 80.0));
        assert!(days_with_any(&ranks, 80.0) > 0);
        assert!(ranks.iter().any(|r| r.iter().any(|x| *x <= 20.0)));
        let hi80 = days_with_any(&ranks[..20], 80.0);
        let hi90 = days_with_any(&ranks[..20], 90.0);
        println!("first 20 days (closes): some symbol >=80 on {hi80}, >=90 on {hi90}");
        for (d, r) in days.iter().zip(&ranks) {
            println!("{d} {:?}", r.iter().map(|x| x.round()).collect::<Vec<_>>());
        }
    }

    /// Statistics across seeds (run with `--ignored --nocapture`).
    #[test]
    #[ignore]
    fn iv_rank_statistics_across_seeds() {
        let seeds = 0..100u64;
        let (mut hi80, mut win90, mut first80, mut both, mut n) = (0, 0, 0, 0, 0);
        for seed in seeds.clone() {
            let mut m = SyntheticMarket::new(&default_symbols(), seed, 0.04);
            let ranks: Vec<Vec<f64>> = trading_days(const_date(2026, 3, 2), 40)
                .iter()
                .map(|d| {
                    let s = snap(&mut m, d.and_time(SESSION_CLOSE));
                    s.underlyings.values().map(|u| u.iv_rank).collect()
                })
                .collect();
            hi80 += days_with_any(&ranks[..20], 80.0);
            win90 += (0..20)
                .filter(|&i| days_with_any(&ranks[i..i + 20], 90.0) > 0)
                .count();
            first80 += usize::from(ranks[0].iter().any(|x| *x >= 80.0));
            for s in 0..6 {
                let hi = ranks.iter().any(|r| r[s] >= 80.0);
                let lo = ranks.iter().any(|r| r[s] <= 20.0);
                both += usize::from(hi && lo);
                n += 1;
            }
        }
        let k = seeds.count() as f64;
        println!(
            "per seed, of the first 20 days: some symbol >=80 on {:.1}; a >=90 within the \
             trailing-20-day window on {:.1}; first day >=80 for {:.0}% of seeds; symbols with \
             both >=80 and <=20 within 40 days: {:.0}%",
            hi80 as f64 / k,
            win90 as f64 / k,
            first80 as f64 / k * 100.0,
            both as f64 / n as f64 * 100.0
        );
    }

    /// Rough timing (run with `cargo test --release -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn bench_snapshot() {
        let built = Instant::now();
        let mut m = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        println!("construction of 6 symbols: {:?}", built.elapsed());
        let start = at(2026, 3, 2, 9, 30);
        snap(&mut m, start);
        let n = 2000;
        let began = Instant::now();
        let mut quotes = 0;
        for k in 0..n {
            // One-minute cycles across ~5 sessions, including a new bridge each day.
            let ts = start + Duration::minutes(k);
            let s = snap(&mut m, ts);
            quotes += s
                .underlyings
                .values()
                .flat_map(|u| &u.chain)
                .map(|c| c.quotes.len())
                .sum::<usize>();
        }
        let per = began.elapsed().as_secs_f64() / n as f64;
        println!(
            "snapshot of 6 symbols: {:.1} µs ({} quotes on average)",
            per * 1e6,
            quotes / n as usize
        );
    }
}
