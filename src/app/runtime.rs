//! Wiring and the run loop: open the store, reconcile, start the supervised actors, drive
//! cycles from the clock, stop cleanly on Ctrl-C / SIGTERM, escalate when supervision gives up.

use crate::actors::broker::Broker;
use crate::actors::commander::{Commander, Peers, RecordedMarket};
use crate::actors::messages::{CycleSummary, FlushMetrics, RunCycle};
use crate::actors::messages::{GetRiskStatus, WatchdogStatus};
use crate::actors::monitor::Heartbeat;
use crate::actors::monitor::{Monitor, Pinger};
use crate::actors::recorder::Recorder;
use crate::actors::risk_gate::RiskGate;
use crate::actors::supervision::{supervise, Handle, Ping, RestartPolicy, SupervisionContext};
use crate::actors::swarm_pool::{Answerer, SwarmPool, SwarmSetup};
use crate::broker::paper::{self, PaperParams};
use crate::clock::SimClock;
use crate::config::{ClockKind, Config, ProviderKind};
use crate::llm::client::{build_client, CallRecord, CallSink};
use crate::market::synthetic::SyntheticMarket;
use crate::policy::PolicyParams;
use crate::risk::RiskLimits;
use crate::safety::PID_KEY;
use crate::store::models::{self, NewSafetyEvent};
use crate::store::Store;
use crate::watchdog::link::WatchdogLink;
use actix::prelude::*;
use anyhow::Context as _;
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::mpsc;

/// The running actors.
pub struct Runtime {
    /// Commander.
    pub commander: Handle<Commander>,
    /// SwarmPool.
    pub swarm: Handle<SwarmPool>,
    /// RiskGate.
    pub risk: Handle<RiskGate>,
    /// Broker.
    pub broker: Handle<Broker>,
    /// Recorder.
    pub recorder: Handle<Recorder>,
    /// Monitor.
    pub monitor: Handle<Monitor>,
    /// The store.
    pub store: Store,
    /// Set on shutdown so supervision does not restart stopping actors.
    pub shutting_down: Arc<AtomicBool>,
    /// Escalations from supervision.
    pub escalations: mpsc::UnboundedReceiver<String>,
    /// What the start-up reconcile found.
    pub reconcile: paper::ReconcileReport,
    /// The heartbeat link, when the watchdog is enabled.
    pub watchdog: Option<WatchdogLink>,
    /// The data_dir lock, held for the runtime's life.
    pub lock: crate::data_dir_lock::DataDirLock,
}

fn pinger<A>(h: &Handle<A>) -> Pinger
where
    A: crate::actors::supervision::Supervised + Handler<crate::actors::supervision::Envelope<Ping>>,
{
    let h = h.clone();
    Arc::new(move || {
        let h = h.clone();
        Box::pin(async move {
            let _ = h.send(Ping).await;
        })
    })
}

/// An LLM client and the call records its sink collects.
type RecordedClient = (
    Arc<dyn crate::llm::client::LlmClient>,
    Arc<Mutex<Vec<CallRecord>>>,
);

