//! The Commander's deterministic policy (rules mode): aggregate the swarm's signals, size
//! trades with fractional Kelly in code, and plan exits. Nothing an agent says sizes a trade:
//! legs come from the signal, but prices, risk and quantity are recomputed here.

pub mod chooser;

use crate::account::{AccountView, PositionView};
use crate::domain::{Intent, Leg, Signal, Structure};
use crate::market::{years_to_expiry, MarketSnapshot};
use crate::money::to_dec;
use crate::orders::OrderRequest;
use crate::risk::gate::{net_mark, order_risk};
use crate::swarm::outcome::AgentOutcome;
use rust_decimal::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// Policy parameters from `[commander]`, `[swarm]` and `[risk]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyParams {
    /// Drop signals under this confidence.
    pub min_confidence: f64,
    /// At most this many new orders a cycle.
    pub max_orders_per_cycle: u32,
    /// Fraction of full Kelly.
    pub kelly_fraction: f64,
    /// Take profit at this fraction of max profit.
    pub take_profit_pct: f64,
    /// Stop a credit position when its loss reaches this multiple of the credit.
    pub stop_loss_multiple: f64,
    /// Close at or under this many days to expiry.
    pub exit_dte: i64,
    /// Skip positions whose max risk is under this, dollars.
    pub min_position_usd: Decimal,
    /// Market minutes after an opening on an underlying before the next one there.
    pub reentry_cooldown: chrono::Duration,
    /// Signals needed for a trade.
    pub min_quorum: u32,
    /// Cap from `[risk]`: max loss per trade.
    pub max_risk_per_trade: Decimal,
    /// Cap from `[risk]`: capital per trade.
    pub max_capital_per_trade: Decimal,
    /// Cap from `[risk]`: max loss of all open positions together.
    pub max_total_exposure: Decimal,
    /// Cap from `[risk]`: max loss on one underlying as a fraction of `max_total_exposure`.
    pub max_concentration: Decimal,
    /// How entry limits are priced (`[commander] entry_pricing`); exits are always marketable.
    pub entry_pricing: crate::config::EntryPricing,
    /// The venue's fill model (`[broker]`), which prices marketable limits.
    pub fill: crate::pricing::FillParams,
}

impl PolicyParams {
    /// From the config.
    pub fn from_config(c: &crate::config::Config) -> PolicyParams {
        PolicyParams {
            min_confidence: c.commander.min_confidence,
            max_orders_per_cycle: c.commander.max_orders_per_cycle,
            kelly_fraction: c.commander.kelly_fraction,
            take_profit_pct: c.commander.take_profit_pct,
            stop_loss_multiple: c.commander.stop_loss_multiple,
            exit_dte: i64::from(c.commander.exit_dte),
            min_position_usd: to_dec(c.commander.min_position_usd),
            reentry_cooldown: chrono::Duration::seconds(
                (c.commander.reentry_cooldown_min * 60.0).round() as i64,
            ),
            min_quorum: u32::try_from(c.swarm.min_quorum).unwrap_or(u32::MAX),
            max_risk_per_trade: to_dec(c.risk.max_risk_per_trade),
            max_capital_per_trade: to_dec(c.risk.max_capital_per_trade),
            max_total_exposure: to_dec(c.risk.max_total_exposure),
            max_concentration: to_dec(c.risk.max_concentration),
            entry_pricing: c.commander.entry_pricing,
            fill: crate::pricing::FillParams::from_config(&c.broker),
        }
    }
}

/// A group of agreeing signals on one underlying and structure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Underlying.
    pub target: String,
    /// Structure.
    pub structure: Structure,
    /// Agreeing signals.
    pub votes: u32,
    /// Mean confidence of the agreeing signals.
    pub confidence: f64,
    /// Conviction-weighted consensus: agreeing confidence over all answering agents on the target.
    pub consensus: f64,
    /// The most confident agreeing signal (its legs are used).
    pub signal: Signal,
    /// Why it was kept or skipped.
    pub reasoning: String,
}

