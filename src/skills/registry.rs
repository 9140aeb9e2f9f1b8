//! Name-addressed access to the skills with JSON arguments and results, so the same table can
//! be offered to an LLM as tools (`list()` gives each tool's JSON Schema).
//!
//! Arguments are strict: unknown fields are rejected and a missing field is reported by name.
//! In spread results `max_profit` / `max_loss` are `null` when unbounded.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::black_scholes::{self, BsInput};
use super::implied_vol::implied_vol;
use super::kelly::fractional_kelly;
use super::spreads::{expected_move, spread_metrics};
use super::{require_non_negative, require_positive, SkillError};
use crate::domain::{Action, Leg, Right};

/// A skill's public description, shaped for LLM tool definitions.
#[derive(Debug, Clone, Serialize)]
pub struct SkillInfo {
    /// Unique name used with [`call`].
    pub name: &'static str,
    /// What the skill computes and returns.
    pub description: &'static str,
    /// JSON Schema (an `object` schema) of the arguments.
    pub input_schema: Value,
}

/// One registry entry.
struct Skill {
    name: &'static str,
    description: &'static str,
    schema: fn() -> Value,
    run: fn(&Value) -> Result<Value, SkillError>,
}

/// The registry table.
const SKILLS: &[Skill] = &[
    Skill {
        name: "black_scholes",
        description: "Black-Scholes-Merton price and greeks of a European option with a \
                      continuous dividend yield. Returns {price, delta, gamma, theta (per \
                      calendar day), vega (per 1 vol point), rho (per 1 rate point)}.",
        schema: || option_schema("vol", "Annualised volatility as a decimal (0.2 = 20%)."),
        run: run_black_scholes,
    },
    Skill {
        name: "implied_vol",
        description: "Implied volatility of a European option from its per-share price. \
                      Returns {vol} as a decimal; fails if the price is outside the \
                      no-arbitrage bounds.",
        schema: || option_schema("price", "Observed per-share option price."),
        run: run_implied_vol,
    },
    Skill {
        name: "kelly",
        description: "Kelly fraction of bankroll for a bet winning `win` with probability \
                      p_win and otherwise losing `loss`, scaled by `fraction` and capped at \
                      `cap`. Returns {fraction}; 0 when the edge is negative.",
        schema: kelly_schema,
        run: run_kelly,
    },
    Skill {
        name: "vertical_spread",
        description: "Expiry metrics of a two-leg vertical spread (same right and expiry, one \
                      bought and one sold leg): {net_premium (per share, credit positive), \
                      max_profit, max_loss (dollars per combo; null = unbounded), breakevens, \
                      probability_of_profit (risk-neutral lognormal)}.",
        schema: || spread_schema(2),
        run: run_vertical,
    },
    Skill {
        name: "iron_condor",
        description: "Expiry metrics of a four-leg iron condor (a put vertical below a call \
                      vertical, same expiry): {net_premium (per share, credit positive), \
                      max_profit, max_loss (dollars per combo), breakevens, \
                      probability_of_profit (risk-neutral lognormal)}.",
        schema: || spread_schema(4),
        run: run_iron_condor,
    },
    Skill {
        name: "expected_move",
        description: "One-standard-deviation expected move of the underlying by expiry, \
                      spot*vol*sqrt(time). Returns {move, lower, upper} (lower floored at 0).",
        schema: expected_move_schema,
        run: run_expected_move,
    },
];

/// Every skill's name, description and argument schema.
pub fn list() -> Vec<SkillInfo> {
    SKILLS
        .iter()
        .map(|s| SkillInfo {
            name: s.name,
            description: s.description,
            input_schema: (s.schema)(),
        })
        .collect()
}

/// Runs skill `name` on JSON `args` (an object) and returns its JSON result.
pub fn call(name: &str, args: &Value) -> Result<Value, SkillError> {
    let skill = SKILLS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| SkillError::UnknownSkill(name.to_string()))?;
    (skill.run)(args)
}

/// Deserialises strict arguments, turning serde's message into an `InvalidInput`.
fn parse<T: DeserializeOwned>(skill: &str, args: &Value) -> Result<T, SkillError> {
    if !args.is_object() {
        return Err(SkillError::InvalidInput(format!(
            "{skill}: arguments must be a JSON object; see list() for its input_schema"
        )));
    }
    T::deserialize(args).map_err(|e| {
        SkillError::InvalidInput(format!(
            "{skill}: {e}; fix the arguments to match list()'s input_schema"
        ))
    })
}

