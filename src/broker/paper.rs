//! The paper venue: cash and positions live in the store, so any process holding a
//! connection (the runtime's Broker actor, the watchdog, the kill switch) can read, mark,
//! fill and flatten the same book. Every fill is one SQLite transaction: fills, order status,
//! cash and position move together or not at all.

use super::{AccountView, Execution, LegFill, PositionView};
use crate::domain::{Action, Intent, Leg, Structure};
use crate::market::MarketSnapshot;
use crate::orders::OrderEvent;
use crate::pricing::{self, net_of, FillParams, LegQuote};
use crate::risk::gate::{order_risk, to_dec};
use crate::risk::ApprovedOrder;
use crate::store::models::{self, dec, now, NewFill, PositionRow};
use crate::store::schema::{account_snapshots, fills, orders, paper_account, positions};
use crate::store::StoreError;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

/// The venue's fill parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperParams {
    /// Commission per contract per leg.
    pub commission_per_contract: Decimal,
    /// Dollars per share a fill moves from mid against us.
    pub slippage_per_share: Decimal,
    /// Cash the account starts with.
    pub starting_cash: Decimal,
    /// How fills are priced.
    pub fill_model: crate::config::FillModel,
    /// Fraction of the half-spread paid under `half_spread`.
    pub fill_k: Decimal,
    /// Chance that a limit better than the model's fill price fills (at the limit).
    pub limit_fill_probability: f64,
}

impl PaperParams {
    /// The fill model these parameters describe.
    pub fn fill(&self) -> FillParams {
        FillParams {
            model: self.fill_model,
            fill_k: self.fill_k,
            slippage_per_share: self.slippage_per_share,
        }
    }

    /// From `[broker]`.
    pub fn from_config(b: &crate::config::BrokerConfig) -> PaperParams {
        PaperParams {
            fill_model: b.fill_model,
            fill_k: to_dec(b.fill_k),
            limit_fill_probability: b.limit_fill_probability,
            commission_per_contract: to_dec(b.commission_per_contract),
            slippage_per_share: to_dec(b.slippage_per_share),
            starting_cash: to_dec(b.starting_cash),
        }
    }
}

/// Creates the account row on first use; returns the cash.
pub fn ensure_account(
    conn: &mut SqliteConnection,
    params: &PaperParams,
) -> Result<Decimal, StoreError> {
    let existing: Option<String> = paper_account::table
        .find(1)
        .select(paper_account::cash)
        .first(conn)
        .optional()?;
    if let Some(cash) = existing {
        return dec(&cash);
    }
    diesel::insert_into(paper_account::table)
        .values((
            paper_account::id.eq(1),
            paper_account::cash.eq(params.starting_cash.to_string()),
            paper_account::starting_cash.eq(params.starting_cash.to_string()),
            paper_account::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(params.starting_cash)
}

fn cash(conn: &mut SqliteConnection) -> Result<Decimal, StoreError> {
    let c: String = paper_account::table
        .find(1)
        .select(paper_account::cash)
        .first(conn)?;
    dec(&c)
}

fn add_cash(conn: &mut SqliteConnection, delta: Decimal) -> Result<(), StoreError> {
    let c = cash(conn)? + delta;
    diesel::update(paper_account::table.find(1))
        .set((
            paper_account::cash.eq(c.to_string()),
            paper_account::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Converts a stored position row.
pub fn position_view(row: &PositionRow) -> Result<PositionView, StoreError> {
    let legs: Vec<Leg> = serde_json::from_str(&row.legs_json)
        .map_err(|e| StoreError::Corrupt(format!("position {} legs: {e}", row.position_id)))?;
    Ok(PositionView {
        position_id: row.position_id.clone(),
        instance_id: row.instance_id.clone(),
        underlying: row.underlying.clone(),
        strategy: Structure::parse(&row.strategy).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "position {} strategy {}",
                row.position_id, row.strategy
            ))
        })?,
        expiry: row.expiry,
        legs,
        quantity: u32::try_from(row.quantity).unwrap_or(0),
        entry_price: dec(&row.entry_price)?,
        mark: dec(&row.mark)?,
        max_risk: dec(&row.max_risk)?,
        max_profit: dec(&row.max_profit)?,
        unrealized_pnl: dec(&row.unrealized_pnl)?,
        opened_at: row.opened_at,
        leg_marks: match &row.leg_marks_json {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| {
                StoreError::Corrupt(format!("position {} leg marks: {e}", row.position_id))
            })?),
            None => None,
        },
    })
}

