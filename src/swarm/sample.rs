//! A small, fixed, deterministic market snapshot for `alphahive check` and examples.
//!
//! Prices are Black–Scholes with a mild put skew; per-symbol figures (spot, IV, IV rank,
//! trend) are derived from a hash of the symbol, so any symbol can be included and the same
//! symbol always gets the same data.

use crate::domain::Right;
use crate::market::{ExpirySlice, MarketSnapshot, OptionQuote, UnderlyingSnapshot};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use std::collections::BTreeMap;

/// Symbols always present in [`sample_snapshot`].
pub const SAMPLE_SYMBOLS: [&str; 2] = ["SPY", "NVDA"];

/// Days to expiry of the sample chain's expiries (Fridays from Monday 2026-03-02).
const SAMPLE_DTES: [i64; 3] = [18, 39, 46];

const RATE: f64 = crate::market::synthetic::DEFAULT_RATE;

/// The sample snapshot at 2026-03-02 10:00 with [`SAMPLE_SYMBOLS`] plus every symbol in
/// `symbols`.
pub fn sample_snapshot(symbols: &[String]) -> MarketSnapshot {
    let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
    let ts = NaiveDateTime::new(date, NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default());
    let mut underlyings = BTreeMap::new();
    let all = SAMPLE_SYMBOLS
        .iter()
        .map(|s| s.to_string())
        .chain(symbols.iter().cloned());
    for symbol in all {
        let u = sample_underlying(&symbol, date);
        underlyings.entry(symbol).or_insert(u);
    }
    MarketSnapshot {
        ts,
        rate: RATE,
        underlyings,
    }
}

/// FNV-1a, for stable per-symbol variety.
fn fnv(symbol: &str) -> u64 {
    symbol.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn sample_underlying(symbol: &str, date: NaiveDate) -> UnderlyingSnapshot {
    let h = fnv(symbol);
    let pick = |shift: u32, n: u64| ((h >> shift) % n) as f64;
    let spot = 30.0 + pick(0, 470) + pick(12, 4) * 0.25;
    let atm_iv = 0.20 + pick(20, 40) / 100.0;
    let iv_rank = 50.0 + pick(28, 50);
    let bullish = (h >> 36).is_multiple_of(2);
    let sma20 = if bullish { spot * 0.96 } else { spot * 1.04 };
    let rsi14 = if bullish { 58.0 } else { 42.0 };
    let earnings_date = (h >> 40)
        .is_multiple_of(3)
        .then(|| date + Duration::days(60));
    let step = match spot {
        s if s < 25.0 => 1.0,
        s if s < 100.0 => 2.5,
        s if s < 500.0 => 5.0,
        _ => 10.0,
    };
    let chain = SAMPLE_DTES
        .iter()
        .map(|&dte| ExpirySlice {
            expiry: date + Duration::days(dte),
            dte,
            quotes: chain_quotes(spot, atm_iv, step, dte as f64 / 365.0),
        })
        .collect();
    UnderlyingSnapshot {
        symbol: symbol.to_string(),
        spot,
        atm_iv,
        iv_rank,
        sma20,
        rsi14,
        realized_vol: 0.3,
        earnings_date,
        dividend_yield: 0.0,
        chain,
    }
}

fn chain_quotes(spot: f64, atm_iv: f64, step: f64, t: f64) -> Vec<OptionQuote> {
    let lo = (spot * 0.7 / step).ceil() as i64;
    let hi = (spot * 1.3 / step).floor() as i64;
    let mut out = Vec::new();
    for i in lo..=hi {
        let strike = i as f64 * step;
        let iv = (atm_iv * (1.0 - 0.5 * (strike / spot).ln())).max(0.05);
        for right in [Right::Call, Right::Put] {
            let (price, delta) = black_scholes(right, spot, strike, t, iv);
            let mid = cents(price.max(0.01));
            let half = cents((mid * 0.02).max(0.01));
            out.push(OptionQuote {
                strike,
                right,
                bid: cents((mid - half).max(0.0)),
                ask: cents(mid + half),
                mid,
                iv,
                delta,
            });
        }
    }
    out
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Price and delta of a European option without dividends.
fn black_scholes(right: Right, s: f64, k: f64, t: f64, sigma: f64) -> (f64, f64) {
    let sd = sigma * t.sqrt();
    let d1 = ((s / k).ln() + (RATE + sigma * sigma / 2.0) * t) / sd;
    let d2 = d1 - sd;
    let df = (-RATE * t).exp();
    match right {
        Right::Call => (s * norm_cdf(d1) - k * df * norm_cdf(d2), norm_cdf(d1)),
        Right::Put => (
            k * df * norm_cdf(-d2) - s * norm_cdf(-d1),
            norm_cdf(d1) - 1.0,
        ),
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7).
fn norm_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_requested_symbols_deterministically() {
        let a = sample_snapshot(&["JPM".into(), "SPY".into()]);
        let b = sample_snapshot(&["JPM".into()]);
        assert_eq!(a, b);
        let symbols: Vec<_> = a.underlyings.keys().cloned().collect();
        assert_eq!(symbols, ["JPM", "NVDA", "SPY"]);
    }

    #[test]
    fn quotes_are_sane() {
        let snap = sample_snapshot(&[]);
        for u in snap.underlyings.values() {
            assert!(u.spot > 0.0 && (0.0..=100.0).contains(&u.iv_rank));
            for slice in &u.chain {
                for q in &slice.quotes {
                    assert!(q.bid <= q.mid && q.mid <= q.ask && q.bid >= 0.0, "{q:?}");
                    assert!(q.delta.abs() <= 1.0);
                }
            }
        }
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((norm_cdf(1.96) - 0.975).abs() < 1e-3);
    }
}