/// Builds provider `name`'s client (reading its API key now) with its call records collected.
fn recorded_client(
    name: &str,
    cfg: &crate::config::ProviderConfig,
) -> anyhow::Result<RecordedClient> {
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

/// Opens the store, reconciles the book, and starts every actor under supervision.
pub async fn start(config: &Config) -> anyhow::Result<Runtime> {
    start_with(config, None).await
}

/// Like [`start`]; with `config_path`, a lost watchdog is respawned (at most every 10 s) with
/// `alphahive watchdog --config <config_path>`.
pub async fn start_with(
    config: &Config,
    config_path: Option<&std::path::Path>,
) -> anyhow::Result<Runtime> {
    // The validation `check` runs: nothing starts (or is written) unless it passes.
    let valid = crate::validate::validate(
        config,
        config_path.unwrap_or(std::path::Path::new("config")),
    )?;
    let swarm_provider = config
        .llm
        .provider(&config.swarm.provider)
        .with_context(|| {
            format!(
                "swarm.provider: no provider named {}",
                config.swarm.provider
            )
        })?
        .clone();
    // The LLM client is built (and its API key read) before anything is written.
    let answerer = match swarm_provider.kind {
        ProviderKind::Rules => Answerer::Rules,
        ProviderKind::Anthropic | ProviderKind::Openai => {
            let (client, records) = recorded_client(&config.swarm.provider, &swarm_provider)?;
            Answerer::Llm { client, records }
        }
    };
    let templates = Arc::new(valid.templates);
    let instances = valid.instances;
    let recorded_window = crate::swarm::instance::enabled_span(&instances)?;
    let instances = Arc::new(instances);

    let commander_provider = config
        .llm
        .provider(&config.commander.provider)
        .with_context(|| {
            format!(
                "commander.provider: no provider named {}",
                config.commander.provider
            )
        })?
        .clone();
    let commander_client = match commander_provider.kind {
        ProviderKind::Rules => None,
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
            Some((client, records, system, timeout))
        }
    };
    // One runtime per data_dir: refused here, before anything is written.
    let lock = crate::data_dir_lock::acquire(&config.runtime.data_dir)?;
    let store = Store::open(&config.runtime.data_dir)?;
    match crate::store::snapshots::remove_stale_temp_files(&config.runtime.data_dir) {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "deleted stale snapshot temp files"),
        Err(e) => tracing::warn!(error = %e, "cannot clean stale snapshot temp files"),
    }
    let pruned = store
        .call(|c| {
            crate::store::models::prune_llm_cache(
                c,
                crate::store::models::now(),
                crate::store::models::LLM_CACHE_MAX_AGE_DAYS,
                crate::store::models::LLM_CACHE_MAX_ROWS,
            )
        })
        .await;
    if let Err(e) = pruned {
        tracing::warn!(error = %e, "cannot prune the LLM answer cache");
    }
    let spent_run = crate::llm::budget::RunSpend::default();
    let chooser = commander_client.map(|(client, records, system, timeout)| {
        crate::policy::chooser::Chooser {
            client,
            records,
            system,
            timeout,
            store: store.clone(),
            max_tool_rounds: config.commander.max_tool_rounds,
            budget: crate::llm::budget::Budget::from_config(&config.swarm),
            spent_run: spent_run.clone(),
        }
    });
    let params = PaperParams::from_config(&config.broker);
    // Recorded so the kill switch and the watchdog can verify whom they signal.
    let identity = crate::process_identity::ProcessIdentity::current()
        .context("cannot read this process's identity from /proc")?;
    let reconcile = {
        let params = params.clone();
        store
            .call(move |c| {
                let aborted = models::abort_running_cycles(c)?;
                paper::ensure_account(c, &params)?;
                let report = paper::reconcile(c)?;
                models::set_state(c, PID_KEY, &identity.record())?;
                if aborted > 0 || !report.canceled.is_empty() || !report.filled.is_empty() {
                    let detail = format!(
                        "aborted_cycles={aborted} canceled={} filled={}",
                        report.canceled.len(),
                        report.filled.len()
                    );
                    models::insert_safety_event(
                        c,
                        &NewSafetyEvent::new("RECONCILED", "warning", Some("runtime"), detail),
                    )?;
                }
                Ok(report)
            })
            .await?
    };
    if !reconcile.canceled.is_empty() || !reconcile.filled.is_empty() {
        tracing::warn!(target: "alphahive::runtime", canceled = ?reconcile.canceled, filled = ?reconcile.filled, "reconciled orders left in flight");
    }

    // The watchdog starts only once the config, the agents and the store are known good, so a
    // run that fails to start never leaves a watchdog behind.
    if let (true, Some(path)) = (config.watchdog.enabled, config_path) {
        let (path, socket, data_dir) = (
            path.to_path_buf(),
            config.watchdog.effective_socket(),
            config.runtime.data_dir.clone(),
        );
        tokio::task::spawn_blocking(move || {
            crate::watchdog::spawn::ensure_watchdog(&path, &socket, &data_dir)
        })
        .await
        .context("watchdog start-up task failed")??;
    }
    let shutting_down = Arc::new(AtomicBool::new(false));
    let (esc_tx, escalations) = mpsc::unbounded_channel();
    let sup = SupervisionContext {
        store: store.clone(),
        policy: RestartPolicy {
            max_restarts: config.supervision.max_restarts,
            window: config.supervision.window(),
        },
        shutting_down: Arc::clone(&shutting_down),
        escalate: esc_tx,
    };

    let recorder = {
        let store = store.clone();
        supervise(
            "Recorder",
            move |s| Recorder::new(store.clone(), s),
            sup.clone(),
        )
    };
    let broker = {
        let store = store.clone();
        // Its own instance of the market source (a pure function of the seed), so expiry
        // settlement reads closes without borrowing the Commander's.
        let settlement: crate::actors::broker::SettlementMarket =
            Arc::new(std::sync::Mutex::new(Box::new(SyntheticMarket::new(
                &config.market.symbols,
                config.market.seed,
                crate::market::synthetic::DEFAULT_RATE,
            ))));
        supervise(
            "Broker",
            move |s| Broker::new(store.clone(), params.clone(), settlement.clone(), s),
            sup.clone(),
        )
    };
    let risk = {
        let store = store.clone();
        let limits = RiskLimits::from_config(&config.risk, &config.broker, &config.market.symbols);
        let broker = broker.clone();
        supervise(
            "RiskGate",
            move |s| RiskGate::new(limits.clone(), store.clone(), broker.clone(), s),
            sup.clone(),
        )
    };
    let swarm = {
        let setup = SwarmSetup {
            templates,
            instances,
            provider_name: config.swarm.provider.clone(),
            answerer,
            store: store.clone(),
            max_concurrent: config.swarm.max_concurrent,
            agent_timeout: config.swarm.agent_timeout(),
            budget: crate::llm::budget::Budget::from_config(&config.swarm),
            spent_run,
        };
        supervise(
            "SwarmPool",
            move |s| SwarmPool::new(setup.clone(), s),
            sup.clone(),
        )
    };
    let commander = {
        let peers = Peers {
            swarm: swarm.clone(),
            risk: risk.clone(),
            broker: broker.clone(),
            recorder: recorder.clone(),
            chooser: chooser.clone(),
        };
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
                let market = Box::new(SyntheticMarket::new(
                    &symbols,
                    seed,
                    crate::market::synthetic::DEFAULT_RATE,
                ));
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
    };
    let watchdog = config.watchdog.enabled.then(|| {
        let risk = risk.clone();
        let respawn: Option<crate::watchdog::link::Respawn> = config_path.map(|path| {
            let path = path.to_path_buf();
            let socket = config.watchdog.effective_socket();
            let data_dir = config.runtime.data_dir.clone();
            Arc::new(move || {
                if let Err(e) = crate::watchdog::spawn::ensure_watchdog(&path, &socket, &data_dir) {
                    tracing::error!(target: "alphahive::watchdog", error = %e, "cannot respawn the watchdog");
                }
            }) as crate::watchdog::link::Respawn
        });
        WatchdogLink::start(
            config.watchdog.effective_socket(),
            config.watchdog.heartbeat_timeout(),
            Arc::new(move |alive| {
                let risk = risk.clone();
                Box::pin(async move {
                    let _ = risk.send(WatchdogStatus { alive }).await;
                })
            }),
            respawn,
        )
    });
    let heartbeat = watchdog.clone().map(|link| {
        let risk = risk.clone();
        let probe: crate::actors::monitor::StateProbe = Arc::new(move || {
            let risk = risk.clone();
            Box::pin(async move {
                risk.send(GetRiskStatus)
                    .await
                    .ok()
                    .map(|s| s.trading_state.to_string())
            })
        });
        let every =
            (config.watchdog.heartbeat_timeout() / 4).min(std::time::Duration::from_secs(1));
        (Heartbeat { link, probe }, every)
    });
    let monitor = {
        let stats = vec![
            Arc::clone(commander.stats()),
            Arc::clone(swarm.stats()),
            Arc::clone(risk.stats()),
            Arc::clone(broker.stats()),
            Arc::clone(recorder.stats()),
        ];
        let pingers = vec![
            pinger(&commander),
            pinger(&swarm),
            pinger(&risk),
            pinger(&broker),
            pinger(&recorder),
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
    };
    Ok(Runtime {
        commander,
        swarm,
        risk,
        broker,
        recorder,
        monitor,
        store,
        shutting_down,
        escalations,
        reconcile,
        watchdog,
        lock,
    })
}

