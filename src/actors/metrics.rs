//! Per-actor mailbox figures: handled, queued, max queued, wait and handle p99, restarts.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WINDOW: usize = 4096;

/// Figures of one actor, shared by its handle (senders), the actor and the Monitor.
#[derive(Debug)]
pub struct ActorStats {
    /// Actor name.
    pub name: &'static str,
    handled: AtomicU64,
    queued: AtomicI64,
    max_queued: AtomicI64,
    restarts: AtomicU32,
    last_handled_us: AtomicU64,
    epoch: Instant,
    samples: Mutex<Samples>,
}

#[derive(Debug, Default)]
struct Samples {
    wait_us: Vec<u64>,
    handle_us: Vec<u64>,
}

/// One metrics line's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricsReport {
    /// Actor name.
    pub actor: &'static str,
    /// Messages handled since start.
    pub handled: u64,
    /// Messages waiting now.
    pub queued: i64,
    /// Most messages waiting at once since the last report.
    pub max_queued: i64,
    /// 99th percentile mailbox wait since the last report, µs.
    pub wait_p99_us: u64,
    /// 99th percentile handler time since the last report, µs.
    pub handle_p99_us: u64,
    /// Restarts since start.
    pub restarts: u32,
    /// Milliseconds since the actor last handled a message.
    pub last_handled_ms_ago: u64,
}

impl ActorStats {
    /// New, zeroed figures.
    pub fn new(name: &'static str) -> Arc<ActorStats> {
        Arc::new(ActorStats {
            name,
            handled: AtomicU64::new(0),
            queued: AtomicI64::new(0),
            max_queued: AtomicI64::new(0),
            restarts: AtomicU32::new(0),
            last_handled_us: AtomicU64::new(0),
            epoch: Instant::now(),
            samples: Mutex::new(Samples::default()),
        })
    }

    /// A message was sent.
    pub fn enqueued(&self) {
        let q = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_queued.fetch_max(q, Ordering::Relaxed);
    }

    /// A send failed before the actor saw it.
    pub fn dropped(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// The actor starts handling a message enqueued at `enqueued`.
    pub fn begin(&self, enqueued: Instant) -> Instant {
        let now = Instant::now();
        self.queued.fetch_sub(1, Ordering::Relaxed);
        self.push(|s| &mut s.wait_us, now.duration_since(enqueued));
        now
    }

    /// The actor finished handling a message it began at `started`.
    pub fn end(&self, started: Instant) {
        let now = Instant::now();
        self.handled.fetch_add(1, Ordering::Relaxed);
        self.last_handled_us.store(
            now.duration_since(self.epoch).as_micros() as u64,
            Ordering::Relaxed,
        );
        self.push(|s| &mut s.handle_us, now.duration_since(started));
    }

    /// The actor did its own work outside a message (a timer tick): it is alive now.
    pub fn touch(&self) {
        self.last_handled_us
            .store(self.epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// The actor was restarted: its old mailbox is gone.
    pub fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.queued.store(0, Ordering::Relaxed);
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    fn push(&self, pick: impl FnOnce(&mut Samples) -> &mut Vec<u64>, d: Duration) {
        if let Ok(mut s) = self.samples.lock() {
            let v = pick(&mut s);
            if v.len() < WINDOW {
                v.push(d.as_micros() as u64);
            }
        }
    }

    /// Liveness figures without touching the metrics window (percentiles are left at 0).
    pub fn liveness(&self) -> MetricsReport {
        let last = self.last_handled_us.load(Ordering::Relaxed);
        let now_us = self.epoch.elapsed().as_micros() as u64;
        MetricsReport {
            actor: self.name,
            handled: self.handled.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed).max(0),
            max_queued: self.max_queued.load(Ordering::Relaxed),
            wait_p99_us: 0,
            handle_p99_us: 0,
            restarts: self.restarts(),
            last_handled_ms_ago: now_us.saturating_sub(last) / 1000,
        }
    }

    /// Current figures; percentiles and max queued cover the window since the last report.
    pub fn report(&self) -> MetricsReport {
        let (wait, handle) = match self.samples.lock() {
            Ok(mut s) => (p99(&mut s.wait_us), p99(&mut s.handle_us)),
            Err(_) => (0, 0),
        };
        let queued = self.queued.load(Ordering::Relaxed).max(0);
        let max_queued = self.max_queued.swap(queued, Ordering::Relaxed).max(queued);
        MetricsReport {
            max_queued,
            wait_p99_us: wait,
            handle_p99_us: handle,
            ..self.liveness()
        }
    }
}

/// Takes the 99th percentile of the samples and clears them.
fn p99(v: &mut Vec<u64>) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let idx = ((v.len() as f64) * 0.99).ceil() as usize;
    let out = v[idx.saturating_sub(1).min(v.len() - 1)];
    v.clear();
    out
}

/// Logs one metrics line at INFO, target `alphahive::metrics`.
pub fn log_report(r: &MetricsReport) {
    tracing::info!(
        target: "alphahive::metrics",
        actor = r.actor,
        handled = r.handled,
        queued = r.queued,
        max_queued = r.max_queued,
        wait_p99_us = r.wait_p99_us,
        handle_p99_us = r.handle_p99_us,
        restarts = r.restarts,
        "mailbox"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let s = ActorStats::new("T");
        for _ in 0..3 {
            s.enqueued();
        }
        let t = s.begin(Instant::now());
        s.end(t);
        let r = s.report();
        assert_eq!(r.handled, 1);
        assert_eq!(r.queued, 2);
        assert_eq!(r.max_queued, 3);
        let again = s.report();
        assert_eq!(
            again.max_queued, 2,
            "max_queued resets to the current depth"
        );
    }

    #[test]
    fn p99_of_hundred_samples() {
        let mut v: Vec<u64> = (1..=100).collect();
        assert_eq!(p99(&mut v), 99);
        assert!(v.is_empty());
    }
}
