//! One connection to the watchdog's socket: who it is, what it may say, and the caps.
//!
//! The runtime the watchdog watches is the process recorded in the store by `run` (its
//! pid, start time and executable under `runtime_pid`, written while it holds the data_dir
//! lock, before it starts the watchdog). A connection counts only when its peer — the pid
//! from `SO_PEERCRED`, never a pid a frame names — has exactly that identity. Frames on any
//! other connection (same uid, e.g. a forger or a probe) are read, logged and ignored: they
//! neither refresh liveness, nor redirect the kill, nor say goodbye.
//!
//! Caps: a line longer than [`MAX_LINE`] closes its connection; at most
//! [`MAX_FOREIGN_CONNECTIONS`] other connections and [`MAX_RUNTIME_CONNECTIONS`] of the
//! runtime's are served at once, the rest are closed at once.

use super::peer::check_peer;
use super::protocol::{read_line_capped, Ack, Frame, LineError, MAX_LINE};
use crate::process_identity::ProcessIdentity;
use crate::safety::PID_KEY;
use crate::store::{models, pool};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, Semaphore};

/// Connections from processes other than the watched runtime served at once.
pub const MAX_FOREIGN_CONNECTIONS: usize = 4;
/// Connections of the watched runtime served at once (a reconnect may overlap the old one).
pub const MAX_RUNTIME_CONNECTIONS: usize = 2;
/// How long writing an ack may take before the connection is dropped.
const ACK_TIMEOUT: Duration = Duration::from_secs(1);
/// Least time between two reads of the recorded runtime from the store.
const RECORD_REFRESH: Duration = Duration::from_millis(250);

/// What a runtime connection reports to the watchdog's loop.
#[derive(Debug)]
pub enum Event {
    /// A heartbeat from the watched runtime.
    Beat(ProcessIdentity, Frame),
    /// The watched runtime is exiting cleanly.
    Goodbye(ProcessIdentity),
    /// A connection of the watched runtime closed.
    Closed(ProcessIdentity),
}

/// The identity `run` recorded in the store, cached briefly.
pub struct RecordedRuntime {
    db_path: PathBuf,
    cache: Mutex<Option<(Option<ProcessIdentity>, Instant)>>,
}

impl RecordedRuntime {
    /// Reads the record from `<data_dir>/trades.db`.
    pub fn new(db_path: PathBuf) -> RecordedRuntime {
        RecordedRuntime {
            db_path,
            cache: Mutex::new(None),
        }
    }

    fn read(&self) -> Option<ProcessIdentity> {
        if !self.db_path.exists() {
            return None;
        }
        let record =
            pool::connect(&self.db_path).and_then(|mut c| models::get_state(&mut c, PID_KEY));
        match record {
            Ok(Some(r)) => ProcessIdentity::parse(&r).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(target: "alphahive::watchdog", error = %e, "cannot read the recorded runtime");
                None
            }
        }
    }

    /// True when `peer` is the recorded runtime (re-reading the store at most every 250 ms).
    pub fn is_runtime(&self, peer: &ProcessIdentity) -> bool {
        let Ok(mut cache) = self.cache.lock() else {
            return false;
        };
        if let Some((Some(id), _)) = cache.as_ref() {
            if id == peer {
                return true;
            }
        }
        let fresh = cache
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < RECORD_REFRESH);
        if !fresh {
            *cache = Some((self.read(), Instant::now()));
        }
        matches!(cache.as_ref(), Some((Some(id), _)) if id == peer)
    }
}

/// Shared by every connection.
pub struct Serving {
    /// Who the runtime is.
    pub recorded: RecordedRuntime,
    foreign: Arc<Semaphore>,
    runtime: Arc<Semaphore>,
    next_id: AtomicU64,
}

impl Serving {
    /// Connection caps at their defaults.
    pub fn new(recorded: RecordedRuntime) -> Arc<Serving> {
        Arc::new(Serving {
            recorded,
            foreign: Arc::new(Semaphore::new(MAX_FOREIGN_CONNECTIONS)),
            runtime: Arc::new(Semaphore::new(MAX_RUNTIME_CONNECTIONS)),
            next_id: AtomicU64::new(1),
        })
    }
}

/// Serves one accepted connection until it closes.
pub async fn serve(stream: UnixStream, serving: Arc<Serving>, tx: mpsc::UnboundedSender<Event>) {
    let pid = match check_peer(&stream) {
        Ok(pid) => pid,
        Err(e) => {
            tracing::warn!(target: "alphahive::watchdog", error = %e, "connection refused");
            return;
        }
    };
    let conn = serving.next_id.fetch_add(1, Ordering::Relaxed);
    let peer = ProcessIdentity::of(pid).ok();
    let runtime = {
        let serving = Arc::clone(&serving);
        let peer = peer.clone();
        tokio::task::spawn_blocking(move || peer.filter(|p| serving.recorded.is_runtime(p)))
            .await
            .ok()
            .flatten()
    };
    let slots = if runtime.is_some() {
        &serving.runtime
    } else {
        &serving.foreign
    };
    let Ok(_permit) = Arc::clone(slots).try_acquire_owned() else {
        tracing::warn!(target: "alphahive::watchdog", pid, conn, runtime = runtime.is_some(), "connection refused: too many connections");
        return;
    };
    tracing::debug!(target: "alphahive::watchdog", pid, conn, runtime = runtime.is_some(), "peer connected");
    let (rd, mut wr) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(rd);
    let mut buf = Vec::new();
    let mut warned = false;
    loop {
        match read_line_capped(&mut reader, &mut buf, MAX_LINE).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(LineError::TooLong(max)) => {
                tracing::warn!(target: "alphahive::watchdog", pid, conn, max, "line too long: connection closed");
                break;
            }
            Err(LineError::Io(e)) => {
                tracing::debug!(target: "alphahive::watchdog", pid, conn, error = %e, "connection failed");
                break;
            }
        }
        let frame = match serde_json::from_slice::<Frame>(&buf) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(target: "alphahive::watchdog", pid, conn, error = %e, "bad frame ignored");
                continue;
            }
        };
        let Some(id) = &runtime else {
            if !warned {
                warned = true;
                tracing::warn!(target: "alphahive::watchdog", pid, conn, frame_pid = frame.pid(), "frame from a process that is not the watched runtime ignored");
            }
            continue;
        };
        match frame {
            Frame::Goodbye { .. } => {
                let _ = tx.send(Event::Goodbye(id.clone()));
            }
            Frame::Heartbeat { seq, .. } => {
                let _ = tx.send(Event::Beat(id.clone(), frame));
                let ack = Ack { seq }.to_line();
                let written = tokio::time::timeout(ACK_TIMEOUT, wr.write_all(ack.as_bytes())).await;
                if !matches!(written, Ok(Ok(()))) {
                    tracing::warn!(target: "alphahive::watchdog", pid, conn, "cannot acknowledge a beat: connection closed");
                    break;
                }
            }
        }
    }
    if let Some(id) = runtime {
        let _ = tx.send(Event::Closed(id));
    }
}
