//! Turning an agent's raw answer text into a validated [`Signal`] or an [`Abstention`].
//!
//! The answer is a JSON object (possibly inside a Markdown fence or surrounded by prose):
//!
//! ```json
//! {"target": "NVDA", "signal": "SHORT_PUT_SPREAD", "confidence": 0.8,
//!  "params": {"legs": [{"action": "SELL", "contract": {"symbol": "NVDA",
//!    "expiry": "2026-04-10", "strike": 110, "right": "P"}, "quantity": 1, "price": 2.1}],
//!    "max_risk": 410, "capital_required": 500},
//!  "reasoning": "..."}
//! ```
//!
//! `instance_id` and `template_used` come from the runtime; whatever the model sent is ignored.

use super::instance::Instance;
use crate::domain::{Action, Leg, OptionContract, Right, Signal, SignalParams, Structure};
use crate::market::MarketSnapshot;
use chrono::NaiveDate;
use serde_json::{Map, Value};
use std::fmt;

/// Stable reason codes of an [`Abstention`].
pub mod reason {
    /// No parseable JSON object in the answer.
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// A required field is absent or null.
    pub const MISSING_FIELD: &str = "MISSING_FIELD";
    /// A field has the wrong JSON type.
    pub const INVALID_FIELD: &str = "INVALID_FIELD";
    /// `signal` is not a known structure name.
    pub const UNKNOWN_SIGNAL: &str = "UNKNOWN_SIGNAL";
    /// `target` is not in the instance's `symbol_pool`.
    pub const TARGET_NOT_IN_POOL: &str = "TARGET_NOT_IN_POOL";
    /// Legs are malformed or do not form any supported structure.
    pub const BAD_LEGS: &str = "BAD_LEGS";
    /// Expiry is not a real date, not after the snapshot date, or not in the chain.
    pub const BAD_EXPIRY: &str = "BAD_EXPIRY";
    /// A number is NaN, infinite, or beyond [`super::MAX_ABS_NUMBER`].
    pub const NON_FINITE: &str = "NON_FINITE";
    /// `confidence` is outside [0, 1].
    pub const BAD_CONFIDENCE: &str = "BAD_CONFIDENCE";
    /// A price or risk figure is negative.
    pub const BAD_PRICE: &str = "BAD_PRICE";
    /// Legs form a structure other than the named `signal` (or NO_TRADE has legs).
    pub const STRUCTURE_MISMATCH: &str = "STRUCTURE_MISMATCH";
    /// A leg's contract is not quoted in the snapshot.
    pub const UNKNOWN_CONTRACT: &str = "UNKNOWN_CONTRACT";
    /// The expiry's days to expiry fall outside the instance's `min_dte`–`max_dte` window.
    pub const EXPIRY_OUTSIDE_WINDOW: &str = "EXPIRY_OUTSIDE_WINDOW";
    /// The structure is not one the instance's template offers.
    pub const STRUCTURE_NOT_OFFERED: &str = "STRUCTURE_NOT_OFFERED";
}

/// Numbers with a larger magnitude are rejected as [`reason::NON_FINITE`]: they would
/// overflow later dollar arithmetic and are never meaningful.
pub const MAX_ABS_NUMBER: f64 = 1e12;

/// An answer that could not be turned into a signal: the agent abstains this cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abstention {
    /// Stable short code from [`reason`].
    pub reason: String,
    /// Human-readable detail.
    pub detail: String,
    /// The raw answer text.
    pub raw: String,
}

impl fmt::Display for Abstention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Abstention {}

/// A rejection before the raw text is attached.
struct Reject {
    code: &'static str,
    detail: String,
}

fn reject(code: &'static str, detail: impl Into<String>) -> Reject {
    Reject {
        code,
        detail: detail.into(),
    }
}