/// A decision the Commander took, kept in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// ENTRY, EXIT or SKIP.
    pub kind: String,
    /// Underlying.
    pub target: String,
    /// The order, when one is proposed.
    pub order: Option<OrderRequest>,
    /// Why.
    pub reasoning: String,
}

/// Groups valid signals by (target, structure). Abstentions and errors leave the denominator;
/// opposing directional views on one underlying cancel in proportion to their conviction
/// (summed confidence): the weaker side is skipped and the stronger side keeps the share
/// `(strong − weak) / strong` of each signal's confidence, so equal convictions cancel fully
/// and a lone 0.01 dissent barely dents a consensus; groups under the quorum or the minimum
/// (net) confidence are skipped with their reason.
pub fn aggregate(outcomes: &[AgentOutcome], p: &PolicyParams) -> (Vec<Candidate>, Vec<Decision>) {
    let signals: Vec<&Signal> = outcomes.iter().filter_map(|o| o.signal.as_ref()).collect();
    let mut by_target: BTreeMap<&str, Vec<&Signal>> = BTreeMap::new();
    for s in &signals {
        by_target.entry(s.target.as_str()).or_default().push(s);
    }
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for (target, sigs) in by_target {
        let answering = sigs.len() as f64;
        let conviction = |side: i32| -> f64 {
            sigs.iter()
                .filter(|s| s.signal.bias().signum() == side)
                .map(|s| s.confidence)
                .sum()
        };
        let (bull, bear) = (conviction(1), conviction(-1));
        let opposed = bull > 0.0 && bear > 0.0;
        // The side that wins a conflict (0: a tie, both sides cancel), and the share of its
        // conviction left after it.
        let (winner, share) = if !opposed {
            (0, 1.0)
        } else if (bull - bear).abs() <= 1e-12 {
            (0, 0.0)
        } else if bull > bear {
            (1, (bull - bear) / bull)
        } else {
            (-1, (bear - bull) / bear)
        };
        let mut groups: BTreeMap<&str, Vec<&Signal>> = BTreeMap::new();
        for s in sigs.iter().filter(|s| s.signal != Structure::NoTrade) {
            groups.entry(s.signal.as_str()).or_default().push(s);
        }
        for group in groups.values() {
            let votes = group.len() as u32;
            let Some(best) = group
                .iter()
                .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
            else {
                continue;
            };
            let structure = best.signal;
            let side = structure.bias().signum();
            if opposed && side != 0 && side != winner {
                let why = if winner == 0 {
                    "opposing views cancel out"
                } else {
                    "outweighed by the opposing view"
                };
                skipped.push(skip(
                    target,
                    format!("{structure}: {why}: bullish conviction {bull:.2}, bearish {bear:.2}"),
                ));
                continue;
            }
            let scale = if side == 0 { 1.0 } else { share };
            let total: f64 = group.iter().map(|s| s.confidence).sum::<f64>() * scale;
            let confidence = total / f64::from(votes);
            let consensus = total / answering;
            let netted = if scale < 1.0 {
                format!(" net of the opposing view (bullish {bull:.2}, bearish {bear:.2})")
            } else {
                String::new()
            };
            if votes < p.min_quorum {
                skipped.push(skip(
                    target,
                    format!("{structure}: {votes} vote(s) under quorum {}", p.min_quorum),
                ));
            } else if confidence < p.min_confidence {
                skipped.push(skip(
                    target,
                    format!(
                        "{structure}: confidence {confidence:.2}{netted} under {:.2}",
                        p.min_confidence
                    ),
                ));
            } else {
                kept.push(Candidate {
                    target: target.to_string(),
                    structure,
                    votes,
                    confidence,
                    consensus,
                    signal: (*best).clone(),
                    reasoning: format!(
                        "{structure} on {target}: {votes} vote(s), confidence {confidence:.2}{netted}, consensus {consensus:.2}; lead {}: {}",
                        best.instance_id, best.reasoning
                    ),
                });
            }
        }
    }
    kept.sort_by(|a, b| (b.consensus * b.confidence).total_cmp(&(a.consensus * a.confidence)));
    (kept, skipped)
}

