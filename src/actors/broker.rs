//! Broker actor: the paper venue. It executes only [`crate::risk::ApprovedOrder`]s.

use super::messages::*;
use super::metrics::ActorStats;
use super::supervision::{Ping, Supervised};
use crate::broker::{paper, AccountView, Execution};
use crate::market::MarketData;
use crate::orders::OrderEvent;
use crate::store::{models, Store};
use actix::prelude::*;
use std::sync::{Arc, Mutex};

/// The market source expiry settlements read closing prices from.
pub type SettlementMarket = Arc<Mutex<Box<dyn MarketData>>>;

/// The Broker actor.
pub struct Broker {
    store: Store,
    params: paper::PaperParams,
    settlement: SettlementMarket,
    stats: Arc<ActorStats>,
}

impl Broker {
    /// A broker over the paper venue's book in the store; expired positions settle against
    /// closes from `settlement`.
    pub fn new(
        store: Store,
        params: paper::PaperParams,
        settlement: SettlementMarket,
        stats: Arc<ActorStats>,
    ) -> Self {
        Broker {
            store,
            params,
            settlement,
            stats,
        }
    }
}

impl Actor for Broker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The book lives in the store: make sure the account exists before any message.
        let store = self.store.clone();
        let params = self.params.clone();
        ctx.wait(
            async move {
                if let Err(e) = store.call(move |c| paper::ensure_account(c, &params)).await {
                    tracing::error!(target: "alphahive::broker", error = %e, "cannot open the paper account");
                }
            }
            .into_actor(self),
        );
    }
}

impl Supervised for Broker {
    fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }
}

impl Handler<MarkToMarket> for Broker {
    type Result = ResponseFuture<Result<MarkResult, String>>;
    fn handle(&mut self, m: MarkToMarket, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let settlement = self.settlement.clone();
        Box::pin(async move {
            store
                .call(move |c| {
                    let mut close = |symbol: &str, date| {
                        let mut market = settlement.lock().ok()?;
                        market
                            .close(symbol, date)
                            .map_err(|e| {
                                tracing::warn!(target: "alphahive::broker", %symbol, %date, error = %e, "no close for an expiry")
                            })
                            .ok()
                    };
                    let settlements = paper::settle_expired(c, &m.snapshot, &mut close)?;
                    let account = paper::mark_account(
                        c,
                        Some(&m.snapshot),
                        m.snapshot.ts,
                        Some(m.cycle_id),
                        m.record,
                    )?;
                    Ok(MarkResult {
                        account,
                        settlements,
                    })
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<GetAccount> for Broker {
    type Result = ResponseFuture<Result<AccountView, String>>;
    fn handle(&mut self, m: GetAccount, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .call(move |c| {
                    paper::mark_account(c, Some(&m.snapshot), m.snapshot.ts, None, false)
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<Execute> for Broker {
    type Result = ResponseFuture<Result<Execution, String>>;
    fn handle(&mut self, m: Execute, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let params = self.params.clone();
        Box::pin(async move {
            let coid = m.order.order().client_order_id.clone();
            store
                .call(move |c| {
                    models::transition_order(c, &coid, OrderEvent::Submit)?;
                    paper::execute(c, &m.order, &m.snapshot, &params)
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<Ping> for Broker {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

crate::enveloped!(Broker: MarkToMarket, GetAccount, Execute, Ping);
