//! `range_condor`: sells an iron condor on a range-bound underlying while implied volatility
//! is rich.
//!
//! For each symbol of `symbol_pool`:
//! 1. expiry: the chain expiry with `min_dte` to `max_dte` days to expiry (defaults 30 and
//!    45) closest to their midpoint rounded down (37 for 30–45; earlier on a tie); none →
//!    skip;
//! 2. skip if the earnings date falls between the snapshot date and that expiry (inclusive);
//! 3. require `iv_rank >= min_iv_rank`;
//! 4. range: require `|spot / SMA20 − 1| <= max_sma_distance` (default 0.03) and
//!    40 <= RSI14 <= 60;
//! 5. short strikes: the OTM put (strike < spot) and the OTM call (strike > spot) each with the
//!    largest |delta| not above `short_delta` (nearer to spot on a tie);
//! 6. wings: for each short strike, the nearest strike at least `wing_width` (default 5)
//!    further OTM (lower put, higher call);
//! 7. prices are mids; credit = (short put mid − long put mid) + (short call mid − long call
//!    mid) must be > 0 and below the width, the wider of the two actual wing distances;
//!    max_risk = (width − credit) × 100, capital_required = width × 100.
//!
//! # Confidence
//! `confidence = 0.6 + 0.2 × iv + 0.1 × sma + 0.1 × rsi`, rounded to 3 decimals, with
//! `iv = (iv_rank − min_iv_rank) / (100 − min_iv_rank)` (1 when `min_iv_rank` is 100),
//! `sma = 1 − |spot / SMA20 − 1| / max_sma_distance` and `rsi = 1 − |RSI14 − 50| / 10`, each
//! clamped to [0, 1]: 0.6 at the edges of every filter, 1.0 for IV rank 100 with spot on its
//! SMA20 and RSI14 at 50. Richer volatility and a quieter range never lower it. The symbol
//! with the highest confidence wins (earlier in the pool on a tie). With none the answer is
//! `NO_TRADE` on the first pool symbol with confidence 0.

use super::{
    answer_from_pool, core_figures, further_otm, leg, otm_at_most_delta, param, round,
    trade_expiry, unit,
};
use crate::domain::{Action, Right, SignalParams, Structure};
use crate::market::MarketSnapshot;
use crate::swarm::instance::{DteWindow, Instance};
use crate::swarm::params::ParamKind;
use crate::swarm::render::{ExpiryView, QuoteView, SymbolView};
use crate::swarm::SwarmError;
use chrono::NaiveDate;
use serde_json::json;
use std::ops::RangeInclusive;

/// Wing width when the instance does not set `wing_width`.
const DEFAULT_WING_WIDTH: f64 = 5.0;
/// Largest `|spot / SMA20 − 1|` when the instance does not set `max_sma_distance`.
const DEFAULT_MAX_SMA_DISTANCE: f64 = 0.03;
/// RSI14 band of a range-bound market.
pub const RANGE_RSI: RangeInclusive<f64> = 40.0..=60.0;

struct Params {
    window: DteWindow,
    min_iv_rank: f64,
    short_delta: f64,
    wing_width: f64,
    max_sma_distance: f64,
}

/// The parameters `range_condor` reads (besides the common `symbol_pool`, `min_dte`, `max_dte`).
pub const PARAMS: [(&str, ParamKind); 4] = [
    ("min_iv_rank", ParamKind::Number),
    ("short_delta", ParamKind::Number),
    ("wing_width", ParamKind::Number),
    ("max_sma_distance", ParamKind::Number),
];

/// Reads the instance's parameters as [`evaluate`] does: `Err` names the first bad one.
pub(super) fn check_params(instance: &Instance) -> Result<(), SwarmError> {
    params(instance).map(|_| ())
}

fn params(instance: &Instance) -> Result<Params, SwarmError> {
    Ok(Params {
        window: instance.dte_window()?,
        min_iv_rank: param(
            instance,
            "min_iv_rank",
            None,
            |x| (0.0..=100.0).contains(&x),
            "in [0, 100]",
        )?,
        short_delta: param(
            instance,
            "short_delta",
            None,
            |x| x > 0.0 && x < 0.5,
            "in (0, 0.5)",
        )?,
        wing_width: param(
            instance,
            "wing_width",
            Some(DEFAULT_WING_WIDTH),
            |x| x > 0.0,
            "positive",
        )?,
        max_sma_distance: param(
            instance,
            "max_sma_distance",
            Some(DEFAULT_MAX_SMA_DISTANCE),
            |x| x > 0.0 && x < 1.0,
            "in (0, 1)",
        )?,
    })
}

