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
}
