//! The swarm stage against a fake OpenAI-compatible server that answers after 500 ms:
//! how many agents are in flight at once, how long the stage takes (printed, not asserted),
//! and the answer cache (a re-run over the same inputs makes no calls).

mod common;

use actix::Actor;
use alphahive::actors::messages::ConsultSwarm;
use alphahive::actors::swarm_pool::{consult_llm, Answerer, SwarmPool, SwarmSetup};
use alphahive::config::{ProviderConfig, ProviderKind};
use alphahive::llm::client::build_client;
use alphahive::market::MarketData;
use alphahive::store::Store;
use alphahive::swarm::instance::Instance;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers every call after `delay` and records when each request arrived.
struct Slow {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    delay: Duration,
}

impl Respond for Slow {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if let Ok(mut a) = self.arrivals.lock() {
            a.push(Instant::now());
        }
        let answer = json!({"target": "NVDA", "signal": "NO_TRADE", "confidence": 0.0, "params": {"legs": []}, "reasoning": "test"}).to_string();
        ResponseTemplate::new(200)
            .set_body_json(json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}))
            .set_delay(self.delay)
    }
}

/// Most requests that arrived within one `window` of each other (= in flight at once when
/// every answer takes `window`).
fn max_in_flight(arrivals: &[Instant], window: Duration) -> usize {
    let mut a = arrivals.to_vec();
    a.sort();
    (0..a.len())
        .map(|i| {
            a[i..]
                .iter()
                .take_while(|t| t.duration_since(a[i]) < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn provider(uri: &str, concurrency: u32) -> ProviderConfig {
    ProviderConfig {
        kind: ProviderKind::Openai,
        model: "fake".into(),
        base_url: Some(format!("{uri}/v1")),
        api_key_env: None,
        timeout_s: 5.0,
        max_concurrency: concurrency,
        max_retries: 0,
        input_cost_per_mtok: 0.0,
        output_cost_per_mtok: 0.0,
        max_response_bytes: 1 << 20,
    }
}

fn instances(n: usize) -> Vec<Instance> {
    let base = alphahive::swarm::instance::load_instances(
        &common::repo().join("swarm_intelligence/active_instances"),
    )
    .expect("instances");
    let template = base
        .iter()
        .find(|i| i.id == "tech_aggressive")
        .expect("tech_aggressive")
        .clone();
    (0..n)
        .map(|k| Instance {
            id: format!("agent_{k:02}"),
            ..template.clone()
        })
        .collect()
}

async fn stage(
    agents: usize,
    max_concurrent: usize,
    held: Option<String>,
) -> (Duration, usize, usize) {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let delay = Duration::from_millis(500);
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Slow {
            arrivals: Arc::clone(&arrivals),
            delay,
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let client = build_client("fake", &provider(&server.uri(), 64), None).expect("client");
    let setup = SwarmSetup {
        templates: Arc::new(
            alphahive::swarm::template::load_templates(
                &common::repo().join("swarm_intelligence/templates"),
            )
            .expect("templates"),
        ),
        instances: Arc::new(instances(agents)),
        provider_name: "fake".into(),
        answerer: Answerer::Llm {
            client,
            records: Arc::default(),
        },
        store,
        max_concurrent,
        agent_timeout: Duration::from_secs(5),
        budget: Default::default(),
        spent_run: Arc::default(),
    };
    let symbols: Vec<String> = ["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ts = chrono::NaiveDate::from_ymd_opt(2026, 3, 23)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("ts");
    let snapshot = Arc::new(
        alphahive::market::synthetic::SyntheticMarket::new(&symbols, 42, 0.04)
            .snapshot(ts)
            .expect("snapshot"),
    );
    let pool = SwarmPool::new(
        setup,
        alphahive::actors::metrics::ActorStats::new("SwarmPool"),
    )
    .start();
    let t0 = Instant::now();
    let report = pool
        .send(ConsultSwarm {
            cycle_id: 1,
            snapshot,
            held: held.clone(),
        })
        .await
        .expect("report");
    let took = t0.elapsed();
    let ok = report.outcomes.iter().filter(|o| o.status == "ok").count();
    if held.is_some() {
        assert!(
            report.outcomes.iter().all(|o| o.status == "abstain"
                && o.reason.as_deref() == Some("ENTRIES_HELD")
                && o.detail == held),
            "{:?}",
            report.outcomes
        );
        assert!(report.calls.is_empty(), "no HTTP call is made");
    }
    let seen = arrivals
        .lock()
        .map(|a| max_in_flight(&a, delay))
        .unwrap_or(0);
    (took, seen, ok)
}

#[actix_rt::test]
async fn fifty_agents_are_all_in_flight_at_once() {
    let (took, in_flight, ok) = stage(50, 50, None).await;
    println!(
        "swarm stage: 50 agents x 500 ms, max_concurrent 50: {} ms, {in_flight} in flight",
        took.as_millis()
    );
    assert_eq!(ok, 50);
    assert_eq!(in_flight, 50);
}

#[actix_rt::test]
async fn max_concurrent_bounds_the_agents_in_flight() {
    let (took, in_flight, ok) = stage(50, 10, None).await;
    println!(
        "swarm stage: 50 agents x 500 ms, max_concurrent 10: {} ms, {in_flight} in flight",
        took.as_millis()
    );
    assert_eq!(ok, 50);
    assert_eq!(in_flight, 10);
}

#[actix_rt::test]
async fn no_llm_agent_is_asked_when_no_entry_can_open() {
    let (_, in_flight, ok) = stage(10, 10, Some("trading REDUCING (TEST)".into())).await;
    assert_eq!((ok, in_flight), (0, 0));
}

#[actix_rt::test]
async fn a_cached_answer_makes_no_second_call() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Slow {
            arrivals: Arc::clone(&arrivals),
            delay: Duration::ZERO,
        })
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let client = build_client("fake", &provider(&server.uri(), 4), None).expect("client");
    let inst = Arc::new(instances(1).remove(0));
    let templates = alphahive::swarm::template::load_templates(
        &common::repo().join("swarm_intelligence/templates"),
    )
    .expect("templates");
    let template = templates.get("vol_sniper").expect("vol_sniper");
    let symbols = inst.symbol_pool();
    let ts = chrono::NaiveDate::from_ymd_opt(2026, 3, 23)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("ts");
    let snapshot = Arc::new(
        alphahive::market::synthetic::SyntheticMarket::new(&symbols, 42, 0.04)
            .snapshot(ts)
            .expect("snapshot"),
    );
    for _ in 0..2 {
        let prompt = alphahive::swarm::render::render(template, &inst, &snapshot).expect("render");
        let out = consult_llm(
            Arc::clone(&client),
            store.clone(),
            prompt,
            Arc::clone(&inst),
            Arc::new(template.clone()),
            Arc::clone(&snapshot),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(out.status, "ok");
    }
    assert_eq!(
        arrivals.lock().map(|a| a.len()).unwrap_or(0),
        1,
        "the second run is served from the cache"
    );
}