/// Serialises a result (infallible for the plain structs used here).
fn to_json<T: Serialize>(value: &T) -> Result<Value, SkillError> {
    serde_json::to_value(value)
        .map_err(|e| SkillError::NoSolution(format!("result could not be encoded: {e}")))
}

/// `black_scholes` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BsArgs {
    spot: f64,
    strike: f64,
    rate: f64,
    #[serde(default)]
    dividend_yield: f64,
    vol: f64,
    time: f64,
    right: Right,
}

/// `implied_vol` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IvArgs {
    spot: f64,
    strike: f64,
    rate: f64,
    #[serde(default)]
    dividend_yield: f64,
    price: f64,
    time: f64,
    right: Right,
}

/// `kelly` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KellyArgs {
    p_win: f64,
    win: f64,
    loss: f64,
    #[serde(default = "one")]
    fraction: f64,
    #[serde(default = "one")]
    cap: f64,
}

/// Default for `fraction` and `cap`.
fn one() -> f64 {
    1.0
}

/// `vertical_spread` / `iron_condor` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpreadArgs {
    legs: Vec<Leg>,
    spot: f64,
    rate: f64,
    #[serde(default)]
    dividend_yield: f64,
    vol: f64,
    time: f64,
}

/// `expected_move` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveArgs {
    spot: f64,
    vol: f64,
    time: f64,
}

fn run_black_scholes(args: &Value) -> Result<Value, SkillError> {
    let a: BsArgs = parse("black_scholes", args)?;
    let input = BsInput {
        spot: a.spot,
        strike: a.strike,
        rate: a.rate,
        dividend_yield: a.dividend_yield,
        vol: a.vol,
        time: a.time,
        right: a.right,
    };
    black_scholes::validate(&input)?;
    to_json(&black_scholes::greeks(&input))
}

fn run_implied_vol(args: &Value) -> Result<Value, SkillError> {
    let a: IvArgs = parse("implied_vol", args)?;
    let input = BsInput {
        spot: a.spot,
        strike: a.strike,
        rate: a.rate,
        dividend_yield: a.dividend_yield,
        vol: 0.0,
        time: a.time,
        right: a.right,
    };
    Ok(json!({ "vol": implied_vol(a.price, &input)? }))
}

fn run_kelly(args: &Value) -> Result<Value, SkillError> {
    let a: KellyArgs = parse("kelly", args)?;
    let in_unit = |name: &str, v: f64, hint: &str| {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(SkillError::InvalidInput(format!(
                "{name} must be in [0, 1] (got {v}); pass {hint}"
            )))
        }
    };
    in_unit("p_win", a.p_win, "the win probability as a decimal")?;
    require_positive("win", a.win, "the amount won on a win")?;
    require_positive(
        "loss",
        a.loss,
        "the amount lost on a loss, as a positive number",
    )?;
    in_unit(
        "fraction",
        a.fraction,
        "the share of full Kelly to bet (0.5 = half Kelly)",
    )?;
    require_non_negative("cap", a.cap, "the largest bankroll fraction allowed")?;
    let fraction = fractional_kelly(a.p_win, a.win, a.loss, a.fraction, a.cap);
    Ok(json!({ "fraction": fraction }))
}

fn run_spread(
    skill: &str,
    args: &Value,
    check: fn(&[Leg]) -> Result<(), String>,
) -> Result<Value, SkillError> {
    let a: SpreadArgs = parse(skill, args)?;
    check(&a.legs).map_err(|e| SkillError::InvalidInput(format!("{skill}: {e}")))?;
    to_json(&spread_metrics(
        &a.legs,
        a.spot,
        a.rate,
        a.dividend_yield,
        a.vol,
        a.time,
    )?)
}

fn run_vertical(args: &Value) -> Result<Value, SkillError> {
    run_spread("vertical_spread", args, |legs| match legs {
        [a, b] if a.contract.right != b.contract.right => {
            Err("both legs must be calls or both puts".into())
        }
        [a, b] => check_vertical(a, b),
        _ => Err(format!("expected 2 legs, got {}", legs.len())),
    })
}

fn run_iron_condor(args: &Value) -> Result<Value, SkillError> {
    run_spread("iron_condor", args, |legs| {
        if legs.len() != 4 {
            return Err(format!("expected 4 legs, got {}", legs.len()));
        }
        let (puts, calls): (Vec<&Leg>, Vec<&Leg>) =
            legs.iter().partition(|l| l.contract.right == Right::Put);
        let (&[p1, p2], &[c1, c2]) = (puts.as_slice(), calls.as_slice()) else {
            return Err("expected 2 put legs and 2 call legs".into());
        };
        check_vertical(p1, p2)?;
        check_vertical(c1, c2)?;
        let top_put = p1.contract.strike.max(p2.contract.strike);
        let bottom_call = c1.contract.strike.min(c2.contract.strike);
        if top_put > bottom_call {
            return Err(format!(
                "put strikes must not exceed call strikes (highest put {top_put} > lowest call \
                 {bottom_call})"
            ));
        }
        Ok(())
    })
}

