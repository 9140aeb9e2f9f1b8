//! SwarmPool: asks every enabled strategy instance for a signal, concurrently (at most
//! `swarm.max_concurrent` at once, each under `swarm.agent_timeout_s`). Every answer — the rules
//! baseline's or an LLM's — goes through the same validation; anything invalid, late or failed
//! is a recorded abstention, timeout or error, never a vote. LLM answers are cached by the
//! sha256 of (provider, model, system, prompt), so a re-run over the same inputs makes no calls.

use super::messages::*;
use super::metrics::ActorStats;
use super::supervision::{Ping, Supervised};
use crate::llm::budget::Budgeted;
pub use crate::llm::budget::{Budget, RunSpend};
use crate::llm::client::{request_sha256, CallRecord, LlmClient, LlmRequest};
use crate::market::MarketSnapshot;
use crate::store::models::{self, NewLlmCall};
use crate::store::Store;
use crate::swarm::instance::{DteWindow, Instance};
use crate::swarm::render;
use crate::swarm::render::RenderedPrompt;
use crate::swarm::template::Template;
use actix::prelude::*;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The system prompt every LLM agent gets (part of the cache key).
pub const AGENT_SYSTEM: &str = "You are a strategy agent of an options paper-trading desk. Apply the strategy you are given to the market data exactly as written. Answer with one JSON object only, no prose.";

/// Most tokens an agent may answer with.
pub const AGENT_MAX_TOKENS: u32 = 1024;

/// How the swarm's agents are answered.
#[derive(Clone)]
pub enum Answerer {
    /// The deterministic baseline: each template's Rust evaluator.
    Rules,
    /// An LLM provider, with the sink's records collected per cycle.
    Llm {
        /// The client.
        client: Arc<dyn LlmClient>,
        /// Call records emitted by the client, drained after each swarm stage.
        records: Arc<Mutex<Vec<CallRecord>>>,
    },
}

/// The swarm's fixed setup, shared across restarts.
#[derive(Clone)]
pub struct SwarmSetup {
    /// Loaded templates by name.
    pub templates: Arc<BTreeMap<String, Template>>,
    /// Loaded instances.
    pub instances: Arc<Vec<Instance>>,
    /// Provider config name.
    pub provider_name: String,
    /// Who answers.
    pub answerer: Answerer,
    /// The store (answer cache).
    pub store: Store,
    /// At most this many agents at once.
    pub max_concurrent: usize,
    /// Per-agent time limit.
    pub agent_timeout: Duration,
    /// Spend caps.
    pub budget: Budget,
    /// Spend of this run so far (dollars, tokens), shared across restarts.
    pub spent_run: RunSpend,
}

/// The SwarmPool actor.
pub struct SwarmPool {
    setup: SwarmSetup,
    stats: Arc<ActorStats>,
}

impl SwarmPool {
    /// A pool over the setup.
    pub fn new(setup: SwarmSetup, stats: Arc<ActorStats>) -> Self {
        SwarmPool { setup, stats }
    }
}

fn outcome(instance: &Instance, template: &str, provider: &str) -> AgentOutcome {
    AgentOutcome {
        instance_id: instance.id.clone(),
        template: template.to_string(),
        provider: provider.to_string(),
        status: "error".into(),
        signal: None,
        reason: None,
        detail: None,
        raw: None,
        prompt_sha256: None,
        latency_ms: 0.0,
    }
}

/// Validates a raw answer into the outcome (ok or abstain), keeping the raw text.
fn judge(
    mut out: AgentOutcome,
    raw: String,
    instance: &Instance,
    template: &Template,
    snapshot: &MarketSnapshot,
) -> AgentOutcome {
    out = out.judged(crate::swarm::offer::judge_answer(
        &raw, instance, template, snapshot,
    ));
    out.raw = Some(raw);
    out
}

/// Asks one instance through the rules baseline and validates its answer (no prompt is
/// rendered, so `prompt_sha256` stays empty).
pub fn consult_rules(
    template: &Template,
    instance: &Instance,
    snapshot: &MarketSnapshot,
    provider: &str,
) -> AgentOutcome {
    let started = Instant::now();
    // No prompt is rendered: the evaluator reads the same market view a prompt would carry
    // (`render::symbol_views`), and rendering dominated a rules cycle's CPU. `alphahive check`
    // renders every instance's template; the LLM path renders for real.
    let mut out = outcome(instance, &template.name, provider);
    out = match crate::llm::rules::evaluate(&template.evaluator, instance, snapshot) {
        Err(e) => {
            out.reason = Some("EVALUATOR_FAILED".into());
            out.detail = Some(e.to_string());
            out
        }
        Ok(raw) => judge(out, raw, instance, template, snapshot),
    };
    out.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    out
}

