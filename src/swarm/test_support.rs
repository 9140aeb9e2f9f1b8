//! Hand-built market data and instances for unit tests.

use super::instance::Instance;
use crate::domain::Right;
use crate::market::{ExpirySlice, MarketSnapshot, OptionQuote, UnderlyingSnapshot};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::json;

/// Snapshot date used by every test snapshot.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date")
}

/// The snapshot's time, 2026-03-02 10:00.
pub fn ts() -> NaiveDateTime {
    today().and_hms_opt(10, 0, 0).expect("valid time")
}

/// `today() + days`.
pub fn in_days(days: i64) -> NaiveDate {
    today() + Duration::days(days)
}

/// A snapshot holding `underlyings`.
pub fn snapshot(underlyings: Vec<UnderlyingSnapshot>) -> MarketSnapshot {
    MarketSnapshot {
        ts: ts(),
        rate: 0.04,
        underlyings: underlyings
            .into_iter()
            .map(|u| (u.symbol.clone(), u))
            .collect(),
    }
}

/// A bullish underlying (spot above sma20, RSI 55, IV rank 85) with expiries at 18, 37 and
/// 52 DTE and strikes every 5 from 70% to 130% of spot.
///
/// Deltas are logistic in moneyness: call delta = 1 / (1 + e^-x), x = (S - K) / (0.1 S), so at
/// spot 100 the puts are 95: -0.378, 90: -0.269, 85: -0.182, 80: -0.119, 75: -0.076,
/// 70: -0.047. Mid = intrinsic + 4·e^(-x²/2); bid/ask = mid ∓ 0.05.
pub fn underlying(symbol: &str, spot: f64) -> UnderlyingSnapshot {
    let chain = [18, 37, 52]
        .into_iter()
        .map(|dte| ExpirySlice {
            expiry: in_days(dte),
            dte,
            quotes: quotes(spot),
        })
        .collect();
    UnderlyingSnapshot {
        symbol: symbol.to_string(),
        spot,
        atm_iv: 0.5,
        iv_rank: 85.0,
        sma20: spot * 0.95,
        rsi14: 55.0,
        realized_vol: 0.0,
        earnings_date: None,
        dividend_yield: 0.0,
        chain,
    }
}

fn quotes(spot: f64) -> Vec<OptionQuote> {
    let mut out = Vec::new();
    let mut strike = (spot * 0.7 / 5.0).round() * 5.0;
    while strike <= spot * 1.3 + 1e-9 {
        let x = (spot - strike) / (0.1 * spot);
        let call_delta = 1.0 / (1.0 + (-x).exp());
        let time_value = 4.0 * (-x * x / 2.0).exp();
        for right in [Right::Call, Right::Put] {
            let (delta, intrinsic) = match right {
                Right::Call => (call_delta, (spot - strike).max(0.0)),
                Right::Put => (call_delta - 1.0, (strike - spot).max(0.0)),
            };
            let mid = intrinsic + time_value;
            out.push(OptionQuote {
                strike,
                right,
                bid: (mid - 0.05).max(0.0),
                ask: mid + 0.05,
                mid,
                iv: 0.5,
                delta,
            });
        }
        strike += 5.0;
    }
    out
}

/// An enabled technology instance of `vol_sniper` with spread width 5.
pub fn instance(id: &str, pool: &[&str], min_iv_rank: f64, max_delta: f64) -> Instance {
    let parameters = json!({
        "symbol_pool": pool,
        "min_iv_rank": min_iv_rank,
        "max_delta_exposure": max_delta,
        "spread_width": 5,
    });
    Instance {
        id: id.to_string(),
        template: "vol_sniper".into(),
        sector: "technology".into(),
        enabled: true,
        parameters: parameters.as_object().cloned().unwrap_or_default(),
    }
}
