use super::*;
use crate::swarm::test_support::{in_days, instance, snapshot, underlying};
use serde_json::json;

struct TestCase {
    name: &'static str,
    raw: String,
    expected: Result<Structure, &'static str>,
}

fn case(
    name: &'static str,
    raw: impl ToString,
    expected: Result<Structure, &'static str>,
) -> TestCase {
    TestCase {
        name,
        raw: raw.to_string(),
        expected,
    }
}

/// The 37-DTE expiry of the test chain.
fn exp() -> String {
    in_days(37).to_string()
}

fn leg(action: &str, strike: f64, right: &str) -> Value {
    leg_on("NVDA", &exp(), action, strike, right, 1)
}

fn leg_on(symbol: &str, expiry: &str, action: &str, strike: f64, right: &str, qty: u32) -> Value {
    json!({"action": action, "contract": {"symbol": symbol, "expiry": expiry,
        "strike": strike, "right": right}, "quantity": qty, "price": 1.25})
}

fn answer(signal: &str, legs: Vec<Value>) -> Value {
    json!({"target": "NVDA", "signal": signal, "confidence": 0.8,
        "params": {"legs": legs, "max_risk": 375, "capital_required": 500},
        "reasoning": "test"})
}

fn put_spread() -> Value {
    answer(
        "SHORT_PUT_SPREAD",
        vec![leg("SELL", 90.0, "P"), leg("BUY", 85.0, "P")],
    )
}

fn with(mut v: Value, path: &[&str], new: Value) -> String {
    let mut cur = &mut v;
    for key in &path[..path.len() - 1] {
        cur = &mut cur[*key];
    }
    let last = path[path.len() - 1];
    match cur.as_object_mut() {
        Some(obj) if new.is_null() => {
            obj.remove(last);
        }
        Some(obj) => {
            obj.insert(last.to_string(), new);
        }
        None => panic!("not an object at {path:?}"),
    }
    v.to_string()
}

