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

/// `black_scholes`: validated inputs → greeks.
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

/// `implied_vol`: price → `{vol}`.
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

/// `kelly`: strict argument checks, then the capped fractional Kelly.
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

/// Shared body of the spread skills: parse, check the structure, compute metrics.
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

/// `vertical_spread`: two legs of one right, one bought and one sold.
fn run_vertical(args: &Value) -> Result<Value, SkillError> {
    run_spread("vertical_spread", args, |legs| match legs {
        [a, b] if a.contract.right != b.contract.right => {
            Err("both legs must be calls or both puts".into())
        }
        [a, b] => check_vertical(a, b),
        _ => Err(format!("expected 2 legs, got {}", legs.len())),
    })
}

/// `iron_condor`: a put vertical below a call vertical.
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

/// `expected_move`: `{move, lower, upper}`.
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
        "right": {
            "type": "string",
            "enum": ["call", "put", "C", "P"],
            "description": "Call or put.",
        },
    });
    props[extra] = num(extra_description);
    object(props, &["spot", "strike", "rate", extra, "time", "right"])
}

/// Schema of `kelly`.
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

/// Schema of `expected_move`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn legs_json(legs: &[(&str, &str, f64, f64)]) -> Value {
        legs.iter()
            .map(|(action, right, strike, price)| {
                json!({
                    "action": action,
                    "contract": { "symbol": "SPY", "expiry": "2026-12-18", "strike": strike, "right": right },
                    "quantity": 1,
                    "price": price,
                })
            })
            .collect()
    }

    fn market(legs: Value) -> Value {
        json!({ "legs": legs, "spot": 100.0, "rate": 0.05, "vol": 0.25, "time": 30.0 / 365.0 })
    }

    fn condor() -> Value {
        legs_json(&[
            ("BUY", "P", 90.0, 0.5),
            ("SELL", "P", 95.0, 1.2),
            ("SELL", "C", 105.0, 1.1),
            ("BUY", "C", 110.0, 0.4),
        ])
    }

    struct TestCase {
        name: &'static str,
        input: (&'static str, Value),
        expected: Vec<(&'static str, f64)>,
    }

    #[test]
    fn skills_compute() {
        let hull = json!({"spot": 42, "strike": 40, "rate": 0.1, "dividend_yield": 0, "vol": 0.2, "time": 0.5, "right": "call"});
        let cases = [
            TestCase {
                name: "Hull call",
                input: ("black_scholes", hull),
                expected: vec![("price", 4.759_422_392_871_533)],
            },
            TestCase {
                name: "Hull put, P alias, default dividend",
                input: (
                    "black_scholes",
                    json!({"spot": 42, "strike": 40, "rate": 0.1, "vol": 0.2, "time": 0.5, "right": "P"}),
                ),
                expected: vec![("price", 0.808_599_372_900_094)],
            },
            TestCase {
                name: "implied vol",
                input: (
                    "implied_vol",
                    json!({"spot": 42, "strike": 40, "rate": 0.1, "price": 4.759_422_392_871_533, "time": 0.5, "right": "C"}),
                ),
                expected: vec![("vol", 0.2)],
            },
            TestCase {
                name: "kelly defaults",
                input: ("kelly", json!({"p_win": 0.6, "win": 1, "loss": 1})),
                expected: vec![("fraction", 0.2)],
            },
            TestCase {
                name: "kelly half, capped",
                input: (
                    "kelly",
                    json!({"p_win": 0.6, "win": 1, "loss": 1, "fraction": 0.5, "cap": 0.05}),
                ),
                expected: vec![("fraction", 0.05)],
            },
            TestCase {
                name: "vertical",
                input: (
                    "vertical_spread",
                    market(legs_json(&[
                        ("SELL", "P", 120.0, 2.0),
                        ("BUY", "P", 115.0, 0.85),
                    ])),
                ),
                expected: vec![
                    ("net_premium", 1.15),
                    ("max_profit", 115.0),
                    ("max_loss", 385.0),
                ],
            },
            TestCase {
                name: "iron condor",
                input: ("iron_condor", market(condor())),
                expected: vec![
                    ("net_premium", 1.4),
                    ("max_profit", 140.0),
                    ("max_loss", 360.0),
                    ("probability_of_profit", 0.628_167_830_021_561),
                ],
            },
            TestCase {
                name: "expected move",
                input: (
                    "expected_move",
                    json!({"spot": 100, "vol": 0.2, "time": 0.25}),
                ),
                expected: vec![("move", 10.0), ("lower", 90.0), ("upper", 110.0)],
            },
        ];
        for c in cases {
            let (skill, args) = &c.input;
            let out = call(skill, args).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            for (field, want) in &c.expected {
                let got = out[*field]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{}: no {field} in {out}", c.name));
                assert!(
                    (got - want).abs() < 1e-9,
                    "{}: {field} = {got}, expected {want}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn black_scholes_returns_all_greeks() {
        let out = call("black_scholes", &json!({"spot": 42, "strike": 40, "rate": 0.1, "vol": 0.2, "time": 0.5, "right": "call"}))
            .expect("priced");
        let keys: Vec<&str> = out
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 6);
        for k in ["price", "delta", "gamma", "theta", "vega", "rho"] {
            assert!(keys.contains(&k), "{k} missing from {out}");
        }
    }

    #[test]
    fn errors_are_reported() {
        let hull = json!({"spot": 42, "strike": 40, "rate": 0.1, "vol": 0.2, "time": 0.5, "right": "call"});
        let mut extra = hull.clone();
        extra["volatility"] = json!(0.2);
        let mut missing = hull.clone();
        missing.as_object_mut().expect("object").remove("vol");
        let cases: Vec<(&str, &str, Value, &str)> = vec![
            (
                "unknown field",
                "black_scholes",
                extra,
                "unknown field `volatility`",
            ),
            (
                "missing field",
                "black_scholes",
                missing,
                "missing field `vol`",
            ),
            (
                "wrong type",
                "black_scholes",
                json!({"spot": "42", "strike": 40, "rate": 0.1, "vol": 0.2, "time": 0.5, "right": "call"}),
                "invalid type",
            ),
            (
                "bad right",
                "black_scholes",
                json!({"spot": 42, "strike": 40, "rate": 0.1, "vol": 0.2, "time": 0.5, "right": "straddle"}),
                "straddle",
            ),
            ("not an object", "kelly", json!([0.6, 1, 1]), "JSON object"),
            (
                "negative spot",
                "black_scholes",
                json!({"spot": -42, "strike": 40, "rate": 0.1, "vol": 0.2, "time": 0.5, "right": "call"}),
                "spot",
            ),
            (
                "kelly p_win",
                "kelly",
                json!({"p_win": 1.5, "win": 1, "loss": 1}),
                "p_win",
            ),
            (
                "vertical with 3 legs",
                "vertical_spread",
                market(legs_json(&[
                    ("SELL", "P", 120.0, 2.0),
                    ("BUY", "P", 115.0, 0.85),
                    ("BUY", "P", 110.0, 0.5),
                ])),
                "expected 2 legs",
            ),
            (
                "vertical mixed rights",
                "vertical_spread",
                market(legs_json(&[
                    ("SELL", "P", 120.0, 2.0),
                    ("BUY", "C", 125.0, 0.85),
                ])),
                "both legs",
            ),
            (
                "vertical both bought",
                "vertical_spread",
                market(legs_json(&[
                    ("BUY", "P", 120.0, 2.0),
                    ("BUY", "P", 115.0, 0.85),
                ])),
                "one BUY and one SELL",
            ),
            (
                "condor with 2 legs",
                "iron_condor",
                market(legs_json(&[
                    ("SELL", "P", 120.0, 2.0),
                    ("BUY", "P", 115.0, 0.85),
                ])),
                "expected 4 legs",
            ),
            (
                "condor crossed",
                "iron_condor",
                market(legs_json(&[
                    ("BUY", "P", 100.0, 0.5),
                    ("SELL", "P", 106.0, 1.2),
                    ("SELL", "C", 105.0, 1.1),
                    ("BUY", "C", 110.0, 0.4),
                ])),
                "must not exceed",
            ),
            (
                "expected move bad vol",
                "expected_move",
                json!({"spot": 100, "vol": -0.2, "time": 0.25}),
                "vol",
            ),
        ];
        for (name, skill, args, needle) in cases {
            match call(skill, &args) {
                Err(SkillError::InvalidInput(msg)) => {
                    assert!(msg.contains(needle), "{name}: {msg}")
                }
                other => panic!("{name}: expected InvalidInput, got {other:?}"),
            }
        }
        let below = json!({"spot": 42, "strike": 40, "rate": 0.1, "price": 1.0, "time": 0.5, "right": "call"});
        assert!(matches!(
            call("implied_vol", &below),
            Err(SkillError::NoSolution(_))
        ));
        assert_eq!(
            call("black_scholes_v2", &hull),
            Err(SkillError::UnknownSkill("black_scholes_v2".into()))
        );
    }

    #[test]
    fn list_describes_every_skill() {
        let skills = list();
        let names: Vec<&str> = skills.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "black_scholes",
                "implied_vol",
                "kelly",
                "vertical_spread",
                "iron_condor",
                "expected_move"
            ]
        );
        for s in &skills {
            assert!(!s.description.is_empty());
            let schema = &s.input_schema;
            assert_eq!(schema["type"], "object", "{}", s.name);
            assert_eq!(schema["additionalProperties"], false, "{}", s.name);
            let props = schema["properties"].as_object().expect("properties");
            for req in schema["required"].as_array().expect("required") {
                assert!(
                    props.contains_key(req.as_str().expect("name")),
                    "{}: {req} not a property",
                    s.name
                );
            }
        }
        let json = serde_json::to_value(&skills).expect("serialisable");
        assert_eq!(json[0]["name"], "black_scholes");
    }
}
