//! The runtime's side of the heartbeat: one task owns the socket connection, writes the
//! Monitor's frames, reconnects when it can, and reports when the watchdog is lost or back.

use super::protocol::Frame;
use futures::future::BoxFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// Called with `true` when a watchdog answers again and `false` when it is lost.
pub type OnChange = Arc<dyn Fn(bool) -> BoxFuture<'static, ()> + Send + Sync>;

/// Starts a new watchdog (blocking; run off the async threads).
pub type Respawn = Arc<dyn Fn() + Send + Sync>;

/// Least time between two respawn attempts.
const RESPAWN_EVERY: Duration = Duration::from_secs(10);

enum LinkMsg {
    Frame(Frame),
    Goodbye(Frame, oneshot::Sender<bool>),
}

/// A cloneable handle to the heartbeat task.
#[derive(Clone)]
pub struct WatchdogLink {
    tx: mpsc::UnboundedSender<LinkMsg>,
}

impl WatchdogLink {
    /// Starts the task on the current runtime.
    pub fn start(socket: PathBuf, on_change: OnChange, respawn: Option<Respawn>) -> WatchdogLink {
        let (tx, rx) = mpsc::unbounded_channel();
        actix_rt::spawn(run(socket, rx, on_change, respawn));
        WatchdogLink { tx }
    }

    /// Queues a heartbeat frame.
    pub fn send(&self, frame: Frame) {
        let _ = self.tx.send(LinkMsg::Frame(frame));
    }

    /// Sends the goodbye frame and waits (up to 2 s) until it is written; true when it was.
    pub async fn goodbye(&self) -> bool {
        let (ack, done) = oneshot::channel();
        let frame = Frame::Goodbye {
            pid: std::process::id(),
        };
        if self.tx.send(LinkMsg::Goodbye(frame, ack)).is_err() {
            return false;
        }
        matches!(
            tokio::time::timeout(Duration::from_secs(2), done).await,
            Ok(Ok(true))
        )
    }
}

async fn write(stream: &mut Option<UnixStream>, socket: &PathBuf, frame: &Frame) -> bool {
    if stream.is_none() {
        *stream = UnixStream::connect(socket).await.ok();
    }
    let Some(s) = stream.as_mut() else {
        return false;
    };
    let ok = s.write_all(frame.to_line().as_bytes()).await.is_ok() && s.flush().await.is_ok();
    if !ok {
        *stream = None;
    }
    ok
}

async fn run(
    socket: PathBuf,
    mut rx: mpsc::UnboundedReceiver<LinkMsg>,
    on_change: OnChange,
    respawn: Option<Respawn>,
) {
    let mut stream: Option<UnixStream> = None;
    let mut alive: Option<bool> = None;
    let mut last_respawn: Option<std::time::Instant> = None;
    while let Some(msg) = rx.recv().await {
        let (ok, ack) = match msg {
            LinkMsg::Frame(f) => (write(&mut stream, &socket, &f).await, None),
            LinkMsg::Goodbye(f, ack) => (write(&mut stream, &socket, &f).await, Some(ack)),
        };
        if alive != Some(ok) {
            if ok {
                tracing::info!(target: "alphahive::watchdog", socket = %socket.display(), "watchdog answers");
            } else {
                tracing::error!(target: "alphahive::watchdog", socket = %socket.display(), "WATCHDOG LOST: no watchdog answers on the socket; trading goes REDUCING until one does");
            }
            // The first successful beat is not a change worth reporting.
            if alive.is_some() || !ok {
                on_change(ok).await;
            }
            alive = Some(ok);
        }
        if let Some(ack) = ack {
            let _ = ack.send(ok);
            return;
        }
        if !ok {
            if let Some(respawn) = &respawn {
                if last_respawn.is_none_or(|t| t.elapsed() >= RESPAWN_EVERY) {
                    last_respawn = Some(std::time::Instant::now());
                    let respawn = Arc::clone(respawn);
                    let _ = tokio::task::spawn_blocking(move || respawn()).await;
                }
            }
        }
    }
}