fn cases() -> Vec<TestCase> {
    use reason::*;
    use Structure::*;
    let valid = put_spread().to_string();
    let ic = answer(
        "IRON_CONDOR",
        vec![
            leg("SELL", 90.0, "P"),
            leg("BUY", 85.0, "P"),
            leg("SELL", 110.0, "C"),
            leg("BUY", 115.0, "C"),
        ],
    );
    let bad_ic = answer(
        "IRON_CONDOR",
        vec![
            leg("SELL", 110.0, "P"),
            leg("BUY", 105.0, "P"),
            leg("SELL", 100.0, "C"),
            leg("BUY", 105.0, "C"),
        ],
    );
    let past = leg_on("NVDA", &in_days(-10).to_string(), "SELL", 90.0, "P", 1);
    let past2 = leg_on("NVDA", &in_days(-10).to_string(), "BUY", 85.0, "P", 1);
    let off_chain = leg_on("NVDA", &in_days(38).to_string(), "SELL", 90.0, "P", 1);
    let off_chain2 = leg_on("NVDA", &in_days(38).to_string(), "BUY", 85.0, "P", 1);
    vec![
        case("plain valid", valid.clone(), Ok(ShortPutSpread)),
        case(
            "fenced",
            format!("```json\n{valid}\n```"),
            Ok(ShortPutSpread),
        ),
        case(
            "prose around with stray braces",
            format!("Considering {{a few}} ideas.\nHere it is: {valid}\nGood luck {{}}"),
            Ok(ShortPutSpread),
        ),
        case(
            "invalid json",
            r#"{"target": "NVDA", "signal": }"#,
            Err(INVALID_JSON),
        ),
        case("no json", "I would not trade today.", Err(INVALID_JSON)),
        case("truncated", &valid[..valid.len() - 3], Err(INVALID_JSON)),
        case(
            "target outside pool",
            with(put_spread(), &["target"], json!("TSLA")),
            Err(TARGET_NOT_IN_POOL),
        ),
        case(
            "missing target",
            with(put_spread(), &["target"], Value::Null),
            Err(MISSING_FIELD),
        ),
        case(
            "missing confidence",
            with(put_spread(), &["confidence"], Value::Null),
            Err(MISSING_FIELD),
        ),
        case(
            "missing params",
            with(put_spread(), &["params"], Value::Null),
            Err(MISSING_FIELD),
        ),
        case(
            "missing legs",
            with(put_spread(), &["params", "legs"], Value::Null),
            Err(MISSING_FIELD),
        ),
        case(
            "confidence as string",
            with(put_spread(), &["confidence"], json!("0.8")),
            Err(INVALID_FIELD),
        ),
        case(
            "unknown signal",
            with(put_spread(), &["signal"], json!("STRADDLE")),
            Err(UNKNOWN_SIGNAL),
        ),
        case(
            "put legs named call spread",
            with(put_spread(), &["signal"], json!("SHORT_CALL_SPREAD")),
            Err(STRUCTURE_MISMATCH),
        ),
        case(
            "debit legs named credit spread",
            answer(
                "SHORT_PUT_SPREAD",
                vec![leg("BUY", 90.0, "P"), leg("SELL", 85.0, "P")],
            ),
            Err(STRUCTURE_MISMATCH),
        ),
        case(
            "naked short",
            answer("SHORT_PUT_SPREAD", vec![leg("SELL", 90.0, "P")]),
            Err(BAD_LEGS),
        ),
        case(
            "same strike",
            answer(
                "SHORT_PUT_SPREAD",
                vec![leg("SELL", 90.0, "P"), leg("BUY", 90.0, "P")],
            ),
            Err(BAD_LEGS),
        ),
        case(
            "unequal quantity",
            answer(
                "SHORT_PUT_SPREAD",
                vec![
                    leg("SELL", 90.0, "P"),
                    leg_on("NVDA", &exp(), "BUY", 85.0, "P", 2),
                ],
            ),
            Err(BAD_LEGS),
        ),
        case(
            "quantity zero",
            answer(
                "SHORT_PUT_SPREAD",
                vec![
                    leg_on("NVDA", &exp(), "SELL", 90.0, "P", 0),
                    leg_on("NVDA", &exp(), "BUY", 85.0, "P", 0),
                ],
            ),
            Err(BAD_LEGS),
        ),
        case(
            "leg on another symbol",
            answer(
                "SHORT_PUT_SPREAD",
                vec![
                    leg("SELL", 90.0, "P"),
                    leg_on("AMD", &exp(), "BUY", 85.0, "P", 1),
                ],
            ),
            Err(BAD_LEGS),
        ),
        case(
            "mixed expiries",
            answer(
                "SHORT_PUT_SPREAD",
                vec![leg("SELL", 90.0, "P"), off_chain2.clone()],
            ),
            Err(BAD_LEGS),
        ),
        case(
            "empty legs",
            answer("SHORT_PUT_SPREAD", vec![]),
            Err(BAD_LEGS),
        ),
        case(
            "past expiry",
            answer("SHORT_PUT_SPREAD", vec![past, past2]),
            Err(BAD_EXPIRY),
        ),
        case(
            "expiry not in chain",
            answer("SHORT_PUT_SPREAD", vec![off_chain, off_chain2]),
            Err(BAD_EXPIRY),
        ),
        case(
            "impossible date",
            answer(
                "SHORT_PUT_SPREAD",
                vec![
                    leg_on("NVDA", "2026-02-30", "SELL", 90.0, "P", 1),
                    leg_on("NVDA", "2026-02-30", "BUY", 85.0, "P", 1),
                ],
            ),
            Err(BAD_EXPIRY),
        ),
        case(
            "unknown strike",
            answer(
                "SHORT_PUT_SPREAD",
                vec![leg("SELL", 92.0, "P"), leg("BUY", 85.0, "P")],
            ),
            Err(UNKNOWN_CONTRACT),
        ),
        case("NaN price", valid.replace("1.25", "NaN"), Err(NON_FINITE)),
        case(
            "overflowing number",
            valid.replace("1.25", "1e400"),
            Err(NON_FINITE),
        ),
        case(
            "huge max_risk",
            with(put_spread(), &["params", "max_risk"], json!(1e300)),
            Err(NON_FINITE),
        ),
        case(
            "confidence 1.5",
            with(put_spread(), &["confidence"], json!(1.5)),
            Err(BAD_CONFIDENCE),
        ),
        case(
            "negative price",
            valid.replace("1.25", "-1.25"),
            Err(BAD_PRICE),
        ),
        case(
            "valid NO_TRADE",
            r#"{"target": "AMD", "signal": "NO_TRADE", "confidence": 0, "reasoning": "IV too low"}"#,
            Ok(NoTrade),
        ),
        case(
            "NO_TRADE with empty legs",
            r#"{"target": "NVDA", "signal": "NO_TRADE", "confidence": 0, "params": {"legs": []}}"#,
            Ok(NoTrade),
        ),
        case(
            "NO_TRADE with legs",
            with(put_spread(), &["signal"], json!("NO_TRADE")),
            Err(STRUCTURE_MISMATCH),
        ),
        case("iron condor", ic.to_string(), Ok(IronCondor)),
        case("crossed iron condor", bad_ic.to_string(), Err(BAD_LEGS)),
        case(
            "short call spread",
            answer(
                "SHORT_CALL_SPREAD",
                vec![leg("SELL", 110.0, "C"), leg("BUY", 115.0, "C")],
            ),
            Ok(ShortCallSpread),
        ),
        case(
            "long call spread",
            answer(
                "LONG_CALL_SPREAD",
                vec![leg("BUY", 100.0, "C"), leg("SELL", 105.0, "C")],
            ),
            Ok(LongCallSpread),
        ),
        case(
            "long put spread, lowercase words",
            answer(
                "long_put_spread",
                vec![leg("buy", 100.0, "put"), leg("sell", 95.0, "put")],
            ),
            Ok(LongPutSpread),
        ),
    ]
}

