//! Typed messages between the actors.

use crate::broker::{AccountView, Execution};
use crate::market::MarketSnapshot;
use crate::orders::OrderRequest;
use crate::risk::ApprovedOrder;
use crate::store::models::{CycleFinish, NewSafetyEvent, NewSignal};
use actix::prelude::*;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::Arc;

/// Driver → Commander: run one cycle at market time `market_ts`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<CycleSummary, String>")]
pub struct RunCycle {
    /// Cycle number within this run (1-based).
    pub seq: u32,
    /// Market time of the cycle.
    pub market_ts: NaiveDateTime,
}

/// What one cycle did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CycleSummary {
    /// The `cycles` row id.
    pub cycle_id: i32,
    /// Valid signals.
    pub signals_ok: u32,
    /// Abstentions, timeouts and errors.
    pub abstentions: u32,
    /// Orders proposed.
    pub proposed: u32,
    /// Orders approved.
    pub approved: u32,
    /// Orders denied.
    pub denied: u32,
    /// Leg fills.
    pub fills: u32,
    /// Equity at the end of the cycle.
    pub equity: Decimal,
    /// Cash at the end of the cycle.
    pub cash: Decimal,
    /// Trading state at the end of the cycle.
    pub trading_state: String,
}

/// Commander → SwarmPool: ask every enabled agent.
#[derive(Debug, Clone, Message)]
#[rtype(result = "SwarmReport")]
pub struct ConsultSwarm {
    /// Cycle row id.
    pub cycle_id: i32,
    /// The market snapshot all agents see.
    pub snapshot: Arc<MarketSnapshot>,
    /// Why no entry can open this cycle (the gate is REDUCING or HALTED), if so: LLM agents
    /// then abstain with `ENTRIES_HELD` without a call (rules agents, which cost nothing,
    /// still answer for the record).
    pub held: Option<String>,
}

pub use crate::swarm::outcome::AgentOutcome;

/// SwarmPool → Commander: every agent's outcome and every LLM HTTP call made.
#[derive(Debug, Clone, Default, MessageResponse)]
pub struct SwarmReport {
    /// One per enabled instance.
    pub outcomes: Vec<AgentOutcome>,
    /// One `llm_calls` row per HTTP attempt.
    pub calls: Vec<crate::store::models::NewLlmCall>,
}

/// Commander → RiskGate: decide on an order (and, if approved, execute it).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Verdict")]
pub struct ProposeOrder {
    /// The order.
    pub order: OrderRequest,
    /// The market the gate checks prices against.
    pub snapshot: Arc<MarketSnapshot>,
}

/// The risk gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize, MessageResponse)]
pub struct Verdict {
    /// The order.
    pub client_order_id: String,
    /// APPROVED or DENIED (or ERROR when the gate could not decide: nothing was sent).
    pub decision: String,
    /// Denial code.
    pub code: Option<String>,
    /// Denial reason with context.
    pub reason: Option<String>,
    /// What the broker did with an approved order.
    pub execution: Option<Execution>,
    /// What the gate saw when it decided (none when it could not read the account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_input: Option<Box<crate::risk::replay::GateInput>>,
}

/// Commander → RiskGate: positions closed outside an order (expiry settlement).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PositionsClosed {
    /// Realized P&L of each.
    pub realized: Vec<Decimal>,
    /// Market time of the closes.
    pub at: chrono::NaiveDateTime,
}

/// Anyone → RiskGate: current state.
#[derive(Debug, Clone, Message)]
#[rtype(result = "RiskStatus")]
pub struct GetRiskStatus;

/// Commander → RiskGate, at the start of a cycle: the market date, so a new trading day's
/// counters reset (and a REDUCING caused by the previous day's loss ends) before the cycle
/// plans; returns the state the cycle plans under.
#[derive(Debug, Clone, Message)]
#[rtype(result = "RiskStatus")]
pub struct RollTradingDay {
    /// The cycle's market time (its date is the trading day).
    pub at: chrono::NaiveDateTime,
}

pub use crate::risk::RiskStatus;

/// Commander → Broker: settle expiries, mark the book, return the account.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<MarkResult, String>")]
pub struct MarkToMarket {
    /// The market.
    pub snapshot: Arc<MarketSnapshot>,
    /// Cycle row id.
    pub cycle_id: i32,
    /// Append an `account_snapshots` row.
    pub record: bool,
}

/// The account after marking, and any expiry settlements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkResult {
    /// The account.
    pub account: AccountView,
    /// Positions settled at expiry.
    pub settlements: Vec<Execution>,
}

/// RiskGate → Broker: the last marked account.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<AccountView, String>")]
pub struct GetAccount {
    /// The market to mark with.
    pub snapshot: Arc<MarketSnapshot>,
}

/// RiskGate → Broker: execute an approved order. Only the risk gate can make one.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Execution, String>")]
pub struct Execute {
    /// The approved order.
    pub order: ApprovedOrder,
    /// The market to fill against.
    pub snapshot: Arc<MarketSnapshot>,
}

/// Commander → Recorder: a cycle starts; returns its row id.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<i32, String>")]
pub struct StartCycle {
    /// Run id.
    pub run_id: String,
    /// Cycle number within the run.
    pub seq: u32,
    /// Market time.
    pub market_ts: NaiveDateTime,
    /// Trading state at start.
    pub trading_state: String,
    /// The config's decision hash.
    pub config_sha256: String,
}

/// Commander → Recorder: the agents' outcomes and the LLM calls behind them.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), String>")]
pub struct RecordSignals {
    /// Rows to insert.
    pub rows: Vec<NewSignal>,
    /// `llm_calls` rows.
    pub calls: Vec<crate::store::models::NewLlmCall>,
}

/// Anyone → Recorder: a safety event.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), String>")]
pub struct RecordSafetyEvent {
    /// The event.
    pub event: NewSafetyEvent,
}

/// Commander → Recorder: write the snapshot atomically and finish the cycle row.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), String>")]
pub struct FinishCycle {
    /// Cycle row id.
    pub cycle_id: i32,
    /// Market date (snapshot folder).
    pub date: chrono::NaiveDate,
    /// The snapshot JSON, if snapshots are on.
    pub snapshot: Option<Vec<u8>>,
    /// Figures for the row.
    pub finish: CycleFinish,
}

/// Driver → Monitor: log every actor's metrics line now.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct FlushMetrics;

/// Heartbeat link → RiskGate: the watchdog was lost (`alive = false`) or answers again.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct WatchdogStatus {
    /// Whether a watchdog answers.
    pub alive: bool,
}
