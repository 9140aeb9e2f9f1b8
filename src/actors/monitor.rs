//! Monitor: pings every actor through its own mailbox and logs every actor's metrics line
//! each `metrics.interval_s` (and once at shutdown). The watchdog heartbeat builds on it.

use super::messages::FlushMetrics;
use super::metrics::{log_report, ActorStats, MetricsReport};
use super::supervision::{InjectPanic, Ping, Supervised};
use actix::prelude::*;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Sends a `Ping` to one actor.
pub type Pinger = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// The Monitor actor.
pub struct Monitor {
    actors: Vec<Arc<ActorStats>>,
    pingers: Vec<Pinger>,
    interval: Duration,
    stats: Arc<ActorStats>,
}

impl Monitor {
    /// A monitor over the other actors' figures (its own are added).
    pub fn new(
        actors: Vec<Arc<ActorStats>>,
        pingers: Vec<Pinger>,
        interval: Duration,
        stats: Arc<ActorStats>,
    ) -> Self {
        Monitor {
            actors,
            pingers,
            interval,
            stats,
        }
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
        let ping_every = self.interval.min(Duration::from_secs(1));
        ctx.run_interval(ping_every, |act, ctx| {
            for p in &act.pingers {
                ctx.spawn(p().into_actor(act));
            }
        });
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

impl Handler<InjectPanic> for Monitor {
    type Result = ();
    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        panic!("injected fault: Monitor");
    }
}

crate::enveloped!(Monitor: FlushMetrics, Ping, InjectPanic);