fn skip(target: &str, reasoning: String) -> Decision {
    Decision {
        kind: "SKIP".into(),
        target: target.to_string(),
        order: None,
        reasoning,
    }
}

/// Holds back what the gate's trading state at the start of the cycle would deny anyway, as
/// SKIPs with the reason: under REDUCING every entry (exits go on), under HALTED every order
/// (exits wait for `reset-breaker` or the watchdog's flatten). Deterministic; the gate still
/// checks every order that is proposed.
pub fn hold_for_state(
    decisions: Vec<Decision>,
    state: crate::risk::TradingState,
    reason: &str,
) -> Vec<Decision> {
    use crate::risk::TradingState;
    decisions
        .into_iter()
        .map(|d| {
            let held = match state {
                TradingState::Active => false,
                TradingState::Reducing => d.kind == "ENTRY",
                TradingState::Halted => d.order.is_some(),
            };
            if !held {
                return d;
            }
            let why = match state {
                TradingState::Halted => {
                    "nothing trades until reset-breaker or the watchdog's flatten"
                }
                _ => "exits only",
            };
            skip(
                &d.target,
                format!("{}; held: trading {state} ({reason}): {why}", d.reasoning),
            )
        })
        .collect()
}

/// Legs with their current marks as prices (the agent's prices are never used).
fn repriced(legs: &[Leg], m: &MarketSnapshot) -> Option<Vec<Leg>> {
    legs.iter()
        .map(|l| m.mark(&l.contract).map(|price| Leg { price, ..l.clone() }))
        .collect()
}

/// Sizes a candidate: fractional Kelly from the spread's probability of profit and payoff,
/// capped by the per-trade risk and capital limits and by the room left under the total
/// exposure and concentration limits (after `planned`, the max loss of entries already planned
/// this cycle), so the Commander does not propose what the gate would deny; `Err` explains a
/// skip. The risk gate still checks every limit itself.
pub fn size_entry(
    c: &Candidate,
    m: &MarketSnapshot,
    account: &AccountView,
    p: &PolicyParams,
    planned: Decimal,
    client_order_id: String,
    cycle_id: i32,
) -> Result<OrderRequest, String> {
    let legs = repriced(&c.signal.params.legs, m).ok_or("a leg has no quote")?;
    let limit = match p.entry_pricing {
        crate::config::EntryPricing::Marketable => {
            crate::pricing::marketable_limit(&legs, m, &p.fill).ok_or("a leg has no mark")?
        }
        crate::config::EntryPricing::Mid => net_mark(&legs, m)
            .map_err(|k| format!("no mark for {k}"))?
            .round_dp(2),
    };
    let unit = order_risk(&legs, limit, 1).map_err(|d| d.to_string())?;
    if unit.max_loss <= Decimal::ZERO {
        return Err("no risk at this price: the quote is crossed or stale".into());
    }
    let u = m.underlyings.get(&c.target).ok_or("unknown underlying")?;
    let expiry = legs.first().map(|l| l.contract.expiry).ok_or("no legs")?;
    let t = years_to_expiry(m.ts, expiry);
    // The edge of selling rich premium is realized vol under implied: forecast with the
    // realized vol when it is known, else the implied (which gives no edge, so no trade).
    let forecast_vol = if u.realized_vol > 0.0 {
        u.realized_vol
    } else {
        u.atm_iv
    };
    let pop = crate::skills::spreads::probability_of_profit(
        &legs,
        u.spot,
        m.rate,
        u.dividend_yield,
        forecast_vol,
        t,
    )
    .map_err(|e| e.to_string())?;
    let win = unit.max_profit.to_f64().unwrap_or(0.0);
    let loss = unit.max_loss.to_f64().unwrap_or(0.0);
    let f = crate::skills::kelly::fractional_kelly(pop, win, loss, p.kelly_fraction, 1.0);
    let budget = to_dec(f) * account.equity;
    let risk_cap = budget.min(p.max_risk_per_trade);
    let by_risk = (risk_cap / unit.max_loss).floor();
    let by_capital = if unit.capital > Decimal::ZERO {
        (p.max_capital_per_trade / unit.capital).floor()
    } else {
        by_risk
    };
    let total_room = p.max_total_exposure - account.total_exposure() - planned;
    let target_room = p.max_total_exposure * p.max_concentration - account.exposure_in(&c.target);
    let room = total_room.min(target_room).max(Decimal::ZERO);
    let by_room = (room / unit.max_loss).floor();
    if by_room.is_zero() && !by_risk.min(by_capital).is_zero() {
        return Err(format!(
            "no room under the exposure limits: total {:.2} + planned {planned:.2} of max_total_exposure {}, {:.2} on {} of {:.2} (max_concentration {}), one lot risks {:.2}",
            account.total_exposure(),
            p.max_total_exposure,
            account.exposure_in(&c.target),
            c.target,
            p.max_total_exposure * p.max_concentration,
            p.max_concentration,
            unit.max_loss
        ));
    }
    let qty = by_risk.min(by_capital).min(by_room).to_u32().unwrap_or(0);
    let position_risk = unit.max_loss * Decimal::from(qty);
    if qty == 0 || position_risk < p.min_position_usd {
        return Err(format!(
            "size {qty}: kelly {f:.4} (pop {pop:.3} at vol {forecast_vol:.3}, win {win:.2}, loss {loss:.2}) gives budget {budget:.2}; position risk {position_risk:.2} under {} or zero",
            p.min_position_usd
        ));
    }
    Ok(OrderRequest {
        client_order_id,
        cycle_id: Some(cycle_id),
        instance_id: c.signal.instance_id.clone(),
        underlying: c.target.clone(),
        strategy: c.structure,
        intent: Intent::Open,
        position_id: None,
        legs,
        quantity: qty,
        limit_price: limit,
        reasoning: format!(
            "{}; sized {qty} by {:.2}x Kelly {f:.4} (pop {pop:.3} at realized vol {forecast_vol:.3}) of equity {:.2}, max risk {position_risk:.2}",
            c.reasoning, p.kelly_fraction, account.equity
        ),
        market_ts: m.ts,
    })
}

