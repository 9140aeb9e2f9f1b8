//! RiskGate actor: the only road to the broker. Every verdict is recorded; its state is
//! rebuilt from the store on start and on every restart, so a restart never loosens a limit.

use super::broker::Broker;
use super::messages::*;
use super::metrics::ActorStats;
use super::supervision::{Handle, Ping, Supervised};
use crate::orders::{OrderEvent, OrderRequest, OrderStatus};
use crate::risk::holds::{HoldCause, HoldEvent, Holds};
use crate::risk::replay::GateInput;
use crate::risk::{DenyReason, RiskEngine, RiskLimits, RiskState};
use crate::store::models::{self, NewOrder, NewSafetyEvent};
use crate::store::{Store, StoreError};
use actix::prelude::*;
use diesel::sqlite::SqliteConnection;
use std::sync::Arc;

pub use crate::store::holds::{BREAKER_KEY, REASON_KEY, STATE_KEY};
pub use crate::store::risk_state::{
    load_state, restart_loss_streak, STREAK_SINCE_FORMAT, STREAK_SINCE_KEY,
};

/// The RiskGate actor.
pub struct RiskGate {
    engine: RiskEngine,
    store: Store,
    broker: Handle<Broker>,
    stats: Arc<ActorStats>,
}

impl RiskGate {
    /// A gate with the given limits; its state loads from the store when it starts.
    pub fn new(
        limits: RiskLimits,
        store: Store,
        broker: Handle<Broker>,
        stats: Arc<ActorStats>,
    ) -> Self {
        RiskGate {
            engine: RiskEngine::new(limits, RiskState::default()),
            store,
            broker,
            stats,
        }
    }
}

/// Records hold events on the store (each applied to the stored holds too); returns the
/// holds as stored afterwards.
fn persist_events(conn: &mut SqliteConnection, events: &[HoldEvent]) -> Result<Holds, StoreError> {
    let mut holds = crate::store::holds::load(conn)?;
    for ev in events {
        holds = crate::store::holds::record_in(conn, ev, "RiskGate")?.0;
    }
    Ok(holds)
}

/// Records hold events (if any) in one transaction; returns the stored holds, or None when
/// recording failed (logged loudly; the gate keeps its stricter in-memory holds).
async fn record_events(store: Store, events: Vec<HoldEvent>) -> Option<Holds> {
    if events.is_empty() {
        return None;
    }
    match store
        .call(move |c| c.immediate_transaction(|c| persist_events(c, &events)))
        .await
    {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(target: "alphahive::risk", error = %e, "cannot record a hold change");
            None
        }
    }
}

/// Adopts the stored holds after a successful write; after a failed one the in-memory holds
/// (which already include the events) stay.
fn adopt(engine: &mut RiskEngine, stored: Option<Holds>) {
    if let Some(h) = stored {
        engine.set_holds(h);
    }
}

fn order_row(
    o: &OrderRequest,
    status: OrderStatus,
    risk: Option<&crate::risk::OrderRisk>,
    denial: Option<&DenyReason>,
) -> NewOrder {
    let (max_risk, capital) = risk
        .map(|r| (r.max_loss.to_string(), r.capital.to_string()))
        .unwrap_or(("0".into(), "0".into()));
    NewOrder {
        client_order_id: o.client_order_id.clone(),
        cycle_id: o.cycle_id,
        instance_id: o.instance_id.clone(),
        underlying: o.underlying.clone(),
        strategy: o.strategy.as_str().to_string(),
        intent: o.intent.as_str().to_string(),
        position_id: o.position_id.clone(),
        legs_json: serde_json::to_string(&o.legs).unwrap_or_else(|_| "[]".into()),
        quantity: o.quantity as i32,
        limit_price: o.limit_price.to_string(),
        max_risk,
        capital_required: capital,
        status: status.as_str().to_string(),
        deny_code: denial.map(|d| d.code().to_string()),
        deny_reason: denial.map(|d| d.to_string()),
        reasoning: Some(o.reasoning.clone()),
        market_ts: o.market_ts,
        created_at: models::now(),
        updated_at: models::now(),
    }
}

impl Actor for RiskGate {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        ctx.wait(
            async move { store.call(load_state).await }
                .into_actor(self)
                .map(|res, act, _| match res {
                    Ok(st) => {
                        tracing::info!(target: "alphahive::risk", state = %st.trading_state(), holds = %st.state_reason(), trades_today = st.trades_today, loss_streak = st.loss_streak, "risk state loaded");
                        act.engine = RiskEngine::new(act.engine.limits().clone(), st);
                    }
                    Err(e) => {
                        // Cannot know today's counters: fail closed.
                        tracing::error!(target: "alphahive::risk", error = %e, "cannot load risk state; HALTED");
                        act.engine.place(HoldCause::StateUnavailable, format!("error={e:?}"));
                    }
                }),
        );
    }
}

impl Supervised for RiskGate {
    fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }
}

impl Handler<ProposeOrder> for RiskGate {
    type Result = AtomicResponse<Self, Verdict>;

