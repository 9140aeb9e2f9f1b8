//! `alphahive replay --cycle ID`: decide a recorded cycle again from its snapshot alone and
//! say whether the same orders and the same verdicts come out.
//!
//! The snapshot is verified against its sha256. The market is the one the cycle's decisions
//! read (`decision_market`: every quote an answer, a position or an order named), so a cycle
//! replays for any market source with no network call; snapshots written before it was
//! recorded fall back to regenerating the synthetic market from the seed. Every recorded answer
//! goes through validation again, the Commander's pure policy (`policy::plan`) runs on the
//! recorded account and trading state, an LLM Commander's recorded choice is applied, and each
//! recorded verdict is decided again by the risk gate from what the gate saw
//! (`risk::replay::GateInput`) under the limits of the current config.

use crate::account::AccountView;
use crate::config::Config;
use crate::market::synthetic::SyntheticMarket;
use crate::market::{MarketData, MarketSnapshot};
use crate::orders::OrderRequest;
use crate::policy::{plan, PolicyParams};
use crate::risk::replay::{decide_again, GateInput};
use crate::risk::RiskLimits;
use crate::store::schema::{cycles, signals};
use crate::store::{snapshots, Store, StoreError};
use crate::swarm::instance::DteWindow;
use crate::swarm::outcome::AgentOutcome;
use anyhow::{bail, Context};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// One order's verdict, as recorded and as decided again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictReplay {
    /// The order.
    pub client_order_id: String,
    /// `APPROVED`, `DENIED` or `ERROR`, with the denial code: `DENIED MAX_RISK_PER_TRADE`.
    pub recorded: String,
    /// The same for the replay (`NOT REPLAYED` when the record holds no gate input).
    pub replayed: String,
}

/// What a replay found.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The cycle.
    pub cycle_id: i32,
    /// `recorded` (the snapshot's decision market) or `regenerated` (older snapshots).
    pub market_source: &'static str,
    /// True when the market is the one the cycle saw (always, when recorded).
    pub same_market: bool,
    /// True when the config's decision sections hash as recorded for the cycle.
    pub same_config: Option<bool>,
    /// Orders the cycle proposed when it ran.
    pub recorded: Vec<OrderRequest>,
    /// Orders the replay proposes.
    pub replayed: Vec<OrderRequest>,
    /// True when both lists are identical.
    pub same_orders: bool,
    /// Every recorded verdict, decided again.
    pub verdicts: Vec<VerdictReplay>,
    /// True when every verdict came out the same.
    pub same_verdicts: bool,
}

impl ReplayReport {
    /// Orders and verdicts both the same.
    pub fn same(&self) -> bool {
        self.same_orders && self.same_verdicts && self.same_market
    }
}

type SignalRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The recorded cycle: its snapshot, the config hash it ran under, its agents' rows.
struct Recorded {
    market_ts: chrono::NaiveDateTime,
    config_sha256: Option<String>,
    snap: Value,
    signals: Vec<SignalRow>,
}

