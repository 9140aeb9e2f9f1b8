//! The LLM Commander: given the candidates the policy already sized in code, an LLM may only
//! choose among them and explain why. It never sizes or invents an order; an answer that is not
//! a valid choice means no new orders this cycle (exits are never up to it).
//!
//! It may call the skills registry ([`crate::skills::registry`]) as tools in a bounded loop:
//! at most `max_tool_rounds` rounds of at most [`MAX_CALLS_PER_ROUND`] calls each, then one
//! last request that forbids tool calls, all inside the choice's time limit. A tool result
//! only informs the choice; nothing it returns reaches an order.

use super::Decision;
use crate::llm::budget::{Budget, Budgeted, RunSpend};
use crate::llm::client::{
    request_sha256, CallRecord, LlmClient, LlmError, LlmRequest, ToolCall, ToolResult, ToolSpec,
    Turn,
};
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
    /// Rounds of tool calls allowed before the answer (`commander.max_tool_rounds`; 0 offers
    /// no tools).
    pub max_tool_rounds: u32,
    /// The `[swarm]` spend caps, which cover the commander's calls too.
    pub budget: Budget,
    /// This run's LLM spend, shared with the swarm.
    pub spent_run: RunSpend,
}

/// Most tool calls answered in one round; further calls in the same round get an error result.
pub const MAX_CALLS_PER_ROUND: usize = 8;

/// One tool call the commander LLM made and what it got back, kept in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolTrace {
    /// The tool called.
    pub name: String,
    /// Its arguments.
    pub arguments: serde_json::Value,
    /// The result (JSON text) or the error message.
    pub result: String,
    /// Whether the call failed.
    pub is_error: bool,
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
    /// The skill tool calls made on the way to the answer, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolTrace>,
}

impl Choice {
    fn rejected(why: String) -> Choice {
        Choice {
            chosen: vec![],
            reasoning: String::new(),
            error: Some(why),
            tool_calls: vec![],
        }
    }
}

/// The skills registry as tool definitions.
pub fn skill_tools() -> Vec<ToolSpec> {
    crate::skills::registry::list()
        .into_iter()
        .map(|s| ToolSpec {
            name: s.name.to_string(),
            description: s.description.to_string(),
            input_schema: s.input_schema,
        })
        .collect()
}

/// Runs one round of tool calls against the skills registry: a result per call, in order;
/// calls past [`MAX_CALLS_PER_ROUND`] are answered with an error and not run.
pub fn run_tools(calls: &[ToolCall]) -> (Vec<ToolResult>, Vec<ToolTrace>) {
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let outcome = if i >= MAX_CALLS_PER_ROUND {
                Err(format!(
                    "not run: at most {MAX_CALLS_PER_ROUND} tool calls per turn"
                ))
            } else {
                crate::skills::registry::call(&call.name, &call.arguments)
                    .map(|v| v.to_string())
                    .map_err(|e| e.to_string())
            };
            let is_error = outcome.is_err();
            let content = outcome.unwrap_or_else(|e| e);
            let result = ToolResult {
                call_id: call.id.clone(),
                content: content.clone(),
                is_error,
            };
            let trace = ToolTrace {
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                result: content,
                is_error,
            };
            (result, trace)
        })
        .unzip()
}

/// The final answer text after at most `rounds` rounds of tool calls, with the calls made.
async fn converse(
    client: &dyn LlmClient,
    mut req: LlmRequest,
    rounds: u32,
) -> (
    Result<crate::llm::client::LlmResponse, LlmError>,
    Vec<ToolTrace>,
) {
    let mut traces = Vec::new();
    let mut round = 0u32;
    loop {
        req.forbid_tool_calls = !req.tools.is_empty() && round >= rounds;
        let resp = match client.complete(req.clone()).await {
            Ok(resp) => resp,
            Err(e) => return (Err(e), traces),
        };
        if resp.tool_calls.is_empty() || req.forbid_tool_calls || req.tools.is_empty() {
            return (Ok(resp), traces);
        }
        let (results, trace) = run_tools(&resp.tool_calls);
        traces.extend(trace);
        req.turns.push(Turn::Assistant {
            text: resp.text,
            tool_calls: resp.tool_calls,
        });
        req.turns.push(Turn::ToolResults { results });
        round += 1;
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
        tool_calls: vec![],
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

/// No choice: the budget leaves no room for the call (logged once).
fn budget_spent(why: String) -> Choice {
    tracing::warn!(target: "alphahive::commander", %why, "LLM budget spent: no new orders this cycle");
    Choice::rejected(format!("BUDGET_EXHAUSTED: {why}"))
}

/// Asks the LLM to choose among the ENTRY decisions; returns the choice and the call rows.
/// With the LLM budget spent (as of market day `day`) no call is made and nothing is chosen.
pub async fn choose(
    ch: &Chooser,
    cycle_id: i32,
    day: chrono::NaiveDate,
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
    let allowance = match &cached {
        Some(_) => Ok(None),
        None => ch
            .budget
            .open(&ch.store, &ch.spent_run, day)
            .await
            .map(Some),
    };
    let choice = match (cached, allowance) {
        (Some((text, _, _)), _) => parse_choice(&text, &allowed),
        (None, Err(why)) => budget_spent(why),
        (None, Ok(allowance)) => {
            let Some(allowance) = allowance else {
                return (Choice::rejected("no allowance".into()), vec![]);
            };
            let client = Budgeted::wrap(Arc::clone(&ch.client), allowance);
            let req = LlmRequest {
                system: ch.system.clone(),
                prompt,
                max_tokens: 1024,
                json_mode: true,
                tools: if ch.max_tool_rounds > 0 {
                    skill_tools()
                } else {
                    vec![]
                },
                ..LlmRequest::default()
            };
            let answer = tokio::time::timeout(
                ch.timeout,
                converse(client.as_ref(), req, ch.max_tool_rounds),
            )
            .await;
            match answer {
                Err(_) => {
                    Choice::rejected(format!("no answer within {:.1}s", ch.timeout.as_secs_f64()))
                }
                Ok((Err(LlmError::BudgetExhausted(why)), tool_calls)) => Choice {
                    tool_calls,
                    ..budget_spent(why)
                },
                Ok((Err(e), tool_calls)) => Choice {
                    tool_calls,
                    ..Choice::rejected(e.to_string())
                },
                Ok((Ok(resp), tool_calls)) => {
                    let (p, m, t) = (
                        ch.client.provider().to_string(),
                        ch.client.model().to_string(),
                        resp.text.clone(),
                    );
                    let tokens = (
                        i32::try_from(resp.input_tokens).unwrap_or(i32::MAX),
                        i32::try_from(resp.output_tokens).unwrap_or(i32::MAX),
                    );
                    if t.len() <= models::MAX_STORED_RAW_BYTES {
                        let _ = ch
                            .store
                            .call(move |c| models::cache_answer(c, &sha, &p, &m, &t, tokens))
                            .await;
                    }
                    Choice {
                        tool_calls,
                        ..parse_choice(&resp.text, &allowed)
                    }
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
