//! Deterministic rules evaluators: the baseline agent for rules mode.
//!
//! An evaluator answers with the JSON text an LLM would give for the same template, read from
//! the same [`symbol_views`] data the prompt shows, so both go through
//! [`parse_answer`](crate::swarm::signal::parse_answer) alike.
//!
//! # `vol_sniper`
//! For each symbol of `symbol_pool`:
//! 1. expiry: the chain expiry with 30–45 DTE closest to 37 (earlier on a tie); none → skip;
//! 2. skip if the earnings date falls between the snapshot date and that expiry (inclusive);
//! 3. require `iv_rank >= min_iv_rank`;
//! 4. trend: spot > SMA20 and RSI14 < 70 → `SHORT_PUT_SPREAD`; spot < SMA20 and RSI14 > 30 →
//!    `SHORT_CALL_SPREAD`; otherwise skip;
//! 5. short leg: the OTM option of that side (put strike < spot, call strike > spot) with the
//!    largest |delta| not above `max_delta_exposure` (nearer to spot on a tie);
//! 6. long leg: the nearest strike at least `spread_width` (default 5) further OTM;
//! 7. prices are mids; credit = short mid − long mid must be > 0;
//!    max_risk = (width − credit) × 100, capital_required = width × 100, width being the
//!    actual strike distance.
//!
//! The candidate with the highest IV rank wins (earlier in the pool on a tie). Confidence is
//! `0.6 + 0.4 × (iv_rank − min_iv_rank) / (100 − min_iv_rank)`, clamped to [0, 1] (1 when
//! `min_iv_rank` is 100): 0.6 at the threshold, rising linearly to 1 at IV rank 100. With no
//! candidate the answer is `NO_TRADE` on the first pool symbol with confidence 0.

use crate::domain::{Action, Leg, OptionContract, Right, SignalParams, Structure};
use crate::market::MarketSnapshot;
use crate::swarm::instance::Instance;
use crate::swarm::render::{symbol_views, ExpiryView, QuoteView, SymbolView};
use crate::swarm::SwarmError;
use chrono::NaiveDate;
use serde_json::json;

/// Names of the known evaluators.
pub const EVALUATORS: [&str; 1] = ["vol_sniper"];

/// Runs the evaluator named `evaluator` for `instance` over `snapshot` and returns the answer
/// as JSON text.
pub fn evaluate(
    evaluator: &str,
    instance: &Instance,
    snapshot: &MarketSnapshot,
) -> Result<String, SwarmError> {
    match evaluator {
        "vol_sniper" => vol_sniper(instance, snapshot),
        other => Err(SwarmError::UnknownEvaluator(other.to_string())),
    }
}

/// Expiry window and target of `vol_sniper`.
const MIN_DTE: i64 = 30;
const MAX_DTE: i64 = 45;
const TARGET_DTE: i64 = 37;
const DEFAULT_SPREAD_WIDTH: f64 = 5.0;
const EPS: f64 = 1e-9;

struct VolSniperParams {
    min_iv_rank: f64,
    max_delta: f64,
    spread_width: f64,
}

struct Candidate {
    symbol: String,
    structure: Structure,
    iv_rank: f64,
    expiry: NaiveDate,
    short: QuoteView,
    long: QuoteView,
    reasoning: String,
}

fn param(
    instance: &Instance,
    key: &str,
    default: Option<f64>,
    valid: impl Fn(f64) -> bool,
    expected: &str,
) -> Result<f64, SwarmError> {
    let error = |message: String| SwarmError::Parameter {
        instance: instance.id.clone(),
        key: key.to_string(),
        message,
    };
    let value = match (instance.parameters.get(key), default) {
        (None, Some(d)) => d,
        (None, None) => return Err(error("is required".into())),
        (Some(v), _) => v
            .as_f64()
            .ok_or_else(|| error(format!("must be a number, got {v}")))?,
    };
    if !value.is_finite() || !valid(value) {
        return Err(error(format!("must be {expected}, got {value}")));
    }
    Ok(value)
}

fn vol_sniper_params(instance: &Instance) -> Result<VolSniperParams, SwarmError> {
    Ok(VolSniperParams {
        min_iv_rank: param(
            instance,
            "min_iv_rank",
            None,
            |x| (0.0..=100.0).contains(&x),
            "in [0, 100]",
        )?,
        max_delta: param(
            instance,
            "max_delta_exposure",
            None,
            |x| x > 0.0 && x <= 1.0,
            "in (0, 1]",
        )?,
        spread_width: param(
            instance,
            "spread_width",
            Some(DEFAULT_SPREAD_WIDTH),
            |x| x > 0.0,
            "positive",
        )?,
    })
}

