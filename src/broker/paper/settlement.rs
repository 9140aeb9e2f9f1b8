//! Venue-originated closes: expiry settlement at intrinsic value, and the FILLED closing
//! order every venue close (settlement, flatten) records.

use super::book::{close_position, open_positions};
use super::fills::book_fills;
use super::to_dec;
use crate::broker::{Execution, PositionView};
use crate::clock::SESSION_CLOSE;
use crate::domain::{Intent, Leg, Right};
use crate::market::MarketSnapshot;
use crate::orders::OrderEvent;
use crate::pricing::net_of;
use crate::store::models::{self, now};
use crate::store::StoreError;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

/// Who closes which position, why, and when: the order row of a venue close.
struct VenueOrder<'a> {
    pos: &'a PositionView,
    coid: &'a str,
    intent: Intent,
    market_ts: NaiveDateTime,
    actor: &'a str,
    reasoning: &'a str,
}

/// Records a venue-originated closing order of `legs` at net `limit`, SUBMITTED (it exists at
/// the venue from the start, then fills).
fn insert_venue_order(
    conn: &mut SqliteConnection,
    order: &VenueOrder<'_>,
    legs: &[Leg],
    limit: Decimal,
) -> Result<(), StoreError> {
    let pos = order.pos;
    models::insert_order(
        conn,
        &models::NewOrder {
            client_order_id: order.coid.to_string(),
            cycle_id: None,
            instance_id: order.actor.to_string(),
            underlying: pos.underlying.clone(),
            strategy: pos.strategy.as_str().to_string(),
            intent: order.intent.as_str().to_string(),
            position_id: Some(pos.position_id.clone()),
            legs_json: serde_json::to_string(legs)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            quantity: pos.quantity as i32,
            limit_price: limit.to_string(),
            max_risk: "0".into(),
            capital_required: "0".into(),
            // Venue-originated: it exists at the venue from the start, then fills.
            status: "SUBMITTED".into(),
            deny_code: None,
            deny_reason: None,
            reasoning: Some(order.reasoning.to_string()),
            market_ts: order.market_ts,
            created_at: now(),
            updated_at: now(),
        },
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
/// Inserts a venue-originated closing order (expiry settlement, flatten) already FILLED.
pub(super) fn venue_close(
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
    let order = VenueOrder {
        pos,
        coid,
        intent,
        market_ts,
        actor,
        reasoning,
    };
    insert_venue_order(conn, &order, &legs, net_of(&legs, prices))?;
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
            if !expired(pos.expiry, ts) {
                continue;
            }
            let Some((spot, basis)) = settlement_spot(&pos, market, close) else {
                continue;
            };
            let prices = intrinsic_prices(&pos.legs, spot);
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

/// Whether an option expiring on `expiry` has expired at market time `ts` (at 16:00 on the day).
fn expired(expiry: NaiveDate, ts: NaiveDateTime) -> bool {
    expiry < ts.date() || (expiry == ts.date() && ts.time() >= SESSION_CLOSE)
}

/// The spot `pos` settles against, and its basis: the underlying's close on the expiry date,
/// else the snapshot's current spot; `None` when neither is known.
fn settlement_spot(
    pos: &PositionView,
    market: &MarketSnapshot,
    close: &mut dyn FnMut(&str, NaiveDate) -> Option<f64>,
) -> Option<(f64, String)> {
    match close(&pos.underlying, pos.expiry) {
        Some(spot) if spot.is_finite() && spot > 0.0 => {
            Some((spot, format!("close of {}", pos.expiry)))
        }
        _ => market.underlyings.get(&pos.underlying).map(|u| {
            let ts = market.ts;
            (u.spot, format!("no close for {}: spot at {ts}", pos.expiry))
        }),
    }
}

/// Per-share intrinsic value of each leg at `spot`, to 4 places.
fn intrinsic_prices(legs: &[Leg], spot: f64) -> Vec<Decimal> {
    legs.iter()
        .map(|l| {
            let intrinsic = match l.contract.right {
                Right::Call => (spot - l.contract.strike).max(0.0),
                Right::Put => (l.contract.strike - spot).max(0.0),
            };
            to_dec(intrinsic).round_dp(4)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, OptionContract};

    fn leg(right: Right, strike: f64) -> Leg {
        Leg {
            action: Action::Sell,
            contract: OptionContract {
                symbol: "SPY".into(),
                expiry: NaiveDate::from_ymd_opt(2026, 3, 20).expect("date"),
                strike,
                right,
            },
            quantity: 1,
            price: 1.0,
        }
    }

    #[test]
    fn item3_expiry_is_at_the_close_and_settles_at_intrinsic() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 20).expect("date");
        let at = |h, m| day.and_hms_opt(h, m, 0).expect("time");
        assert!(!expired(day, at(15, 59)));
        assert!(expired(day, at(16, 0)));
        assert!(expired(
            day,
            NaiveDate::from_ymd_opt(2026, 3, 23)
                .expect("d")
                .and_time(at(9, 30).time())
        ));
        let legs = [
            leg(Right::Put, 100.0),
            leg(Right::Call, 105.0),
            leg(Right::Call, 110.0),
        ];
        assert_eq!(
            intrinsic_prices(&legs, 107.123456),
            vec![Decimal::ZERO, Decimal::new(21235, 4), Decimal::ZERO]
        );
        assert_eq!(
            intrinsic_prices(&legs[..1], 97.5),
            vec![Decimal::new(25, 1)]
        );
    }
}