/// Parses and validates `raw` for `instance` against `snapshot`.
///
/// A valid `NO_TRADE` (no legs) is a [`Signal`]. Any failure is an [`Abstention`] with a
/// code from [`reason`].
pub fn parse_answer(
    raw: &str,
    instance: &Instance,
    template_name: &str,
    snapshot: &MarketSnapshot,
) -> Result<Signal, Abstention> {
    let abstain = |r: Reject| Abstention {
        reason: r.code.to_string(),
        detail: r.detail,
        raw: raw.to_string(),
    };
    let obj = extract_object(raw).map_err(abstain)?;
    let answer = parse_fields(&obj, &instance.symbol_pool()).map_err(abstain)?;
    if answer.signal != Structure::NoTrade {
        check_market(&answer.target, &answer.params.legs, snapshot).map_err(abstain)?;
    }
    Ok(Signal {
        instance_id: instance.id.clone(),
        template_used: template_name.to_string(),
        target: answer.target,
        signal: answer.signal,
        params: answer.params,
        confidence: answer.confidence,
        reasoning: answer.reasoning,
    })
}

/// The first balanced top-level `{...}` in `raw` that parses as JSON.
fn extract_object(raw: &str) -> Result<Map<String, Value>, Reject> {
    let mut from = 0;
    let mut first_error: Option<Reject> = None;
    while let Some(offset) = raw[from..].find('{') {
        let start = from + offset;
        let Some(len) = balanced_len(&raw[start..]) else {
            break;
        };
        let candidate = &raw[start..start + len];
        match serde_json::from_str::<Value>(candidate) {
            Ok(Value::Object(map)) => return Ok(map),
            Ok(_) => {}
            Err(e) => {
                let code =
                    if has_bare_non_finite(candidate) || e.to_string().contains("out of range") {
                        reason::NON_FINITE
                    } else {
                        reason::INVALID_JSON
                    };
                first_error.get_or_insert(reject(code, format!("answer JSON: {e}")));
            }
        }
        from = start + len;
    }
    Err(first_error.unwrap_or_else(|| {
        let detail = if raw.contains('{') {
            "unterminated JSON object"
        } else {
            "no JSON object in the answer"
        };
        reject(reason::INVALID_JSON, detail)
    }))
}

/// Byte length of the balanced `{...}` at the start of `s`, honouring JSON strings.
fn balanced_len(s: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// True when `NaN` or `Infinity` appears outside JSON strings.
fn has_bare_non_finite(s: &str) -> bool {
    let mut outside = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in s.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            outside.push(' ');
        } else {
            outside.push(c);
        }
    }
    outside.contains("NaN") || outside.contains("Infinity")
}

/// The answer's fields after the checks that need no market data.
struct Answer {
    target: String,
    signal: Structure,
    confidence: f64,
    reasoning: String,
    params: SignalParams,
}

