//! `trend_rider`: buys a vertical debit spread in the direction of an established trend while
//! implied volatility is cheap.
//!
//! For each symbol of `symbol_pool`:
//! 1. expiry: the chain expiry with `min_dte` to `max_dte` days to expiry (defaults 30 and
//!    45) closest to their midpoint rounded down (37 for 30–45; earlier on a tie); none →
//!    skip;
//! 2. skip if the earnings date falls between the snapshot date and that expiry (inclusive);
//! 3. require `iv_rank <= max_iv_rank` (debit spreads want cheap volatility);
//! 4. trend: spot > SMA20 and 55 <= RSI14 <= 75 → `LONG_CALL_SPREAD` (calls); spot < SMA20 and
//!    25 <= RSI14 <= 45 → `LONG_PUT_SPREAD` (puts); otherwise skip;
//! 5. long leg (bought): the option of that side whose |delta| is nearest `long_delta` (on a
//!    tie the strike nearer to spot, then the lower strike);
//! 6. short leg (sold): the nearest strike at least `spread_width` (default 5) further OTM
//!    (higher for calls, lower for puts);
//! 7. prices are mids; debit = long mid − short mid must be > 0 and below the width (the
//!    actual strike distance); max_risk = capital_required = debit × 100.
//!
//! # Confidence
//! Trend strength has two parts, each scaled to [0, 1]:
//! - distance: `z = |spot − SMA20| / EM`, where `EM = spot × atm_iv × √(DTE / 365)` is the
//!   one-standard-deviation expected move to the chosen expiry; `trend = min(z / 0.5, 1)`, so
//!   half an expected move away from the average is a full-strength trend;
//! - momentum: `rsi = (RSI14 − 55) / 20` when bullish, `(45 − RSI14) / 20` when bearish
//!   (0 at the edge of the band nearest 50, 1 at its far edge).
//!
//! `confidence = 0.6 + 0.2 × trend + 0.2 × rsi`, rounded to 3 decimals: 0.6 for a bare trend,
//! 1.0 for the strongest; it never decreases as either part strengthens. The symbol with the
//! highest confidence wins (earlier in the pool on a tie). With none the answer is `NO_TRADE`
//! on the first pool symbol with confidence 0.

use super::{answer_from_pool, core_figures, further_otm, leg, param, round, trade_expiry, unit};
use crate::domain::{Action, Right, SignalParams, Structure};
use crate::market::MarketSnapshot;
use crate::swarm::instance::{DteWindow, Instance};
use crate::swarm::params::ParamKind;
use crate::swarm::render::{ExpiryView, QuoteView, SymbolView};
use crate::swarm::SwarmError;
use chrono::NaiveDate;
use serde_json::json;
use std::ops::RangeInclusive;

/// Spread width when the instance does not set `spread_width`.
const DEFAULT_SPREAD_WIDTH: f64 = 5.0;
/// RSI14 band of a bullish trend.
pub const BULLISH_RSI: RangeInclusive<f64> = 55.0..=75.0;
/// RSI14 band of a bearish trend.
pub const BEARISH_RSI: RangeInclusive<f64> = 25.0..=45.0;
/// Distance from SMA20, in expected moves, at which the distance part of confidence is full.
pub const FULL_TREND_MOVES: f64 = 0.5;

struct Params {
    window: DteWindow,
    long_delta: f64,
    spread_width: f64,
    max_iv_rank: f64,
}

/// The parameters `trend_rider` reads (besides the common `symbol_pool`, `min_dte`, `max_dte`).
pub const PARAMS: [(&str, ParamKind); 3] = [
    ("long_delta", ParamKind::Number),
    ("spread_width", ParamKind::Number),
    ("max_iv_rank", ParamKind::Number),
];

/// Reads the instance's parameters as [`evaluate`] does: `Err` names the first bad one.
pub(super) fn check_params(instance: &Instance) -> Result<(), SwarmError> {
    params(instance).map(|_| ())
}

