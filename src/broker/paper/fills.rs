//! Fills: the fill model applied to an approved order at its limit or better, the fills
//! booked against cash, and the position opened or closed. One transaction per order.

use super::book::{add_cash, close_position, open_position, open_positions};
use super::PaperParams;
use crate::broker::{Execution, LegFill, PositionView};
use crate::domain::{Action, Intent, Leg};
use crate::market::MarketSnapshot;
use crate::orders::{OrderEvent, OrderRequest};
use crate::pricing::{self, net_of, FillParams, LegQuote};
use crate::risk::ApprovedOrder;
use crate::store::models::{self, dec, now, NewFill};
use crate::store::schema::{fills, orders};
use crate::store::StoreError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

/// A deterministic draw in [0, 1) for an order (FNV-1a of its id), so replays and reruns agree.
fn draw(client_order_id: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client_order_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Per-leg fill prices of a limit order, never worse than its limit: at the fill model's
/// prices when they net the limit or better; when the limit is better than that (a limit that
/// would rest), at the limit with `limit_fill_probability` (a deterministic draw per order);
/// `Err` (not filled this cycle, with the reason) otherwise.
pub fn limit_fill(
    order: &OrderRequest,
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

/// Prices and books the legs of an order; returns the leg fills and the net per-share price.
#[allow(clippy::too_many_arguments)]
pub(super) fn book_fills(
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
        if let Some(done) = admit(conn, order)? {
            return Ok(done);
        }
        let quotes = match pricing::leg_quotes(&order.legs, market) {
            Some(q) => q,
            None => return no_quote(conn, order, market),
        };
        let prices = match limit_fill(
            order,
            &quotes,
            &params.fill(),
            params.limit_fill_probability,
        ) {
            Ok(prices) => prices,
            Err(why) => {
                models::transition_order_because(
                    conn,
                    &order.client_order_id,
                    OrderEvent::Cancel,
                    Some(&why),
                )?;
                let mut x = rejected(order, &why);
                x.status = "CANCELED".into();
                return Ok(x);
            }
        };
        let pos = match position_to_close(conn, order)? {
            Ok(pos) => pos,
            Err(refused) => return Ok(refused),
        };
        book_order(conn, approved, params, &prices, &quotes, pos)
    })
}

/// Admits an order to the venue: `Some` when it needs no fill (already FILLED: its recorded
/// execution; not SUBMITTED or APPROVED: a rejection); an APPROVED order is submitted.
fn admit(
    conn: &mut SqliteConnection,
    order: &OrderRequest,
) -> Result<Option<Execution>, StoreError> {
    let status: String = orders::table
        .filter(orders::client_order_id.eq(&order.client_order_id))
        .select(orders::status)
        .first(conn)?;
    if status == "FILLED" {
        return recorded_execution(conn, &order.client_order_id, order.intent).map(Some);
    }
    if status == "APPROVED" {
        models::transition_order(conn, &order.client_order_id, OrderEvent::Submit)?;
    } else if status != "SUBMITTED" {
        return Ok(Some(rejected(order, &format!("order is {status}"))));
    }
    Ok(None)
}

/// Rejects an order a leg of which has no quote, naming the first such leg.
fn no_quote(
    conn: &mut SqliteConnection,
    order: &OrderRequest,
    market: &MarketSnapshot,
) -> Result<Execution, StoreError> {
    let missing = order
        .legs
        .iter()
        .find(|l| market.mark(&l.contract).is_none())
        .map(|l| l.contract.key())
        .unwrap_or_default();
    let why = format!("no quote for {missing}");
    models::transition_order_because(conn, &order.client_order_id, OrderEvent::Reject, Some(&why))?;
    Ok(rejected(order, &why))
}

/// The open position a closing order closes (`Ok(None)` for an OPEN order), or the rejection
/// (`Err`) when it is not open for the order's quantity.
fn position_to_close(
    conn: &mut SqliteConnection,
    order: &OrderRequest,
) -> Result<Result<Option<PositionView>, Execution>, StoreError> {
    if order.intent == Intent::Open {
        return Ok(Ok(None));
    }
    let id = order.position_id.clone().unwrap_or_default();
    let open = open_positions(conn)?;
    match open.into_iter().find(|p| p.position_id == id) {
        Some(p) if p.quantity >= order.quantity => Ok(Ok(Some(p))),
        _ => {
            let why = format!("position {id} is not open for {}", order.quantity);
            models::transition_order_because(
                conn,
                &order.client_order_id,
                OrderEvent::Reject,
                Some(&why),
            )?;
            Ok(Err(rejected(order, &why)))
        }
    }
}

/// Books an order's fills at `prices`, marks it FILLED, and opens its position or closes `pos`.
fn book_order(
    conn: &mut SqliteConnection,
    approved: &ApprovedOrder,
    params: &PaperParams,
    prices: &[Decimal],
    quotes: &[LegQuote],
    pos: Option<PositionView>,
) -> Result<Execution, StoreError> {
    let order = approved.order();
    let (leg_fills, net) = book_fills(
        conn,
        &order.client_order_id,
        order.cycle_id,
        &order.legs,
        order.quantity,
        prices,
        params.commission_per_contract,
        order.market_ts,
    )?;
    models::transition_order(conn, &order.client_order_id, OrderEvent::Fill)?;
    let realized = match pos {
        None => {
            open_position(conn, approved, prices, net, quotes)?;
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
}

/// An execution that did not fill, with the reason.
fn rejected(order: &OrderRequest, reason: &str) -> Execution {
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

/// The execution of an order the venue already filled, read back from its fills.
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