/// Which exit rule, if any, a position meets now.
pub fn exit_rule(
    pos: &PositionView,
    m: &MarketSnapshot,
    p: &PolicyParams,
) -> Option<(Intent, String)> {
    let dte = (pos.expiry - m.ts.date()).num_days();
    if dte <= p.exit_dte {
        return Some((
            Intent::TimeExit,
            format!("{dte} days to expiry <= {}", p.exit_dte),
        ));
    }
    let qty = Decimal::from(pos.quantity.max(1));
    let max_profit_ps = pos.max_profit / qty / Decimal::ONE_HUNDRED;
    let pnl_ps = pos.entry_price - pos.mark;
    let tp = to_dec(p.take_profit_pct) * max_profit_ps;
    if pnl_ps >= tp && tp > Decimal::ZERO {
        return Some((
            Intent::TakeProfit,
            format!(
                "profit {pnl_ps:.2}/share >= {:.0}% of max profit {max_profit_ps:.2}",
                p.take_profit_pct * 100.0
            ),
        ));
    }
    let stop = if pos.entry_price > Decimal::ZERO {
        to_dec(p.stop_loss_multiple) * pos.entry_price
    } else {
        -pos.entry_price / Decimal::TWO
    };
    if -pnl_ps >= stop && stop > Decimal::ZERO {
        return Some((
            Intent::StopLoss,
            format!("loss {:.2}/share >= stop {stop:.2}", -pnl_ps),
        ));
    }
    None
}

