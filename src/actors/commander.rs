//! Commander: runs one cycle per `RunCycle` — market snapshot, account, swarm, aggregation,
//! sizing, exits, proposals through the risk gate, and the cycle's record and snapshot.

use super::broker::Broker;
use super::messages::*;
use super::metrics::ActorStats;
use super::recorder::Recorder;
use super::risk_gate::RiskGate;
use super::supervision::{Handle, Ping, Supervised};
use super::swarm_pool::SwarmPool;
use crate::market::{MarketData, MarketSnapshot};
use crate::policy::{self, PolicyParams};
use crate::store::models::{CycleFinish, NewSignal};
use crate::swarm::instance::DteWindow;
use actix::prelude::*;
use serde_json::json;
use std::sync::Arc;

/// The other actors the Commander talks to.
#[derive(Clone)]
pub struct Peers {
    /// The swarm.
    pub swarm: Handle<SwarmPool>,
    /// The risk gate (the only road to the broker).
    pub risk: Handle<RiskGate>,
    /// The broker (read-only for the Commander: marks and account).
    pub broker: Handle<Broker>,
    /// The recorder.
    pub recorder: Handle<Recorder>,
    /// The LLM that chooses among sized candidates (`commander.provider` of an LLM kind).
    pub chooser: Option<crate::policy::chooser::Chooser>,
}

/// What each cycle's snapshot records of the market view: the configured symbols with the
/// expiries of `window`, the span of the enabled instances' windows, so the snapshot holds
/// everything any agent was shown. The window is recorded too (`market_window`), for replay.
#[derive(Debug, Clone)]
pub struct RecordedMarket {
    /// The symbols shown.
    pub symbols: Vec<String>,
    /// The days-to-expiry window of the expiries shown.
    pub window: DteWindow,
    /// [`crate::config::decision_sha256`] of the config, written on every cycle row.
    pub config_sha256: String,
}

/// The Commander actor.
pub struct Commander {
    market: Box<dyn MarketData>,
    peers: Peers,
    params: PolicyParams,
    run_id: String,
    recorded: RecordedMarket,
    snapshots: bool,
    stats: Arc<ActorStats>,
}

impl Commander {
    /// A commander over a market source and its peers.
    pub fn new(
        market: Box<dyn MarketData>,
        peers: Peers,
        params: PolicyParams,
        run_id: String,
        recorded: RecordedMarket,
        snapshots: bool,
        stats: Arc<ActorStats>,
    ) -> Self {
        Commander {
            market,
            peers,
            params,
            run_id,
            recorded,
            snapshots,
            stats,
        }
    }
}

impl Actor for Commander {
    type Context = Context<Self>;
}

impl Supervised for Commander {
    fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }
}

/// Everything a cycle saw and did, for its record and snapshot.
#[derive(Default)]
struct CycleWork {
    summary: CycleSummary,
    snapshot: serde_json::Value,
}

fn e2s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn signal_row(cycle_id: i32, o: &AgentOutcome) -> NewSignal {
    NewSignal {
        cycle_id,
        instance_id: o.instance_id.clone(),
        template: o.template.clone(),
        provider: o.provider.clone(),
        status: o.status.clone(),
        target: o.signal.as_ref().map(|s| s.target.clone()),
        signal: o.signal.as_ref().map(|s| s.signal.as_str().to_string()),
        confidence: o.signal.as_ref().map(|s| s.confidence),
        reason: o.reason.clone(),
        detail: o.detail.clone(),
        raw: o.raw.as_deref().map(crate::store::models::stored_raw),
        signal_json: o
            .signal
            .as_ref()
            .and_then(|s| serde_json::to_string(s).ok()),
        prompt_sha256: o.prompt_sha256.clone(),
        latency_ms: o.latency_ms,
        created_at: crate::store::models::now(),
    }
}