fn load(cfg: &Config, cycle_id: i32) -> anyhow::Result<Recorded> {
    let store = Store::open_read_only(&cfg.runtime.data_dir)?;
    let (row, signals) = store.call_blocking(move |c| {
        type Row = (
            chrono::NaiveDateTime,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let row: Option<Row> = cycles::table
            .find(cycle_id)
            .select((
                cycles::market_ts,
                cycles::snapshot_path,
                cycles::snapshot_sha256,
                cycles::config_sha256,
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
    let Some((market_ts, Some(path), Some(sha), config_sha256)) = row else {
        bail!("replay: cycle {cycle_id} has no recorded snapshot (unknown cycle, failed cycle, or snapshots off)");
    };
    let bytes = snapshots::read_verified(std::path::Path::new(&path), &sha)?;
    let snap = serde_json::from_slice(&bytes).context("replay: snapshot is not JSON")?;
    Ok(Recorded {
        market_ts,
        config_sha256,
        snap,
        signals,
    })
}

/// The market the decisions read: recorded, or (older snapshots) regenerated and compared
/// with the recorded agents' view.
fn market(cfg: &Config, rec: &Recorded) -> anyhow::Result<(MarketSnapshot, &'static str, bool)> {
    if !rec.snap["decision_market"].is_null() {
        let m = serde_json::from_value(rec.snap["decision_market"].clone())
            .context("replay: the snapshot's decision_market does not read as a market")?;
        return Ok((m, "recorded", true));
    }
    let rate = rec.snap["rate"]
        .as_f64()
        .unwrap_or(crate::market::synthetic::DEFAULT_RATE);
    let market =
        SyntheticMarket::new(&cfg.market.symbols, cfg.market.seed, rate).snapshot(rec.market_ts)?;
    let window: DteWindow =
        serde_json::from_value(rec.snap["market_window"].clone()).unwrap_or(DteWindow::DEFAULT);
    let view = crate::swarm::render::market_view(&market, &cfg.market.symbols, window);
    let same = as_stored(view) == rec.snap["market"];
    Ok((market, "regenerated", same))
}

/// `signals.raw` is the record; an answer cut to 64 KiB there is taken whole from the
/// snapshot, which must match the sha256 its marker names.
fn whole_raw(snap: &Value, instance_id: &str, raw: &str) -> String {
    let Some(sha) = crate::store::models::cut_raw_sha256(raw) else {
        return raw.to_string();
    };
    snap["agents"]
        .as_array()
        .and_then(|agents| {
            agents
                .iter()
                .find(|a| a["instance_id"] == instance_id)
                .and_then(|a| a["raw"].as_str())
                .filter(|whole| snapshots::sha256_hex(whole.as_bytes()) == sha)
                .map(str::to_string)
        })
        .unwrap_or_else(|| raw.to_string())
}

/// Every recorded answer validated again against the market.
fn outcomes(
    cfg: &Config,
    rec: &Recorded,
    market: &MarketSnapshot,
) -> anyhow::Result<Vec<AgentOutcome>> {
    let instances = crate::swarm::instance::load_instances(&cfg.swarm.instances_dir)?;
    let templates = crate::swarm::template::load_templates(&cfg.swarm.templates_dir)?;
    let mut out = Vec::new();
    for (instance_id, template, status, reason, detail, raw) in rec.signals.iter().cloned() {
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
        let raw = raw.map(|r| whole_raw(&rec.snap, &instance_id, &r));
        if let (Some(raw), Some(inst)) = (raw, instances.iter().find(|i| i.id == instance_id)) {
            let judged = match templates.get(&template) {
                Some(t) => crate::swarm::offer::judge_answer(&raw, inst, t, market),
                None => crate::swarm::signal::parse_answer(&raw, inst, &template, market),
            };
            o = o.judged(judged);
        }
        out.push(o);
    }
    Ok(out)
}

/// The orders the policy proposes again from the recorded inputs.
fn replay_orders(
    cfg: &Config,
    rec: &Recorded,
    market: &MarketSnapshot,
    outcomes: &[AgentOutcome],
) -> anyhow::Result<Vec<OrderRequest>> {
    let account: AccountView = serde_json::from_value(rec.snap["account_before"].clone())
        .context("replay: snapshot has no account_before")?;
    let cycle_id = rec.snap["cycle_id"].as_i64().unwrap_or_default() as i32;
    let params = PolicyParams::from_config(cfg);
    let (_, mut decisions) = plan(cycle_id, market, &account, outcomes, &params);
    // The trading state the cycle planned under (snapshots before it was recorded: none).
    if let Ok(risk) =
        serde_json::from_value::<crate::risk::RiskStatus>(rec.snap["risk_before"].clone())
    {
        decisions = crate::policy::hold_for_state(decisions, risk.trading_state, &risk.reason);
    }
    // An LLM Commander's recorded choice is applied as it was made.
    if let Ok(choice) = serde_json::from_value::<crate::policy::chooser::Choice>(
        rec.snap["commander_choice"].clone(),
    ) {
        decisions = crate::policy::chooser::apply_choice(decisions, &choice);
    }
    Ok(decisions.into_iter().filter_map(|d| d.order).collect())
}

fn verdict_label(decision: &str, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{decision} {code}"),
        None => decision.to_string(),
    }
}

/// Every recorded verdict decided again by the gate from what it saw.
fn replay_verdicts(cfg: &Config, rec: &Recorded, orders: &[OrderRequest]) -> Vec<VerdictReplay> {
    let limits = RiskLimits::from_config(&cfg.risk, &cfg.broker, &cfg.market.symbols);
    let verdicts = rec.snap["verdicts"].as_array().cloned().unwrap_or_default();
    verdicts
        .iter()
        .map(|v| {
            let coid = v["client_order_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let recorded = verdict_label(
                v["decision"].as_str().unwrap_or_default(),
                v["code"].as_str(),
            );
            let input = serde_json::from_value::<GateInput>(v["gate_input"].clone()).ok();
            let order = orders.iter().find(|o| o.client_order_id == coid);
            let replayed = match (input, order) {
                (Some(input), Some(order)) => match decide_again(limits.clone(), order, &input) {
                    Ok(_) => "APPROVED".to_string(),
                    Err(d) => verdict_label("DENIED", Some(d.code())),
                },
                _ => "NOT REPLAYED".to_string(),
            };
            VerdictReplay {
                client_order_id: coid,
                recorded,
                replayed,
            }
        })
        .collect()
}

/// Replays cycle `cycle_id`.
pub fn replay(cfg: &Config, cycle_id: i32) -> anyhow::Result<ReplayReport> {
    let rec = load(cfg, cycle_id)?;
    let (market, market_source, same_market) = market(cfg, &rec)?;
    let outcomes = outcomes(cfg, &rec, &market)?;
    let replayed = replay_orders(cfg, &rec, &market, &outcomes)?;
    let recorded: Vec<OrderRequest> = rec.snap["decisions"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .filter(|d| !d["order"].is_null())
                .filter_map(|d| serde_json::from_value(d["order"].clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let same_orders =
        serde_json::to_value(&replayed).ok().map(as_stored) == serde_json::to_value(&recorded).ok();
    let verdicts = replay_verdicts(cfg, &rec, &recorded);
    let same_verdicts = verdicts.iter().all(|v| v.recorded == v.replayed);
    let same_config = rec
        .config_sha256
        .as_deref()
        .map(|sha| sha == crate::config::decision_sha256(cfg));
    Ok(ReplayReport {
        cycle_id,
        market_source,
        same_market,
        same_config,
        recorded,
        replayed,
        same_orders,
        verdicts,
        same_verdicts,
    })
}

/// `value` as the snapshot file gives it back: written as JSON text and read again.
fn as_stored(value: Value) -> Value {
    serde_json::to_string(&value)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(value)
}

/// Prints the replay, order by order, and a last line `same` or `different`; exit 0 when
/// the same orders and verdicts come out, 1 otherwise.
pub fn print(cfg: &Config, cycle_id: i32) -> anyhow::Result<i32> {
    let r = replay(cfg, cycle_id)?;
    let market = match (r.market_source, r.same_market) {
        ("recorded", _) => "recorded",
        (_, true) => "identical",
        _ => "DIFFERS (config or generator changed)",
    };
    crate::say!(
        "replay cycle {}: market {market}, {} recorded order(s), {} replayed: {}",
        r.cycle_id,
        r.recorded.len(),
        r.replayed.len(),
        if r.same_orders {
            "same orders"
        } else {
            "DIFFERENT orders"
        }
    );
    match r.same_config {
        Some(false) => crate::say!(
            "config: DIFFERS from the one the cycle ran under (risk, commander, broker or market sections)"
        ),
        None => crate::say!("config: no hash recorded for this cycle"),
        Some(true) => {}
    }
    for v in &r.verdicts {
        let mark = if v.recorded == v.replayed {
            "same"
        } else {
            "DIFFERENT"
        };
        crate::say!(
            "order {}: recorded {} · replayed {} · {mark}",
            v.client_order_id,
            v.recorded,
            v.replayed
        );
    }
    if !r.same_orders {
        crate::say!("recorded: {}", serde_json::to_string(&r.recorded)?);
        crate::say!("replayed: {}", serde_json::to_string(&r.replayed)?);
    }
    crate::say!("{}", if r.same() { "same" } else { "different" });
    Ok(if r.same() { 0 } else { 1 })
}
