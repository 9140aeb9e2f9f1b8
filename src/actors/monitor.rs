//! Monitor: pings every actor through its own mailbox and logs every actor's metrics line
//! each `metrics.interval_s` (and once at shutdown). The watchdog heartbeat builds on it.

use super::messages::FlushMetrics;
use super::metrics::{log_report, ActorStats, MetricsReport};
use super::supervision::{Ping, Supervised};
use crate::watchdog::link::WatchdogLink;
use crate::watchdog::protocol::{ActorBeat, Frame};
use actix::prelude::*;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Sends a `Ping` to one actor.
pub type Pinger = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// Asks the risk gate for the trading state (its own mailbox answers).
pub type StateProbe = Arc<dyn Fn() -> BoxFuture<'static, Option<String>> + Send + Sync>;

/// Where heartbeats go, and how the trading state is read for them.
#[derive(Clone)]
pub struct Heartbeat {
    /// The link to the watchdog.
    pub link: WatchdogLink,
    /// The trading-state probe.
    pub probe: StateProbe,
}

/// The Monitor actor.
pub struct Monitor {
    actors: Vec<Arc<ActorStats>>,
    pingers: Vec<Pinger>,
    interval: Duration,
    heartbeat: Option<Heartbeat>,
    beat_every: Duration,
    seq: u64,
    trading_state: String,
    stats: Arc<ActorStats>,
}

impl Monitor {
    /// A monitor over the other actors' figures (its own are added).
    pub fn new(
        actors: Vec<Arc<ActorStats>>,
        pingers: Vec<Pinger>,
        interval: Duration,
        heartbeat: Option<(Heartbeat, Duration)>,
        stats: Arc<ActorStats>,
    ) -> Self {
        let (heartbeat, beat_every) = match heartbeat {
            Some((h, every)) => (Some(h), every),
            None => (None, Duration::from_secs(1)),
        };
        Monitor {
            actors,
            pingers,
            interval,
            heartbeat,
            beat_every,
            seq: 0,
            trading_state: "UNKNOWN".into(),
            stats,
        }
    }

    /// One heartbeat: every actor's liveness as of the pings answered so far. A wedged actor
    /// does not answer its pings, so its `last_handled_ms_ago` grows until the watchdog acts.
    fn beat(&mut self, ctx: &mut Context<Self>) {
        let Some(hb) = self.heartbeat.clone() else {
            return;
        };
        let probe = Arc::clone(&hb.probe);
        ctx.spawn(
            async move {
                tokio::time::timeout(Duration::from_millis(200), probe())
                    .await
                    .ok()
                    .flatten()
            }
            .into_actor(self)
            .map(move |state, act, _| {
                if let Some(s) = state {
                    act.trading_state = s;
                }
                act.seq += 1;
                let actors = act
                    .actors
                    .iter()
                    .chain(std::iter::once(&act.stats))
                    .map(|s| s.liveness())
                    .map(|r| ActorBeat {
                        name: r.actor.to_string(),
                        handled: r.handled,
                        queued: r.queued,
                        last_handled_ms_ago: r.last_handled_ms_ago,
                        restarts: r.restarts,
                    })
                    .collect();
                hb.link.send(Frame::Heartbeat {
                    pid: std::process::id(),
                    seq: act.seq,
                    ts: chrono::Utc::now().to_rfc3339(),
                    trading_state: act.trading_state.clone(),
                    actors,
                });
            }),
        );
    }

    /// Every actor's current figures, the Monitor's own last.
    pub fn reports(&self) -> Vec<MetricsReport> {
        self.actors
            .iter()
            .chain(std::iter::once(&self.stats))
            .map(|s| s.report())
            .collect()
    }

    fn log_all(&self) {
        for r in self.reports() {
            log_report(&r);
        }
    }
}

impl Actor for Monitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |act, _| act.log_all());
        let ping_every = self.interval.min(self.beat_every);
        ctx.run_interval(ping_every, |act, ctx| {
            for p in &act.pingers {
                ctx.spawn(p().into_actor(act));
            }
            act.stats.touch();
            act.beat(ctx);
        });
        // Announce the runtime at once rather than after the first interval.
        self.stats.touch();
        self.beat(ctx);
    }
}

impl Supervised for Monitor {
    fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }
}

impl Handler<FlushMetrics> for Monitor {
    type Result = ();
    fn handle(&mut self, _: FlushMetrics, _: &mut Context<Self>) {
        self.log_all();
    }
}

impl Handler<Ping> for Monitor {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

crate::enveloped!(Monitor: FlushMetrics, Ping);