/// Asks one instance through an LLM: cache, else one call under `timeout`; then validation.
pub async fn consult_llm(
    client: Arc<dyn LlmClient>,
    store: Store,
    prompt: RenderedPrompt,
    instance: Arc<Instance>,
    template: Arc<Template>,
    snapshot: Arc<MarketSnapshot>,
    timeout: Duration,
) -> AgentOutcome {
    let started = Instant::now();
    let mut out = outcome(&instance, &template.name, client.provider());
    out.prompt_sha256 = Some(prompt.sha256.clone());
    let sha = request_sha256(
        client.provider(),
        client.model(),
        AGENT_SYSTEM,
        &prompt.text,
    );
    let cached = {
        let sha = sha.clone();
        store.call(move |c| models::cached_answer(c, &sha)).await
    };
    let raw = match cached {
        Ok(Some((text, _, _))) => Ok(text),
        _ => {
            let req = LlmRequest {
                system: AGENT_SYSTEM.into(),
                prompt: prompt.text.clone(),
                max_tokens: AGENT_MAX_TOKENS,
                json_mode: true,
                ..LlmRequest::default()
            };
            match tokio::time::timeout(timeout, client.complete(req)).await {
                Err(_) => Err((
                    "timeout",
                    "AGENT_TIMEOUT".to_string(),
                    format!("no answer within {:.1}s", timeout.as_secs_f64()),
                )),
                Ok(Err(crate::llm::client::LlmError::BudgetExhausted(why))) => {
                    Err(("abstain", "BUDGET_EXHAUSTED".to_string(), why))
                }
                Ok(Err(e)) => Err(("error", "LLM_ERROR".to_string(), e.to_string())),
                Ok(Ok(resp)) => {
                    let (provider, model, text) = (
                        client.provider().to_string(),
                        client.model().to_string(),
                        resp.text.clone(),
                    );
                    let tokens = (
                        i32::try_from(resp.input_tokens).unwrap_or(i32::MAX),
                        i32::try_from(resp.output_tokens).unwrap_or(i32::MAX),
                    );
                    let sha = sha.clone();
                    // Not awaited: the agent's answer does not wait for the cache write. An
                    // answer over the stored-text cap is not cached (a cut copy would replay
                    // differently).
                    if text.len() <= models::MAX_STORED_RAW_BYTES {
                        store.call_detached("cache an LLM answer", move |c| {
                            models::cache_answer(c, &sha, &provider, &model, &text, tokens)
                        });
                    }
                    Ok(resp.text)
                }
            }
        }
    };
    let mut out = match raw {
        Ok(text) => judge(out, text, &instance, &template, &snapshot),
        Err((status, reason, detail)) => {
            out.status = status.into();
            out.reason = Some(reason);
            out.detail = Some(detail);
            out
        }
    };
    out.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    out
}

/// An LLM agent to ask: where its outcome goes in the cycle's list, and what to ask.
struct LlmJob {
    slot: usize,
    prompt: RenderedPrompt,
    instance: Arc<Instance>,
    template: Arc<Template>,
}

fn call_row(r: CallRecord, cycle_id: i32, by_sha: &HashMap<String, String>) -> NewLlmCall {
    let instance = by_sha.get(&r.request_sha256).cloned();
    NewLlmCall::from_record(r, cycle_id, instance)
}

impl Actor for SwarmPool {
    type Context = Context<Self>;
}

impl Supervised for SwarmPool {
    fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }
}

impl Handler<ConsultSwarm> for SwarmPool {
    type Result = ResponseFuture<SwarmReport>;

