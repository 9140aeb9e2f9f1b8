//! Recorder: writes cycles, signals, safety events and snapshots through the store's writer.

use super::messages::*;
use super::metrics::ActorStats;
use super::supervision::{Ping, Supervised};
use crate::store::models::{self, NewCycle};
use crate::store::schema::{llm_calls, signals};
use crate::store::{snapshots, Store};
use actix::prelude::*;
use diesel::prelude::*;
use std::sync::Arc;

/// The Recorder actor.
pub struct Recorder {
    store: Store,
    stats: Arc<ActorStats>,
}

impl Recorder {
    /// A recorder over the store.
    pub fn new(store: Store, stats: Arc<ActorStats>) -> Self {
        Recorder { store, stats }
    }
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Supervised for Recorder {
    fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }
}

impl Handler<StartCycle> for Recorder {
    type Result = ResponseFuture<Result<i32, String>>;
    fn handle(&mut self, m: StartCycle, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .call(move |c| {
                    models::insert_cycle(
                        c,
                        &NewCycle {
                            run_id: &m.run_id,
                            seq: m.seq as i32,
                            market_ts: m.market_ts,
                            started_at: models::now(),
                            status: "running",
                            trading_state: &m.trading_state,
                            config_sha256: Some(&m.config_sha256),
                        },
                    )
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<RecordSignals> for Recorder {
    type Result = ResponseFuture<Result<(), String>>;
    fn handle(&mut self, m: RecordSignals, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .call(move |c| {
                    c.immediate_transaction(|c| {
                        diesel::insert_into(signals::table)
                            .values(&m.rows)
                            .execute(c)?;
                        diesel::insert_into(llm_calls::table)
                            .values(&m.calls)
                            .execute(c)?;
                        Ok(())
                    })
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<RecordSafetyEvent> for Recorder {
    type Result = ResponseFuture<Result<(), String>>;
    fn handle(&mut self, m: RecordSafetyEvent, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .call(move |c| models::insert_safety_event(c, &m.event))
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<FinishCycle> for Recorder {
    type Result = ResponseFuture<Result<(), String>>;
    fn handle(&mut self, m: FinishCycle, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let data_dir = store.data_dir().to_path_buf();
        Box::pin(async move {
            store
                .call(move |c| {
                    let mut finish = m.finish;
                    if let Some(bytes) = &m.snapshot {
                        let path = snapshots::snapshot_path(&data_dir, m.date, m.cycle_id);
                        snapshots::write_atomic(&path, bytes)?;
                        finish.snapshot_path = Some(path.to_string_lossy().to_string());
                        finish.snapshot_sha256 = Some(snapshots::sha256_hex(bytes));
                    }
                    finish.finished_at = Some(models::now());
                    models::finish_cycle(c, m.cycle_id, &finish)
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl Handler<Ping> for Recorder {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

crate::enveloped!(Recorder: StartCycle, RecordSignals, RecordSafetyEvent, FinishCycle, Ping);
