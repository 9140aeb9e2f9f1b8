//! SwarmPool: asks every enabled strategy instance for a signal. Every answer goes through the
//! same validation; anything invalid is a recorded abstention, never a neutral vote.

use super::messages::*;
use super::metrics::ActorStats;
use super::supervision::{InjectPanic, Ping, Supervised};
use crate::config::ProviderKind;
use crate::market::MarketSnapshot;
use crate::swarm::instance::Instance;
use crate::swarm::template::Template;
use crate::swarm::{render, signal};
use actix::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// The SwarmPool actor.
pub struct SwarmPool {
    templates: Arc<BTreeMap<String, Template>>,
    instances: Arc<Vec<Instance>>,
    provider_name: String,
    provider_kind: ProviderKind,
    stats: Arc<ActorStats>,
}

impl SwarmPool {
    /// A pool over loaded templates and instances, answered by the named provider.
    pub fn new(
        templates: Arc<BTreeMap<String, Template>>,
        instances: Arc<Vec<Instance>>,
        provider_name: String,
        provider_kind: ProviderKind,
        stats: Arc<ActorStats>,
    ) -> Self {
        SwarmPool {
            templates,
            instances,
            provider_name,
            provider_kind,
            stats,
        }
    }
}

/// Asks one instance through the rules baseline and validates its answer.
pub fn consult_rules(
    template: &Template,
    instance: &Instance,
    snapshot: &MarketSnapshot,
    provider: &str,
) -> AgentOutcome {
    let started = Instant::now();
    let mut out = AgentOutcome {
        instance_id: instance.id.clone(),
        template: template.name.clone(),
        provider: provider.to_string(),
        status: "error".into(),
        signal: None,
        reason: None,
        detail: None,
        raw: None,
        prompt_sha256: None,
        latency_ms: 0.0,
    };
    let prompt = match render::render(template, instance, snapshot) {
        Ok(p) => p,
        Err(e) => {
            out.reason = Some("RENDER_FAILED".into());
            out.detail = Some(e.to_string());
            return out;
        }
    };
    out.prompt_sha256 = Some(prompt.sha256);
    match crate::llm::rules::evaluate(&template.evaluator, instance, snapshot) {
        Err(e) => {
            out.reason = Some("EVALUATOR_FAILED".into());
            out.detail = Some(e.to_string());
        }
        Ok(raw) => {
            match signal::parse_answer(&raw, instance, &template.name, snapshot) {
                Ok(sig) => {
                    out.status = "ok".into();
                    out.signal = Some(sig);
                }
                Err(abst) => {
                    out.status = "abstain".into();
                    out.reason = Some(abst.reason);
                    out.detail = Some(abst.detail);
                }
            }
            out.raw = Some(raw);
        }
    }
    out.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    out
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
    type Result = SwarmReport;

    fn handle(&mut self, m: ConsultSwarm, _: &mut Context<Self>) -> SwarmReport {
        let mut outcomes = Vec::new();
        for instance in self.instances.iter().filter(|i| i.enabled) {
            let Some(template) = self.templates.get(&instance.template) else {
                outcomes.push(AgentOutcome {
                    instance_id: instance.id.clone(),
                    template: instance.template.clone(),
                    provider: self.provider_name.clone(),
                    status: "error".into(),
                    signal: None,
                    reason: Some("UNKNOWN_TEMPLATE".into()),
                    detail: Some(format!("template {} is not loaded", instance.template)),
                    raw: None,
                    prompt_sha256: None,
                    latency_ms: 0.0,
                });
                continue;
            };
            let outcome = match self.provider_kind {
                ProviderKind::Rules => {
                    consult_rules(template, instance, &m.snapshot, &self.provider_name)
                }
                ProviderKind::Anthropic | ProviderKind::Openai => AgentOutcome {
                    instance_id: instance.id.clone(),
                    template: template.name.clone(),
                    provider: self.provider_name.clone(),
                    status: "error".into(),
                    signal: None,
                    reason: Some("PROVIDER_UNAVAILABLE".into()),
                    detail: Some(
                        "LLM providers are not wired into the swarm yet; use provider = \"rules\""
                            .into(),
                    ),
                    raw: None,
                    prompt_sha256: None,
                    latency_ms: 0.0,
                },
            };
            outcomes.push(outcome);
        }
        SwarmReport { outcomes }
    }
}

impl Handler<Ping> for SwarmPool {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

impl Handler<InjectPanic> for SwarmPool {
    type Result = ();
    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        panic!("injected fault: SwarmPool");
    }
}

crate::enveloped!(SwarmPool: ConsultSwarm, Ping, InjectPanic);
