//! Flatten: close every open position (the watchdog, the kill switch, the circuit breaker).

use super::book::{open_positions, remark};
use super::settlement::venue_close;
use super::{to_dec, PaperParams};
use crate::broker::Execution;
use crate::domain::{Intent, Leg};
use crate::market::MarketSnapshot;
use crate::pricing::{self, LegQuote};
use crate::store::models::now;
use crate::store::StoreError;
use chrono::NaiveDateTime;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;

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
            mid: to_dec(l.price).round_dp(pricing::PRICE_DP),
        })
        .collect()
}