/// Open positions as last marked.
pub fn open_positions(conn: &mut SqliteConnection) -> Result<Vec<PositionView>, StoreError> {
    models::open_positions(conn)?
        .iter()
        .map(position_view)
        .collect()
}

/// Re-marks a position against `market`: its legs' quotes and their net mid (credit positive).
/// Without a market, or when a leg has no mark, the last marks stand.
fn remark(p: &mut PositionView, market: Option<&MarketSnapshot>) -> bool {
    match market.and_then(|m| pricing::leg_quotes(&p.legs, m)) {
        Some(quotes) => {
            p.mark = pricing::net_mid(&p.legs, &quotes);
            p.leg_marks = Some(quotes);
            true
        }
        None => false,
    }
}

fn marks_json(marks: &Option<Vec<LegQuote>>) -> Result<Option<String>, StoreError> {
    marks
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Marks every open position and computes the account; when `record`, persists the marks on
/// the positions and appends an `account_snapshots` row. One transaction.
pub fn mark_account(
    conn: &mut SqliteConnection,
    market: Option<&MarketSnapshot>,
    market_ts: NaiveDateTime,
    cycle_id: Option<i32>,
    record: bool,
) -> Result<AccountView, StoreError> {
    conn.immediate_transaction(|conn| {
        let cash = cash(conn)?;
        let mut positions_out = Vec::new();
        let mut value = Decimal::ZERO;
        for mut p in open_positions(conn)? {
            let remarked = remark(&mut p, market);
            let qty = Decimal::from(p.quantity);
            p.unrealized_pnl = (p.entry_price - p.mark) * Decimal::ONE_HUNDRED * qty;
            value -= p.mark * Decimal::ONE_HUNDRED * qty;
            if record && remarked {
                diesel::update(positions::table.filter(positions::position_id.eq(&p.position_id)))
                    .set((
                        positions::mark.eq(p.mark.to_string()),
                        positions::unrealized_pnl.eq(p.unrealized_pnl.to_string()),
                        positions::leg_marks_json.eq(marks_json(&p.leg_marks)?),
                        positions::marked_at.eq(Some(market_ts)),
                        positions::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
            positions_out.push(p);
        }
        let equity = cash + value;
        let day = market_ts.date();
        // The day starts from the previous session's close, so a gap at the open counts
        // toward the daily loss limit and the drawdown breaker.
        let (day_start, hwm) = match models::day_equity_marks(conn, day)? {
            Some((start, hwm)) => (start, hwm.max(equity)),
            None => {
                let start = models::previous_close_equity(conn, day)?.unwrap_or(equity);
                (start, start.max(equity))
            }
        };
        let view = AccountView {
            market_ts,
            cash,
            positions_value: value,
            equity,
            day_start_equity: day_start,
            high_water_mark: hwm,
            day_pnl: equity - day_start,
            positions: positions_out,
        };
        if record {
            diesel::insert_into(account_snapshots::table)
                .values(&models::AccountSnapshotRow {
                    cycle_id,
                    market_ts,
                    trading_day: day,
                    cash: view.cash.to_string(),
                    positions_value: view.positions_value.to_string(),
                    equity: view.equity.to_string(),
                    day_start_equity: view.day_start_equity.to_string(),
                    day_pnl: view.day_pnl.to_string(),
                    high_water_mark: view.high_water_mark.to_string(),
                    open_positions: view.positions.len() as i32,
                    created_at: now(),
                })
                .execute(conn)?;
        }
        Ok(view)
    })
}

/// A deterministic draw in [0, 1) for an order (FNV-1a of its id), so replays and reruns agree.
fn draw(client_order_id: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client_order_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Prices and books the legs of an order; returns the leg fills and the net per-share price.
#[allow(clippy::too_many_arguments)]
fn book_fills(
    conn: &mut SqliteConnection,
    coid: &str,
    cycle_id: Option<i32>,
    legs: &[Leg],
    quantity: u32,
    prices: &[Decimal],
    commission_per_contract: Decimal,
    market_ts: NaiveDateTime,
) -> Result<(Vec<LegFill>, Decimal), StoreError> {
    let mut out = Vec::new();
    let mut net = Decimal::ZERO;
    for (i, (leg, price)) in legs.iter().zip(prices).enumerate() {
        let contracts = leg.quantity * quantity;
        let n = Decimal::from(contracts);
        let commission = commission_per_contract * n;
        let premium = *price * Decimal::ONE_HUNDRED * n;
        let cash_delta = -Decimal::from(leg.action.sign()) * premium - commission;
        net -= Decimal::from(leg.action.sign()) * *price * Decimal::from(leg.quantity);
        diesel::insert_into(fills::table)
            .values(&NewFill {
                client_order_id: coid.to_string(),
                cycle_id,
                leg_index: i as i32,
                contract: leg.contract.key(),
                action: format!("{:?}", leg.action).to_uppercase(),
                quantity: contracts as i32,
                price: price.to_string(),
                commission: commission.to_string(),
                cash_delta: cash_delta.to_string(),
                market_ts,
                created_at: now(),
            })
            .execute(conn)?;
        add_cash(conn, cash_delta)?;
        out.push(LegFill {
            contract: leg.contract.key(),
            action: leg.action,
            quantity: contracts,
            price: *price,
            commission,
            cash_delta,
        });
    }
    Ok((out, net))
}

/// Commission of one combo unit.
fn unit_commission(legs: &[Leg], per_contract: Decimal) -> Decimal {
    legs.iter()
        .map(|l| per_contract * Decimal::from(l.quantity))
        .sum()
}

#[allow(clippy::too_many_arguments)]
/// Closes `quantity` units of a position at `net` (per share, credit positive) and returns
/// the realized P&L including both sides' commissions.
fn close_position(
    conn: &mut SqliteConnection,
    pos: &PositionView,
    quantity: u32,
    net: Decimal,
    close_commission: Decimal,
    per_contract: Decimal,
    intent: Intent,
    market_ts: NaiveDateTime,
) -> Result<Decimal, StoreError> {
    let q = Decimal::from(quantity);
    let realized = (pos.entry_price + net) * Decimal::ONE_HUNDRED * q
        - unit_commission(&pos.legs, per_contract) * q
        - close_commission;
    let row: PositionRow = positions::table
        .filter(positions::position_id.eq(&pos.position_id))
        .select(PositionRow::as_select())
        .first(conn)?;
    let remaining = pos.quantity - quantity;
    let keep = Decimal::from(remaining) / Decimal::from(pos.quantity.max(1));
    let total_realized = dec(&row.realized_pnl)? + realized;
    diesel::update(positions::table.filter(positions::position_id.eq(&pos.position_id)))
        .set((
            positions::quantity.eq(remaining as i32),
            positions::realized_pnl.eq(total_realized.to_string()),
            positions::max_risk.eq((pos.max_risk * keep).round_dp(2).to_string()),
            positions::max_profit.eq((pos.max_profit * keep).round_dp(2).to_string()),
            positions::closed_at.eq(if remaining == 0 {
                Some(market_ts)
            } else {
                None
            }),
            positions::close_intent.eq(if remaining == 0 {
                Some(intent.as_str())
            } else {
                None
            }),
            positions::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(realized)
}

/// Per-leg fill prices of a limit order, never worse than its limit: at the fill model's
/// prices when they net the limit or better; when the limit is better than that (a limit that
/// would rest), at the limit with `limit_fill_probability` (a deterministic draw per order);
/// `Err` (not filled this cycle, with the reason) otherwise.
pub fn limit_fill(
    order: &crate::orders::OrderRequest,
    quotes: &[LegQuote],
    fill: &FillParams,
    limit_fill_probability: f64,
) -> Result<Vec<Decimal>, String> {
    let model: Vec<Decimal> = order
        .legs
        .iter()
        .zip(quotes)
        .map(|(l, q)| fill.leg_price(l.action, q))
        .collect();
    let model_net = net_of(&order.legs, &model);
    let prices = if model_net >= order.limit_price {
        model
    } else {
        let u = draw(&order.client_order_id);
        if u >= limit_fill_probability {
            return Err(format!(
                "limit {} better than the fill {model_net}; not filled this cycle (draw {u:.3} >= p {limit_fill_probability})",
                order.limit_price
            ));
        }
        pricing::prices_at_limit(&order.legs, &model, order.limit_price).ok_or_else(|| {
            format!(
                "limit {} better than the fill {model_net} and no leg can take the difference; not filled",
                order.limit_price
            )
        })?
    };
    // The one rule of a limit order, checked on what is about to be booked.
    let net = net_of(&order.legs, &prices);
    if net < order.limit_price {
        return Err(format!(
            "fill {net} would be worse than the limit {}; not filled",
            order.limit_price
        ));
    }
    Ok(prices)
}

/// Fills an approved order at its limit or better (see [`limit_fill`]), atomically.
/// Idempotent: a filled order returns its recorded execution.
pub fn execute(
    conn: &mut SqliteConnection,
    approved: &ApprovedOrder,
    market: &MarketSnapshot,
    params: &PaperParams,
) -> Result<Execution, StoreError> {
    let order = approved.order();
    conn.immediate_transaction(|conn| {
        let status: String = orders::table
            .filter(orders::client_order_id.eq(&order.client_order_id))
            .select(orders::status)
            .first(conn)?;
        if status == "FILLED" {
            return recorded_execution(conn, &order.client_order_id, order.intent);
        }
        if status == "APPROVED" {
            models::transition_order(conn, &order.client_order_id, OrderEvent::Submit)?;
        } else if status != "SUBMITTED" {
            return Ok(rejected(order, &format!("order is {status}")));
        }
        let quotes = match pricing::leg_quotes(&order.legs, market) {
            Some(q) => q,
            None => {
                models::transition_order(conn, &order.client_order_id, OrderEvent::Reject)?;
                let missing = order
                    .legs
                    .iter()
                    .find(|l| market.mark(&l.contract).is_none())
                    .map(|l| l.contract.key())
                    .unwrap_or_default();
                return Ok(rejected(order, &format!("no quote for {missing}")));
            }
        };
        let prices = match limit_fill(
            order,
            &quotes,
            &params.fill(),
            params.limit_fill_probability,
        ) {
            Ok(prices) => prices,
            Err(why) => {
                models::transition_order(conn, &order.client_order_id, OrderEvent::Cancel)?;
                let mut x = rejected(order, &why);
                x.status = "CANCELED".into();
                return Ok(x);
            }
        };
        let pos = match order.intent {
            Intent::Open => None,
            _ => {
                let id = order.position_id.clone().unwrap_or_default();
                let open = open_positions(conn)?;
                match open.into_iter().find(|p| p.position_id == id) {
                    Some(p) if p.quantity >= order.quantity => Some(p),
                    _ => {
                        models::transition_order(conn, &order.client_order_id, OrderEvent::Reject)?;
                        return Ok(rejected(
                            order,
                            &format!("position {id} is not open for {}", order.quantity),
                        ));
                    }
                }
            }
        };
        let (leg_fills, net) = book_fills(
            conn,
            &order.client_order_id,
            order.cycle_id,
            &order.legs,
            order.quantity,
            &prices,
            params.commission_per_contract,
            order.market_ts,
        )?;
        models::transition_order(conn, &order.client_order_id, OrderEvent::Fill)?;
        let realized = match pos {
            None => {
                open_position(conn, approved, &prices, net, &quotes)?;
                None
            }
            Some(p) => {
                let commission: Decimal = leg_fills.iter().map(|f| f.commission).sum();
                Some(close_position(
                    conn,
                    &p,
                    order.quantity,
                    net,
                    commission,
                    params.commission_per_contract,
                    order.intent,
                    order.market_ts,
                )?)
            }
        };
        Ok(Execution {
            client_order_id: order.client_order_id.clone(),
            intent: order.intent,
            status: "FILLED".into(),
            fills: leg_fills,
            net_price: net,
            realized_pnl: realized,
            reason: None,
        })
    })
}

fn open_position(
    conn: &mut SqliteConnection,
    approved: &ApprovedOrder,
    prices: &[Decimal],
    net: Decimal,
    quotes: &[LegQuote],
) -> Result<(), StoreError> {
    let order = approved.order();
    let legs: Vec<Leg> = order
        .legs
        .iter()
        .zip(prices)
        .map(|(l, p)| Leg {
            price: p.to_string().parse().unwrap_or(l.price),
            ..l.clone()
        })
        .collect();
    let risk =
        order_risk(&order.legs, net, order.quantity).unwrap_or_else(|_| approved.risk().clone());
    let mark = pricing::net_mid(&order.legs, quotes);
    let expiry = order
        .legs
        .first()
        .map(|l| l.contract.expiry)
        .unwrap_or_else(|| order.market_ts.date());
    diesel::insert_into(positions::table)
        .values(&PositionRow {
            position_id: order.client_order_id.clone(),
            instance_id: order.instance_id.clone(),
            underlying: order.underlying.clone(),
            strategy: order.strategy.as_str().to_string(),
            expiry,
            legs_json: serde_json::to_string(&legs)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            quantity: order.quantity as i32,
            entry_price: net.to_string(),
            max_risk: risk.max_loss.to_string(),
            max_profit: risk.max_profit.to_string(),
            // Marked at once at the market it opened in, not at its own fill.
            mark: mark.to_string(),
            unrealized_pnl: ((net - mark) * Decimal::ONE_HUNDRED * Decimal::from(order.quantity))
                .to_string(),
            realized_pnl: "0".into(),
            opened_at: order.market_ts,
            closed_at: None,
            close_intent: None,
            updated_at: now(),
            leg_marks_json: marks_json(&Some(quotes.to_vec()))?,
            marked_at: Some(order.market_ts),
        })
        .execute(conn)?;
    Ok(())
}

fn rejected(order: &crate::orders::OrderRequest, reason: &str) -> Execution {
    Execution {
        client_order_id: order.client_order_id.clone(),
        intent: order.intent,
        status: "REJECTED".into(),
        fills: vec![],
        net_price: Decimal::ZERO,
        realized_pnl: None,
        reason: Some(reason.to_string()),
    }
}

fn recorded_execution(
    conn: &mut SqliteConnection,
    coid: &str,
    intent: Intent,
) -> Result<Execution, StoreError> {
    let rows: Vec<(String, String, i32, String, String, String)> = fills::table
        .filter(fills::client_order_id.eq(coid))
        .order(fills::leg_index.asc())
        .select((
            fills::contract,
            fills::action,
            fills::quantity,
            fills::price,
            fills::commission,
            fills::cash_delta,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for (contract, action, quantity, price, commission, cash_delta) in rows {
        out.push(LegFill {
            contract,
            action: if action == "BUY" {
                Action::Buy
            } else {
                Action::Sell
            },
            quantity: quantity as u32,
            price: dec(&price)?,
            commission: dec(&commission)?,
            cash_delta: dec(&cash_delta)?,
        });
    }
    Ok(Execution {
        client_order_id: coid.to_string(),
        intent,
        status: "FILLED".into(),
        fills: out,
        net_price: Decimal::ZERO,
        realized_pnl: None,
        reason: None,
    })
}

#[allow(clippy::too_many_arguments)]
/// Inserts a venue-originated closing order (expiry settlement, flatten) already FILLED.
fn venue_close(
    conn: &mut SqliteConnection,
    pos: &PositionView,
    coid: &str,
    intent: Intent,
    prices: &[Decimal],
    commission_per_contract: Decimal,
    market_ts: NaiveDateTime,
    actor: &str,
    reasoning: &str,
) -> Result<Execution, StoreError> {
    let legs: Vec<Leg> = crate::domain::closing_legs(&pos.legs);
    let limit: Decimal = legs
        .iter()
        .zip(prices)
        .map(|(l, p)| -Decimal::from(l.action.sign()) * *p * Decimal::from(l.quantity))
        .sum();
    models::insert_order(
        conn,
        &models::NewOrder {
            client_order_id: coid.to_string(),
            cycle_id: None,
            instance_id: actor.to_string(),
            underlying: pos.underlying.clone(),
            strategy: pos.strategy.as_str().to_string(),
            intent: intent.as_str().to_string(),
            position_id: Some(pos.position_id.clone()),
            legs_json: serde_json::to_string(&legs)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            quantity: pos.quantity as i32,
            limit_price: limit.to_string(),
            max_risk: "0".into(),
            capital_required: "0".into(),
            // Venue-originated: it exists at the venue from the start, then fills.
            status: "SUBMITTED".into(),
            deny_code: None,
            deny_reason: None,
            reasoning: Some(reasoning.to_string()),
            market_ts,
            created_at: now(),
            updated_at: now(),
        },
    )?;
    let (leg_fills, net) = book_fills(
        conn,
        coid,
        None,
        &legs,
        pos.quantity,
        prices,
        commission_per_contract,
        market_ts,
    )?;
    models::transition_order(conn, coid, OrderEvent::Fill)?;
    let commission: Decimal = leg_fills.iter().map(|f| f.commission).sum();
    let realized = close_position(
        conn,
        pos,
        pos.quantity,
        net,
        commission,
        commission_per_contract,
        intent,
        market_ts,
    )?;
    Ok(Execution {
        client_order_id: coid.to_string(),
        intent,
        status: "FILLED".into(),
        fills: leg_fills,
        net_price: net,
        realized_pnl: Some(realized),
        reason: None,
    })
}

/// Settles positions whose expiry has passed (or is today at/after 16:00) at intrinsic value,
/// without commission. One transaction.
///
/// Each position settles against `close(underlying, expiry)`, the underlying's close on its
/// expiry date, however late the settling cycle runs (e.g. after the runtime was down over the
/// expiry); only when that is unknown does the snapshot's current spot stand in, and the
/// settlement's detail says so.
pub fn settle_expired(
    conn: &mut SqliteConnection,
    market: &MarketSnapshot,
    close: &mut dyn FnMut(&str, NaiveDate) -> Option<f64>,
) -> Result<Vec<Execution>, StoreError> {
    conn.immediate_transaction(|conn| {
        let mut out = Vec::new();
        let ts = market.ts;
        for pos in open_positions(conn)? {
            let expired = pos.expiry < ts.date()
                || (pos.expiry == ts.date()
                    && ts.time() >= chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default());
            if !expired {
                continue;
            }
            let (spot, basis) = match close(&pos.underlying, pos.expiry) {
                Some(spot) if spot.is_finite() && spot > 0.0 => {
                    (spot, format!("close of {}", pos.expiry))
                }
                _ => match market.underlyings.get(&pos.underlying).map(|u| u.spot) {
                    Some(spot) => (spot, format!("no close for {}: spot at {ts}", pos.expiry)),
                    None => continue,
                },
            };
            let prices: Vec<Decimal> = pos
                .legs
                .iter()
                .map(|l| {
                    let intrinsic = match l.contract.right {
                        crate::domain::Right::Call => (spot - l.contract.strike).max(0.0),
                        crate::domain::Right::Put => (l.contract.strike - spot).max(0.0),
                    };
                    to_dec(intrinsic).round_dp(4)
                })
                .collect();
            let coid = format!("EXP-{}", pos.position_id);
            let detail = format!("settled at intrinsic, spot={spot:.2} ({basis})");
            out.push(venue_close(
                conn,
                &pos,
                &coid,
                Intent::Expiry,
                &prices,
                Decimal::ZERO,
                ts,
                "paper-venue",
                &detail,
            )?);
        }
        Ok(out)
    })
}

/// Closes every open position under the fill model (against us, with commission) at the
/// snapshot's quotes when there is a market, else at the position's last recorded leg marks.
/// Used by the watchdog, the kill switch and the circuit breaker. One transaction.
///
/// A position with neither (a store from before leg marks were recorded) closes at its legs'
/// opening prices, and its order's reasoning says so.
pub fn flatten_all(
    conn: &mut SqliteConnection,
    market: Option<&MarketSnapshot>,
    params: &PaperParams,
    market_ts: NaiveDateTime,
    actor: &str,
    reason: &str,
) -> Result<Vec<Execution>, StoreError> {
    let fill = params.fill();
    conn.immediate_transaction(|conn| {
        let stamp = now().format("%Y%m%dT%H%M%S%.6f");
        let mut out = Vec::new();
        for mut pos in open_positions(conn)? {
            remark(&mut pos, market);
            let (quotes, basis) = match pos.leg_marks.clone() {
                Some(q) if q.len() == pos.legs.len() => (q, "at the last marks"),
                _ => (
                    entry_quotes(&pos.legs),
                    "NO RECORDED MARK: at the opening prices",
                ),
            };
            let closing = crate::domain::closing_legs(&pos.legs);
            let prices: Vec<Decimal> = closing
                .iter()
                .zip(&quotes)
                .map(|(l, q)| fill.leg_price(l.action, q))
                .collect();
            let coid = format!("FLAT-{}-{stamp}", pos.position_id);
            out.push(venue_close(
                conn,
                &pos,
                &coid,
                Intent::Flatten,
                &prices,
                params.commission_per_contract,
                market_ts,
                actor,
                &format!("{reason} ({basis})"),
            )?);
        }
        Ok(out)
    })
}

/// Quotes made of the legs' opening prices (no spread known).
fn entry_quotes(legs: &[Leg]) -> Vec<LegQuote> {
    legs.iter()
        .map(|l| LegQuote {
            contract: l.contract.key(),
            bid: None,
            ask: None,
            mid: crate::risk::gate::to_dec(l.price).round_dp(pricing::PRICE_DP),
        })
        .collect()
}

/// What a restart's reconcile found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReconcileReport {
    /// Orders in flight that the venue had filled (status repaired to FILLED).
    pub filled: Vec<String>,
    /// Orders in flight that never reached the venue (now CANCELED).
    pub canceled: Vec<String>,
}

/// Reconciles orders left in flight by a crash against the venue's book: an order with all
/// its fills is FILLED; one with none never executed and is CANCELED. One transaction.
pub fn reconcile(conn: &mut SqliteConnection) -> Result<ReconcileReport, StoreError> {
    conn.immediate_transaction(|conn| {
        let mut report = ReconcileReport::default();
        for coid in models::orders_in_status(conn, &["PROPOSED", "APPROVED", "SUBMITTED"])? {
            let n: i64 = fills::table
                .filter(fills::client_order_id.eq(&coid))
                .count()
                .get_result(conn)?;
            if n > 0 {
                models::transition_order(conn, &coid, OrderEvent::Fill)?;
                report.filled.push(coid);
            } else {
                models::transition_order(conn, &coid, OrderEvent::Cancel)?;
                diesel::update(orders::table.filter(orders::client_order_id.eq(&coid)))
                    .set(orders::deny_reason.eq("reconciled at restart: never reached the venue"))
                    .execute(conn)?;
                report.canceled.push(coid);
            }
        }
        Ok(report)
    })
}