/// The four strikes of one condor side: the sold option and its wing.
struct Side {
    short: QuoteView,
    long: QuoteView,
}

struct Candidate {
    symbol: String,
    expiry: NaiveDate,
    put: Side,
    call: Side,
    confidence: f64,
    reasoning: String,
}

/// Runs `range_condor` for `instance` over `snapshot`: the answer as JSON text.
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

/// `0.6 + 0.2 × iv + 0.1 × sma + 0.1 × rsi`, each part clamped to [0, 1], rounded to 3
/// decimals.
pub fn confidence(iv: f64, sma: f64, rsi: f64) -> f64 {
    round(0.6 + 0.2 * unit(iv) + 0.1 * unit(sma) + 0.1 * unit(rsi), 3)
}

/// Evaluates one symbol; `Err` says why it is skipped.
fn candidate(view: &SymbolView, p: &Params, today: NaiveDate) -> Result<Candidate, String> {
    let (spot, sma20, rsi14, iv_rank) = core_figures(view)?;
    let slice = trade_expiry(view, today, p.window)?;
    if iv_rank < p.min_iv_rank {
        return Err(format!("IV rank {iv_rank:.1} < {}", p.min_iv_rank));
    }
    let distance = spot / sma20 - 1.0;
    if !distance.is_finite() || distance.abs() > p.max_sma_distance {
        return Err(format!(
            "not range-bound: spot {spot:.2} is {:.2}% from SMA20 {sma20:.2} (max {}%)",
            distance * 100.0,
            p.max_sma_distance * 100.0
        ));
    }
    if !RANGE_RSI.contains(&rsi14) {
        return Err(format!("not range-bound: RSI14 {rsi14:.1} outside 40-60"));
    }
    let put = side(slice, Right::Put, spot, p)?;
    let call = side(slice, Right::Call, spot, p)?;
    let width = wing(&put).max(wing(&call));
    let credit = put.short.mid - put.long.mid + call.short.mid - call.long.mid;
    if credit <= 0.0 || credit >= width {
        return Err(format!(
            "credit {credit:.2} is not between 0 and the width {width}"
        ));
    }
    let iv_part = if p.min_iv_rank >= 100.0 {
        1.0
    } else {
        (iv_rank - p.min_iv_rank) / (100.0 - p.min_iv_rank)
    };
    let sma_part = 1.0 - distance.abs() / p.max_sma_distance;
    let rsi_part = 1.0 - (rsi14 - 50.0).abs() / 10.0;
    let confidence = confidence(iv_part, sma_part, rsi_part);
    let reasoning = format!(
        "{}: IV rank {iv_rank:.1} >= {}; spot {spot:.2} is {:+.2}% from SMA20 {sma20:.2} (max {}%) and RSI14 {rsi14:.1} in 40-60 (range-bound) -> IRON_CONDOR; expiry {} ({} DTE), no earnings before it; IV part {:.3}, SMA part {:.3}, RSI part {:.3}",
        view.symbol,
        p.min_iv_rank,
        distance * 100.0,
        p.max_sma_distance * 100.0,
        slice.expiry,
        slice.dte,
        unit(iv_part),
        unit(sma_part),
        unit(rsi_part),
    );
    Ok(Candidate {
        symbol: view.symbol.clone(),
        expiry: slice.expiry,
        put,
        call,
        confidence,
        reasoning,
    })
}

/// The short option of `right` at the delta cap and its wing.
fn side(slice: &ExpiryView, right: Right, spot: f64, p: &Params) -> Result<Side, String> {
    let short = otm_at_most_delta(slice, right, spot, p.short_delta)
        .ok_or_else(|| format!("no OTM {} with |delta| <= {}", right.code(), p.short_delta))?;
    let long = further_otm(slice, right, short.strike, p.wing_width).ok_or_else(|| {
        format!(
            "no {} strike {} or more beyond {}",
            right.code(),
            p.wing_width,
            short.strike
        )
    })?;
    Ok(Side {
        short: short.clone(),
        long: long.clone(),
    })
}

/// The strike distance of a side.
fn wing(s: &Side) -> f64 {
    (s.short.strike - s.long.strike).abs()
}