#[test]
fn parse_answer_table() {
    let snap = snapshot(vec![underlying("NVDA", 100.0), underlying("AMD", 100.0)]);
    let inst = instance("i1", &["NVDA", "AMD"], 80.0, 0.3);
    for tc in cases() {
        let got = parse_answer(&tc.raw, &inst, "vol_sniper", &snap);
        match (&got, tc.expected) {
            (Ok(signal), Ok(structure)) => {
                assert_eq!(signal.signal, structure, "{}", tc.name);
                assert_eq!(signal.instance_id, "i1", "{}", tc.name);
                assert_eq!(signal.template_used, "vol_sniper", "{}", tc.name);
            }
            (Err(a), Err(code)) => {
                assert_eq!(a.reason, code, "{}: {}", tc.name, a.detail);
                assert_eq!(a.raw, tc.raw, "{}", tc.name);
                assert!(!a.detail.is_empty(), "{}", tc.name);
            }
            _ => panic!("{}: expected {:?}, got {got:?}", tc.name, tc.expected),
        }
    }
}

#[test]
fn runtime_sets_identity_and_keeps_fields() {
    let snap = snapshot(vec![underlying("NVDA", 100.0)]);
    let inst = instance("i1", &["NVDA"], 80.0, 0.3);
    let raw = with(put_spread(), &["instance_id"], json!("spoofed"));
    let signal = parse_answer(&raw, &inst, "vol_sniper", &snap).expect("valid");
    assert_eq!(signal.instance_id, "i1");
    assert_eq!(signal.target, "NVDA");
    assert_eq!(signal.confidence, 0.8);
    assert_eq!(signal.params.max_risk, 375.0);
    assert_eq!(signal.params.capital_required, 500.0);
    assert_eq!(signal.params.legs.len(), 2);
    assert_eq!(signal.params.legs[0].contract.strike, 90.0);
    assert_eq!(signal.reasoning, "test");
}

#[test]
fn classify_needs_consistent_legs() {
    let parse = |v: Value| -> Vec<Leg> {
        v.as_array()
            .expect("array")
            .iter()
            .enumerate()
            .map(|(i, l)| parse_leg(i, l).map_err(|r| r.detail).expect("leg"))
            .collect()
    };
    assert_eq!(classify_structure(&[]), Some(Structure::NoTrade));
    let three = parse(json!([
        leg("SELL", 90.0, "P"),
        leg("BUY", 85.0, "P"),
        leg("BUY", 80.0, "P")
    ]));
    assert_eq!(classify_structure(&three), None);
    let calls_only = parse(json!([
        leg("SELL", 110.0, "C"),
        leg("BUY", 115.0, "C"),
        leg("SELL", 120.0, "C"),
        leg("BUY", 125.0, "C")
    ]));
    assert_eq!(classify_structure(&calls_only), None);
}
