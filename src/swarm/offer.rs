//! What an instance may answer: a valid signal is still an abstention when it trades an expiry
//! outside the instance's `min_dte`–`max_dte` window ([`reason::EXPIRY_OUTSIDE_WINDOW`]) or a
//! structure its template does not offer ([`reason::STRUCTURE_NOT_OFFERED`]). A `NO_TRADE`
//! vote is always allowed.

use super::instance::Instance;
use super::signal::{parse_answer, reason, Abstention};
use super::template::Template;
use crate::domain::{Signal, Structure};
use crate::market::MarketSnapshot;

/// [`parse_answer`], then the instance's window and the template's structures.
pub fn judge_answer(
    raw: &str,
    instance: &Instance,
    template: &Template,
    snapshot: &MarketSnapshot,
) -> Result<Signal, Abstention> {
    let signal = parse_answer(raw, instance, &template.name, snapshot)?;
    check_offer(&signal, instance, template, snapshot.date()).map_err(|(code, detail)| {
        Abstention {
            reason: code.to_string(),
            detail,
            raw: raw.to_string(),
        }
    })?;
    Ok(signal)
}

/// Whether `signal` is one `instance` of `template` may give on `today`: the failing code and
/// its detail otherwise.
pub fn check_offer(
    signal: &Signal,
    instance: &Instance,
    template: &Template,
    today: chrono::NaiveDate,
) -> Result<(), (&'static str, String)> {
    if signal.signal == Structure::NoTrade {
        return Ok(());
    }
    if !template.structures.contains(&signal.signal) {
        let offered: Vec<&str> = template.structures.iter().map(|s| s.as_str()).collect();
        return Err((
            reason::STRUCTURE_NOT_OFFERED,
            format!(
                "{} is not offered by template {} (offers {}, NO_TRADE)",
                signal.signal,
                template.name,
                offered.join(", ")
            ),
        ));
    }
    let window = instance
        .dte_window()
        .map_err(|e| (reason::EXPIRY_OUTSIDE_WINDOW, e.to_string()))?;
    for leg in &signal.params.legs {
        let dte = (leg.contract.expiry - today).num_days();
        if !window.contains(dte) {
            return Err((
                reason::EXPIRY_OUTSIDE_WINDOW,
                format!(
                    "expiry {} is {dte} days out, outside the instance's window min_dte={} max_dte={}",
                    leg.contract.expiry, window.min_dte, window.max_dte
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swarm::test_support::{in_days, instance, snapshot, underlying};
    use serde_json::json;

    fn template(structures: Vec<Structure>) -> Template {
        Template {
            name: "vol_sniper".into(),
            evaluator: "vol_sniper".into(),
            description: "d".into(),
            structures,
            params: vec![],
            body: "b".into(),
            sha256: String::new(),
        }
    }

    fn spread(signal: &str, dte: i64, right: &str, sell: f64, buy: f64) -> String {
        let leg = |action: &str, strike: f64| {
            json!({"action": action, "contract": {"symbol": "NVDA", "expiry": in_days(dte).to_string(),
                "strike": strike, "right": right}, "quantity": 1, "price": 1.25})
        };
        json!({"target": "NVDA", "signal": signal, "confidence": 0.8,
            "params": {"legs": [leg("SELL", sell), leg("BUY", buy)], "max_risk": 375, "capital_required": 500},
            "reasoning": "test"})
        .to_string()
    }

    #[test]
    fn item10_an_expiry_outside_the_window_or_an_unoffered_structure_abstains() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let inst = instance("i1", &["NVDA"], 80.0, 0.3); // default window 30–45
        let credit = template(vec![Structure::ShortPutSpread, Structure::ShortCallSpread]);

        let inside = spread("SHORT_PUT_SPREAD", 37, "P", 90.0, 85.0);
        assert!(judge_answer(&inside, &inst, &credit, &snap).is_ok());

        // The 18-DTE expiry is in the chain, so parse_answer alone lets it through.
        let early = spread("SHORT_PUT_SPREAD", 18, "P", 90.0, 85.0);
        assert!(parse_answer(&early, &inst, "vol_sniper", &snap).is_ok());
        let a = judge_answer(&early, &inst, &credit, &snap).expect_err("outside the window");
        assert_eq!(a.reason, reason::EXPIRY_OUTSIDE_WINDOW);
        assert!(
            a.detail.contains("18 days") && a.detail.contains("min_dte=30"),
            "{}",
            a.detail
        );
        let late = spread("SHORT_PUT_SPREAD", 52, "P", 90.0, 85.0);
        assert_eq!(
            judge_answer(&late, &inst, &credit, &snap).map_err(|a| a.reason),
            Err(reason::EXPIRY_OUTSIDE_WINDOW.to_string())
        );

        // A debit spread from a credit-only template.
        let debit = spread("LONG_PUT_SPREAD", 37, "P", 85.0, 90.0);
        assert!(parse_answer(&debit, &inst, "vol_sniper", &snap).is_ok());
        let a = judge_answer(&debit, &inst, &credit, &snap).expect_err("not offered");
        assert_eq!(a.reason, reason::STRUCTURE_NOT_OFFERED);
        assert!(a.detail.contains("LONG_PUT_SPREAD"), "{}", a.detail);
    }

    #[test]
    fn item10_a_no_trade_with_an_empty_or_null_target_is_a_vote() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let inst = instance("i1", &["NVDA"], 80.0, 0.3);
        let t = template(vec![Structure::ShortPutSpread]);
        for raw in [
            r#"{"target": "", "signal": "NO_TRADE", "confidence": 0.0, "params": {"legs": []}, "reasoning": "nothing"}"#,
            r#"{"target": null, "signal": "NO_TRADE", "confidence": 0.0, "reasoning": "nothing"}"#,
            r#"{"signal": "no_trade", "confidence": 0.2, "params": {"legs": []}}"#,
        ] {
            let s = judge_answer(raw, &inst, &t, &snap).unwrap_or_else(|a| panic!("{raw}: {a}"));
            assert_eq!(s.signal, Structure::NoTrade);
            assert_eq!(s.target, "");
        }
        // A target outside the pool is still refused, and a trade still needs a target.
        let outside = r#"{"target": "GME", "signal": "NO_TRADE", "confidence": 0.0}"#;
        assert_eq!(
            judge_answer(outside, &inst, &t, &snap).map_err(|a| a.reason),
            Err(reason::TARGET_NOT_IN_POOL.to_string())
        );
        let mut untargeted: serde_json::Value =
            serde_json::from_str(&spread("SHORT_PUT_SPREAD", 37, "P", 90.0, 85.0)).expect("json");
        untargeted["target"] = json!("");
        assert_eq!(
            judge_answer(&untargeted.to_string(), &inst, &t, &snap).map_err(|a| a.reason),
            Err(reason::TARGET_NOT_IN_POOL.to_string())
        );
    }
}