async fn run_cycle(
    peers: Peers,
    params: PolicyParams,
    recorded: RecordedMarket,
    snapshot: Arc<MarketSnapshot>,
    cycle_id: i32,
    risk_before: RiskStatus,
) -> Result<CycleWork, String> {
    let mut w = CycleWork::default();
    w.summary.cycle_id = cycle_id;
    let marked = peers
        .broker
        .send(MarkToMarket {
            snapshot: Arc::clone(&snapshot),
            cycle_id,
            record: false,
        })
        .await
        .map_err(e2s)??;
    // Expiry settlements are leg fills too.
    w.summary.fills = marked
        .settlements
        .iter()
        .map(|x| x.fills.len() as u32)
        .sum();
    let realized: Vec<_> = marked
        .settlements
        .iter()
        .filter_map(|x| x.realized_pnl)
        .collect();
    if !realized.is_empty() {
        peers
            .risk
            .send(PositionsClosed {
                realized,
                at: snapshot.ts,
            })
            .await
            .map_err(e2s)?;
    }
    let account = marked.account;

    let report = peers
        .swarm
        .send(ConsultSwarm {
            cycle_id,
            snapshot: Arc::clone(&snapshot),
            held: (risk_before.trading_state != crate::risk::TradingState::Active).then(|| {
                format!(
                    "trading {} ({})",
                    risk_before.trading_state, risk_before.reason
                )
            }),
        })
        .await
        .map_err(e2s)?;
    let rows: Vec<NewSignal> = report
        .outcomes
        .iter()
        .map(|o| signal_row(cycle_id, o))
        .collect();
    peers
        .recorder
        .send(RecordSignals {
            rows,
            calls: report.calls.clone(),
        })
        .await
        .map_err(e2s)??;
    w.summary.signals_ok = report.outcomes.iter().filter(|o| o.status == "ok").count() as u32;
    w.summary.abstentions = report.outcomes.len() as u32 - w.summary.signals_ok;

    let (candidates, decisions) =
        policy::plan(cycle_id, &snapshot, &account, &report.outcomes, &params);
    let mut decisions =
        policy::hold_for_state(decisions, risk_before.trading_state, &risk_before.reason);
    let mut commander_choice = serde_json::Value::Null;
    if let Some(ch) = &peers.chooser {
        if decisions.iter().any(|d| d.kind == "ENTRY") {
            let context = json!({
                "market_ts": snapshot.ts,
                "account": {"equity": account.equity, "cash": account.cash, "day_pnl": account.day_pnl, "open_positions": account.positions.len()},
                "aggregated_signals": candidates,
            });
            let (choice, calls) =
                crate::policy::chooser::choose(ch, cycle_id, snapshot.date(), &decisions, context)
                    .await;
            if !calls.is_empty() {
                peers
                    .recorder
                    .send(RecordSignals {
                        rows: vec![],
                        calls,
                    })
                    .await
                    .map_err(e2s)??;
            }
            commander_choice = serde_json::to_value(&choice).unwrap_or_default();
            decisions = crate::policy::chooser::apply_choice(decisions, &choice);
        }
    }

    let mut verdicts = Vec::new();
    for d in &decisions {
        let Some(order) = &d.order else { continue };
        w.summary.proposed += 1;
        let v = peers
            .risk
            .send(ProposeOrder {
                order: order.clone(),
                snapshot: Arc::clone(&snapshot),
            })
            .await
            .map_err(e2s)?;
        match v.decision.as_str() {
            "APPROVED" => w.summary.approved += 1,
            "DENIED" => w.summary.denied += 1,
            _ => {}
        }
        w.summary.fills += v
            .execution
            .as_ref()
            .map(|x| x.fills.len() as u32)
            .unwrap_or(0);
        verdicts.push(v);
    }

    let after = peers
        .broker
        .send(MarkToMarket {
            snapshot: Arc::clone(&snapshot),
            cycle_id,
            record: true,
        })
        .await
        .map_err(e2s)??;
    let status = peers.risk.send(GetRiskStatus).await.map_err(e2s)?;
    w.summary.equity = after.account.equity;
    w.summary.cash = after.account.cash;
    w.summary.trading_state = status.trading_state.to_string();
    // The market as the decisions read it: the quotes of every contract an answer, a position
    // or an order names, so replay decides again from this file alone, for any source.
    let named = report
        .outcomes
        .iter()
        .filter_map(|o| o.signal.as_ref())
        .flat_map(|s| s.params.legs.iter())
        .chain(account.positions.iter().flat_map(|p| p.legs.iter()))
        .chain(
            decisions
                .iter()
                .filter_map(|d| d.order.as_ref())
                .flat_map(|o| o.legs.iter()),
        )
        .map(|l| &l.contract);
    let decision_market = snapshot.restricted_to(named);
    w.snapshot = json!({
        "cycle_id": cycle_id,
        "decision_market": decision_market,
        "market_ts": snapshot.ts,
        "rate": snapshot.rate,
        "market": crate::swarm::render::market_view(&snapshot, &recorded.symbols, recorded.window),
        "market_window": recorded.window,
        "account_before": account,
        "risk_before": risk_before,
        "settlements": marked.settlements,
        "agents": report.outcomes,
        "candidates": candidates,
        "decisions": decisions,
        "commander_choice": commander_choice,
        "verdicts": verdicts,
        "account_after": after.account,
        "risk": status,
        "summary": w.summary,
    });
    Ok(w)
}

