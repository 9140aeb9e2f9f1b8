//! The swarm stage against a local fake OpenAI-compatible server that answers every call after
//! 500 ms: 50 agents with `max_concurrent` 50 (target ≤ 550 ms) and 10 (about 2.5 s); and with
//! one of the 50 never answering under `agent_timeout` 1 s (target: about 1 s, the timeout).

use actix::Actor;
use alphahive::actors::messages::ConsultSwarm;
use alphahive::actors::metrics::ActorStats;
use alphahive::actors::swarm_pool::{Answerer, SwarmPool, SwarmSetup};
use alphahive::config::{ProviderConfig, ProviderKind};
use alphahive::llm::client::build_client;
use alphahive::market::MarketData;
use alphahive::store::Store;
use alphahive::swarm::instance::Instance;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Answers after 500 ms; with `hang`, the first request of every 50 gets no answer for a minute.
struct HangFirstOf50 {
    n: AtomicUsize,
    hang: bool,
    ok: ResponseTemplate,
}

impl wiremock::Respond for HangFirstOf50 {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let delay = if self.hang && n.is_multiple_of(50) {
            60_000
        } else {
            500
        };
        self.ok.clone().set_delay(Duration::from_millis(delay))
    }
}

fn bench_swarm(c: &mut Criterion) {
    let mut group = c.benchmark_group("swarm_stage_50_agents_500ms");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (max_concurrent, hang) in [(50usize, false), (10, false), (50, true)] {
        let name = if hang {
            format!("max_concurrent_{max_concurrent}_one_hangs_timeout_1s")
        } else {
            format!("max_concurrent_{max_concurrent}")
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let sys = actix::System::new();
                sys.block_on(async move {
                    let server = MockServer::start().await;
                    let answer = json!({"target": "NVDA", "signal": "NO_TRADE", "confidence": 0.0, "params": {"legs": []}, "reasoning": "bench"}).to_string();
                    let ok = ResponseTemplate::new(200)
                        .set_body_json(json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}));
                    Mock::given(wiremock::matchers::method("POST"))
                        .respond_with(HangFirstOf50 { n: AtomicUsize::new(0), hang, ok })
                        .mount(&server)
                        .await;
                    let dir = tempfile::tempdir().expect("tempdir");
                    let cfg = ProviderConfig {
                        kind: ProviderKind::Openai,
                        model: "fake".into(),
                        base_url: Some(format!("{}/v1", server.uri())),
                        api_key_env: None,
                        timeout_s: 5.0,
                        max_concurrency: 64,
                        max_retries: 0,
                        input_cost_per_mtok: 0.0,
                        output_cost_per_mtok: 0.0,
                        max_response_bytes: 1 << 20,
                    };
                    let base = alphahive::swarm::instance::load_instances(&repo().join("swarm_intelligence/active_instances")).expect("instances");
                    let template = base.iter().find(|i| i.id == "tech_aggressive").expect("tech_aggressive").clone();
                    let instances: Vec<Instance> = (0..50).map(|k| Instance { id: format!("agent_{k:02}"), ..template.clone() }).collect();
                    let symbols: Vec<String> = ["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"].iter().map(|s| s.to_string()).collect();
                    let mut market = alphahive::market::synthetic::SyntheticMarket::new(&symbols, 42, 0.04);
                    let setup = SwarmSetup {
                        templates: Arc::new(alphahive::swarm::template::load_templates(&repo().join("swarm_intelligence/templates")).expect("templates")),
                        instances: Arc::new(instances),
                        provider_name: "fake".into(),
                        answerer: Answerer::Llm { client: build_client("fake", &cfg, None).expect("client"), records: Arc::default() },
                        store: Store::open(dir.path()).expect("store"),
                        max_concurrent,
                        agent_timeout: Duration::from_secs(if hang { 1 } else { 5 }),
                        budget: Default::default(),
                        spent_run: Arc::default(),
                    };
                    let pool = SwarmPool::new(setup, ActorStats::new("SwarmPool")).start();
                    let mut total = Duration::ZERO;
                    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 23).expect("date");
                    for i in 0..iters {
                        // A new market time each iteration: new prompts, no cache hits.
                        let ts = day.and_hms_opt(9, 30, 0).expect("ts") + chrono::Duration::minutes(i as i64);
                        let snapshot = Arc::new(market.snapshot(ts).expect("snapshot"));
                        let t0 = Instant::now();
                        let report = pool.send(ConsultSwarm { cycle_id: 1, snapshot, held: None }).await.expect("report");
                        total += t0.elapsed();
                        assert_eq!(report.outcomes.len(), 50);
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_swarm);
criterion_main!(benches);
