//! Heartbeat frames: newline-delimited JSON over the watchdog's Unix stream socket.

use serde::{Deserialize, Serialize};

/// One actor's liveness as the Monitor saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorBeat {
    /// Actor name.
    pub name: String,
    /// Messages handled since start.
    pub handled: u64,
    /// Messages waiting.
    pub queued: i64,
    /// Milliseconds since it last handled a message (it is pinged every beat).
    pub last_handled_ms_ago: u64,
    /// Restarts since start.
    pub restarts: u32,
}

/// A frame from the runtime to the watchdog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Frame {
    /// The runtime is alive; sent by the Monitor after pinging every actor.
    Heartbeat {
        /// Runtime pid.
        pid: u32,
        /// Frame number.
        seq: u64,
        /// Wall-clock time (RFC 3339).
        ts: String,
        /// Trading state.
        trading_state: String,
        /// Every actor.
        actors: Vec<ActorBeat>,
    },
    /// The runtime is exiting cleanly: the watchdog exits too.
    Goodbye {
        /// Runtime pid.
        pid: u32,
    },
}

impl Frame {
    /// One line of JSON with its newline.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// The sender's pid.
    pub fn pid(&self) -> u32 {
        match self {
            Frame::Heartbeat { pid, .. } | Frame::Goodbye { pid } => *pid,
        }
    }
}

/// The longest line either side reads (a longer one closes the connection).
pub const MAX_LINE: usize = 64 * 1024;

/// The watchdog's answer to a heartbeat it has read from the runtime it watches; the runtime
/// treats a watchdog that has acknowledged no beat for `heartbeat_timeout_s` as lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "ack")]
pub struct Ack {
    /// The heartbeat's `seq`.
    pub seq: u64,
}

impl Ack {
    /// One line of JSON with its newline.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The line exceeds the cap.
    #[error("line longer than {0} bytes")]
    TooLong(usize),
    /// The connection failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one line (without its newline) into `buf`, holding at most `max` bytes of it: a
/// longer line is an error, not a growing buffer. `Ok(false)` at the end of the stream.
pub async fn read_line_capped<R>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<bool, LineError>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    buf.clear();
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(!buf.is_empty());
        }
        let (take, done) = match avail.iter().position(|b| *b == b'\n') {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        if buf.len() + take > max {
            return Err(LineError::TooLong(max));
        }
        buf.extend_from_slice(&avail[..take]);
        r.consume(if done { take + 1 } else { take });
        if done {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_frame_has_the_contract_shape() {
        let f = Frame::Heartbeat {
            pid: 4242,
            seq: 17,
            ts: "2026-03-23T10:00:00Z".into(),
            trading_state: "ACTIVE".into(),
            actors: vec![ActorBeat {
                name: "RiskGate".into(),
                handled: 311,
                queued: 0,
                last_handled_ms_ago: 40,
                restarts: 0,
            }],
        };
        let v: serde_json::Value = serde_json::from_str(f.to_line().trim_end()).expect("json");
        assert_eq!(v["type"], "heartbeat");
        assert_eq!(v["pid"], 4242);
        assert_eq!(v["seq"], 17);
        assert_eq!(v["trading_state"], "ACTIVE");
        assert_eq!(v["actors"][0]["name"], "RiskGate");
        assert_eq!(v["actors"][0]["last_handled_ms_ago"], 40);
        let back: Frame = serde_json::from_value(v).expect("parse");
        assert_eq!(back, f);
        let bye: Frame = serde_json::from_str(r#"{"type":"goodbye","pid":7}"#).expect("goodbye");
        assert_eq!(bye.pid(), 7);
    }

    #[tokio::test]
    async fn lines_are_capped() {
        let data = b"{\"seq\":1}\nshort\n".to_vec();
        let mut long = vec![b'x'; MAX_LINE + 1];
        long.push(b'\n');
        let mut r = tokio::io::BufReader::new(&data[..]);
        let mut buf = Vec::new();
        assert!(read_line_capped(&mut r, &mut buf, MAX_LINE)
            .await
            .expect("line"));
        assert_eq!(buf, b"{\"seq\":1}");
        assert!(read_line_capped(&mut r, &mut buf, MAX_LINE)
            .await
            .expect("line"));
        assert_eq!(buf, b"short");
        assert!(!read_line_capped(&mut r, &mut buf, MAX_LINE)
            .await
            .expect("eof"));
        let mut r = tokio::io::BufReader::new(&long[..]);
        assert!(matches!(
            read_line_capped(&mut r, &mut buf, MAX_LINE).await,
            Err(LineError::TooLong(MAX_LINE))
        ));
        assert!(buf.len() <= MAX_LINE, "the buffer never outgrows the cap");
        let ack: Ack = serde_json::from_str(Ack { seq: 9 }.to_line().trim_end()).expect("ack");
        assert_eq!(ack.seq, 9);
        assert!(Ack { seq: 9 }.to_line().contains("\"type\":\"ack\""));
    }
}
