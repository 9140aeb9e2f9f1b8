//! What one agent produced in a cycle: a signal, or an abstention with its code, and the
//! raw answer; the input to aggregation, recording and replay.

use serde::Serialize;

/// One agent's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentOutcome {
    /// Instance id.
    pub instance_id: String,
    /// Template name.
    pub template: String,
    /// Provider name.
    pub provider: String,
    /// ok, abstain, timeout, error.
    pub status: String,
    /// The validated signal, when ok.
    pub signal: Option<crate::domain::Signal>,
    /// Abstention code, when not ok.
    pub reason: Option<String>,
    /// Abstention detail.
    pub detail: Option<String>,
    /// Raw answer text.
    pub raw: Option<String>,
    /// sha256 of the rendered prompt.
    pub prompt_sha256: Option<String>,
    /// Latency in milliseconds.
    pub latency_ms: f64,
}

impl AgentOutcome {
    /// The outcome of a validated answer: `ok` with its signal, or `abstain` with the code and
    /// detail of why not.
    pub fn judged(
        mut self,
        judged: Result<crate::domain::Signal, super::signal::Abstention>,
    ) -> Self {
        match judged {
            Ok(sig) => {
                self.status = "ok".into();
                self.signal = Some(sig);
            }
            Err(abst) => {
                self.status = "abstain".into();
                self.reason = Some(abst.reason);
                self.detail = Some(abst.detail);
            }
        }
        self
    }
}
