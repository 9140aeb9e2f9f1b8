//! Opening and reconciling the store at start-up, and leaving it clean at a clean exit.

use crate::broker::paper::{self, PaperParams, ReconcileReport};
use crate::config::Config;
use crate::safety::PID_KEY;
use crate::store::models::{self, NewSafetyEvent};
use crate::store::Store;
use anyhow::Context as _;

/// Opens the store, deletes stale snapshot temp files and prunes the LLM answer cache (the
/// last two only warn when they fail).
pub(super) async fn open(config: &Config) -> anyhow::Result<Store> {
    let store = Store::open(&config.runtime.data_dir)?;
    match crate::store::snapshots::remove_stale_temp_files(&config.runtime.data_dir) {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "deleted stale snapshot temp files"),
        Err(e) => tracing::warn!(error = %e, "cannot clean stale snapshot temp files"),
    }
    let pruned = store
        .call(|c| {
            models::prune_llm_cache(
                c,
                models::now(),
                models::LLM_CACHE_MAX_AGE_DAYS,
                models::LLM_CACHE_MAX_ROWS,
            )
        })
        .await;
    if let Err(e) = pruned {
        tracing::warn!(error = %e, "cannot prune the LLM answer cache");
    }
    Ok(store)
}

/// Aborts cycles left running, ensures the paper account, reconciles orders left in flight
/// and records this process's identity (so the kill switch and the watchdog can verify whom
/// they signal); a `RECONCILED` safety event says what was found.
pub(super) async fn reconcile(
    store: &Store,
    params: &PaperParams,
) -> anyhow::Result<ReconcileReport> {
    let identity = crate::process_identity::ProcessIdentity::current()
        .context("cannot read this process's identity from /proc")?;
    let params = params.clone();
    let report = store
        .call(move |c| {
            let aborted = models::abort_running_cycles(c)?;
            paper::ensure_account(c, &params)?;
            let report = paper::reconcile(c)?;
            models::set_state(c, PID_KEY, &identity.record())?;
            if aborted > 0 || !report.canceled.is_empty() || !report.filled.is_empty() {
                let detail = format!(
                    "aborted_cycles={aborted} canceled={} filled={}",
                    report.canceled.len(),
                    report.filled.len()
                );
                models::insert_safety_event(
                    c,
                    &NewSafetyEvent::new("RECONCILED", "warning", Some("runtime"), detail),
                )?;
            }
            Ok(report)
        })
        .await?;
    if !report.canceled.is_empty() || !report.filled.is_empty() {
        tracing::warn!(target: "alphahive::runtime", canceled = ?report.canceled, filled = ?report.filled, "reconciled orders left in flight");
    }
    Ok(report)
}

/// At a clean exit: forgets this process's identity and checkpoints the WAL, so trades.db is
/// complete on its own (no -wal to carry).
pub(super) async fn close_cleanly(store: &Store) {
    let _ = store
        .call(|c| {
            use diesel::prelude::*;
            diesel::delete(crate::store::schema::runtime_state::table.find(PID_KEY)).execute(c)?;
            diesel::connection::SimpleConnection::batch_execute(
                c,
                "PRAGMA wal_checkpoint(TRUNCATE);",
            )?;
            Ok(())
        })
        .await;
}