/// Totals of a run, printed at the end.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// Cycles completed.
    pub cycles: u32,
    /// Cycles that failed (recorded as failed).
    pub failed_cycles: u32,
    /// Valid signals.
    pub signals: u32,
    /// Abstentions, timeouts, errors.
    pub abstentions: u32,
    /// Orders approved.
    pub approved: u32,
    /// Orders denied.
    pub denied: u32,
    /// Leg fills.
    pub fills: u32,
    /// Equity at the end.
    pub equity: Decimal,
    /// Equity minus the starting cash of the paper account.
    pub pnl: Decimal,
    /// Trading state at the end.
    pub trading_state: String,
    /// Wall time in seconds.
    pub wall_s: f64,
    /// Cycles per second.
    pub cycles_per_s: f64,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cycles={} failed={} signals={} abstentions={} orders_approved={} orders_denied={} fills={} equity={:.2} pnl={:.2} state={} wall_s={:.3} cycles_per_s={:.1}",
            self.cycles, self.failed_cycles, self.signals, self.abstentions, self.approved, self.denied, self.fills,
            self.equity, self.pnl, self.trading_state, self.wall_s, self.cycles_per_s
        )
    }
}

/// Why the run loop ended badly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Supervision gave up on an actor: trading was halted.
    #[error("supervision escalated ({0}); trading HALTED")]
    Escalated(String),
}