/// Two legs of one right form a vertical: one bought, one sold, equal ratio, distinct strikes.
fn check_vertical(a: &Leg, b: &Leg) -> Result<(), String> {
    if a.action == b.action {
        return Err("a vertical needs one BUY and one SELL leg".into());
    }
    if a.quantity != b.quantity {
        return Err("both legs of a vertical need the same quantity".into());
    }
    if a.contract.strike == b.contract.strike {
        return Err("the legs of a vertical need different strikes".into());
    }
    Ok(())
}

fn run_expected_move(args: &Value) -> Result<Value, SkillError> {
    let a: MoveArgs = parse("expected_move", args)?;
    require_positive("spot", a.spot, "the underlying price")?;
    require_non_negative(
        "vol",
        a.vol,
        "annualised volatility as a decimal (0.2 = 20%)",
    )?;
    require_non_negative("time", a.time, "time to expiry in years (days / 365)")?;
    let m = expected_move(a.spot, a.vol, a.time);
    Ok(json!({ "move": m, "lower": (a.spot - m).max(0.0), "upper": a.spot + m }))
}

/// Schema of a number property.
fn num(description: &str) -> Value {
    json!({ "type": "number", "description": description })
}

/// Strict object schema from properties and required names.
fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Schema of the option-pricing skills; `extra` is `vol` or `price`.
fn option_schema(extra: &str, extra_description: &str) -> Value {
    let mut props = json!({
        "spot": num("Underlying price (> 0)."),
        "strike": num("Strike price (> 0)."),
        "rate": num("Continuously compounded risk-free rate as a decimal (0.05 = 5%)."),
        "dividend_yield": num("Continuous dividend yield as a decimal; default 0."),
        "time": num("Time to expiry in years (days / 365)."),
        "right": { "type": "string", "enum": ["call", "put", "C", "P"], "description": "Call or put." },
    });
    props[extra] = num(extra_description);
    object(props, &["spot", "strike", "rate", extra, "time", "right"])
}

fn kelly_schema() -> Value {
    object(
        json!({
            "p_win": num("Probability of the winning outcome, in [0, 1]."),
            "win": num("Amount won on a win (> 0)."),
            "loss": num("Amount lost on a loss, as a positive number."),
            "fraction": num("Share of full Kelly to bet, in [0, 1]; default 1."),
            "cap": num("Largest bankroll fraction returned (>= 0); default 1."),
        }),
        &["p_win", "win", "loss"],
    )
}

/// Schema of one domain `Leg`.
fn leg_schema() -> Value {
    let actions = [Action::Buy, Action::Sell].map(|a| json!(a));
    object(
        json!({
            "action": { "type": "string", "enum": actions },
            "contract": object(
                json!({
                    "symbol": { "type": "string", "description": "Underlying symbol." },
                    "expiry": { "type": "string", "format": "date", "description": "YYYY-MM-DD." },
                    "strike": num("Strike price."),
                    "right": { "type": "string", "enum": ["C", "P", "call", "put"] },
                }),
                &["symbol", "expiry", "strike", "right"],
            ),
            "quantity": { "type": "integer", "minimum": 1, "description": "Contracts per combo." },
            "price": num("Per-share premium (not x100)."),
        }),
        &["action", "contract", "quantity", "price"],
    )
}

/// Schema of the spread skills with exactly `legs` legs.
fn spread_schema(legs: usize) -> Value {
    object(
        json!({
            "legs": { "type": "array", "items": leg_schema(), "minItems": legs, "maxItems": legs },
            "spot": num("Underlying price (> 0)."),
            "rate": num("Risk-free rate as a decimal."),
            "dividend_yield": num("Dividend yield as a decimal; default 0."),
            "vol": num("Annualised volatility as a decimal, for the probability of profit."),
            "time": num("Time to expiry in years."),
        }),
        &["legs", "spot", "rate", "vol", "time"],
    )
}

fn expected_move_schema() -> Value {
    object(
        json!({
            "spot": num("Underlying price (> 0)."),
            "vol": num("Annualised volatility as a decimal."),
            "time": num("Time horizon in years."),
        }),
        &["spot", "vol", "time"],
    )
}