fn parse_fields(obj: &Map<String, Value>, pool: &[String]) -> Result<Answer, Reject> {
    let target = match present(obj, "target") {
        // A NO_TRADE vote needs no target: "nothing to trade" is what models answer.
        None if is_no_trade(obj) => String::new(),
        Some(Value::String(s)) if s.trim().is_empty() && is_no_trade(obj) => String::new(),
        _ => required_str(obj, "target")?.trim().to_string(),
    };
    let untargeted_no_trade = target.is_empty() && is_no_trade(obj);
    if !untargeted_no_trade && !pool.contains(&target) {
        return Err(reject(
            reason::TARGET_NOT_IN_POOL,
            format!("target {target:?} is not in the pool [{}]", pool.join(", ")),
        ));
    }
    let signal_name = required_str(obj, "signal")?.trim().to_ascii_uppercase();
    let signal = Structure::parse(&signal_name).ok_or_else(|| {
        reject(
            reason::UNKNOWN_SIGNAL,
            format!("signal {signal_name:?} is not a known structure"),
        )
    })?;
    let confidence = number(
        present(obj, "confidence").ok_or_else(|| missing("confidence"))?,
        "confidence",
    )?;
    if !(0.0..=1.0).contains(&confidence) {
        return Err(reject(
            reason::BAD_CONFIDENCE,
            format!("confidence {confidence} is outside [0, 1]"),
        ));
    }
    let reasoning = match present(obj, "reasoning") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("reasoning", "a string")),
    };
    let params = match present(obj, "params") {
        None => None,
        Some(Value::Object(p)) => Some(p),
        Some(_) => return Err(invalid("params", "an object")),
    };
    let legs_value = match params.and_then(|p| present(p, "legs")) {
        None => None,
        Some(Value::Array(legs)) => Some(legs),
        Some(_) => return Err(invalid("params.legs", "an array")),
    };
    let dollars = |key: &str| -> Result<f64, Reject> {
        let field = format!("params.{key}");
        match params.and_then(|p| present(p, key)) {
            None => Ok(0.0),
            Some(v) => non_negative(number(v, &field)?, &field),
        }
    };
    let (max_risk, capital_required) = (dollars("max_risk")?, dollars("capital_required")?);

    let legs = if signal == Structure::NoTrade {
        if legs_value.is_some_and(|l| !l.is_empty()) {
            return Err(reject(
                reason::STRUCTURE_MISMATCH,
                "NO_TRADE must not have legs",
            ));
        }
        Vec::new()
    } else {
        let legs_value = match (params, legs_value) {
            (None, _) => return Err(missing("params")),
            (Some(_), None) => return Err(missing("params.legs")),
            (Some(_), Some(l)) => l,
        };
        let legs = legs_value
            .iter()
            .enumerate()
            .map(|(i, v)| parse_leg(i, v))
            .collect::<Result<Vec<_>, _>>()?;
        check_shape(&target, signal, &legs)?;
        legs
    };
    Ok(Answer {
        target,
        signal,
        confidence,
        reasoning,
        params: SignalParams {
            legs,
            max_risk,
            capital_required,
        },
    })
}

/// True when `signal` names NO_TRADE (the target may then be empty or null).
fn is_no_trade(obj: &Map<String, Value>) -> bool {
    matches!(present(obj, "signal"), Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("NO_TRADE"))
}

/// The field's value unless absent or null.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn missing(field: &str) -> Reject {
    reject(reason::MISSING_FIELD, format!("missing field {field:?}"))
}

fn invalid(field: &str, expected: &str) -> Reject {
    reject(
        reason::INVALID_FIELD,
        format!("field {field:?} must be {expected}"),
    )
}

fn required_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, Reject> {
    match present(obj, key) {
        None => Err(missing(key)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(key, "a string")),
    }
}

/// A finite number of sane magnitude.
fn number(v: &Value, field: &str) -> Result<f64, Reject> {
    let x = v.as_f64().ok_or_else(|| invalid(field, "a number"))?;
    if !x.is_finite() || x.abs() > MAX_ABS_NUMBER {
        return Err(reject(
            reason::NON_FINITE,
            format!("{field} = {x} is not a finite number below {MAX_ABS_NUMBER:e}"),
        ));
    }
    Ok(x)
}

fn non_negative(x: f64, field: &str) -> Result<f64, Reject> {
    if x < 0.0 {
        return Err(reject(
            reason::BAD_PRICE,
            format!("{field} = {x} is negative"),
        ));
    }
    Ok(x)
}