    fn handle(&mut self, m: ConsultSwarm, _: &mut Context<Self>) -> Self::Result {
        let setup = self.setup.clone();
        let mut jobs: Vec<BoxFuture<'static, AgentOutcome>> = Vec::new();
        // LLM agents, asked once the cycle's budget allowance is open (or turned into
        // abstentions when no call may be made).
        let mut llm_agents: Vec<LlmJob> = Vec::new();
        let mut by_sha: HashMap<String, String> = HashMap::new();
        let mut views: HashMap<(Vec<String>, DteWindow), serde_json::Value> = HashMap::new();
        for instance in setup.instances.iter().filter(|i| i.enabled) {
            let Some(template) = setup.templates.get(&instance.template) else {
                let mut o = outcome(instance, &instance.template, &setup.provider_name);
                o.reason = Some("UNKNOWN_TEMPLATE".into());
                o.detail = Some(format!("template {} is not loaded", instance.template));
                jobs.push(futures::future::ready(o).boxed());
                continue;
            };
            match &setup.answerer {
                Answerer::Rules => {
                    let o = consult_rules(template, instance, &m.snapshot, &setup.provider_name);
                    jobs.push(futures::future::ready(o).boxed());
                }
                Answerer::Llm { client, .. } => {
                    let prompt = instance.dte_window().and_then(|window| {
                        let view = views
                            .entry((instance.symbol_pool(), window))
                            .or_insert_with_key(|(pool, window)| {
                                render::market_view(&m.snapshot, pool, *window)
                            })
                            .clone();
                        render::render_with_view(template, instance, &m.snapshot, view)
                    });
                    match prompt {
                        Err(e) => {
                            let mut o = outcome(instance, &template.name, &setup.provider_name);
                            o.reason = Some("RENDER_FAILED".into());
                            o.detail = Some(e.to_string());
                            jobs.push(futures::future::ready(o).boxed());
                        }
                        Ok(prompt) => {
                            let sha = request_sha256(
                                client.provider(),
                                client.model(),
                                AGENT_SYSTEM,
                                &prompt.text,
                            );
                            by_sha.insert(sha, instance.id.clone());
                            llm_agents.push(LlmJob {
                                slot: jobs.len(),
                                prompt,
                                instance: Arc::new(instance.clone()),
                                template: Arc::new(template.clone()),
                            });
                            // Replaced below, before anything is polled.
                            jobs.push(
                                futures::future::ready(outcome(
                                    instance,
                                    &template.name,
                                    &setup.provider_name,
                                ))
                                .boxed(),
                            );
                        }
                    }
                }
            }
        }
        let cycle_id = m.cycle_id;
        let day = m.snapshot.date();
        let held = m.held.clone();
        let snapshot = Arc::clone(&m.snapshot);
        Box::pin(async move {
            if let (false, Answerer::Llm { client, .. }) = (llm_agents.is_empty(), &setup.answerer)
            {
                let allowance = match held {
                    Some(why) => {
                        tracing::info!(target: "alphahive::swarm", %why, agents = llm_agents.len(), "no entries can open: LLM agents are not asked this cycle");
                        Err(("ENTRIES_HELD", why))
                    }
                    None => setup
                        .budget
                        .open(&setup.store, &setup.spent_run, day)
                        .await
                        .map_err(|why| ("BUDGET_EXHAUSTED", why)),
                };
                for job in llm_agents {
                    jobs[job.slot] = match &allowance {
                        Err((code, why)) => {
                            let mut o =
                                outcome(&job.instance, &job.template.name, &setup.provider_name);
                            o.status = "abstain".into();
                            o.reason = Some((*code).into());
                            o.detail = Some(why.clone());
                            futures::future::ready(o).boxed()
                        }
                        Ok(allowance) => consult_llm(
                            Budgeted::wrap(Arc::clone(client), Arc::clone(allowance)),
                            setup.store.clone(),
                            job.prompt,
                            job.instance,
                            job.template,
                            Arc::clone(&snapshot),
                            setup.agent_timeout,
                        )
                        .boxed(),
                    };
                }
            }
            let outcomes: Vec<AgentOutcome> = futures::stream::iter(jobs)
                .buffered(setup.max_concurrent.max(1))
                .collect()
                .await;
            let refused = outcomes
                .iter()
                .filter(|o| o.reason.as_deref() == Some("BUDGET_EXHAUSTED"))
                .count();
            if let Some(why) = outcomes
                .iter()
                .find(|o| o.reason.as_deref() == Some("BUDGET_EXHAUSTED"))
                .and_then(|o| o.detail.as_deref())
            {
                tracing::warn!(target: "alphahive::swarm", %why, agents = refused, "LLM budget spent: agents abstain this cycle");
            }
            let calls = match &setup.answerer {
                Answerer::Llm { records, .. } => {
                    let drained: Vec<CallRecord> = records
                        .lock()
                        .map(|mut v| std::mem::take(&mut *v))
                        .unwrap_or_default();
                    drained
                        .into_iter()
                        .map(|r| call_row(r, cycle_id, &by_sha))
                        .collect()
                }
                Answerer::Rules => Vec::new(),
            };
            SwarmReport { outcomes, calls }
        })
    }
}

impl Handler<Ping> for SwarmPool {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

crate::enveloped!(SwarmPool: ConsultSwarm, Ping);
