//! `alphahive watchdog`: its own process. It listens on the socket (mode 0600, peers of
//! another uid refused), reads heartbeats, and every `check_interval_s` decides:
//! - no beat for `heartbeat_timeout_s`, or an actor that has not handled its pings that long
//!   → SIGKILL the runtime, flatten through its own store connection, `WATCHDOG_ALERT`;
//! - drawdown from the day's high-water mark ≥ `risk.drawdown_circuit_breaker`
//!   → SIGKILL, flatten, `CIRCUIT_BREAKER`;
//! - runtime gone without a goodbye → `watchdog.on_runtime_exit` (flatten or halt);
//! - goodbye → exit.
//!
//! Every trip persists the breaker, so a restarted runtime starts HALTED.
//!
//! The runtime watched is the one recorded in the store; only its connections count, and it
//! is killed only after its pid, start time and executable are verified (see
//! [`super::conn`]).

use super::conn::{serve, Event, RecordedRuntime, Serving};
use super::protocol::Frame;
use crate::broker::paper::PaperParams;
use crate::config::{BrokerKind, Config, OnRuntimeExit};
use crate::process_identity::{Liveness, ProcessIdentity};
use crate::safety::{halt, halt_and_flatten, kill_verified, KillOutcome};
use crate::store::models::{self, dec, NewSafetyEvent};
use crate::store::schema::account_snapshots;
use crate::store::{pool, StoreError};
use anyhow::{bail, Context};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UnixListener;
use tokio::sync::mpsc;

/// What the watchdog decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Keep watching.
    Healthy,
    /// Kill and flatten: WATCHDOG_ALERT with the detail.
    Frozen(String),
    /// The runtime is gone without a goodbye.
    Vanished(String),
}

/// The watchdog's view of the runtime.
#[derive(Debug, Default)]
pub struct Watch {
    /// The runtime, once a heartbeat came from its connection.
    pub runtime: Option<ProcessIdentity>,
    /// When the last heartbeat arrived.
    pub last_beat: Option<Instant>,
    /// The last heartbeat.
    pub last_frame: Option<Frame>,
}

impl Watch {
    /// Decides on liveness at `now` (drawdown is checked separately).
    pub fn check(
        &self,
        now: Instant,
        timeout: Duration,
        alive: impl Fn(&ProcessIdentity) -> bool,
    ) -> Verdict {
        let (Some(runtime), Some(last)) = (&self.runtime, self.last_beat) else {
            return Verdict::Healthy;
        };
        let pid = runtime.pid;
        if !alive(runtime) {
            return Verdict::Vanished(format!("runtime pid={pid} exited without a goodbye"));
        }
        let since = now.duration_since(last);
        if since > timeout {
            return Verdict::Frozen(format!(
                "no heartbeat from pid={pid} for {:.2}s (timeout {:.2}s)",
                since.as_secs_f64(),
                timeout.as_secs_f64()
            ));
        }
        if let Some(Frame::Heartbeat { actors, .. }) = &self.last_frame {
            let since_ms = since.as_millis() as u64;
            if let Some(a) = actors
                .iter()
                .find(|a| a.last_handled_ms_ago + since_ms > timeout.as_millis() as u64)
            {
                return Verdict::Frozen(format!(
                    "actor {} of pid={pid} unresponsive for {}ms (timeout {:.2}s, queued {})",
                    a.name,
                    a.last_handled_ms_ago + since_ms,
                    timeout.as_secs_f64(),
                    a.queued
                ));
            }
        }
        Verdict::Healthy
    }
}

/// The day's drawdown from the latest account snapshot, if it breaches `limit`.
pub fn drawdown_breach(
    conn: &mut SqliteConnection,
    limit: f64,
) -> Result<Option<String>, StoreError> {
    let last: Option<(String, String)> = account_snapshots::table
        .order(account_snapshots::id.desc())
        .select((
            account_snapshots::equity,
            account_snapshots::high_water_mark,
        ))
        .first(conn)
        .optional()?;
    let Some((equity, hwm)) = last else {
        return Ok(None);
    };
    let (equity, hwm) = (dec(&equity)?, dec(&hwm)?);
    if hwm <= Decimal::ZERO {
        return Ok(None);
    }
    let dd = (hwm - equity) / hwm;
    let limit = crate::money::to_dec(limit);
    Ok((dd >= limit).then(|| {
        format!(
            "drawdown={:.4} equity={equity:.2} high_water_mark={hwm:.2} limit={limit}",
            dd
        )
    }))
}