/// The closing order for a position that meets an exit rule, at a marketable limit under the
/// venue's fill model `fill` (a stop must fill).
pub fn exit_order(
    pos: &PositionView,
    m: &MarketSnapshot,
    fill: &crate::pricing::FillParams,
    intent: Intent,
    why: &str,
    client_order_id: String,
    cycle_id: i32,
) -> Option<OrderRequest> {
    let legs: Vec<Leg> = crate::domain::closing_legs(&pos.legs);
    let legs = repriced(&legs, m)?;
    let limit = crate::pricing::marketable_limit(&legs, m, fill)?;
    Some(OrderRequest {
        client_order_id,
        cycle_id: Some(cycle_id),
        instance_id: "commander".into(),
        underlying: pos.underlying.clone(),
        strategy: pos.strategy,
        intent,
        position_id: Some(pos.position_id.clone()),
        legs,
        quantity: pos.quantity,
        limit_price: limit,
        reasoning: format!(
            "{intent} {}: {why}; entry {:.2}, mark {:.2}",
            pos.position_id, pos.entry_price, pos.mark
        ),
        market_ts: m.ts,
    })
}

/// The client order id of the `n`th order of a cycle (stable, so replay reproduces it).
pub fn client_order_id(cycle_id: i32, n: u32) -> String {
    format!("AH-{cycle_id:07}-{n:02}")
}

/// One cycle's decisions from its inputs: exits for open positions first, then entries from
/// the aggregated signals (one per underlying, at most `max_orders_per_cycle`, none inside the
/// re-entry cooldown). Pure: the Commander and `replay` both call it.
pub fn plan(
    cycle_id: i32,
    snapshot: &MarketSnapshot,
    account: &AccountView,
    outcomes: &[AgentOutcome],
    params: &PolicyParams,
) -> (Vec<Candidate>, Vec<Decision>) {
    let mut decisions: Vec<Decision> = Vec::new();
    let mut n = 0u32;
    let mut next_id = || {
        n += 1;
        client_order_id(cycle_id, n)
    };
    for pos in &account.positions {
        if let Some((intent, why)) = exit_rule(pos, snapshot, params) {
            let order = exit_order(
                pos,
                snapshot,
                &params.fill,
                intent,
                &why,
                next_id(),
                cycle_id,
            );
            let reasoning = order
                .as_ref()
                .map(|o| o.reasoning.clone())
                .unwrap_or_else(|| format!("{intent}: {why}; no quote to close"));
            decisions.push(Decision {
                kind: "EXIT".into(),
                target: pos.underlying.clone(),
                order,
                reasoning,
            });
        }
    }
    let (candidates, skipped) = aggregate(outcomes, params);
    decisions.extend(skipped);
    let mut entries = 0u32;
    let mut planned = Decimal::ZERO;
    let mut used = std::collections::BTreeSet::new();
    for c in &candidates {
        if entries >= params.max_orders_per_cycle {
            decisions.push(skip(
                &c.target,
                format!(
                    "{}: max_orders_per_cycle {} reached",
                    c.reasoning, params.max_orders_per_cycle
                ),
            ));
            continue;
        }
        if !used.insert(c.target.clone()) {
            continue;
        }
        let recent = account
            .positions
            .iter()
            .filter(|p| p.underlying == c.target)
            .map(|p| p.opened_at)
            .max();
        if let Some(opened) = recent.filter(|t| snapshot.ts - *t < params.reentry_cooldown) {
            decisions.push(skip(
                &c.target,
                format!(
                    "{}: a position on {} opened at {opened}, inside the re-entry cooldown",
                    c.reasoning, c.target
                ),
            ));
            continue;
        }
        match size_entry(c, snapshot, account, params, planned, next_id(), cycle_id) {
            Ok(order) => {
                entries += 1;
                planned += order_risk(&order.legs, order.limit_price, order.quantity)
                    .map(|r| r.max_loss)
                    .unwrap_or_default();
                decisions.push(Decision {
                    kind: "ENTRY".into(),
                    target: c.target.clone(),
                    reasoning: order.reasoning.clone(),
                    order: Some(order),
                });
            }
            Err(why) => decisions.push(skip(&c.target, format!("{}: {why}", c.reasoning))),
        }
    }
    (candidates, decisions)
}

#[cfg(test)]
mod tests;
