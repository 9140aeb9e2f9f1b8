//! Deterministic rules evaluators: the baseline agent for rules mode.
//!
//! An evaluator answers with the JSON text an LLM would give for the same template, read from
//! the same [`symbol_views`] data the prompt shows, so both go through
//! [`parse_answer`](crate::swarm::signal::parse_answer) alike. Each template's front matter
//! names its evaluator, and the template's English rules describe exactly what the evaluator
//! does:
//!
//! | evaluator | template | structures |
//! |---|---|---|
//! | [`vol_sniper`] | `vol_sniper.md` | `SHORT_PUT_SPREAD`, `SHORT_CALL_SPREAD` (credit, rich IV) |
//! | [`trend_rider`] | `trend_rider.md` | `LONG_CALL_SPREAD`, `LONG_PUT_SPREAD` (debit, cheap IV) |
//! | [`range_condor`] | `range_condor.md` | `IRON_CONDOR` (credit, rich IV, no trend) |
//!
//! All three share the first steps for every symbol of `symbol_pool`: the expiry is the chain
//! expiry inside the instance's [`DteWindow`] (parameters `min_dte` and `max_dte`, default
//! 30–45) closest to its target, the midpoint rounded down (37 for 30–45; earlier on a tie;
//! none → skip), and a symbol whose earnings date falls between the snapshot date and that
//! expiry (inclusive) is skipped. Among the symbols that qualify, the one with the best score
//! wins (the earlier in the pool on a tie); with none the answer is `NO_TRADE` on the first
//! pool symbol with confidence 0 and a reasoning that says why each symbol was skipped.

pub mod range_condor;
pub mod trend_rider;
pub mod vol_sniper;

use crate::domain::{Action, Leg, OptionContract, Right, Structure};
use crate::market::MarketSnapshot;
use crate::swarm::instance::{DteWindow, Instance};
use crate::swarm::params::ParamKind;
use crate::swarm::render::{symbol_views, ExpiryView, QuoteView, SymbolView};
use crate::swarm::SwarmError;
use chrono::NaiveDate;
use serde_json::json;

/// Names of the known evaluators.
pub const EVALUATORS: [&str; 3] = ["vol_sniper", "trend_rider", "range_condor"];

/// The structures evaluator `evaluator` can answer with (besides `NO_TRADE`, which every
/// template may answer); `None` for an unknown evaluator. A template without a `structures`
/// front matter key offers these.
pub fn offered_structures(evaluator: &str) -> Option<Vec<Structure>> {
    match evaluator {
        "vol_sniper" => Some(vec![Structure::ShortPutSpread, Structure::ShortCallSpread]),
        "trend_rider" => Some(vec![Structure::LongCallSpread, Structure::LongPutSpread]),
        "range_condor" => Some(vec![Structure::IronCondor]),
        _ => None,
    }
}

/// The parameters evaluator `evaluator` reads with their kinds (besides the common
/// `symbol_pool`, `min_dte` and `max_dte`); `None` for an unknown evaluator.
pub fn declared_params(evaluator: &str) -> Option<&'static [(&'static str, ParamKind)]> {
    match evaluator {
        "vol_sniper" => Some(&vol_sniper::PARAMS),
        "trend_rider" => Some(&trend_rider::PARAMS),
        "range_condor" => Some(&range_condor::PARAMS),
        _ => None,
    }
}

/// Reads `instance`'s parameters as evaluator `evaluator` does each cycle (required ones
/// present, values in range), so a value it cannot use is refused before the run starts.
pub fn check_params(evaluator: &str, instance: &Instance) -> Result<(), SwarmError> {
    match evaluator {
        "vol_sniper" => vol_sniper::check_params(instance),
        "trend_rider" => trend_rider::check_params(instance),
        "range_condor" => range_condor::check_params(instance),
        other => Err(SwarmError::UnknownEvaluator(other.to_string())),
    }
}

/// Runs the evaluator named `evaluator` for `instance` over `snapshot` and returns the answer
/// as JSON text.
pub fn evaluate(
    evaluator: &str,
    instance: &Instance,
    snapshot: &MarketSnapshot,
) -> Result<String, SwarmError> {
    match evaluator {
        "vol_sniper" => vol_sniper::evaluate(instance, snapshot),
        "trend_rider" => trend_rider::evaluate(instance, snapshot),
        "range_condor" => range_condor::evaluate(instance, snapshot),
        other => Err(SwarmError::UnknownEvaluator(other.to_string())),
    }
}

const EPS: f64 = 1e-9;

/// A numeric instance parameter: `default` when absent (required when `None`), and `valid`
/// (described by `expected`) when present.
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

/// The instance's `symbol_pool` and its first symbol; an empty pool is an error.
fn pool_of(instance: &Instance) -> Result<(Vec<String>, String), SwarmError> {
    let pool = instance.symbol_pool();
    match pool.first() {
        Some(first) => {
            let first = first.clone();
            Ok((pool, first))
        }
        None => Err(SwarmError::Parameter {
            instance: instance.id.clone(),
            key: "symbol_pool".into(),
            message: "must be a non-empty array of symbols".into(),
        }),
    }
}