    fn handle(&mut self, m: ProposeOrder, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let broker = self.broker.clone();
        let coid = m.order.client_order_id.clone();
        let snapshot = Arc::clone(&m.snapshot);
        let lookup = {
            let store = store.clone();
            let coid = coid.clone();
            async move {
                let account = broker
                    .send(GetAccount { snapshot })
                    .await
                    .map_err(|e| e.to_string())??;
                // The stored holds too: the gate follows every writer (kill switch,
                // reset-breaker, supervision, the watchdog) before it decides.
                let (exists, holds) = store
                    .call(move |c| {
                        Ok((
                            models::order_exists(c, &coid)?,
                            crate::store::holds::load(c)?,
                        ))
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((account, exists, holds))
            }
        };
        AtomicResponse::new(Box::pin(
            lookup
                .into_actor(self)
                .then(move |looked_up, act, _| {
                    let mut input = None;
                    let verdict = match looked_up {
                        Ok((account, exists, holds)) => {
                            act.engine.set_holds(holds);
                            // What the gate sees, recorded with the verdict so replay can decide again.
                            input = Some(Box::new(GateInput::capture(act.engine.state(), &m.order, &account, &m.snapshot, exists)));
                            act.engine.check(&m.order, &account, &m.snapshot, exists)
                        }
                        Err(e) => Err(DenyReason::AccountUnavailable { detail: e }),
                    };
                    let events = act.engine.take_events();
                    let store = act.store.clone();
                    let broker = act.broker.clone();
                    let snapshot = Arc::clone(&m.snapshot);
                    let order = m.order.clone();
                    let decide = async move {
                        let decided = match &verdict {
                            Ok(a) => OrderStatus::Proposed.apply(OrderEvent::Approve).map(|s| (s, Some(a.risk().clone()), None)),
                            Err(d) => OrderStatus::Proposed.apply(OrderEvent::Deny).map(|s| (s, None, Some(d.clone()))),
                        };
                        let (status, risk, denial) = match decided {
                            Ok(x) => x,
                            Err(e) => return error_verdict(&order.client_order_id, &e.to_string()),
                        };
                        let row = order_row(&order, status, risk.as_ref(), denial.as_ref());
                        let rejected_event = denial.as_ref().map(|d| {
                            let mut ev = NewSafetyEvent::new("ORDER_REJECTED", "info", Some("RiskGate"), format!("client_order_id={} {d}", order.client_order_id));
                            ev.cycle_id = order.cycle_id;
                            ev
                        });
                        let duplicate = matches!(denial, Some(DenyReason::DuplicateClientOrderId { .. }));
                        let recorded = store
                            .call(move |c| {
                                c.immediate_transaction(|c| {
                                    persist_events(c, &events)?;
                                    // A duplicate id already has its row; the denial is recorded as an event.
                                    if !duplicate {
                                        models::insert_order(c, &row)?;
                                    }
                                    if let Some(ev) = &rejected_event {
                                        models::insert_safety_event(c, ev)?;
                                    }
                                    Ok(())
                                })
                            })
                            .await;
                        if let Err(e) = recorded {
                            // Unrecorded means unsent: nothing reaches the broker without its record.
                            return error_verdict(&order.client_order_id, &format!("cannot record verdict: {e}"));
                        }
                        match verdict {
                            Err(d) => Verdict {
                                client_order_id: order.client_order_id.clone(),
                                decision: "DENIED".into(),
                                code: Some(d.code().to_string()),
                                reason: Some(d.to_string()),
                                execution: None,
                                gate_input: None,
                            },
                            Ok(approved) => {
                                let execution = broker.send(Execute { order: approved, snapshot }).await;
                                let execution = match execution {
                                    Ok(Ok(x)) => Some(x),
                                    Ok(Err(e)) => {
                                        tracing::error!(target: "alphahive::risk", client_order_id = %order.client_order_id, error = %e, "broker failed; the order stays in flight until reconciled");
                                        None
                                    }
                                    Err(e) => {
                                        tracing::error!(target: "alphahive::risk", client_order_id = %order.client_order_id, error = %e, "broker unavailable; the order stays in flight until reconciled");
                                        None
                                    }
                                };
                                Verdict { client_order_id: order.client_order_id.clone(), decision: "APPROVED".into(), code: None, reason: None, execution, gate_input: None }
                            }
                        }
                    };
                    async move {
                        let mut v = decide.await;
                        v.gate_input = input;
                        v
                    }
                    .into_actor(act)
                })
                .then(|verdict: Verdict, act, _| {
                    if let Some(realized) = verdict.execution.as_ref().and_then(|x| x.realized_pnl) {
                        act.engine.record_close(realized);
                    }
                    let persist = record_events(act.store.clone(), act.engine.take_events());
                    persist.into_actor(act).map(move |stored, act, _| {
                        adopt(&mut act.engine, stored);
                        verdict
                    })
                }),
        ))
    }
}

fn error_verdict(coid: &str, e: &str) -> Verdict {
    Verdict {
        client_order_id: coid.to_string(),
        decision: "ERROR".into(),
        code: None,
        reason: Some(e.to_string()),
        execution: None,
        gate_input: None,
    }
}

impl Handler<PositionsClosed> for RiskGate {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, m: PositionsClosed, _: &mut Context<Self>) -> Self::Result {
        self.engine.observe(m.at);
        for r in m.realized {
            self.engine.record_close(r);
        }
        let persist = record_events(self.store.clone(), self.engine.take_events());
        AtomicResponse::new(Box::pin(
            persist
                .into_actor(self)
                .map(|stored, act, _| adopt(&mut act.engine, stored)),
        ))
    }
}

/// Cause code of the REDUCING hold a lost watchdog places.
pub const WATCHDOG_LOST: &str = "WATCHDOG_LOST";

impl Handler<WatchdogStatus> for RiskGate {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, m: WatchdogStatus, _: &mut Context<Self>) -> Self::Result {
        if m.alive {
            self.engine.hold_event(HoldEvent::WatchdogBeat);
        } else {
            self.engine
                .place(HoldCause::WatchdogLost, "no watchdog answers on the socket");
        }
        let persist = record_events(self.store.clone(), self.engine.take_events());
        AtomicResponse::new(Box::pin(
            persist
                .into_actor(self)
                .map(|stored, act, _| adopt(&mut act.engine, stored)),
        ))
    }
}

