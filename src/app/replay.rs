//! `alphahive replay --cycle ID`: re-run a recorded cycle's decisions from its snapshot and the
//! recorded agent answers, and report whether the same orders come out.
//!
//! The snapshot is verified against its sha256; the market is regenerated from the config's
//! source and must match the recorded market view exactly (else the inputs are not the same and
//! the replay says so); every recorded answer goes through validation again; the Commander's
//! pure policy (`policy::plan`) then runs on the recorded account.

use crate::broker::AccountView;
use crate::config::Config;
use crate::market::synthetic::SyntheticMarket;
use crate::market::MarketData;
use crate::orders::OrderRequest;
use crate::policy::{plan, PolicyParams};
use crate::store::schema::{cycles, signals};
use crate::store::{snapshots, Store, StoreError};
use crate::swarm::instance::DteWindow;
use crate::swarm::outcome::AgentOutcome;
use anyhow::{bail, Context};
use diesel::prelude::*;
use serde::Serialize;

/// What a replay found.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The cycle.
    pub cycle_id: i32,
    /// True when the regenerated market equals the recorded one.
    pub same_market: bool,
    /// Orders the cycle proposed when it ran.
    pub recorded: Vec<OrderRequest>,
    /// Orders the replay proposes.
    pub replayed: Vec<OrderRequest>,
    /// True when both lists are identical.
    pub same_orders: bool,
}

type SignalRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Replays cycle `cycle_id`.
pub fn replay(cfg: &Config, cycle_id: i32) -> anyhow::Result<ReplayReport> {
    let store = Store::open_read_only(&cfg.runtime.data_dir)?;
    let (row, sigs) = store.call_blocking(move |c| {
        let row: Option<(chrono::NaiveDateTime, Option<String>, Option<String>)> = cycles::table
            .find(cycle_id)
            .select((
                cycles::market_ts,
                cycles::snapshot_path,
                cycles::snapshot_sha256,
            ))
            .first(c)
            .optional()?;
        let sigs: Vec<SignalRow> = signals::table
            .filter(signals::cycle_id.eq(cycle_id))
            .order(signals::id.asc())
            .select((
                signals::instance_id,
                signals::template,
                signals::status,
                signals::reason,
                signals::detail,
                signals::raw,
            ))
            .load(c)?;
        Ok::<_, StoreError>((row, sigs))
    })?;
    let Some((market_ts, Some(path), Some(sha))) = row else {
        bail!("replay: cycle {cycle_id} has no recorded snapshot (unknown cycle, failed cycle, or snapshots off)");
    };
    let bytes = snapshots::read_verified(std::path::Path::new(&path), &sha)?;
    let snap: serde_json::Value =
        serde_json::from_slice(&bytes).context("replay: snapshot is not JSON")?;
    let account: AccountView = serde_json::from_value(snap["account_before"].clone())
        .context("replay: snapshot has no account_before")?;
    let recorded: Vec<OrderRequest> = snap["decisions"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .filter(|d| !d["order"].is_null())
                .filter_map(|d| serde_json::from_value(d["order"].clone()).ok())
                .collect()
        })
        .unwrap_or_default();

    let rate = snap["rate"]
        .as_f64()
        .unwrap_or(crate::market::synthetic::DEFAULT_RATE);
    let market =
        SyntheticMarket::new(&cfg.market.symbols, cfg.market.seed, rate).snapshot(market_ts)?;
    // The snapshot names the expiry window its market view shows; snapshots recorded before
    // windows were configurable show the default one.
    let window: DteWindow =
        serde_json::from_value(snap["market_window"].clone()).unwrap_or(DteWindow::DEFAULT);
    let same_market = as_stored(crate::swarm::render::market_view(
        &market,
        &cfg.market.symbols,
        window,
    )) == snap["market"];

    let instances = crate::swarm::instance::load_instances(&cfg.swarm.instances_dir)?;
    let templates = crate::swarm::template::load_templates(&cfg.swarm.templates_dir)?;
    let outcomes: Vec<AgentOutcome> = sigs
        .into_iter()
        .map(|(instance_id, template, status, reason, detail, raw)| {
            let mut o = AgentOutcome {
                instance_id: instance_id.clone(),
                template: template.clone(),
                provider: "replay".into(),
                status,
                signal: None,
                reason,
                detail,
                raw: raw.clone(),
                prompt_sha256: None,
                latency_ms: 0.0,
            };
            // `signals.raw` is the record; an answer cut to 64 KiB there is taken whole from
            // the snapshot, which must match the sha256 its marker names.
            let raw = raw.map(|r| match crate::store::models::cut_raw_sha256(&r) {
                None => r.clone(),
                Some(sha) => snap["agents"]
                    .as_array()
                    .and_then(|agents| {
                        agents
                            .iter()
                            .find(|a| a["instance_id"] == instance_id.as_str())
                            .and_then(|a| a["raw"].as_str())
                            .filter(|whole| snapshots::sha256_hex(whole.as_bytes()) == sha)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| r.clone()),
            });
            if let (Some(raw), Some(inst)) = (raw, instances.iter().find(|i| i.id == instance_id)) {
                let judged = match templates.get(&template) {
                    Some(t) => crate::swarm::offer::judge_answer(&raw, inst, t, &market),
                    None => crate::swarm::signal::parse_answer(&raw, inst, &template, &market),
                };
                match judged {
                    Ok(sig) => {
                        o.status = "ok".into();
                        o.signal = Some(sig);
                    }
                    Err(a) => {
                        o.status = "abstain".into();
                        o.reason = Some(a.reason);
                    }
                }
            }
            o
        })
        .collect();
    let (_, mut decisions) = plan(
        cycle_id,
        &market,
        &account,
        &outcomes,
        &PolicyParams::from_config(cfg),
    );
    // The trading state the cycle planned under (snapshots before it was recorded: none).
    if let Ok(risk) = serde_json::from_value::<crate::risk::RiskStatus>(snap["risk_before"].clone())
    {
        decisions = crate::policy::hold_for_state(decisions, risk.trading_state, &risk.reason);
    }
    // An LLM Commander's recorded choice is applied as it was made.
    if let Ok(choice) =
        serde_json::from_value::<crate::policy::chooser::Choice>(snap["commander_choice"].clone())
    {
        decisions = crate::policy::chooser::apply_choice(decisions, &choice);
    }
    let replayed: Vec<OrderRequest> = decisions.into_iter().filter_map(|d| d.order).collect();
    let same_orders =
        serde_json::to_value(&replayed).ok().map(as_stored) == serde_json::to_value(&recorded).ok();
    Ok(ReplayReport {
        cycle_id,
        same_market,
        recorded,
        replayed,
        same_orders,
    })
}

/// `value` as the snapshot file gives it back: written as JSON text and read again. serde_json
/// (without its `float_roundtrip` feature) may read a 17-digit float back one ulp off what it
/// wrote, and the recorded side of every comparison went through that, so the regenerated side
/// must too.
fn as_stored(value: serde_json::Value) -> serde_json::Value {
    serde_json::to_string(&value)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(value)
}

/// Prints the replay; exit 0 when the same orders come out, 1 otherwise.
pub fn print(cfg: &Config, cycle_id: i32) -> anyhow::Result<i32> {
    let r = replay(cfg, cycle_id)?;
    crate::say!(
        "replay cycle {}: market {}, {} recorded order(s), {} replayed: {}",
        r.cycle_id,
        if r.same_market {
            "identical"
        } else {
            "DIFFERS (config or generator changed)"
        },
        r.recorded.len(),
        r.replayed.len(),
        if r.same_orders {
            "same orders"
        } else {
            "DIFFERENT orders"
        }
    );
    if !r.same_orders {
        crate::say!("recorded: {}", serde_json::to_string(&r.recorded)?);
        crate::say!("replayed: {}", serde_json::to_string(&r.replayed)?);
    }
    Ok(if r.same_orders && r.same_market { 0 } else { 1 })
}