fn bind(socket: &std::path::Path) -> anyhow::Result<Option<UnixListener>> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("watchdog.socket: cannot create {}", dir.display()))?;
    }
    if socket.exists() {
        if super::spawn::answers(socket) {
            return Ok(None);
        }
        std::fs::remove_file(socket).with_context(|| {
            format!("watchdog.socket: cannot remove stale {}", socket.display())
        })?;
    }
    let listener = UnixListener::bind(socket)
        .with_context(|| format!("watchdog.socket: cannot bind {}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).with_context(
        || {
            format!(
                "watchdog.socket: cannot set mode 0600 on {}",
                socket.display()
            )
        },
    )?;
    Ok(Some(listener))
}

/// Acts on a trip: SIGKILL the runtime, then halt and flatten (or only halt) through the
/// watchdog's own store connection.
fn act(
    cfg: &Config,
    runtime: Option<&ProcessIdentity>,
    event_type: &str,
    detail: &str,
    flatten: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(id) = runtime {
        match kill_verified(id) {
            KillOutcome::Killed => {}
            KillOutcome::AlreadyGone => {
                tracing::warn!(target: "alphahive::watchdog", pid = id.pid, "runtime already gone")
            }
            KillOutcome::Stale(why) => {
                tracing::error!(target: "alphahive::watchdog", pid = id.pid, %why, "stale runtime pid: not signalled")
            }
            KillOutcome::Survived => {
                tracing::error!(target: "alphahive::watchdog", pid = id.pid, "runtime survived SIGKILL")
            }
        }
    }
    let mut conn = pool::connect(&cfg.runtime.data_dir.join("trades.db"))?;
    let params = PaperParams::from_config(&cfg.broker);
    let n = if flatten {
        halt_and_flatten(&mut conn, &params, event_type, "watchdog", detail)?
    } else {
        halt(&mut conn, event_type, "watchdog", detail)?;
        models::insert_safety_event(
            &mut conn,
            &NewSafetyEvent::new(
                event_type,
                "critical",
                Some("watchdog"),
                format!("reason={detail:?} flattened=0 (on_runtime_exit=halt)"),
            ),
        )?;
        0
    };
    tracing::error!(target: "alphahive::watchdog", event_type, %detail, flattened = n, elapsed_ms = started.elapsed().as_millis() as u64, "runtime stopped; book handled; breaker persisted");
    Ok(())
}