impl Handler<RunCycle> for Commander {
    type Result = ResponseFuture<Result<CycleSummary, String>>;

    fn handle(&mut self, m: RunCycle, _: &mut Context<Self>) -> Self::Result {
        let snapshot = self.market.snapshot(m.market_ts).map(Arc::new);
        let peers = self.peers.clone();
        let params = self.params.clone();
        let recorded = self.recorded.clone();
        let run_id = self.run_id.clone();
        let snapshots_on = self.snapshots;
        Box::pin(async move {
            let state = peers
                .risk
                .send(RollTradingDay { at: m.market_ts })
                .await
                .map_err(e2s)?;
            let cycle_id = peers
                .recorder
                .send(StartCycle {
                    run_id,
                    seq: m.seq,
                    market_ts: m.market_ts,
                    trading_state: state.trading_state.to_string(),
                    config_sha256: recorded.config_sha256.clone(),
                })
                .await
                .map_err(e2s)??;
            let result = match snapshot {
                Ok(s) => {
                    run_cycle(peers.clone(), params, recorded, s, cycle_id, state.clone()).await
                }
                Err(e) => Err(format!("market data: {e}")),
            };
            let (finish, bytes, out) = match result {
                Ok(w) => {
                    let s = &w.summary;
                    let finish = CycleFinish {
                        status: "done".into(),
                        trading_state: s.trading_state.clone(),
                        signals_ok: s.signals_ok as i32,
                        abstentions: s.abstentions as i32,
                        orders_proposed: s.proposed as i32,
                        orders_approved: s.approved as i32,
                        orders_denied: s.denied as i32,
                        fills: s.fills as i32,
                        cash: Some(s.cash.to_string()),
                        equity: Some(s.equity.to_string()),
                        ..Default::default()
                    };
                    let bytes = if snapshots_on {
                        serde_json::to_vec(&w.snapshot).ok()
                    } else {
                        None
                    };
                    (finish, bytes, Ok(w.summary))
                }
                Err(e) => {
                    let finish = CycleFinish {
                        status: "failed".into(),
                        trading_state: state.trading_state.to_string(),
                        error: Some(e.clone()),
                        ..Default::default()
                    };
                    (finish, None, Err(e))
                }
            };
            peers
                .recorder
                .send(FinishCycle {
                    cycle_id,
                    date: m.market_ts.date(),
                    snapshot: bytes,
                    finish,
                })
                .await
                .map_err(e2s)??;
            let mut summary = out?;
            summary.cycle_id = cycle_id;
            Ok(summary)
        })
    }
}

impl Handler<Ping> for Commander {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

crate::enveloped!(Commander: RunCycle, Ping);
