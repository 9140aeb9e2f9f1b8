//! The runtime's side of the heartbeat: one task owns the socket connection, writes the
//! Monitor's frames, reads the watchdog's acks, reconnects when it can, and reports when the
//! watchdog is lost or back.
//!
//! The queue is bounded ([`QUEUE`] frames; a full queue drops the newest beat), every connect
//! and write is under a timeout, and a watchdog that has acknowledged none of the beats sent
//! for `heartbeat_timeout_s` is lost, exactly like one that does not answer at all: a stopped
//! watchdog accepts connections and buffers writes for minutes, but reads nothing. The first
//! acknowledged beat reports the watchdog back, also the first one after a restart (so a
//! REDUCING left by a lost watchdog clears on the next good beat).

use super::protocol::{read_line_capped, Ack, Frame, MAX_LINE};
use futures::future::BoxFuture;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// Called with `true` when a watchdog answers again and `false` when it is lost.
pub type OnChange = Arc<dyn Fn(bool) -> BoxFuture<'static, ()> + Send + Sync>;

/// Starts a new watchdog (blocking; run off the async threads).
pub type Respawn = Arc<dyn Fn() + Send + Sync>;

/// Least time between two respawn attempts.
const RESPAWN_EVERY: Duration = Duration::from_secs(10);
/// Longest wait for a respawn attempt (it may block on a wedged socket).
const RESPAWN_WAIT: Duration = Duration::from_secs(15);
/// Frames the link holds while a write is in progress.
pub const QUEUE: usize = 16;
/// Beats remembered while waiting for their acks.
const IN_FLIGHT: usize = 256;

enum LinkMsg {
    Frame(Frame),
    Goodbye(Frame, oneshot::Sender<bool>),
}

/// A cloneable handle to the heartbeat task.
#[derive(Clone)]
pub struct WatchdogLink {
    tx: mpsc::Sender<LinkMsg>,
}

impl WatchdogLink {
    /// Starts the task on the current runtime. `timeout` is `watchdog.heartbeat_timeout_s`:
    /// the longest a write may take and the longest a beat may go unacknowledged.
    pub fn start(
        socket: PathBuf,
        timeout: Duration,
        on_change: OnChange,
        respawn: Option<Respawn>,
    ) -> WatchdogLink {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = Task {
            socket,
            timeout,
            on_change,
            respawn,
            conn: None,
            in_flight: VecDeque::new(),
            alive: None,
            last_respawn: None,
        };
        actix_rt::spawn(task.run(rx));
        WatchdogLink { tx }
    }

    /// Queues a heartbeat frame; false (the frame dropped) when the queue is full.
    pub fn send(&self, frame: Frame) -> bool {
        match self.tx.try_send(LinkMsg::Frame(frame)) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(target: "alphahive::watchdog", error = %e, "heartbeat dropped: the link's queue is full");
                false
            }
        }
    }

    /// Sends the goodbye frame and waits (up to 2 s) until it is written; true when it was.
    pub async fn goodbye(&self) -> bool {
        let (ack, done) = oneshot::channel();
        let frame = Frame::Goodbye {
            pid: std::process::id(),
        };
        let wait = Duration::from_secs(2);
        let queued = tokio::time::timeout(wait, self.tx.send(LinkMsg::Goodbye(frame, ack))).await;
        if !matches!(queued, Ok(Ok(()))) {
            return false;
        }
        matches!(tokio::time::timeout(wait, done).await, Ok(Ok(true)))
    }
}

/// A connection: the write half, and the acks its reader task forwards.
struct Conn {
    wr: OwnedWriteHalf,
    acks: mpsc::UnboundedReceiver<u64>,
}

struct Task {
    socket: PathBuf,
    timeout: Duration,
    on_change: OnChange,
    respawn: Option<Respawn>,
    conn: Option<Conn>,
    /// Beats written and not yet acknowledged: (seq, when written).
    in_flight: VecDeque<(u64, Instant)>,
    alive: Option<bool>,
    last_respawn: Option<Instant>,
}

