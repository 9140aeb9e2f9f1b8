//! `vol_sniper`: sells out-of-the-money credit spreads with the trend when IV is rich.
//!
//! For each symbol of `symbol_pool`:
//! 1. expiry: the chain expiry with `min_dte` to `max_dte` days to expiry (defaults 30 and
//!    45) closest to their midpoint rounded down (37 for 30–45; earlier on a tie); none →
//!    skip;
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

use super::{
    answer_from_pool, core_figures, further_otm, leg, otm_at_most_delta, param, round, trade_expiry,
};
use crate::domain::{Action, Right, SignalParams, Structure};
use crate::market::MarketSnapshot;
use crate::swarm::instance::{DteWindow, Instance};
use crate::swarm::params::ParamKind;
use crate::swarm::render::{QuoteView, SymbolView};
use crate::swarm::SwarmError;
use chrono::NaiveDate;
use serde_json::json;

/// Spread width when the instance does not set `spread_width`.
const DEFAULT_SPREAD_WIDTH: f64 = 5.0;

struct VolSniperParams {
    window: DteWindow,
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

/// The parameters `vol_sniper` reads (besides the common `symbol_pool`, `min_dte`, `max_dte`).
pub const PARAMS: [(&str, ParamKind); 3] = [
    ("min_iv_rank", ParamKind::Number),
    ("max_delta_exposure", ParamKind::Number),
    ("spread_width", ParamKind::Number),
];

/// Reads the instance's parameters as [`evaluate`] does: `Err` names the first bad one.
pub(super) fn check_params(instance: &Instance) -> Result<(), SwarmError> {
    vol_sniper_params(instance).map(|_| ())
}

fn vol_sniper_params(instance: &Instance) -> Result<VolSniperParams, SwarmError> {
    Ok(VolSniperParams {
        window: instance.dte_window()?,
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

/// Runs `vol_sniper` for `instance` over `snapshot`: the answer as JSON text.
pub fn evaluate(instance: &Instance, snapshot: &MarketSnapshot) -> Result<String, SwarmError> {
    let p = vol_sniper_params(instance)?;
    answer_from_pool(
        instance,
        snapshot,
        p.window,
        |view| candidate(view, &p, snapshot.date()),
        |c| c.iv_rank,
        |c| format!("qualifies with IV rank {:.1}", c.iv_rank),
        |c, notes| trade_answer(c, &p, notes),
    )
}

/// Evaluates one symbol; `Err` says why it is skipped.
fn candidate(
    view: &SymbolView,
    p: &VolSniperParams,
    today: NaiveDate,
) -> Result<Candidate, String> {
    let (spot, sma20, rsi14, iv_rank) = core_figures(view)?;
    let slice = trade_expiry(view, today, p.window)?;
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
    let short = otm_at_most_delta(slice, right, spot, p.max_delta)
        .ok_or_else(|| format!("no OTM {} with |delta| <= {}", right.code(), p.max_delta))?;
    let long = further_otm(slice, right, short.strike, p.spread_width).ok_or_else(|| {
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
    let params = SignalParams {
        legs: vec![
            leg(&c.symbol, c.expiry, Action::Sell, &c.short),
            leg(&c.symbol, c.expiry, Action::Buy, &c.long),
        ],
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
    use crate::llm::rules;
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
        let raw = rules::evaluate("vol_sniper", &inst, &snap).expect("evaluates");
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
        assert_eq!(
            raw,
            rules::evaluate("vol_sniper", &inst, &snap).expect("again")
        );
    }

    #[test]
    fn picks_highest_iv_rank_and_follows_trend() {
        let snap = snapshot(vec![underlying("NVDA", 100.0), bearish("AMD", 95.0)]);
        let inst = instance("tech", &["NVDA", "AMD"], 80.0, 0.20);
        let raw = rules::evaluate("vol_sniper", &inst, &snap).expect("evaluates");
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
        let raw = rules::evaluate("vol_sniper", &inst, &snap).expect("evaluates");
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
        let raw = rules::evaluate("vol_sniper", &inst, &snap).expect("evaluates");
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
            rules::evaluate("nope", &inst, &snap),
            Err(SwarmError::UnknownEvaluator(name)) if name == "nope"
        ));
        let mut no_delta = inst.clone();
        no_delta.parameters.remove("max_delta_exposure");
        let err = rules::evaluate("vol_sniper", &no_delta, &snap).expect_err("missing");
        assert!(err.to_string().contains("max_delta_exposure"), "{err}");
        let mut default_width = inst;
        default_width.parameters.remove("spread_width");
        assert!(rules::evaluate("vol_sniper", &default_width, &snap).is_ok());
    }

    #[test]
    fn expiry_window_comes_from_the_instance() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let mut inst = instance("tech", &["NVDA"], 80.0, 0.30);
        let expiry = |inst: &Instance| {
            let raw = rules::evaluate("vol_sniper", inst, &snap).expect("evaluates");
            let s = parse_answer(&raw, inst, "vol_sniper", &snap).expect("valid");
            (
                s.params.legs.first().map(|l| l.contract.expiry),
                s.reasoning,
            )
        };
        // Default 30-45: the 37-DTE expiry (the chain lists 18, 37 and 52).
        assert_eq!(expiry(&inst).0, Some(in_days(37)));
        inst.parameters
            .insert("min_dte".into(), serde_json::json!(14));
        inst.parameters
            .insert("max_dte".into(), serde_json::json!(28));
        assert_eq!(expiry(&inst).0, Some(in_days(18)));
        inst.parameters
            .insert("min_dte".into(), serde_json::json!(20));
        inst.parameters
            .insert("max_dte".into(), serde_json::json!(30));
        let (none, why) = expiry(&inst);
        assert_eq!(none, None);
        assert!(why.contains("no expiry with 20-30 DTE"), "{why}");
        inst.parameters
            .insert("max_dte".into(), serde_json::json!(61));
        let err = rules::evaluate("vol_sniper", &inst, &snap).expect_err("window");
        assert!(err.to_string().contains("max_dte"), "{err}");
    }

    #[test]
    fn confidence_is_monotone() {
        assert_eq!(confidence(80.0, 80.0), 0.6);
        assert_eq!(confidence(100.0, 80.0), 1.0);
        assert!(confidence(90.0, 80.0) > confidence(85.0, 80.0));
        assert_eq!(confidence(100.0, 100.0), 1.0);
    }
}