fn trade_answer(c: Candidate, notes: &[String]) -> serde_json::Value {
    let width = wing(&c.put).max(wing(&c.call));
    let credit = round(
        c.put.short.mid - c.put.long.mid + c.call.short.mid - c.call.long.mid,
        4,
    );
    let params = SignalParams {
        legs: vec![
            leg(&c.symbol, c.expiry, Action::Sell, &c.put.short),
            leg(&c.symbol, c.expiry, Action::Buy, &c.put.long),
            leg(&c.symbol, c.expiry, Action::Sell, &c.call.short),
            leg(&c.symbol, c.expiry, Action::Buy, &c.call.long),
        ],
        max_risk: round((width - credit) * 100.0, 2),
        capital_required: round(width * 100.0, 2),
    };
    let reasoning = format!(
        "{}. Sell {}P (delta {:.3}, mid {:.2}), buy {}P (mid {:.2}), sell {}C (delta {:.3}, mid {:.2}), buy {}C (mid {:.2}): credit {credit:.2} on width {width} -> max risk ${:.0}, capital ${:.0}. Confidence {}. Pool: {}.",
        c.reasoning,
        c.put.short.strike,
        c.put.short.delta,
        c.put.short.mid,
        c.put.long.strike,
        c.put.long.mid,
        c.call.short.strike,
        c.call.short.delta,
        c.call.short.mid,
        c.call.long.strike,
        c.call.long.mid,
        params.max_risk,
        params.capital_required,
        c.confidence,
        notes.join("; "),
    );
    json!({
        "target": c.symbol,
        "signal": Structure::IronCondor,
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

    fn instance(pool: &[&str]) -> Instance {
        let parameters = json!({
            "symbol_pool": pool,
            "min_iv_rank": 50,
            "short_delta": 0.16,
            "wing_width": 5,
            "max_sma_distance": 0.03,
        });
        Instance {
            id: "range".into(),
            template: "range_condor".into(),
            sector: "finance".into(),
            enabled: true,
            parameters: parameters.as_object().cloned().unwrap_or_default(),
        }
    }

    /// Spot 100 on its SMA20, RSI 50, IV rank 85.
    fn ranging(symbol: &str) -> UnderlyingSnapshot {
        let mut u = underlying(symbol, 100.0);
        u.sma20 = 100.0;
        u.rsi14 = 50.0;
        u
    }

    fn run(u: Vec<UnderlyingSnapshot>, pool: &[&str]) -> crate::domain::Signal {
        let snap = snapshot(u);
        let inst = instance(pool);
        let raw = rules::evaluate("range_condor", &inst, &snap).expect("evaluates");
        assert_eq!(
            raw,
            rules::evaluate("range_condor", &inst, &snap).expect("again")
        );
        parse_answer(&raw, &inst, "range_condor", &snap).expect("valid answer")
    }

    #[test]
    fn range_bound_rich_vol_sells_condor() {
        let s = run(vec![ranging("JPM")], &["JPM"]);
        assert_eq!(s.signal, Structure::IronCondor);
        assert_eq!(
            classify_structure(&s.params.legs),
            Some(Structure::IronCondor)
        );
        // |delta| 0.182 at 85P/115C is above 0.16; 80P/120C have 0.119.
        let legs: Vec<_> = s
            .params
            .legs
            .iter()
            .map(|l| (l.action, l.contract.strike, l.contract.right))
            .collect();
        assert_eq!(
            legs,
            [
                (Action::Sell, 80.0, Right::Put),
                (Action::Buy, 75.0, Right::Put),
                (Action::Sell, 120.0, Right::Call),
                (Action::Buy, 125.0, Right::Call),
            ]
        );
        assert!(s
            .params
            .legs
            .iter()
            .all(|l| l.contract.expiry == in_days(37)));
        let p = |i: usize| s.params.legs[i].price;
        let credit = p(0) - p(1) + p(2) - p(3);
        assert!(credit > 0.0);
        assert!((s.params.max_risk - (5.0 - credit) * 100.0).abs() < 0.01);
        assert_eq!(s.params.capital_required, 500.0);
        // 0.6 + 0.2 * (85 - 50) / 50 + 0.1 + 0.1.
        assert_eq!(s.confidence, 0.94);
    }

    #[test]
    fn quietest_range_wins() {
        let mut drifting = ranging("JPM");
        drifting.sma20 = 98.5; // 1.52% away
        drifting.rsi14 = 56.0;
        let s = run(vec![drifting, ranging("BAC")], &["JPM", "BAC"]);
        assert_eq!(s.target, "BAC");
        assert!(
            s.reasoning.contains("JPM: qualifies with confidence"),
            "{}",
            s.reasoning
        );
    }

    #[test]
    fn filters_give_no_trade() {
        let mut cheap = ranging("JPM");
        cheap.iv_rank = 40.0;
        let mut trending = ranging("BAC");
        trending.sma20 = 95.0;
        let mut hot = ranging("GS");
        hot.rsi14 = 65.0;
        let mut earnings = ranging("NVDA");
        earnings.earnings_date = Some(in_days(20));
        let pool = ["JPM", "BAC", "GS", "NVDA", "AMD"];
        let s = run(vec![cheap, trending, hot, earnings], &pool);
        assert_eq!(s.signal, Structure::NoTrade);
        assert_eq!((s.target.as_str(), s.confidence), ("JPM", 0.0));
        for why in [
            "JPM: IV rank 40.0 < 50",
            "BAC: not range-bound: spot 100.00 is 5.26% from SMA20",
            "GS: not range-bound: RSI14 65.0",
            "NVDA: earnings",
            "AMD: no market data",
        ] {
            assert!(s.reasoning.contains(why), "{why}: {}", s.reasoning);
        }
        // A past earnings date does not block.
        let mut past = ranging("NVDA");
        past.earnings_date = Some(in_days(-1));
        assert_eq!(run(vec![past], &["NVDA"]).signal, Structure::IronCondor);
    }

    #[test]
    fn bad_parameters_are_errors() {
        let snap = snapshot(vec![ranging("JPM")]);
        let mut inst = instance(&["JPM"]);
        inst.parameters.insert("short_delta".into(), json!("0.16"));
        let err = rules::evaluate("range_condor", &inst, &snap).expect_err("type");
        assert!(err.to_string().contains("short_delta"), "{err}");
        let mut inst = instance(&["JPM"]);
        inst.parameters.remove("wing_width");
        inst.parameters.remove("max_sma_distance");
        assert!(rules::evaluate("range_condor", &inst, &snap).is_ok());
        let mut inst = instance(&["JPM"]);
        inst.parameters.remove("symbol_pool");
        let err = rules::evaluate("range_condor", &inst, &snap).expect_err("no pool");
        assert!(err.to_string().contains("symbol_pool"), "{err}");
    }

    #[test]
    fn expiry_window_comes_from_the_instance() {
        let snap = snapshot(vec![ranging("JPM")]);
        let mut inst = instance(&["JPM"]);
        inst.parameters.insert("min_dte".into(), json!(10));
        inst.parameters.insert("max_dte".into(), json!(18));
        let raw = rules::evaluate("range_condor", &inst, &snap).expect("evaluates");
        let s = parse_answer(&raw, &inst, "range_condor", &snap).expect("valid");
        assert_eq!(s.signal, Structure::IronCondor);
        assert!(s
            .params
            .legs
            .iter()
            .all(|l| l.contract.expiry == in_days(18)));
        inst.parameters.insert("max_dte".into(), json!(17));
        let raw = rules::evaluate("range_condor", &inst, &snap).expect("evaluates");
        let s = parse_answer(&raw, &inst, "range_condor", &snap).expect("valid");
        assert_eq!(s.signal, Structure::NoTrade);
        assert!(
            s.reasoning.contains("no expiry with 10-17 DTE"),
            "{}",
            s.reasoning
        );
        inst.parameters.insert("min_dte".into(), json!(6));
        let err = rules::evaluate("range_condor", &inst, &snap).expect_err("below 7");
        assert!(err.to_string().contains("min_dte"), "{err}");
    }

    #[test]
    fn confidence_is_monotone() {
        assert_eq!(confidence(0.0, 0.0, 0.0), 0.6);
        assert_eq!(confidence(1.0, 1.0, 1.0), 1.0);
        assert_eq!(confidence(-1.0, 2.0, 0.5), 0.75);
        assert!(confidence(0.8, 0.5, 0.5) > confidence(0.6, 0.5, 0.5));
        assert!(confidence(0.5, 0.8, 0.5) > confidence(0.5, 0.6, 0.5));
        assert!(confidence(0.5, 0.5, 0.8) > confidence(0.5, 0.5, 0.6));
    }
}
