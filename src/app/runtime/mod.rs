//! Wiring and the run loop: open the store, reconcile, start the supervised actors, drive
//! cycles from the clock, stop cleanly on Ctrl-C / SIGTERM, escalate when supervision gives up.
//!
//! By job: `agents` builds the swarm's answerer and the commander's chooser, `store_setup`
//! opens and reconciles the store, `spawn` starts the supervised actors, `watchdog` links to
//! the watchdog, `run_loop` drives the cycles and `summary` totals them.

mod agents;
mod run_loop;
mod spawn;
mod store_setup;
mod summary;
mod watchdog;

pub use run_loop::{drive, RunError};
pub use summary::RunSummary;

use crate::actors::broker::Broker;
use crate::actors::commander::Commander;
use crate::actors::messages::FlushMetrics;
use crate::actors::monitor::Monitor;
use crate::actors::recorder::Recorder;
use crate::actors::risk_gate::RiskGate;
use crate::actors::supervision::{Handle, RestartPolicy, SupervisionContext};
use crate::actors::swarm_pool::SwarmPool;
use crate::broker::paper::{self, PaperParams};
use crate::config::Config;
use crate::store::Store;
use crate::watchdog::link::WatchdogLink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

/// Opens the store, reconciles the book, and starts every actor under supervision.
pub async fn start(config: &Config) -> anyhow::Result<Runtime> {
    start_with(config, None).await
}

/// Like [`start`]; with `config_path`, a lost watchdog is respawned (at most every 10 s) with
/// `alphahive watchdog --config <config_path>`.
pub async fn start_with(config: &Config, config_path: Option<&Path>) -> anyhow::Result<Runtime> {
    // The validation `check` runs: nothing starts (or is written) unless it passes.
    let valid = crate::validate::validate(config, config_path.unwrap_or(Path::new("config")))?;
    // The LLM clients are built (and their API keys read) before anything is written.
    let agents = agents::Agents::build(config, valid)?;
    // One runtime per data_dir: refused here, before anything is written.
    let lock = crate::data_dir_lock::acquire(&config.runtime.data_dir)?;
    let store = store_setup::open(config).await?;
    let recorded_window = agents.recorded_window;
    let wired = agents.wire(config, &store);
    let params = PaperParams::from_config(&config.broker);
    let reconcile = store_setup::reconcile(&store, &params).await?;
    watchdog::ensure_started(config, config_path).await?;
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
    let actors = spawn::actors(config, &store, params, wired, recorded_window, &sup);
    let watchdog = watchdog::link(config, config_path, &actors.risk);
    let heartbeat = watchdog::heartbeat(config, watchdog.clone(), &actors.risk);
    let monitor = spawn::monitor(config, &actors, heartbeat, sup);
    let spawn::Actors {
        commander,
        swarm,
        risk,
        broker,
        recorder,
    } = actors;
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

/// Runs cycles until `max_cycles` (or `cycles` when given), a stop request, or an escalation.
pub async fn run(
    config: &Config,
    config_path: Option<&Path>,
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
        store_setup::close_cleanly(&rt.store).await;
    }
    rt.shutting_down.store(true, Ordering::SeqCst);
    result
}
