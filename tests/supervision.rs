//! Supervision: a panic in any actor's handler restarts it from its factory, its state
//! reloaded from the store; too many restarts halt trading and end the run with an error.

#[cfg(not(feature = "test-faults"))]
compile_error!("tests/supervision.rs needs the test fault hooks: run `cargo test --all-targets --features test-faults`");

mod common;

use alphahive::actors::messages::{GetAccount, GetRiskStatus};
use alphahive::actors::supervision::InjectPanic;
use alphahive::app::runtime;
use alphahive::config;
use common::*;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_panic_in_each_actor_restarts_it_with_state_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config::load(&write_config(
        dir.path(),
        &[
            ("max_restarts = 3", "max_restarts = 10"),
            ("enabled = true", "enabled = false"),
        ],
    ))
    .expect("config");
    let sys = actix::System::new();
    sys.block_on(async {
        let mut rt = runtime::start(&cfg).await.expect("start");
        let stop = Arc::new(AtomicBool::new(false));
        let first = runtime::drive(&cfg, &mut rt, Some(40), Arc::clone(&stop))
            .await
            .expect("drive");
        assert!(first.approved > 0, "the first 40 cycles trade: {first}");
        let risk_before = rt.risk.send(GetRiskStatus).await.expect("risk status");
        assert!(risk_before.trades_today > 0);

        assert!(
            rt.risk.send(InjectPanic).await.is_err(),
            "the handler panicked"
        );
        assert!(rt.broker.send(InjectPanic).await.is_err());
        assert!(rt.recorder.send(InjectPanic).await.is_err());
        assert!(rt.swarm.send(InjectPanic).await.is_err());
        assert!(rt.commander.send(InjectPanic).await.is_err());
        assert!(rt.monitor.send(InjectPanic).await.is_err());
        tokio::time::sleep(Duration::from_millis(200)).await;

        // The restarted risk gate reloaded its counters from the store.
        let risk_after = rt
            .risk
            .send(GetRiskStatus)
            .await
            .expect("risk gate is back");
        assert_eq!(risk_after.trades_today, risk_before.trades_today);
        assert_eq!(risk_after.loss_streak, risk_before.loss_streak);
        assert_eq!(risk_after.trading_state, risk_before.trading_state);
        assert_eq!(risk_after.day, risk_before.day);

        // The broker's book (and so the day's P&L) is the store's: unchanged by a restart.
        let snapshot = {
            use alphahive::market::MarketData;
            let mut m = alphahive::market::synthetic::SyntheticMarket::new(
                &cfg.market.symbols,
                cfg.market.seed,
                0.04,
            );
            let ts = cfg.runtime.sim_start.and_hms_opt(12, 0, 0).expect("ts");
            Arc::new(m.snapshot(ts).expect("snapshot"))
        };
        let acct = rt
            .broker
            .send(GetAccount { snapshot })
            .await
            .expect("broker is back")
            .expect("account");
        assert!(!acct.positions.is_empty(), "positions survive");

        for h in [
            rt.commander.stats(),
            rt.swarm.stats(),
            rt.risk.stats(),
            rt.broker.stats(),
            rt.recorder.stats(),
            rt.monitor.stats(),
        ] {
            assert_eq!(h.restarts(), 1, "{} restarted once", h.name);
        }

        // The runtime goes on trading after the restarts.
        let second = runtime::drive(&cfg, &mut rt, Some(5), stop)
            .await
            .expect("drive after restarts");
        assert_eq!(second.cycles, 5);
        assert_eq!(second.failed_cycles, 0);
    });
    let db = db(dir.path());
    assert_eq!(
        db.int("SELECT count(*) AS n FROM safety_events WHERE event_type = 'ACTOR_RESTART'"),
        6
    );
    let actors = db.texts("SELECT DISTINCT actor AS s FROM safety_events WHERE event_type = 'ACTOR_RESTART' ORDER BY actor");
    assert_eq!(
        actors,
        [
            "Broker",
            "Commander",
            "Monitor",
            "Recorder",
            "RiskGate",
            "SwarmPool"
        ]
    );
}

#[test]
fn too_many_restarts_halt_trading_and_fail_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config::load(&write_config(
        dir.path(),
        &[
            ("max_restarts = 3", "max_restarts = 1"),
            ("enabled = true", "enabled = false"),
        ],
    ))
    .expect("config");
    let sys = actix::System::new();
    let result = sys.block_on(async {
        let mut rt = runtime::start(&cfg).await.expect("start");
        for _ in 0..2 {
            let _ = rt.swarm.send(InjectPanic).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        runtime::drive(&cfg, &mut rt, Some(1000), Arc::new(AtomicBool::new(false))).await
    });
    let err = result.expect_err("escalation ends the run with an error");
    assert!(err.to_string().contains("HALTED"), "{err}");
    let db = db(dir.path());
    assert_eq!(
        db.texts("SELECT value AS s FROM runtime_state WHERE key = 'trading_state'"),
        ["HALTED"]
    );
    assert!(
        db.int(
            "SELECT count(*) AS n FROM safety_events WHERE event_type = 'TRADING_STATE_CHANGED'"
        ) >= 1
    );
}
