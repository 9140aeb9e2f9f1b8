//! Spawning the supervised actors, each from its share of the config.

use super::agents::Wired;
use crate::actors::broker::{Broker, SettlementMarket};
use crate::actors::commander::{Commander, Peers, RecordedMarket};
use crate::actors::monitor::{Heartbeat, Monitor, Pinger};
use crate::actors::recorder::Recorder;
use crate::actors::risk_gate::RiskGate;
use crate::actors::supervision::SupervisionContext;
use crate::actors::supervision::{supervise, Envelope, Handle, Ping, Supervised};
use crate::actors::swarm_pool::SwarmPool;
use crate::broker::paper::PaperParams;
use crate::config::Config;
use crate::market::synthetic::{SyntheticMarket, DEFAULT_RATE};
use crate::policy::PolicyParams;
use crate::risk::RiskLimits;
use crate::store::Store;
use crate::swarm::instance::DteWindow;
use actix::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The trading actors (all but the Monitor, which watches them).
pub(super) struct Actors {
    /// Commander.
    pub(super) commander: Handle<Commander>,
    /// SwarmPool.
    pub(super) swarm: Handle<SwarmPool>,
    /// RiskGate.
    pub(super) risk: Handle<RiskGate>,
    /// Broker.
    pub(super) broker: Handle<Broker>,
    /// Recorder.
    pub(super) recorder: Handle<Recorder>,
}

/// Spawns the Recorder, the Broker, the RiskGate, the SwarmPool and the Commander, in that
/// order, each under `sup`.
pub(super) fn actors(
    config: &Config,
    store: &Store,
    params: PaperParams,
    wired: Wired,
    recorded_window: DteWindow,
    sup: &SupervisionContext,
) -> Actors {
    let recorder = recorder(store, sup);
    let broker = broker(config, store, params, sup);
    let risk = risk_gate(config, store, &broker, sup);
    let swarm = {
        let setup = wired.swarm;
        supervise(
            "SwarmPool",
            move |s| SwarmPool::new(setup.clone(), s),
            sup.clone(),
        )
    };
    let peers = Peers {
        swarm: swarm.clone(),
        risk: risk.clone(),
        broker: broker.clone(),
        recorder: recorder.clone(),
        chooser: wired.chooser,
    };
    let commander = commander(config, peers, recorded_window, sup);
    Actors {
        commander,
        swarm,
        risk,
        broker,
        recorder,
    }
}

fn recorder(store: &Store, sup: &SupervisionContext) -> Handle<Recorder> {
    let store = store.clone();
    supervise(
        "Recorder",
        move |s| Recorder::new(store.clone(), s),
        sup.clone(),
    )
}

fn broker(
    config: &Config,
    store: &Store,
    params: PaperParams,
    sup: &SupervisionContext,
) -> Handle<Broker> {
    let store = store.clone();
    // Its own instance of the market source (a pure function of the seed), so expiry
    // settlement reads closes without borrowing the Commander's.
    let settlement: SettlementMarket = Arc::new(Mutex::new(Box::new(SyntheticMarket::new(
        &config.market.symbols,
        config.market.seed,
        DEFAULT_RATE,
    ))));
    supervise(
        "Broker",
        move |s| Broker::new(store.clone(), params.clone(), settlement.clone(), s),
        sup.clone(),
    )
}

fn risk_gate(
    config: &Config,
    store: &Store,
    broker: &Handle<Broker>,
    sup: &SupervisionContext,
) -> Handle<RiskGate> {
    let store = store.clone();
    let limits = RiskLimits::from_config(&config.risk, &config.broker, &config.market.symbols);
    let broker = broker.clone();
    supervise(
        "RiskGate",
        move |s| RiskGate::new(limits.clone(), store.clone(), broker.clone(), s),
        sup.clone(),
    )
}

fn commander(
    config: &Config,
    peers: Peers,
    recorded_window: DteWindow,
    sup: &SupervisionContext,
) -> Handle<Commander> {
    let policy = PolicyParams::from_config(config);
    let symbols = config.market.symbols.clone();
    let recorded = RecordedMarket {
        symbols: symbols.clone(),
        window: recorded_window,
        config_sha256: crate::config::decision_sha256(config),
    };
    let seed = config.market.seed;
    let run_id = format!("run-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
    let snapshots = config.runtime.snapshots;
    supervise(
        "Commander",
        move |s| {
            let market = Box::new(SyntheticMarket::new(&symbols, seed, DEFAULT_RATE));
            Commander::new(
                market,
                peers.clone(),
                policy.clone(),
                run_id.clone(),
                recorded.clone(),
                snapshots,
                s,
            )
        },
        sup.clone(),
    )
}

fn pinger<A>(h: &Handle<A>) -> Pinger
where
    A: Supervised + Handler<Envelope<Ping>>,
{
    let h = h.clone();
    Arc::new(move || {
        let h = h.clone();
        Box::pin(async move {
            let _ = h.send(Ping).await;
        })
    })
}

/// Spawns the Monitor over the trading actors' stats and pings, with the watchdog heartbeat
/// when there is one.
pub(super) fn monitor(
    config: &Config,
    actors: &Actors,
    heartbeat: Option<(Heartbeat, Duration)>,
    sup: SupervisionContext,
) -> Handle<Monitor> {
    let stats = vec![
        Arc::clone(actors.commander.stats()),
        Arc::clone(actors.swarm.stats()),
        Arc::clone(actors.risk.stats()),
        Arc::clone(actors.broker.stats()),
        Arc::clone(actors.recorder.stats()),
    ];
    let pingers = vec![
        pinger(&actors.commander),
        pinger(&actors.swarm),
        pinger(&actors.risk),
        pinger(&actors.broker),
        pinger(&actors.recorder),
    ];
    let interval = config.metrics.interval();
    supervise(
        "Monitor",
        move |s| {
            Monitor::new(
                stats.clone(),
                pingers.clone(),
                interval,
                heartbeat.clone(),
                s,
            )
        },
        sup,
    )
}
