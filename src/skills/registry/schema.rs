//! JSON Schemas of the skills' arguments, derived from the argument structs with `schemars`
//! (draft 2020-12, subschemas inlined, only standard `format`s), plus the schema-only shapes of
//! the domain types the arguments embed ([`Right`], [`Leg`]).
//!
//! [`Right`]: crate::domain::Right
//! [`Leg`]: crate::domain::Leg

use chrono::NaiveDate;
use schemars::generate::SchemaSettings;
use schemars::transform::RestrictFormats;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

/// The argument schema of `T` as a tool's `input_schema`: an `object` schema with
/// `properties`, `required` and `additionalProperties: false`, self-contained (no `$ref`), and
/// without the generator's `$schema` and the Rust type's `title` / doc `description`.
pub(super) fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .with_transform(RestrictFormats::default())
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(root) = schema.as_object_mut() {
        for key in ["$schema", "title", "description"] {
            root.remove(key);
        }
    }
    schema
}

/// Schema of a [`crate::domain::Right`]: every spelling its deserializer accepts.
pub(super) fn right(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": ["call", "put", "C", "P"] })
}

// Schema of one `crate::domain::Leg` (its serde form; a test checks they agree). Plain
// comments here: a doc comment would become the schema's description.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)] // Only the schema is used; arguments deserialize into `Leg` itself.
pub(super) struct LegSchema {
    action: ActionSchema,
    contract: ContractSchema,
    /// Contracts per combo.
    #[schemars(range(min = 1))]
    quantity: u32,
    /// Per-share premium (not x100).
    price: f64,
}

// Schema of a `crate::domain::Action`.
#[derive(JsonSchema)]
#[schemars(rename_all = "UPPERCASE")]
#[allow(dead_code)] // Schema only.
enum ActionSchema {
    Buy,
    Sell,
}

// Schema of a `crate::domain::OptionContract`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)] // Schema only.
struct ContractSchema {
    /// Underlying symbol.
    symbol: String,
    /// YYYY-MM-DD.
    expiry: NaiveDate,
    /// Strike price.
    strike: f64,
    #[schemars(schema_with = "right")]
    right: crate::domain::Right,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Leg, OptionContract, Right};
    use serde_json::json;

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn item2_leg_schema_matches_the_domain_leg_serde_form() {
        let leg = Leg {
            action: Action::Sell,
            contract: OptionContract {
                symbol: "SPY".into(),
                expiry: NaiveDate::from_ymd_opt(2026, 12, 18).expect("date"),
                strike: 120.0,
                right: Right::Put,
            },
            quantity: 1,
            price: 2.0,
        };
        let form = serde_json::to_value(&leg).expect("leg serialises");
        let schema = schema_of::<LegSchema>();
        let props = &schema["properties"];
        assert_eq!(keys(props), keys(&form));
        assert_eq!(
            keys(&props["contract"]["properties"]),
            keys(&form["contract"])
        );
        let mut required: Vec<String> =
            serde_json::from_value(schema["required"].clone()).expect("required names");
        required.sort();
        assert_eq!(required, keys(&form), "every leg field is required");
        let actions = [Action::Buy, Action::Sell].map(|a| json!(a));
        assert_eq!(props["action"]["enum"], json!(actions));
        for spelling in props["contract"]["properties"]["right"]["enum"]
            .as_array()
            .expect("rights")
        {
            serde_json::from_value::<Right>(spelling.clone()).expect("a spelling Right accepts");
        }
        assert_eq!(props["quantity"]["minimum"], 1);
        assert_eq!(props["contract"]["properties"]["expiry"]["format"], "date");
        assert_eq!(
            props["price"],
            json!({"type": "number", "description": "Per-share premium (not x100)."})
        );
        assert_eq!(schema["additionalProperties"], false);
    }
}