/// Runs the watchdog until the runtime says goodbye or a trip has been handled.
pub fn run(cfg: &Config) -> anyhow::Result<i32> {
    if cfg.broker.kind != BrokerKind::Paper {
        bail!("broker.kind: the watchdog can only flatten the paper venue in this build");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let Some(listener) = bind(&cfg.watchdog.effective_socket())? else {
            println!("a watchdog already answers on {}", cfg.watchdog.effective_socket().display());
            return Ok(0);
        };
        tracing::info!(target: "alphahive::watchdog", socket = %cfg.watchdog.effective_socket().display(), pid = std::process::id(), "watchdog listening");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let db_path = cfg.runtime.data_dir.join("trades.db");
        let serving = Serving::new(RecordedRuntime::new(db_path.clone()));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&serving), tx.clone()));
            }
        });
        let timeout = cfg.watchdog.heartbeat_timeout();
        let mut tick = tokio::time::interval(cfg.watchdog.check_interval());
        let mut last_tick = Instant::now();
        let mut watch = Watch::default();
        let socket = cfg.watchdog.effective_socket();
        let running = |id: &ProcessIdentity| id.liveness() == Liveness::Running;
        let outcome = loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(Event::Goodbye(id)) => {
                        tracing::info!(target: "alphahive::watchdog", pid = id.pid, "runtime said goodbye; watchdog exits");
                        break Ok(0);
                    }
                    // Watching starts with the runtime's first heartbeat.
                    Some(Event::Beat(id, frame)) => {
                        if watch.runtime.as_ref() != Some(&id) {
                            tracing::info!(target: "alphahive::watchdog", runtime = %id, "watching the runtime");
                        }
                        watch.runtime = Some(id);
                        watch.last_beat = Some(Instant::now());
                        watch.last_frame = Some(frame);
                    }
                    Some(Event::Closed(id)) if watch.runtime.as_ref() == Some(&id) && !running(&id) => {
                        let detail = format!("runtime pid={} exited without a goodbye", id.pid);
                        let flatten = cfg.watchdog.on_runtime_exit == OnRuntimeExit::Flatten;
                        act(cfg, None, "WATCHDOG_ALERT", &detail, flatten)?;
                        break Ok(0);
                    }
                    Some(Event::Closed(_)) => {}
                    None => break Ok(0),
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    let gap = now.duration_since(last_tick);
                    last_tick = now;
                    // The watchdog itself was stopped (or starved) longer than the timeout: it
                    // did not observe that time, so the runtime gets a fresh timeout to beat.
                    if gap > timeout && watch.last_beat.is_some() {
                        tracing::warn!(target: "alphahive::watchdog", stalled_s = gap.as_secs_f64(), "watchdog was stalled; not judging the time it did not watch");
                        watch.last_beat = Some(now);
                        continue;
                    }
                    let verdict = watch.check(now, timeout, running);
                    match verdict {
                        Verdict::Healthy => {}
                        Verdict::Frozen(detail) => {
                            act(cfg, watch.runtime.as_ref(), "WATCHDOG_ALERT", &detail, true)?;
                            break Ok(0);
                        }
                        Verdict::Vanished(detail) => {
                            let flatten = cfg.watchdog.on_runtime_exit == OnRuntimeExit::Flatten;
                            act(cfg, None, "WATCHDOG_ALERT", &detail, flatten)?;
                            break Ok(0);
                        }
                    }
                    if watch.runtime.is_some() && db_path.exists() {
                        let breach = pool::connect(&db_path).and_then(|mut c| drawdown_breach(&mut c, cfg.risk.drawdown_circuit_breaker));
                        match breach {
                            Ok(Some(detail)) => {
                                act(cfg, watch.runtime.as_ref(), "CIRCUIT_BREAKER", &detail, true)?;
                                break Ok(0);
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(target: "alphahive::watchdog", error = %e, "cannot read the drawdown"),
                        }
                    }
                }
            }
        };
        let _ = std::fs::remove_file(&socket);
        outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::protocol::ActorBeat;

    fn beat(last_ms: u64) -> Frame {
        Frame::Heartbeat {
            pid: 1,
            seq: 1,
            ts: String::new(),
            trading_state: "ACTIVE".into(),
            actors: vec![ActorBeat {
                name: "RiskGate".into(),
                handled: 1,
                queued: 3,
                last_handled_ms_ago: last_ms,
                restarts: 0,
            }],
        }
    }

    fn runtime() -> Option<ProcessIdentity> {
        Some(ProcessIdentity {
            pid: 1,
            start_ticks: 7,
            exe: "/bin/alphahive".into(),
        })
    }

    #[test]
    fn liveness_decisions() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(1);
        let w = Watch {
            runtime: runtime(),
            last_beat: Some(t0),
            last_frame: Some(beat(10)),
        };
        assert_eq!(
            w.check(t0 + Duration::from_millis(500), timeout, |_| true),
            Verdict::Healthy
        );
        assert!(
            matches!(w.check(t0 + Duration::from_millis(1500), timeout, |_| true), Verdict::Frozen(d) if d.contains("no heartbeat"))
        );
        assert!(matches!(
            w.check(t0, timeout, |_| false),
            Verdict::Vanished(_)
        ));
        let wedged = Watch {
            runtime: runtime(),
            last_beat: Some(t0),
            last_frame: Some(beat(1200)),
        };
        assert!(
            matches!(wedged.check(t0, timeout, |_| true), Verdict::Frozen(d) if d.contains("RiskGate"))
        );
        assert_eq!(
            Watch::default().check(t0, timeout, |_| false),
            Verdict::Healthy,
            "nothing to watch before a beat"
        );
    }
}