fn vol_sniper(instance: &Instance, snapshot: &MarketSnapshot) -> Result<String, SwarmError> {
    let p = vol_sniper_params(instance)?;
    let pool = instance.symbol_pool();
    let Some(first) = pool.first() else {
        return Err(SwarmError::Parameter {
            instance: instance.id.clone(),
            key: "symbol_pool".into(),
            message: "must be a non-empty array of symbols".into(),
        });
    };
    let views = symbol_views(snapshot, &pool);
    let mut best: Option<Candidate> = None;
    let mut notes = Vec::new();
    for symbol in &pool {
        let outcome = match views.get(symbol) {
            None => Err("no market data".to_string()),
            Some(view) => candidate(view, &p, snapshot.date()),
        };
        match outcome {
            Ok(c) => {
                notes.push(format!("{symbol}: qualifies with IV rank {:.1}", c.iv_rank));
                if best.as_ref().is_none_or(|b| c.iv_rank > b.iv_rank) {
                    best = Some(c);
                }
            }
            Err(why) => notes.push(format!("{symbol}: {why}")),
        }
    }
    let answer = match best {
        Some(c) => trade_answer(c, &p, &notes),
        None => json!({
            "target": first,
            "signal": Structure::NoTrade,
            "confidence": 0,
            "params": {"legs": []},
            "reasoning": format!("No symbol qualifies. {}.", notes.join("; ")),
        }),
    };
    Ok(answer.to_string())
}

/// Evaluates one symbol; `Err` says why it is skipped.
fn candidate(
    view: &SymbolView,
    p: &VolSniperParams,
    today: NaiveDate,
) -> Result<Candidate, String> {
    let (Some(spot), Some(sma20), Some(rsi14), Some(iv_rank)) =
        (view.spot, view.sma20, view.rsi14, view.iv_rank)
    else {
        return Err("incomplete market data".into());
    };
    let slice = view
        .chain
        .iter()
        .filter(|e| (MIN_DTE..=MAX_DTE).contains(&e.dte))
        .min_by_key(|e| ((e.dte - TARGET_DTE).abs(), e.dte))
        .ok_or("no expiry with 30-45 DTE")?;
    if let Some(earnings) = view
        .earnings_date
        .filter(|d| *d >= today && *d <= slice.expiry)
    {
        return Err(format!(
            "earnings {earnings} on or before expiry {}",
            slice.expiry
        ));
    }
    if iv_rank < p.min_iv_rank {
        return Err(format!("IV rank {iv_rank:.1} < {}", p.min_iv_rank));
    }
    let (structure, right, trend) = if spot > sma20 && rsi14 < 70.0 {
        let t = format!("spot {spot:.2} > SMA20 {sma20:.2} and RSI14 {rsi14:.1} < 70 (bullish)");
        (Structure::ShortPutSpread, Right::Put, t)
    } else if spot < sma20 && rsi14 > 30.0 {
        let t = format!("spot {spot:.2} < SMA20 {sma20:.2} and RSI14 {rsi14:.1} > 30 (bearish)");
        (Structure::ShortCallSpread, Right::Call, t)
    } else {
        return Err(format!(
            "no trend signal (spot {spot:.2}, SMA20 {sma20:.2}, RSI14 {rsi14:.1})"
        ));
    };
    let short = short_leg(slice, right, spot, p.max_delta)
        .ok_or_else(|| format!("no OTM {} with |delta| <= {}", right.code(), p.max_delta))?;
    let long = long_leg(slice, right, short.strike, p.spread_width).ok_or_else(|| {
        format!(
            "no {} strike {} or more beyond {}",
            right.code(),
            p.spread_width,
            short.strike
        )
    })?;
    let credit = short.mid - long.mid;
    if credit <= 0.0 {
        return Err(format!("no credit ({:.2} - {:.2})", short.mid, long.mid));
    }
    let reasoning = format!(
        "{}: IV rank {iv_rank:.1} >= {}; {trend} -> {structure}; expiry {} ({} DTE), no earnings before it",
        view.symbol, p.min_iv_rank, slice.expiry, slice.dte
    );
    Ok(Candidate {
        symbol: view.symbol.clone(),
        structure,
        iv_rank,
        expiry: slice.expiry,
        short: short.clone(),
        long: long.clone(),
        reasoning,
    })
}

