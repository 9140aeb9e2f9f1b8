//! The watchdog side of the runtime: starting the watchdog process, the heartbeat link that
//! tells the RiskGate whether the watchdog is alive, and the probe the heartbeat reports.

use crate::actors::messages::{GetRiskStatus, WatchdogStatus};
use crate::actors::monitor::{Heartbeat, StateProbe};
use crate::actors::risk_gate::RiskGate;
use crate::actors::supervision::Handle;
use crate::config::Config;
use crate::watchdog::link::{Respawn, WatchdogLink};
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Starts the watchdog process when it is enabled and a config path is known. Called only
/// once the config, the agents and the store are known good, so a run that fails to start
/// never leaves a watchdog behind.
pub(super) async fn ensure_started(
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<()> {
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
    Ok(())
}

/// With a config path, respawns a lost watchdog with `alphahive watchdog --config <path>`.
fn respawn(config: &Config, config_path: Option<&Path>) -> Option<Respawn> {
    config_path.map(|path| {
        let path = path.to_path_buf();
        let socket = config.watchdog.effective_socket();
        let data_dir = config.runtime.data_dir.clone();
        Arc::new(move || {
            if let Err(e) = crate::watchdog::spawn::ensure_watchdog(&path, &socket, &data_dir) {
                tracing::error!(target: "alphahive::watchdog", error = %e, "cannot respawn the watchdog");
            }
        }) as Respawn
    })
}

/// The heartbeat link, when the watchdog is enabled; its liveness goes to the RiskGate.
pub(super) fn link(
    config: &Config,
    config_path: Option<&Path>,
    risk: &Handle<RiskGate>,
) -> Option<WatchdogLink> {
    config.watchdog.enabled.then(|| {
        let risk = risk.clone();
        WatchdogLink::start(
            config.watchdog.effective_socket(),
            config.watchdog.heartbeat_timeout(),
            Arc::new(move |alive| {
                let risk = risk.clone();
                Box::pin(async move {
                    let _ = risk.send(WatchdogStatus { alive }).await;
                })
            }),
            respawn(config, config_path),
        )
    })
}

/// The Monitor's heartbeat over `link` (the trading state probed from the RiskGate) and how
/// often it beats.
pub(super) fn heartbeat(
    config: &Config,
    link: Option<WatchdogLink>,
    risk: &Handle<RiskGate>,
) -> Option<(Heartbeat, Duration)> {
    link.map(|link| {
        let risk = risk.clone();
        let probe: StateProbe = Arc::new(move || {
            let risk = risk.clone();
            Box::pin(async move {
                risk.send(GetRiskStatus)
                    .await
                    .ok()
                    .map(|s| s.trading_state.to_string())
            })
        });
        let every = (config.watchdog.heartbeat_timeout() / 4).min(Duration::from_secs(1));
        (Heartbeat { link, probe }, every)
    })
}
