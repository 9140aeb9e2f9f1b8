//! The LLM Commander: given the candidates the policy already sized in code, an LLM may only
//! choose among them and explain why. It never sizes or invents an order; an answer that is not
//! a valid choice means no new orders this cycle (exits are never up to it).

use super::client::{request_sha256, CallRecord, LlmClient, LlmRequest};
use crate::policy::Decision;
use crate::store::models::{self, NewLlmCall};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the Commander needs to ask an LLM.
#[derive(Clone)]
pub struct Chooser {
    /// The client.
    pub client: Arc<dyn LlmClient>,
    /// Call records from the client, drained after each choice.
    pub records: Arc<Mutex<Vec<CallRecord>>>,
    /// The system prompt (`commander.prompt`).
    pub system: String,
    /// Time limit for the whole choice.
    pub timeout: Duration,
    /// The store (answer cache).
    pub store: Store,
}

/// The LLM's choice, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Client order ids chosen (a subset of the candidates).
    pub chosen: Vec<String>,
    /// Its reasoning.
    pub reasoning: String,
    /// Why the answer was rejected (then nothing is chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Choice {
    fn rejected(why: String) -> Choice {
        Choice {
            chosen: vec![],
            reasoning: String::new(),
            error: Some(why),
        }
    }
}

/// Parses an answer: the first JSON object with `chosen` (ids among `allowed`) and `reasoning`.
pub fn parse_choice(raw: &str, allowed: &[String]) -> Choice {
    let Some(start) = raw.find('{') else {
        return Choice::rejected("no JSON object in the answer".into());
    };
    let Some(end) = raw.rfind('}') else {
        return Choice::rejected("no JSON object in the answer".into());
    };
    #[derive(Deserialize)]
    struct Answer {
        chosen: Vec<String>,
        #[serde(default)]
        reasoning: String,
    }
    let a: Answer = match serde_json::from_str(&raw[start..=end]) {
        Ok(a) => a,
        Err(e) => return Choice::rejected(format!("invalid answer: {e}")),
    };
    if let Some(bad) = a.chosen.iter().find(|id| !allowed.contains(id)) {
        return Choice::rejected(format!("chose {bad}, which is not a candidate"));
    }
    Choice {
        chosen: a.chosen,
        reasoning: a.reasoning,
        error: None,
    }
}

/// Keeps the ENTRY decisions the choice names; the others become SKIPs with the reason.
pub fn apply_choice(decisions: Vec<Decision>, choice: &Choice) -> Vec<Decision> {
    decisions
        .into_iter()
        .map(|d| {
            let id = d.order.as_ref().map(|o| o.client_order_id.clone());
            match (d.kind.as_str(), id) {
                ("ENTRY", Some(id)) if !choice.chosen.contains(&id) => Decision {
                    kind: "SKIP".into(),
                    target: d.target,
                    order: None,
                    reasoning: match &choice.error {
                        Some(e) => format!(
                            "{}; commander LLM answer rejected ({e}): no new orders this cycle",
                            d.reasoning
                        ),
                        None => format!(
                            "{}; not chosen by the commander LLM: {}",
                            d.reasoning, choice.reasoning
                        ),
                    },
                },
                ("ENTRY", Some(_)) => Decision {
                    reasoning: format!(
                        "{}; chosen by the commander LLM: {}",
                        d.reasoning, choice.reasoning
                    ),
                    ..d
                },
                _ => d,
            }
        })
        .collect()
}

/// Asks the LLM to choose among the ENTRY decisions; returns the choice and the call rows.
pub async fn choose(
    ch: &Chooser,
    cycle_id: i32,
    decisions: &[Decision],
    context: serde_json::Value,
) -> (Choice, Vec<NewLlmCall>) {
    let candidates: Vec<serde_json::Value> = decisions
        .iter()
        .filter(|d| d.kind == "ENTRY")
        .filter_map(|d| d.order.as_ref())
        .map(|o| {
            serde_json::json!({
                "client_order_id": o.client_order_id, "underlying": o.underlying, "strategy": o.strategy,
                "quantity": o.quantity, "limit_price": o.limit_price, "reasoning": o.reasoning,
            })
        })
        .collect();
    let allowed: Vec<String> = candidates
        .iter()
        .filter_map(|c| c["client_order_id"].as_str().map(str::to_string))
        .collect();
    let prompt = serde_json::json!({"context": context, "candidates": candidates}).to_string();
    let sha = request_sha256(ch.client.provider(), ch.client.model(), &ch.system, &prompt);
    let cached = {
        let sha = sha.clone();
        ch.store
            .call(move |c| models::cached_answer(c, &sha))
            .await
            .ok()
            .flatten()
    };
    let choice = match cached {
        Some((text, _, _)) => parse_choice(&text, &allowed),
        None => {
            let req = LlmRequest {
                system: ch.system.clone(),
                prompt,
                max_tokens: 1024,
                json_mode: true,
            };
            match tokio::time::timeout(ch.timeout, ch.client.complete(req)).await {
                Err(_) => {
                    Choice::rejected(format!("no answer within {:.1}s", ch.timeout.as_secs_f64()))
                }
                Ok(Err(e)) => Choice::rejected(e.to_string()),
                Ok(Ok(resp)) => {
                    let (p, m, t) = (
                        ch.client.provider().to_string(),
                        ch.client.model().to_string(),
                        resp.text.clone(),
                    );
                    let tokens = (resp.input_tokens as i32, resp.output_tokens as i32);
                    let _ = ch
                        .store
                        .call(move |c| models::cache_answer(c, &sha, &p, &m, &t, tokens))
                        .await;
                    parse_choice(&resp.text, &allowed)
                }
            }
        }
    };
    let drained: Vec<CallRecord> = ch
        .records
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    let rows = drained
        .into_iter()
        .map(|r| NewLlmCall::from_record(r, cycle_id, Some("commander".into())))
        .collect();
    (choice, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_candidates_can_be_chosen() {
        let allowed = vec!["AH-1".to_string(), "AH-2".to_string()];
        assert_eq!(
            parse_choice(r#"{"chosen":["AH-2"],"reasoning":"best edge"}"#, &allowed).chosen,
            ["AH-2"]
        );
        assert!(
            parse_choice(r#"```json {"chosen":[],"reasoning":"none"} ```"#, &allowed)
                .error
                .is_none()
        );
        assert!(
            parse_choice(r#"{"chosen":["AH-9"]}"#, &allowed)
                .error
                .is_some(),
            "an invented order is rejected"
        );
        assert!(parse_choice("buy everything", &allowed).error.is_some());
        assert!(parse_choice(r#"{"chosen":"AH-1"}"#, &allowed)
            .error
            .is_some());
    }
}