/// The OTM quote of `right` with the largest |delta| not above `max_delta`.
fn short_leg(slice: &ExpiryView, right: Right, spot: f64, max_delta: f64) -> Option<&QuoteView> {
    slice
        .quotes
        .iter()
        .filter(|q| q.right == right && q.delta.abs() <= max_delta + EPS)
        .filter(|q| match right {
            Right::Put => q.strike < spot,
            Right::Call => q.strike > spot,
        })
        .max_by(|a, b| {
            let by_delta = a.delta.abs().total_cmp(&b.delta.abs());
            // On equal |delta| prefer the strike nearer to spot.
            by_delta.then((b.strike - spot).abs().total_cmp(&(a.strike - spot).abs()))
        })
}

/// The nearest quote of `right` at least `width` further OTM than `short_strike`.
fn long_leg(slice: &ExpiryView, right: Right, short_strike: f64, width: f64) -> Option<&QuoteView> {
    let same_side = slice.quotes.iter().filter(|q| q.right == right);
    match right {
        Right::Put => same_side
            .filter(|q| q.strike <= short_strike - width + EPS)
            .max_by(|a, b| a.strike.total_cmp(&b.strike)),
        Right::Call => same_side
            .filter(|q| q.strike >= short_strike + width - EPS)
            .min_by(|a, b| a.strike.total_cmp(&b.strike)),
    }
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Linear in IV rank: 0.6 at `min_iv_rank`, 1.0 at 100.
fn confidence(iv_rank: f64, min_iv_rank: f64) -> f64 {
    if min_iv_rank >= 100.0 {
        return 1.0;
    }
    let c = 0.6 + 0.4 * (iv_rank - min_iv_rank) / (100.0 - min_iv_rank);
    round(c.clamp(0.0, 1.0), 3)
}

fn trade_answer(c: Candidate, p: &VolSniperParams, notes: &[String]) -> serde_json::Value {
    let width = (c.short.strike - c.long.strike).abs();
    let credit = round(c.short.mid - c.long.mid, 4);
    let leg = |action, q: &QuoteView| Leg {
        action,
        contract: OptionContract {
            symbol: c.symbol.clone(),
            expiry: c.expiry,
            strike: q.strike,
            right: q.right,
        },
        quantity: 1,
        price: q.mid,
    };
    let params = SignalParams {
        legs: vec![leg(Action::Sell, &c.short), leg(Action::Buy, &c.long)],
        max_risk: round((width - credit) * 100.0, 2),
        capital_required: round(width * 100.0, 2),
    };
    let confidence = confidence(c.iv_rank, p.min_iv_rank);
    let code = c.short.right.code();
    let reasoning = format!(
        "{}. Sell {}{code} (delta {:.3}, mid {:.2}), buy {}{code} (mid {:.2}): credit {credit:.2} on width {width} -> max risk ${:.0}, capital ${:.0}. Confidence {confidence}. Pool: {}.",
        c.reasoning,
        c.short.strike,
        c.short.delta,
        c.short.mid,
        c.long.strike,
        c.long.mid,
        params.max_risk,
        params.capital_required,
        notes.join("; "),
    );
    json!({
        "target": c.symbol,
        "signal": c.structure,
        "confidence": confidence,
        "params": params,
        "reasoning": reasoning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swarm::signal::parse_answer;
    use crate::swarm::test_support::{in_days, instance, snapshot, underlying};

    fn bearish(symbol: &str, iv_rank: f64) -> crate::market::UnderlyingSnapshot {
        let mut u = underlying(symbol, 100.0);
        u.sma20 = 105.0;
        u.rsi14 = 45.0;
        u.iv_rank = iv_rank;
        u
    }

    #[test]
    fn sells_put_spread_at_delta_cap() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let inst = instance("tech", &["NVDA"], 80.0, 0.30);
        let raw = evaluate("vol_sniper", &inst, &snap).expect("evaluates");
        let signal = parse_answer(&raw, &inst, "vol_sniper", &snap).expect("valid answer");
        assert_eq!(signal.signal, Structure::ShortPutSpread);
        let legs = &signal.params.legs;
        assert_eq!(
            (legs[0].action, legs[0].contract.strike),
            (Action::Sell, 90.0)
        );
        assert_eq!(
            (legs[1].action, legs[1].contract.strike),
            (Action::Buy, 85.0)
        );
        assert_eq!(legs[0].contract.expiry, in_days(37));
        let credit = legs[0].price - legs[1].price;
        assert!(credit > 0.0);
        assert!((signal.params.max_risk - (5.0 - credit) * 100.0).abs() < 0.01);
        assert_eq!(signal.params.capital_required, 500.0);
        assert_eq!(signal.confidence, 0.7); // 0.6 + 0.4 * 5 / 20
        assert!(
            signal.reasoning.contains("IV rank 85.0"),
            "{}",
            signal.reasoning
        );
        assert_eq!(raw, evaluate("vol_sniper", &inst, &snap).expect("again"));
    }

    #[test]
    fn picks_highest_iv_rank_and_follows_trend() {
        let snap = snapshot(vec![underlying("NVDA", 100.0), bearish("AMD", 95.0)]);
        let inst = instance("tech", &["NVDA", "AMD"], 80.0, 0.20);
        let raw = evaluate("vol_sniper", &inst, &snap).expect("evaluates");
        let signal = parse_answer(&raw, &inst, "vol_sniper", &snap).expect("valid answer");
        assert_eq!(signal.target, "AMD");
        assert_eq!(signal.signal, Structure::ShortCallSpread);
        // Calls: 110 has delta 0.269 > 0.20, 115 has 0.182.
        let strikes: Vec<f64> = signal
            .params
            .legs
            .iter()
            .map(|l| l.contract.strike)
            .collect();
        assert_eq!(strikes, [115.0, 120.0]);
    }

    #[test]
    fn low_iv_rank_gives_no_trade() {
        let mut u = underlying("NVDA", 100.0);
        u.iv_rank = 50.0;
        let snap = snapshot(vec![u]);
        let inst = instance("tech", &["NVDA", "AMD"], 80.0, 0.30);
        let raw = evaluate("vol_sniper", &inst, &snap).expect("evaluates");
        let signal = parse_answer(&raw, &inst, "vol_sniper", &snap).expect("valid NO_TRADE");
        assert_eq!(signal.signal, Structure::NoTrade);
        assert_eq!(signal.target, "NVDA");
        assert_eq!(signal.confidence, 0.0);
        assert!(
            signal.reasoning.contains("IV rank 50.0 < 80"),
            "{}",
            signal.reasoning
        );
        assert!(signal.reasoning.contains("AMD: no market data"));
    }

    #[test]
    fn skips_earnings_and_overbought() {
        let mut earnings = underlying("NVDA", 100.0);
        earnings.earnings_date = Some(in_days(37));
        let mut overbought = underlying("AMD", 100.0);
        overbought.rsi14 = 75.0;
        let mut later = underlying("TSLA", 100.0);
        later.earnings_date = Some(in_days(38));
        later.iv_rank = 81.0;
        let snap = snapshot(vec![earnings, overbought, later]);
        let inst = instance("tech", &["NVDA", "AMD", "TSLA"], 80.0, 0.30);
        let raw = evaluate("vol_sniper", &inst, &snap).expect("evaluates");
        let signal = parse_answer(&raw, &inst, "vol_sniper", &snap).expect("valid");
        assert_eq!(signal.target, "TSLA");
        assert!(
            signal.reasoning.contains("NVDA: earnings"),
            "{}",
            signal.reasoning
        );
        assert!(signal.reasoning.contains("AMD: no trend signal"));
    }

    #[test]
    fn bad_configuration_is_an_error() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let inst = instance("tech", &["NVDA"], 80.0, 0.30);
        assert!(matches!(
            evaluate("nope", &inst, &snap),
            Err(SwarmError::UnknownEvaluator(name)) if name == "nope"
        ));
        let mut no_delta = inst.clone();
        no_delta.parameters.remove("max_delta_exposure");
        let err = evaluate("vol_sniper", &no_delta, &snap).expect_err("missing");
        assert!(err.to_string().contains("max_delta_exposure"), "{err}");
        let mut default_width = inst;
        default_width.parameters.remove("spread_width");
        assert!(evaluate("vol_sniper", &default_width, &snap).is_ok());
    }

    #[test]
    fn confidence_is_monotone() {
        assert_eq!(confidence(80.0, 80.0), 0.6);
        assert_eq!(confidence(100.0, 80.0), 1.0);
        assert!(confidence(90.0, 80.0) > confidence(85.0, 80.0));
        assert_eq!(confidence(100.0, 100.0), 1.0);
    }
}