fn params(instance: &Instance) -> Result<Params, SwarmError> {
    Ok(Params {
        window: instance.dte_window()?,
        long_delta: param(
            instance,
            "long_delta",
            None,
            |x| x > 0.0 && x < 1.0,
            "in (0, 1)",
        )?,
        spread_width: param(
            instance,
            "spread_width",
            Some(DEFAULT_SPREAD_WIDTH),
            |x| x > 0.0,
            "positive",
        )?,
        max_iv_rank: param(
            instance,
            "max_iv_rank",
            None,
            |x| (0.0..=100.0).contains(&x),
            "in [0, 100]",
        )?,
    })
}

struct Candidate {
    symbol: String,
    structure: Structure,
    expiry: NaiveDate,
    long: QuoteView,
    short: QuoteView,
    confidence: f64,
    reasoning: String,
}

/// Runs `trend_rider` for `instance` over `snapshot`: the answer as JSON text.
pub fn evaluate(instance: &Instance, snapshot: &MarketSnapshot) -> Result<String, SwarmError> {
    let p = params(instance)?;
    answer_from_pool(
        instance,
        snapshot,
        p.window,
        |view| candidate(view, &p, snapshot.date()),
        |c| c.confidence,
        |c| format!("qualifies with confidence {}", c.confidence),
        trade_answer,
    )
}

/// `0.6 + 0.2 × trend + 0.2 × rsi`, both parts clamped to [0, 1], rounded to 3 decimals.
pub fn confidence(trend: f64, rsi: f64) -> f64 {
    round(0.6 + 0.2 * unit(trend) + 0.2 * unit(rsi), 3)
}

/// Evaluates one symbol; `Err` says why it is skipped.
fn candidate(view: &SymbolView, p: &Params, today: NaiveDate) -> Result<Candidate, String> {
    let (spot, sma20, rsi14, iv_rank) = core_figures(view)?;
    let atm_iv = view.atm_iv.ok_or("incomplete market data")?;
    let slice = trade_expiry(view, today, p.window)?;
    if iv_rank > p.max_iv_rank {
        return Err(format!("IV rank {iv_rank:.1} > {}", p.max_iv_rank));
    }
    let (structure, right, rsi_part, trend) = if spot > sma20 && BULLISH_RSI.contains(&rsi14) {
        let t =
            format!("spot {spot:.2} > SMA20 {sma20:.2} and RSI14 {rsi14:.1} in 55-75 (bullish)");
        (
            Structure::LongCallSpread,
            Right::Call,
            (rsi14 - 55.0) / 20.0,
            t,
        )
    } else if spot < sma20 && BEARISH_RSI.contains(&rsi14) {
        let t =
            format!("spot {spot:.2} < SMA20 {sma20:.2} and RSI14 {rsi14:.1} in 25-45 (bearish)");
        (
            Structure::LongPutSpread,
            Right::Put,
            (45.0 - rsi14) / 20.0,
            t,
        )
    } else {
        return Err(format!(
            "no trend signal (spot {spot:.2}, SMA20 {sma20:.2}, RSI14 {rsi14:.1})"
        ));
    };
    let long = nearest_delta(slice, right, spot, p.long_delta)
        .ok_or_else(|| format!("no {} quote", right.code()))?;
    let short = further_otm(slice, right, long.strike, p.spread_width).ok_or_else(|| {
        format!(
            "no {} strike {} or more beyond {}",
            right.code(),
            p.spread_width,
            long.strike
        )
    })?;
    let width = (short.strike - long.strike).abs();
    let debit = long.mid - short.mid;
    if debit <= 0.0 || debit >= width {
        return Err(format!(
            "debit {debit:.2} ({:.2} - {:.2}) is not between 0 and the width {width}",
            long.mid, short.mid
        ));
    }
    let expected_move = spot * atm_iv * (slice.dte as f64 / 365.0).sqrt();
    if expected_move <= 0.0 {
        return Err(format!("no expected move (ATM IV {atm_iv})"));
    }
    let z = (spot - sma20).abs() / expected_move;
    let trend_part = z / FULL_TREND_MOVES;
    let confidence = confidence(trend_part, rsi_part);
    let reasoning = format!(
        "{}: IV rank {iv_rank:.1} <= {}; {trend} -> {structure}; expiry {} ({} DTE), no earnings before it; spot is {z:.2} expected moves ({expected_move:.2}) from SMA20: trend part {:.3}, RSI part {:.3}",
        view.symbol,
        p.max_iv_rank,
        slice.expiry,
        slice.dte,
        unit(trend_part),
        unit(rsi_part),
    );
    Ok(Candidate {
        symbol: view.symbol.clone(),
        structure,
        expiry: slice.expiry,
        long: long.clone(),
        short: short.clone(),
        confidence,
        reasoning,
    })
}

