//! The skills' argument structs (their doc comments are the schema's descriptions) and the
//! functions that run a skill on them: strict parsing, range checks, then the pure skill.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::{right, LegSchema};
use super::{parse, to_json};
use crate::domain::{Leg, Right};
use crate::skills::black_scholes::{self, BsInput};
use crate::skills::implied_vol::implied_vol;
use crate::skills::kelly::fractional_kelly;
use crate::skills::spreads::{expected_move, spread_metrics};
use crate::skills::{require_non_negative, require_positive, SkillError};

/// `black_scholes` arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BsArgs {
    /// Underlying price (> 0).
    spot: f64,
    /// Strike price (> 0).
    strike: f64,
    /// Continuously compounded risk-free rate as a decimal (0.05 = 5%).
    rate: f64,
    /// Continuous dividend yield as a decimal; default 0.
    #[serde(default)]
    dividend_yield: f64,
    /// Annualised volatility as a decimal (0.2 = 20%).
    vol: f64,
    /// Time to expiry in years (days / 365).
    time: f64,
    /// Call or put.
    #[schemars(schema_with = "right")]
    right: Right,
}

/// `implied_vol` arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct IvArgs {
    /// Underlying price (> 0).
    spot: f64,
    /// Strike price (> 0).
    strike: f64,
    /// Continuously compounded risk-free rate as a decimal (0.05 = 5%).
    rate: f64,
    /// Continuous dividend yield as a decimal; default 0.
    #[serde(default)]
    dividend_yield: f64,
    /// Observed per-share option price.
    price: f64,
    /// Time to expiry in years (days / 365).
    time: f64,
    /// Call or put.
    #[schemars(schema_with = "right")]
    right: Right,
}

/// `kelly` arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KellyArgs {
    /// Probability of the winning outcome, in [0, 1].
    p_win: f64,
    /// Amount won on a win (> 0).
    win: f64,
    /// Amount lost on a loss, as a positive number.
    loss: f64,
    /// Share of full Kelly to bet, in [0, 1]; default 1.
    #[serde(default = "one")]
    fraction: f64,
    /// Largest bankroll fraction returned (>= 0); default 1.
    #[serde(default = "one")]
    cap: f64,
}

/// Default for `fraction` and `cap`.
fn one() -> f64 {
    1.0
}

/// `vertical_spread` (`LEGS` = 2) / `iron_condor` (`LEGS` = 4) arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SpreadArgs<const LEGS: usize> {
    // The spread's legs (no doc comment: it would become a schema description).
    #[schemars(with = "Vec<LegSchema>", length(min = LEGS, max = LEGS))]
    legs: Vec<Leg>,
    /// Underlying price (> 0).
    spot: f64,
    /// Risk-free rate as a decimal.
    rate: f64,
    /// Dividend yield as a decimal; default 0.
    #[serde(default)]
    dividend_yield: f64,
    /// Annualised volatility as a decimal, for the probability of profit.
    vol: f64,
    /// Time to expiry in years.
    time: f64,
}

/// `expected_move` arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MoveArgs {
    /// Underlying price (> 0).
    spot: f64,
    /// Annualised volatility as a decimal.
    vol: f64,
    /// Time horizon in years.
    time: f64,
}

/// `black_scholes`: validated inputs → greeks.
pub(super) fn run_black_scholes(args: &Value) -> Result<Value, SkillError> {
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
pub(super) fn run_implied_vol(args: &Value) -> Result<Value, SkillError> {
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
pub(super) fn run_kelly(args: &Value) -> Result<Value, SkillError> {
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
fn run_spread<const LEGS: usize>(
    skill: &str,
    args: &Value,
    check: fn(&[Leg]) -> Result<(), String>,
) -> Result<Value, SkillError> {
    let a: SpreadArgs<LEGS> = parse(skill, args)?;
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
pub(super) fn run_vertical(args: &Value) -> Result<Value, SkillError> {
    run_spread::<2>("vertical_spread", args, |legs| match legs {
        [a, b] if a.contract.right != b.contract.right => {
            Err("both legs must be calls or both puts".into())
        }
        [a, b] => check_vertical(a, b),
        _ => Err(format!("expected 2 legs, got {}", legs.len())),
    })
}

/// `iron_condor`: a put vertical below a call vertical.
pub(super) fn run_iron_condor(args: &Value) -> Result<Value, SkillError> {
    run_spread::<4>("iron_condor", args, |legs| {
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
pub(super) fn run_expected_move(args: &Value) -> Result<Value, SkillError> {
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

#[cfg(test)]
mod tests {
    use super::super::call;
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
}
