//! Building the agents: the swarm's answerer and the commander's LLM chooser, each provider's
//! client built (and its API key read) before anything is written.

use crate::actors::swarm_pool::{Answerer, SwarmSetup};
use crate::config::{Config, ProviderConfig, ProviderKind};
use crate::llm::budget::{Budget, RunSpend};
use crate::llm::client::{build_client, CallRecord, CallSink, LlmClient};
use crate::policy::chooser::Chooser;
use crate::store::Store;
use crate::swarm::instance::{DteWindow, Instance};
use crate::swarm::template::Template;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An LLM client and the call records its sink collects.
type RecordedClient = (Arc<dyn LlmClient>, Arc<Mutex<Vec<CallRecord>>>);

/// The commander's LLM, before the store it caches answers in is open.
struct CommanderLlm {
    client: Arc<dyn LlmClient>,
    records: Arc<Mutex<Vec<CallRecord>>>,
    system: String,
    timeout: Duration,
}

/// The agents as the config describes them, nothing written yet.
pub(super) struct Agents {
    answerer: Answerer,
    templates: Arc<BTreeMap<String, Template>>,
    instances: Arc<Vec<Instance>>,
    /// The days-to-expiry span the enabled instances look at.
    pub(super) recorded_window: DteWindow,
    commander: Option<CommanderLlm>,
}

/// The agents wired to the store, sharing one run's LLM spend.
pub(super) struct Wired {
    /// The swarm's setup.
    pub(super) swarm: SwarmSetup,
    /// The commander's chooser, when an LLM chooses.
    pub(super) chooser: Option<Chooser>,
}

/// Builds provider `name`'s client (reading its API key now) with its call records collected.
fn recorded_client(name: &str, cfg: &ProviderConfig) -> anyhow::Result<RecordedClient> {
    let records: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
    let sink_records = Arc::clone(&records);
    let sink: CallSink = Arc::new(move |r| {
        if let Ok(mut v) = sink_records.lock() {
            v.push(r);
        }
    });
    let client = build_client(name, cfg, Some(sink))
        .map_err(|e| anyhow::anyhow!("llm.providers.{name}: {e}"))?;
    Ok((client, records))
}

/// The provider `key` (`swarm.provider`, `commander.provider`) names.
fn provider(config: &Config, key: &str, name: &str) -> anyhow::Result<ProviderConfig> {
    Ok(config
        .llm
        .provider(name)
        .with_context(|| format!("{key}: no provider named {name}"))?
        .clone())
}

/// Who answers the swarm's agents.
fn answerer(config: &Config) -> anyhow::Result<Answerer> {
    let swarm_provider = provider(config, "swarm.provider", &config.swarm.provider)?;
    Ok(match swarm_provider.kind {
        ProviderKind::Rules => Answerer::Rules,
        ProviderKind::Anthropic | ProviderKind::Openai => {
            let (client, records) = recorded_client(&config.swarm.provider, &swarm_provider)?;
            Answerer::Llm { client, records }
        }
    })
}

/// The commander's LLM and its system prompt, unless the rules choose.
fn commander_llm(config: &Config) -> anyhow::Result<Option<CommanderLlm>> {
    let commander_provider = provider(config, "commander.provider", &config.commander.provider)?;
    match commander_provider.kind {
        ProviderKind::Rules => Ok(None),
        ProviderKind::Anthropic | ProviderKind::Openai => {
            let (client, records) =
                recorded_client(&config.commander.provider, &commander_provider)?;
            let system = std::fs::read_to_string(&config.commander.prompt).with_context(|| {
                format!(
                    "commander.prompt: cannot read {}",
                    config.commander.prompt.display()
                )
            })?;
            // Every round of the tool loop, and the final answer, may take a full call.
            let timeout = commander_provider.timeout()
                * (commander_provider.max_retries + 1)
                * (config.commander.max_tool_rounds + 1);
            Ok(Some(CommanderLlm {
                client,
                records,
                system,
                timeout,
            }))
        }
    }
}

impl Agents {
    /// Builds the agents of a validated config; nothing is written.
    pub(super) fn build(
        config: &Config,
        valid: crate::validate::Validated,
    ) -> anyhow::Result<Self> {
        let answerer = answerer(config)?;
        let templates = Arc::new(valid.templates);
        let recorded_window = crate::swarm::instance::enabled_span(&valid.instances)?;
        let instances = Arc::new(valid.instances);
        let commander = commander_llm(config)?;
        Ok(Agents {
            answerer,
            templates,
            instances,
            recorded_window,
            commander,
        })
    }

    /// Wires the agents to the open store; the swarm and the chooser share one run's spend.
    pub(super) fn wire(self, config: &Config, store: &Store) -> Wired {
        let spent_run = RunSpend::default();
        let chooser = self.commander.map(|llm| Chooser {
            client: llm.client,
            records: llm.records,
            system: llm.system,
            timeout: llm.timeout,
            store: store.clone(),
            max_tool_rounds: config.commander.max_tool_rounds,
            budget: Budget::from_config(&config.swarm),
            spent_run: spent_run.clone(),
        });
        let swarm = SwarmSetup {
            templates: self.templates,
            instances: self.instances,
            provider_name: config.swarm.provider.clone(),
            answerer: self.answerer,
            store: store.clone(),
            max_concurrent: config.swarm.max_concurrent,
            agent_timeout: config.swarm.agent_timeout(),
            budget: Budget::from_config(&config.swarm),
            spent_run,
        };
        Wired { swarm, chooser }
    }
}