/// Forwards the acks read on `rd` until the connection closes (dropping `tx`).
async fn read_acks(rd: tokio::net::unix::OwnedReadHalf, tx: mpsc::UnboundedSender<u64>) {
    let mut reader = tokio::io::BufReader::new(rd);
    let mut buf = Vec::new();
    while let Ok(true) = read_line_capped(&mut reader, &mut buf, MAX_LINE).await {
        if let Ok(ack) = serde_json::from_slice::<Ack>(&buf) {
            if tx.send(ack.seq).is_err() {
                return;
            }
        }
    }
}

impl Task {
    async fn connect(&mut self) -> bool {
        if self.conn.is_some() {
            return true;
        }
        let connected = tokio::time::timeout(self.timeout, UnixStream::connect(&self.socket)).await;
        let Ok(Ok(stream)) = connected else {
            return false;
        };
        let (rd, wr) = stream.into_split();
        let (tx, acks) = mpsc::unbounded_channel();
        actix_rt::spawn(read_acks(rd, tx));
        self.conn = Some(Conn { wr, acks });
        true
    }

    /// Writes one frame under the timeout; false (and the connection dropped) on failure.
    async fn write(&mut self, frame: &Frame) -> bool {
        if !self.connect().await {
            return false;
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let line = frame.to_line();
        let written = tokio::time::timeout(self.timeout, conn.wr.write_all(line.as_bytes())).await;
        if !matches!(written, Ok(Ok(()))) {
            self.conn = None;
            return false;
        }
        if let Frame::Heartbeat { seq, .. } = frame {
            if self.in_flight.len() >= IN_FLIGHT {
                self.in_flight.pop_front();
            }
            self.in_flight.push_back((*seq, Instant::now()));
        }
        true
    }

    async fn report(&mut self, ok: bool, why: &str) {
        if self.alive == Some(ok) {
            return;
        }
        if ok {
            tracing::info!(target: "alphahive::watchdog", socket = %self.socket.display(), "watchdog answers");
        } else {
            tracing::error!(target: "alphahive::watchdog", socket = %self.socket.display(), why, "WATCHDOG LOST: trading goes REDUCING until a watchdog reads the beats again");
        }
        self.alive = Some(ok);
        (self.on_change)(ok).await;
    }

    /// The watchdog is gone (no connection): try to start one, at most every 10 s.
    async fn respawn(&mut self) {
        let Some(respawn) = &self.respawn else {
            return;
        };
        if self
            .last_respawn
            .is_some_and(|t| t.elapsed() < RESPAWN_EVERY)
        {
            return;
        }
        self.last_respawn = Some(Instant::now());
        let respawn = Arc::clone(respawn);
        let attempt = tokio::task::spawn_blocking(move || respawn());
        if tokio::time::timeout(RESPAWN_WAIT, attempt).await.is_err() {
            tracing::error!(target: "alphahive::watchdog", "watchdog respawn did not finish in time");
        }
    }

    fn acked(&mut self, seq: u64) {
        while self.in_flight.front().is_some_and(|(s, _)| *s <= seq) {
            self.in_flight.pop_front();
        }
    }

    /// The oldest unacknowledged beat is older than the timeout.
    fn overdue(&self) -> Option<Duration> {
        let (_, sent) = self.in_flight.front()?;
        let waited = sent.elapsed();
        (waited > self.timeout).then_some(waited)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<LinkMsg>) {
        let mut tick = tokio::time::interval((self.timeout / 4).max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let ack = async {
                match self.conn.as_mut() {
                    Some(c) => c.acks.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    None => return,
                    Some(LinkMsg::Frame(f)) => {
                        if !self.write(&f).await {
                            self.in_flight.clear();
                            self.report(false, "no watchdog answers on the socket").await;
                            self.respawn().await;
                        }
                    }
                    Some(LinkMsg::Goodbye(f, done)) => {
                        let ok = self.write(&f).await;
                        let _ = done.send(ok);
                        return;
                    }
                },
                seq = ack => match seq {
                    Some(seq) => {
                        self.acked(seq);
                        self.report(true, "").await;
                    }
                    // The watchdog closed the connection: the next beat reconnects.
                    None => self.conn = None,
                },
                _ = tick.tick() => {
                    if let Some(waited) = self.overdue() {
                        let why = format!(
                            "the watchdog has read no beat for {:.2}s (timeout {:.2}s)",
                            waited.as_secs_f64(),
                            self.timeout.as_secs_f64()
                        );
                        // Drop the connection: the next beat reconnects, and respawns once
                        // the socket no longer answers at all.
                        self.conn = None;
                        self.in_flight.clear();
                        self.report(false, &why).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn beat(seq: u64) -> Frame {
        Frame::Heartbeat {
            pid: std::process::id(),
            seq,
            ts: String::new(),
            trading_state: "ACTIVE".into(),
            actors: vec![],
        }
    }

    type Seen = Arc<Mutex<Vec<(bool, Instant)>>>;

    fn recorder() -> (OnChange, Seen) {
        let seen: Seen = Arc::default();
        let s = Arc::clone(&seen);
        let on: OnChange = Arc::new(move |ok| {
            if let Ok(mut v) = s.lock() {
                v.push((ok, Instant::now()));
            }
            Box::pin(async {})
        });
        (on, seen)
    }

    #[test]
    fn item5_the_heartbeat_queue_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("wd.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        let sys = actix::System::new();
        sys.block_on(async {
            let (on, _) = recorder();
            let link = WatchdogLink::start(socket, Duration::from_secs(1), on, None);
            // The task does not run while this loop holds the thread: only the queue fills.
            let accepted = (0..10_000u64).filter(|i| link.send(beat(*i))).count();
            assert_eq!(
                accepted, QUEUE,
                "beats beyond the queue are dropped, not held"
            );
        });
    }

    #[test]
    fn item5_a_watchdog_that_reads_nothing_is_lost_within_the_timeout_and_back_on_an_ack() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("wd.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        let timeout = Duration::from_millis(300);
        let sys = actix::System::new();
        sys.block_on(async {
            let (on, seen) = recorder();
            let link = WatchdogLink::start(socket, timeout, on, None);
            // A watchdog that accepts and never reads (like a SIGSTOPped one).
            let started = Instant::now();
            let mut seq = 0;
            while seen.lock().expect("seen").is_empty() {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "never reported lost"
                );
                seq += 1;
                link.send(beat(seq));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let (ok, at) = seen.lock().expect("seen")[0];
            assert!(!ok, "the first report is the loss");
            let took = at.duration_since(started);
            assert!(took >= timeout, "not before the timeout: {took:?}");
            println!(
                "silent watchdog noticed after {} ms (timeout {} ms)",
                took.as_millis(),
                timeout.as_millis()
            );

            // A watchdog that reads and acks: back on the first ack.
            std::thread::spawn(move || {
                use std::io::{BufRead, Write};
                // Serves every connection in turn (the silent ones are closed by now).
                while let Ok((s, _)) = listener.accept() {
                    let Ok(mut w) = s.try_clone() else { continue };
                    let mut r = std::io::BufReader::new(s);
                    let mut line = String::new();
                    while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                        if let Ok(Frame::Heartbeat { seq, .. }) =
                            serde_json::from_str(line.trim_end())
                        {
                            let _ = w.write_all(Ack { seq }.to_line().as_bytes());
                        }
                        line.clear();
                    }
                }
            });
            let started = Instant::now();
            while seen.lock().expect("seen").len() < 2 {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "never reported back"
                );
                seq += 1;
                link.send(beat(seq));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(seen.lock().expect("seen")[1].0, "back on the first ack");
            assert!(link.goodbye().await);
        });
    }
}
