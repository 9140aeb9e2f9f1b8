//! One rules-mode cycle's computation: the market snapshot, every agent's rules answer with
//! validation, aggregation, sizing and exits (`policy::plan`). The store's part is measured by
//! the `--cycles N` run, which prints its rate.

use alphahive::actors::swarm_pool::consult_rules;
use alphahive::broker::AccountView;
use alphahive::config::Config;
use alphahive::market::synthetic::SyntheticMarket;
use alphahive::market::MarketData;
use alphahive::policy::{plan, PolicyParams};
use criterion::{criterion_group, criterion_main, Criterion};
use rust_decimal::Decimal;
use std::path::PathBuf;

fn bench_cycle(c: &mut Criterion) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cfg: Config = alphahive::config::load(&repo.join("config.toml")).expect("config");
    let templates =
        alphahive::swarm::template::load_templates(&cfg.swarm.templates_dir).expect("templates");
    let instances =
        alphahive::swarm::instance::load_instances(&cfg.swarm.instances_dir).expect("instances");
    let params = PolicyParams::from_config(&cfg);
    let mut market = SyntheticMarket::new(&cfg.market.symbols, cfg.market.seed, 0.04);
    let day = cfg.runtime.sim_start;
    let equity = Decimal::from(100_000);
    let account = |ts| AccountView {
        market_ts: ts,
        cash: equity,
        positions_value: Decimal::ZERO,
        equity,
        day_start_equity: equity,
        high_water_mark: equity,
        day_pnl: Decimal::ZERO,
        positions: vec![],
    };
    let mut minute = 0i64;
    c.bench_function("rules_cycle_compute", |b| {
        b.iter(|| {
            minute = (minute + 5) % 390;
            let ts = day.and_hms_opt(9, 30, 0).expect("ts") + chrono::Duration::minutes(minute);
            let snapshot = market.snapshot(ts).expect("snapshot");
            let outcomes: Vec<_> = instances
                .iter()
                .filter_map(|i| {
                    templates
                        .get(&i.template)
                        .map(|t| consult_rules(t, i, &snapshot, "rules"))
                })
                .collect();
            plan(1, &snapshot, &account(ts), &outcomes, &params)
        })
    });
}

criterion_group!(benches, bench_cycle);
criterion_main!(benches);
