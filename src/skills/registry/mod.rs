//! Name-addressed access to the skills with JSON arguments and results, so the same table can
//! be offered to an LLM as tools (`list()` gives each tool's JSON Schema).
//!
//! Arguments are strict: unknown fields are rejected and a missing field is reported by name.
//! In spread results `max_profit` / `max_loss` are `null` when unbounded.

mod args;
mod schema;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::SkillError;
use args::{
    run_black_scholes, run_expected_move, run_implied_vol, run_iron_condor, run_kelly,
    run_vertical, BsArgs, IvArgs, KellyArgs, MoveArgs, SpreadArgs,
};
use schema::schema_of;

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
        schema: schema_of::<BsArgs>,
        run: run_black_scholes,
    },
    Skill {
        name: "implied_vol",
        description: "Implied volatility of a European option from its per-share price. \
                      Returns {vol} as a decimal; fails if the price is outside the \
                      no-arbitrage bounds.",
        schema: schema_of::<IvArgs>,
        run: run_implied_vol,
    },
    Skill {
        name: "kelly",
        description: "Kelly fraction of bankroll for a bet winning `win` with probability \
                      p_win and otherwise losing `loss`, scaled by `fraction` and capped at \
                      `cap`. Returns {fraction}; 0 when the edge is negative.",
        schema: schema_of::<KellyArgs>,
        run: run_kelly,
    },
    Skill {
        name: "vertical_spread",
        description: "Expiry metrics of a two-leg vertical spread (same right and expiry, one \
                      bought and one sold leg): {net_premium (per share, credit positive), \
                      max_profit, max_loss (dollars per combo; null = unbounded), breakevens, \
                      probability_of_profit (risk-neutral lognormal)}.",
        schema: schema_of::<SpreadArgs<2>>,
        run: run_vertical,
    },
    Skill {
        name: "iron_condor",
        description: "Expiry metrics of a four-leg iron condor (a put vertical below a call \
                      vertical, same expiry): {net_premium (per share, credit positive), \
                      max_profit, max_loss (dollars per combo), breakevens, \
                      probability_of_profit (risk-neutral lognormal)}.",
        schema: schema_of::<SpreadArgs<4>>,
        run: run_iron_condor,
    },
    Skill {
        name: "expected_move",
        description: "One-standard-deviation expected move of the underlying by expiry, \
                      spot*vol*sqrt(time). Returns {move, lower, upper} (lower floored at 0).",
        schema: schema_of::<MoveArgs>,
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
pub(super) fn parse<T: DeserializeOwned>(skill: &str, args: &Value) -> Result<T, SkillError> {
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
pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Value, SkillError> {
    serde_json::to_value(value)
        .map_err(|e| SkillError::NoSolution(format!("result could not be encoded: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The derived schemas keep the hand-written ones' contract: the same properties, the
    /// same required names (fields with a serde default are optional), the legs count.
    #[test]
    fn item2_derived_schemas_keep_properties_required_names_and_leg_counts() {
        let option = ["dividend_yield", "rate", "right", "spot", "strike", "time"];
        let spread = ["dividend_yield", "legs", "rate", "spot", "time", "vol"];
        let expected: [(&str, Vec<&str>, Vec<&str>); 6] = [
            (
                "black_scholes",
                [&option[..], &["vol"]].concat(),
                vec!["spot", "strike", "rate", "vol", "time", "right"],
            ),
            (
                "implied_vol",
                [&option[..], &["price"]].concat(),
                vec!["spot", "strike", "rate", "price", "time", "right"],
            ),
            (
                "kelly",
                vec!["cap", "fraction", "loss", "p_win", "win"],
                vec!["p_win", "win", "loss"],
            ),
            (
                "vertical_spread",
                spread.to_vec(),
                vec!["legs", "spot", "rate", "vol", "time"],
            ),
            (
                "iron_condor",
                spread.to_vec(),
                vec!["legs", "spot", "rate", "vol", "time"],
            ),
            (
                "expected_move",
                vec!["spot", "time", "vol"],
                vec!["spot", "vol", "time"],
            ),
        ];
        let skills = list();
        for (s, (name, props, required)) in skills.iter().zip(expected) {
            assert_eq!(s.name, name);
            let schema = &s.input_schema;
            let mut got: Vec<&str> = schema["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .map(String::as_str)
                .collect();
            got.sort_unstable();
            let mut want = props.clone();
            want.sort_unstable();
            assert_eq!(got, want, "{name} properties");
            let mut req: Vec<&str> = schema["required"]
                .as_array()
                .expect("required")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            req.sort_unstable();
            let mut want = required.clone();
            want.sort_unstable();
            assert_eq!(req, want, "{name} required");
            let text = schema.to_string();
            assert!(
                !text.contains("$ref") && !text.contains("$defs"),
                "{name}: {text}"
            );
            assert!(
                !text.contains("\"double\""),
                "{name}: non-standard format in {text}"
            );
            assert!(schema.get("title").is_none() && schema.get("$schema").is_none());
            for (field, p) in schema["properties"].as_object().expect("properties") {
                // `legs` is described by its items (as before); every scalar has a doc line.
                assert!(
                    field == "legs" || p["description"].is_string(),
                    "{name}.{field} has a description"
                );
            }
        }
        let legs = |i: usize| skills[i].input_schema["properties"]["legs"].clone();
        assert_eq!(
            (legs(3)["minItems"].clone(), legs(3)["maxItems"].clone()),
            (2.into(), 2.into())
        );
        assert_eq!(
            (legs(4)["minItems"].clone(), legs(4)["maxItems"].clone()),
            (4.into(), 4.into())
        );
        assert_eq!(skills[2].input_schema["properties"]["cap"]["default"], 1.0);
        assert_eq!(
            skills[0].input_schema["properties"]["right"]["enum"],
            serde_json::json!(["call", "put", "C", "P"])
        );
    }
}