fn parse_leg(i: usize, v: &Value) -> Result<Leg, Reject> {
    let bad = |what: &str| reject(reason::BAD_LEGS, format!("leg {i}: {what}"));
    let leg = v.as_object().ok_or_else(|| bad("not an object"))?;
    let text = |obj: &Map<String, Value>, key: &str| -> Result<String, Reject> {
        match present(obj, key) {
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            _ => Err(bad(&format!("{key} must be a string"))),
        }
    };
    let action = match text(leg, "action")?.to_ascii_uppercase().as_str() {
        "BUY" => Action::Buy,
        "SELL" => Action::Sell,
        other => return Err(bad(&format!("action {other:?} is not BUY or SELL"))),
    };
    let contract = match present(leg, "contract") {
        Some(Value::Object(c)) => c,
        _ => return Err(bad("contract must be an object")),
    };
    let symbol = text(contract, "symbol")?;
    let expiry_text = text(contract, "expiry")?;
    let expiry = NaiveDate::parse_from_str(&expiry_text, "%Y-%m-%d").map_err(|_| {
        reject(
            reason::BAD_EXPIRY,
            format!("leg {i}: expiry {expiry_text:?} is not a YYYY-MM-DD date"),
        )
    })?;
    let strike = number(
        present(contract, "strike").ok_or_else(|| bad("missing strike"))?,
        &format!("leg {i} strike"),
    )?;
    if strike <= 0.0 {
        return Err(bad(&format!("strike {strike} is not positive")));
    }
    let right = match text(contract, "right")?.to_ascii_uppercase().as_str() {
        "C" | "CALL" => Right::Call,
        "P" | "PUT" => Right::Put,
        other => return Err(bad(&format!("right {other:?} is not C or P"))),
    };
    let quantity = present(leg, "quantity")
        .and_then(Value::as_u64)
        .and_then(|q| u32::try_from(q).ok())
        .filter(|q| *q >= 1)
        .ok_or_else(|| bad("quantity must be an integer >= 1"))?;
    let price_field = format!("leg {i} price");
    let price = number(
        present(leg, "price").ok_or_else(|| bad("missing price"))?,
        &price_field,
    )?;
    Ok(Leg {
        action,
        contract: OptionContract {
            symbol,
            expiry,
            strike,
            right,
        },
        quantity,
        price: non_negative(price, &price_field)?,
    })
}

/// Legs are non-empty, on the target, share one expiry and form the named structure.
fn check_shape(target: &str, signal: Structure, legs: &[Leg]) -> Result<(), Reject> {
    let bad = |detail: String| reject(reason::BAD_LEGS, detail);
    let Some(first) = legs.first() else {
        return Err(bad(format!("{signal} needs legs")));
    };
    if let Some(l) = legs.iter().find(|l| l.contract.symbol != target) {
        return Err(bad(format!(
            "leg on {} but target is {target}",
            l.contract.symbol
        )));
    }
    if legs
        .iter()
        .any(|l| l.contract.expiry != first.contract.expiry)
    {
        return Err(bad("legs must share one expiry".into()));
    }
    match classify_structure(legs) {
        None => Err(bad(format!(
            "legs [{}] do not form a supported structure",
            describe(legs)
        ))),
        Some(found) if found != signal => Err(reject(
            reason::STRUCTURE_MISMATCH,
            format!(
                "signal is {signal} but legs [{}] form {found}",
                describe(legs)
            ),
        )),
        Some(_) => Ok(()),
    }
}

fn describe(legs: &[Leg]) -> String {
    legs.iter()
        .map(|l| format!("{:?} {}x {}", l.action, l.quantity, l.contract))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The expiry is after the snapshot date and in the target's chain; every contract is quoted.
fn check_market(target: &str, legs: &[Leg], snapshot: &MarketSnapshot) -> Result<(), Reject> {
    let Some(underlying) = snapshot.underlyings.get(target) else {
        return Err(reject(
            reason::UNKNOWN_CONTRACT,
            format!("no market data for {target}"),
        ));
    };
    for leg in legs {
        let expiry = leg.contract.expiry;
        if expiry <= snapshot.date() {
            return Err(reject(
                reason::BAD_EXPIRY,
                format!("expiry {expiry} is not after {}", snapshot.date()),
            ));
        }
        if !underlying.chain.iter().any(|s| s.expiry == expiry) {
            return Err(reject(
                reason::BAD_EXPIRY,
                format!("expiry {expiry} is not in the {target} chain"),
            ));
        }
        if snapshot.quote(&leg.contract).is_none() {
            return Err(reject(
                reason::UNKNOWN_CONTRACT,
                format!("{} is not quoted", leg.contract),
            ));
        }
    }
    Ok(())
}

pub use crate::domain::classify_structure;

#[cfg(test)]
mod tests;