impl RiskGate {
    fn status(&self) -> RiskStatus {
        let s = self.engine.state();
        RiskStatus {
            trading_state: s.trading_state(),
            reason: s.state_reason(),
            holds: s.holds.list(),
            trades_today: s.trades_today,
            loss_streak: s.loss_streak,
            day: s.day,
        }
    }
}

impl Handler<GetRiskStatus> for RiskGate {
    type Result = AtomicResponse<Self, RiskStatus>;
    fn handle(&mut self, _: GetRiskStatus, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(fut::ready(self.status())))
    }
}

impl Handler<RollTradingDay> for RiskGate {
    type Result = AtomicResponse<Self, RiskStatus>;
    fn handle(&mut self, m: RollTradingDay, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        // Each cycle starts from the stored holds: a change another writer made is followed.
        let load = async move { store.call(crate::store::holds::load).await };
        AtomicResponse::new(Box::pin(
            load.into_actor(self)
                .then(move |loaded, act, _| {
                    match loaded {
                        Ok(h) => act.engine.set_holds(h),
                        Err(e) => {
                            tracing::error!(target: "alphahive::risk", error = %e, "cannot read the holds; keeping the gate's own")
                        }
                    }
                    act.engine.observe(m.at);
                    act.engine.roll_day(m.at.date());
                    record_events(act.store.clone(), act.engine.take_events()).into_actor(act)
                })
                .map(|stored, act, _| {
                    adopt(&mut act.engine, stored);
                    act.status()
                }),
        ))
    }
}

impl Handler<Ping> for RiskGate {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

crate::enveloped!(RiskGate: ProposeOrder, PositionsClosed, GetRiskStatus, RollTradingDay, WatchdogStatus, Ping);

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;

    /// Closes a position at `closed_at` with `realized` P&L.
    fn closed(conn: &mut SqliteConnection, id: &str, closed_at: &str, realized: &str) {
        conn.batch_execute(&format!(
            "INSERT INTO positions (position_id, instance_id, underlying, strategy, expiry, \
             legs_json, quantity, entry_price, max_risk, max_profit, mark, unrealized_pnl, \
             realized_pnl, opened_at, closed_at, close_intent, updated_at) VALUES \
             ('{id}', 'i', 'NVDA', 'SHORT_PUT_SPREAD', '2026-05-15', '[]', 0, '1', '0', '0', \
             '0', '0', '{realized}', '2026-04-01 10:00:00', '{closed_at}', 'STOP_LOSS', \
             '2026-04-01 10:00:00')"
        ))
        .expect("insert position");
    }

    #[test]
    fn the_loss_streak_restarts_at_a_breaker_reset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = crate::store::pool::connect(&dir.path().join("t.db")).expect("db");
        crate::store::pool::run_migrations(&mut conn).expect("migrate");
        closed(&mut conn, "W", "2026-04-02 10:00:00", "50");
        for (i, t) in ["11:00", "12:00", "13:00"].iter().enumerate() {
            closed(
                &mut conn,
                &format!("L{i}"),
                &format!("2026-04-02 {t}:00"),
                "-20",
            );
        }
        assert_eq!(load_state(&mut conn).expect("state").loss_streak, 3);

        restart_loss_streak(&mut conn).expect("reset");
        assert_eq!(
            load_state(&mut conn).expect("state").loss_streak,
            0,
            "losses reviewed at the reset no longer count"
        );
        closed(&mut conn, "L9", "2026-04-03 10:00:00", "-5");
        assert_eq!(load_state(&mut conn).expect("state").loss_streak, 1);
    }
}