/// The whole evaluation of one instance: runs `candidate` on every pool symbol's view (the
/// expiries of `window`), keeps the one with the highest `score` (the earlier in the pool on a
/// tie) and answers it with `trade`, or `NO_TRADE` on the pool's first symbol when none
/// qualifies. Either answer carries one note per symbol (why it qualifies or is skipped).
fn answer_from_pool<C>(
    instance: &Instance,
    snapshot: &MarketSnapshot,
    window: DteWindow,
    candidate: impl Fn(&SymbolView) -> Result<C, String>,
    score: impl Fn(&C) -> f64,
    qualifies: impl Fn(&C) -> String,
    trade: impl FnOnce(C, &[String]) -> serde_json::Value,
) -> Result<String, SwarmError> {
    let (pool, first) = pool_of(instance)?;
    let views = symbol_views(snapshot, &pool, window);
    let mut best: Option<C> = None;
    let mut notes = Vec::new();
    for symbol in &pool {
        let outcome = match views.get(symbol) {
            None => Err("no market data".to_string()),
            Some(view) => candidate(view),
        };
        match outcome {
            Ok(c) => {
                notes.push(format!("{symbol}: {}", qualifies(&c)));
                if best.as_ref().is_none_or(|b| score(&c) > score(b)) {
                    best = Some(c);
                }
            }
            Err(why) => notes.push(format!("{symbol}: {why}")),
        }
    }
    let answer = match best {
        Some(c) => trade(c, &notes),
        None => no_trade(&first, &notes),
    };
    Ok(answer.to_string())
}

/// The `NO_TRADE` answer on `first` with the per-symbol notes as reasoning.
fn no_trade(first: &str, notes: &[String]) -> serde_json::Value {
    json!({
        "target": first,
        "signal": Structure::NoTrade,
        "confidence": 0,
        "params": {"legs": []},
        "reasoning": format!("No symbol qualifies. {}.", notes.join("; ")),
    })
}

/// The view's spot, SMA20, RSI14 and IV rank, or why they are not all known.
fn core_figures(view: &SymbolView) -> Result<(f64, f64, f64, f64), String> {
    match (view.spot, view.sma20, view.rsi14, view.iv_rank) {
        (Some(spot), Some(sma20), Some(rsi14), Some(iv_rank)) => Ok((spot, sma20, rsi14, iv_rank)),
        _ => Err("incomplete market data".into()),
    }
}

/// Steps shared by every evaluator: the expiry inside `window` closest to its target (earlier
/// on a tie), and no earnings between `today` and that expiry (inclusive).
fn trade_expiry(
    view: &SymbolView,
    today: NaiveDate,
    window: DteWindow,
) -> Result<&ExpiryView, String> {
    let target = window.target();
    let slice = view
        .chain
        .iter()
        .filter(|e| window.contains(e.dte))
        .min_by_key(|e| ((e.dte - target).abs(), e.dte))
        .ok_or_else(|| format!("no expiry with {}-{} DTE", window.min_dte, window.max_dte))?;
    if let Some(earnings) = view
        .earnings_date
        .filter(|d| *d >= today && *d <= slice.expiry)
    {
        return Err(format!(
            "earnings {earnings} on or before expiry {}",
            slice.expiry
        ));
    }
    Ok(slice)
}

/// The OTM quote of `right` (put strike < spot, call strike > spot) with the largest |delta|
/// not above `max_delta`; on equal |delta| the strike nearer to spot.
fn otm_at_most_delta(
    slice: &ExpiryView,
    right: Right,
    spot: f64,
    max_delta: f64,
) -> Option<&QuoteView> {
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

/// The nearest quote of `right` at least `width` further OTM than `strike` (lower for puts,
/// higher for calls).
fn further_otm(slice: &ExpiryView, right: Right, strike: f64, width: f64) -> Option<&QuoteView> {
    let same_side = slice.quotes.iter().filter(|q| q.right == right);
    match right {
        Right::Put => same_side
            .filter(|q| q.strike <= strike - width + EPS)
            .max_by(|a, b| a.strike.total_cmp(&b.strike)),
        Right::Call => same_side
            .filter(|q| q.strike >= strike + width - EPS)
            .min_by(|a, b| a.strike.total_cmp(&b.strike)),
    }
}

/// `x` rounded to `decimals` places.
fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// One leg of one contract on `symbol` at `expiry`, priced at the quote's mid.
fn leg(symbol: &str, expiry: NaiveDate, action: Action, q: &QuoteView) -> Leg {
    Leg {
        action,
        contract: OptionContract {
            symbol: symbol.to_string(),
            expiry,
            strike: q.strike,
            right: q.right,
        },
        quantity: 1,
        price: q.mid,
    }
}

/// `x` clamped to [0, 1].
fn unit(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}