/// The quote of `right` whose |delta| is nearest `target`; on a tie the strike nearer to
/// `spot`, then the lower strike.
fn nearest_delta(slice: &ExpiryView, right: Right, spot: f64, target: f64) -> Option<&QuoteView> {
    slice
        .quotes
        .iter()
        .filter(|q| q.right == right)
        .min_by(|a, b| {
            let by_delta = (a.delta.abs() - target)
                .abs()
                .total_cmp(&(b.delta.abs() - target).abs());
            by_delta
                .then((a.strike - spot).abs().total_cmp(&(b.strike - spot).abs()))
                .then(a.strike.total_cmp(&b.strike))
        })
}

fn trade_answer(c: Candidate, notes: &[String]) -> serde_json::Value {
    let width = (c.short.strike - c.long.strike).abs();
    let debit = round(c.long.mid - c.short.mid, 4);
    let params = SignalParams {
        legs: vec![
            leg(&c.symbol, c.expiry, Action::Buy, &c.long),
            leg(&c.symbol, c.expiry, Action::Sell, &c.short),
        ],
        max_risk: round(debit * 100.0, 2),
        capital_required: round(debit * 100.0, 2),
    };
    let code = c.long.right.code();
    let reasoning = format!(
        "{}. Buy {}{code} (delta {:.3}, mid {:.2}), sell {}{code} (mid {:.2}): debit {debit:.2} on width {width} -> max risk ${:.0}, capital ${:.0}, max profit ${:.0}. Confidence {}. Pool: {}.",
        c.reasoning,
        c.long.strike,
        c.long.delta,
        c.long.mid,
        c.short.strike,
        c.short.mid,
        params.max_risk,
        params.capital_required,
        (width - debit) * 100.0,
        c.confidence,
        notes.join("; "),
    );
    json!({
        "target": c.symbol,
        "signal": c.structure,
        "confidence": c.confidence,
        "params": params,
        "reasoning": reasoning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::rules;
    use crate::market::UnderlyingSnapshot;
    use crate::swarm::signal::{classify_structure, parse_answer};
    use crate::swarm::test_support::{in_days, snapshot, underlying};
    use serde_json::Value;

    fn instance(pool: &[&str]) -> Instance {
        let parameters = json!({
            "symbol_pool": pool,
            "long_delta": 0.55,
            "spread_width": 5,
            "max_iv_rank": 50,
        });
        Instance {
            id: "momentum".into(),
            template: "trend_rider".into(),
            sector: "technology".into(),
            enabled: true,
            parameters: parameters.as_object().cloned().unwrap_or_default(),
        }
    }

    /// Spot 100 above SMA20 95, RSI 65, IV rank 30: a bullish trend on cheap vol.
    fn bullish(symbol: &str) -> UnderlyingSnapshot {
        let mut u = underlying(symbol, 100.0);
        u.iv_rank = 30.0;
        u.rsi14 = 65.0;
        u
    }

    /// Spot 100 below SMA20 105, RSI 35, IV rank 30: a bearish trend on cheap vol.
    fn bearish(symbol: &str) -> UnderlyingSnapshot {
        let mut u = bullish(symbol);
        u.sma20 = 105.0;
        u.rsi14 = 35.0;
        u
    }

    fn run(u: Vec<UnderlyingSnapshot>, pool: &[&str]) -> crate::domain::Signal {
        let snap = snapshot(u);
        let inst = instance(pool);
        let raw = rules::evaluate("trend_rider", &inst, &snap).expect("evaluates");
        assert_eq!(
            raw,
            rules::evaluate("trend_rider", &inst, &snap).expect("again")
        );
        parse_answer(&raw, &inst, "trend_rider", &snap).expect("valid answer")
    }

    fn strikes(s: &crate::domain::Signal) -> Vec<(Action, f64, Right)> {
        s.params
            .legs
            .iter()
            .map(|l| (l.action, l.contract.strike, l.contract.right))
            .collect()
    }

    #[test]
    fn bullish_trend_buys_call_spread_at_long_delta() {
        let s = run(vec![bullish("NVDA")], &["NVDA"]);
        assert_eq!(s.signal, Structure::LongCallSpread);
        assert_eq!(classify_structure(&s.params.legs), Some(s.signal));
        // Calls in the view: 100C delta 0.5 is nearest 0.55 (95C, 0.622, is outside the band).
        assert_eq!(
            strikes(&s),
            [
                (Action::Buy, 100.0, Right::Call),
                (Action::Sell, 105.0, Right::Call)
            ]
        );
        assert_eq!(s.params.legs[0].contract.expiry, in_days(37));
        let debit = s.params.legs[0].price - s.params.legs[1].price;
        assert!(debit > 0.0 && debit < 5.0, "{debit}");
        assert!((s.params.max_risk - debit * 100.0).abs() < 0.01);
        assert_eq!(s.params.max_risk, s.params.capital_required);
        // z = 5 / (100 * 0.5 * sqrt(37/365)) = 0.314 -> 0.628; RSI (65 - 55) / 20 = 0.5.
        assert_eq!(s.confidence, 0.826);
        assert!(
            s.reasoning.contains("IV rank 30.0 <= 50"),
            "{}",
            s.reasoning
        );
    }

    #[test]
    fn bearish_trend_buys_put_spread() {
        let s = run(vec![bearish("AMD")], &["AMD"]);
        assert_eq!(s.signal, Structure::LongPutSpread);
        assert_eq!(classify_structure(&s.params.legs), Some(s.signal));
        assert_eq!(
            strikes(&s),
            [
                (Action::Buy, 100.0, Right::Put),
                (Action::Sell, 95.0, Right::Put)
            ]
        );
        assert_eq!(s.confidence, 0.826);
    }

    #[test]
    fn strongest_trend_wins() {
        let mut stronger = bullish("AMD");
        stronger.rsi14 = 70.0;
        let s = run(vec![bullish("NVDA"), stronger], &["NVDA", "AMD"]);
        assert_eq!(s.target, "AMD");
        assert_eq!(s.confidence, 0.876);
        assert!(s
            .reasoning
            .contains("NVDA: qualifies with confidence 0.826"));
    }

    #[test]
    fn filters_give_no_trade() {
        let mut rich = bullish("NVDA");
        rich.iv_rank = 60.0;
        let mut overbought = bullish("AMD");
        overbought.rsi14 = 80.0;
        let mut flat = bullish("TSLA");
        flat.rsi14 = 50.0;
        let mut weak_bear = bearish("JPM");
        weak_bear.rsi14 = 47.0;
        let mut earnings = bullish("BAC");
        earnings.earnings_date = Some(in_days(37));
        let pool = ["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"];
        let s = run(vec![rich, overbought, flat, weak_bear, earnings], &pool);
        assert_eq!(s.signal, Structure::NoTrade);
        assert_eq!((s.target.as_str(), s.confidence), ("NVDA", 0.0));
        assert!(s.params.legs.is_empty());
        for why in [
            "NVDA: IV rank 60.0 > 50",
            "AMD: no trend signal",
            "TSLA: no trend signal",
            "JPM: no trend signal",
            "BAC: earnings",
            "GS: no market data",
        ] {
            assert!(s.reasoning.contains(why), "{why}: {}", s.reasoning);
        }
        // Earnings after the expiry do not block.
        let mut later = bullish("BAC");
        later.earnings_date = Some(in_days(38));
        assert_eq!(run(vec![later], &["BAC"]).signal, Structure::LongCallSpread);
    }

    #[test]
    fn answer_has_the_design_shape() {
        let snap = snapshot(vec![bullish("NVDA")]);
        let raw = rules::evaluate("trend_rider", &instance(&["NVDA"]), &snap).expect("evaluates");
        let v: Value = serde_json::from_str(&raw).expect("JSON");
        for key in ["target", "signal", "confidence", "params", "reasoning"] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["params"]["legs"][0]["contract"]["right"], "C");
    }

    #[test]
    fn bad_parameters_are_errors() {
        let snap = snapshot(vec![bullish("NVDA")]);
        let mut inst = instance(&["NVDA"]);
        inst.parameters.remove("long_delta");
        let err = rules::evaluate("trend_rider", &inst, &snap).expect_err("missing");
        assert!(err.to_string().contains("long_delta"), "{err}");
        let mut inst = instance(&["NVDA"]);
        inst.parameters.insert("max_iv_rank".into(), json!(150));
        let err = rules::evaluate("trend_rider", &inst, &snap).expect_err("range");
        assert!(err.to_string().contains("max_iv_rank"), "{err}");
        let mut inst = instance(&["NVDA"]);
        inst.parameters.remove("spread_width");
        assert!(rules::evaluate("trend_rider", &inst, &snap).is_ok());
    }

    #[test]
    fn expiry_window_comes_from_the_instance() {
        let snap = snapshot(vec![bullish("NVDA")]);
        let mut inst = instance(&["NVDA"]);
        inst.parameters.insert("min_dte".into(), json!(14));
        inst.parameters.insert("max_dte".into(), json!(28));
        let raw = rules::evaluate("trend_rider", &inst, &snap).expect("evaluates");
        let s = parse_answer(&raw, &inst, "trend_rider", &snap).expect("valid");
        assert_eq!(s.signal, Structure::LongCallSpread);
        assert!(s
            .params
            .legs
            .iter()
            .all(|l| l.contract.expiry == in_days(18)));
        assert!(s.reasoning.contains("(18 DTE)"), "{}", s.reasoning);
        // The shorter expected move to 18 DTE makes the same distance a stronger trend:
        // z = 5 / (100 * 0.5 * sqrt(18/365)) = 0.450 -> 0.900; RSI part 0.5.
        assert_eq!(s.confidence, 0.88);
        inst.parameters.insert("min_dte".into(), json!(20));
        inst.parameters.insert("max_dte".into(), json!(30));
        let s = run_with(&inst, vec![bullish("NVDA")]);
        assert_eq!(s.signal, Structure::NoTrade);
        assert!(
            s.reasoning.contains("no expiry with 20-30 DTE"),
            "{}",
            s.reasoning
        );
        inst.parameters.insert("min_dte".into(), json!(31));
        let err = rules::evaluate("trend_rider", &inst, &snap).expect_err("inverted");
        assert!(err.to_string().contains("min_dte"), "{err}");
    }

    fn run_with(inst: &Instance, u: Vec<UnderlyingSnapshot>) -> crate::domain::Signal {
        let snap = snapshot(u);
        let raw = rules::evaluate("trend_rider", inst, &snap).expect("evaluates");
        parse_answer(&raw, inst, "trend_rider", &snap).expect("valid answer")
    }

    #[test]
    fn confidence_is_monotone_in_trend_strength() {
        assert_eq!(confidence(0.0, 0.0), 0.6);
        assert_eq!(confidence(1.0, 1.0), 1.0);
        assert_eq!(confidence(3.0, 2.0), 1.0);
        let mut last = 0.0;
        for i in 0..=20 {
            let x = f64::from(i) / 20.0;
            let c = confidence(x, x);
            assert!(c >= last, "{x}: {c} < {last}");
            assert!(confidence(x, 0.3) >= confidence(x * 0.5, 0.3));
            last = c;
        }
    }
}