/// Runs cycles until `max_cycles` (or `cycles` when given), a stop request, or an escalation.
pub async fn run(
    config: &Config,
    config_path: Option<&std::path::Path>,
    cycles: Option<u64>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<RunSummary> {
    let mut rt = start_with(config, config_path).await?;
    let result = drive(config, &mut rt, cycles, stop).await;
    let _ = rt.monitor.send(FlushMetrics).await;
    if result.is_ok() {
        // A clean exit: the watchdog is told goodbye and exits too. After an escalation no
        // goodbye is sent, so the watchdog applies `on_runtime_exit`.
        if let Some(link) = &rt.watchdog {
            if !link.goodbye().await {
                tracing::warn!(target: "alphahive::watchdog", "the watchdog did not take the goodbye");
            }
        }
        let _ = rt
            .store
            .call(|c| {
                {
                    use diesel::prelude::*;
                    diesel::delete(crate::store::schema::runtime_state::table.find(PID_KEY))
                        .execute(c)?;
                    // A clean exit leaves trades.db complete on its own (no -wal to carry).
                    diesel::connection::SimpleConnection::batch_execute(
                        c,
                        "PRAGMA wal_checkpoint(TRUNCATE);",
                    )?;
                }
                Ok(())
            })
            .await;
    }
    rt.shutting_down.store(true, Ordering::SeqCst);
    result
}

/// The cycle loop over a started runtime.
pub async fn drive(
    config: &Config,
    rt: &mut Runtime,
    cycles: Option<u64>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<RunSummary> {
    // `--cycles 0` means what `max_cycles = 0` means: until stopped.
    let limit = match cycles {
        Some(0) => None,
        Some(n) => Some(n),
        None => config.runtime.max_cycles_limit(),
    };
    let last = rt.store.call(models::last_market_ts).await?;
    let mut clock = SimClock::new(
        config.runtime.sim_start,
        last,
        config.runtime.cycle_interval_s,
    );
    let started = Instant::now();
    let mut sum = RunSummary::default();
    let mut last_summary: Option<CycleSummary> = None;
    #[cfg(feature = "test-faults")]
    let fault = crate::actors::test_faults::TestFault::from_env();
    let mut seq: u32 = 0;
    while limit.is_none_or(|n| u64::from(seq) < n) {
        if stop.load(Ordering::SeqCst) {
            tracing::info!(target: "alphahive::runtime", "stop requested; finishing");
            break;
        }
        seq += 1;
        let market_ts = match config.runtime.clock {
            ClockKind::Simulated => clock.tick(),
            ClockKind::Wall => chrono::Local::now().naive_local(),
        };
        let cycle = rt.commander.send(RunCycle { seq, market_ts });
        let outcome = tokio::select! {
            r = cycle => r,
            Some(detail) = rt.escalations.recv() => {
                escalate(&rt.store, &detail).await;
                return Err(RunError::Escalated(detail).into());
            }
        };
        match outcome {
            Ok(Ok(s)) => {
                sum.cycles += 1;
                sum.signals += s.signals_ok;
                sum.abstentions += s.abstentions;
                sum.approved += s.approved;
                sum.denied += s.denied;
                sum.fills += s.fills;
                last_summary = Some(s);
            }
            Ok(Err(e)) => {
                sum.failed_cycles += 1;
                tracing::error!(target: "alphahive::runtime", seq, error = %e, "cycle failed; recorded, going on");
            }
            Err(e) => {
                sum.failed_cycles += 1;
                tracing::error!(target: "alphahive::runtime", seq, error = %e, "cycle lost with its actor; going on");
            }
        }
        #[cfg(feature = "test-faults")]
        if let Some(f) = &fault {
            f.after_cycle(seq, &rt.risk);
        }
        if let Ok(detail) = rt.escalations.try_recv() {
            escalate(&rt.store, &detail).await;
            return Err(RunError::Escalated(detail).into());
        }
        if config.runtime.clock == ClockKind::Wall {
            let wait = config.runtime.cycle_interval();
            let until = Instant::now() + wait;
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(
                    (until - Instant::now()).min(std::time::Duration::from_millis(100)),
                )
                .await;
            }
        }
    }
    sum.wall_s = started.elapsed().as_secs_f64();
    sum.cycles_per_s = if sum.wall_s > 0.0 {
        f64::from(sum.cycles) / sum.wall_s
    } else {
        0.0
    };
    match last_summary {
        Some(s) => {
            sum.equity = s.equity;
            sum.trading_state = s.trading_state;
        }
        // No cycle ran (stopped at once): the account and state as they stand.
        None => {
            let params = crate::broker::paper::PaperParams::from_config(&config.broker);
            let (equity, state) = rt
                .store
                .call(move |c| {
                    let cash = crate::broker::paper::ensure_account(c, &params)?;
                    let value: rust_decimal::Decimal = crate::broker::paper::open_positions(c)?
                        .iter()
                        .map(|p| {
                            -p.mark
                                * rust_decimal::Decimal::ONE_HUNDRED
                                * rust_decimal::Decimal::from(p.quantity)
                        })
                        .sum();
                    let state = crate::store::holds::load(c)?.state().to_string();
                    Ok((cash + value, state))
                })
                .await?;
            sum.equity = equity;
            sum.trading_state = state;
        }
    }
    let starting: Option<String> = rt
        .store
        .call(|c| {
            use crate::store::schema::paper_account;
            use diesel::prelude::*;
            Ok(paper_account::table
                .find(1)
                .select(paper_account::starting_cash)
                .first(c)
                .optional()?)
        })
        .await?;
    if let Some(start) = starting {
        sum.pnl = sum.equity - models::dec(&start)?;
    }
    Ok(sum)
}

/// Halts trading durably after supervision gave up.
async fn escalate(store: &Store, detail: &str) {
    tracing::error!(target: "alphahive::runtime", %detail, "supervision escalated: HALTING trading and exiting");
    let detail = detail.to_string();
    let r = store
        .call(move |c| {
            let since = models::last_market_ts(c)?.unwrap_or_else(models::now);
            let hold =
                crate::risk::Hold::new(crate::risk::HoldCause::SupervisionEscalated, detail, since);
            crate::store::holds::record(c, &crate::risk::HoldEvent::Place(hold), "runtime")
                .map(|_| ())
        })
        .await;
    if let Err(e) = r {
        tracing::error!(target: "alphahive::runtime", error = %e, "cannot record the halt");
    }
}
