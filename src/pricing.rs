//! Execution pricing, one fill model for everyone who prices an order: the Commander (limit
//! prices), the risk gate (its price collar) and the paper venue (fills and the emergency
//! flatten). So what the gate approves at a limit is the worst the venue can book.
//!
//! Prices are per share, credit positive for a net price; a leg's fill is its mid moved against
//! us by `fill_k` × half the quoted spread (`half_spread` model, listed quotes only) and by the
//! slippage, never below zero.

use crate::config::{BrokerConfig, FillModel};
use crate::domain::{Action, Leg, OptionContract};
use crate::market::MarketSnapshot;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Decimal places kept for per-share leg prices.
pub const PRICE_DP: u32 = 4;

/// The venue's fill model, from `[broker]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FillParams {
    /// How fills are priced.
    pub model: FillModel,
    /// Fraction of the half-spread paid under `half_spread`.
    pub fill_k: Decimal,
    /// Dollars per share a fill moves from mid against us.
    pub slippage_per_share: Decimal,
}

impl FillParams {
    /// From `[broker]`.
    pub fn from_config(b: &BrokerConfig) -> FillParams {
        FillParams {
            model: b.fill_model,
            fill_k: crate::money::to_dec(b.fill_k),
            slippage_per_share: crate::money::to_dec(b.slippage_per_share),
        }
    }

    /// Per-share fill of one leg `action` against `quote`.
    pub fn leg_price(&self, action: Action, quote: &LegQuote) -> Decimal {
        let half = match (self.model, quote.bid, quote.ask) {
            (FillModel::HalfSpread, Some(bid), Some(ask)) => {
                (ask - bid).max(Decimal::ZERO) / Decimal::TWO * self.fill_k
            }
            _ => Decimal::ZERO,
        };
        let cost = half + self.slippage_per_share;
        match action {
            Action::Buy => (quote.mid + cost).round_dp(PRICE_DP),
            Action::Sell => (quote.mid - cost).max(Decimal::ZERO).round_dp(PRICE_DP),
        }
    }
}

/// What one contract was quoted at: a listed bid/ask and mid, or (outside the listed chain)
/// only a model mark. Recorded per leg of every open position each cycle, so a flatten without
/// a market prices at the last marks, never at the opening fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegQuote {
    /// The contract's key (`NVDA 2026-12-31 120P`).
    pub contract: String,
    /// Best bid, when listed.
    pub bid: Option<Decimal>,
    /// Best ask, when listed.
    pub ask: Option<Decimal>,
    /// The mark (listed mid, else the model value), rounded to [`PRICE_DP`].
    pub mid: Decimal,
}

/// The quote of `contract` in `market`, `None` when it has no mark.
pub fn leg_quote(contract: &OptionContract, market: &MarketSnapshot) -> Option<LegQuote> {
    let mid = decimal(market.mark(contract)?)?;
    let listed = market.quote(contract);
    Some(LegQuote {
        contract: contract.key(),
        bid: listed.and_then(|q| decimal(q.bid)),
        ask: listed.and_then(|q| decimal(q.ask)),
        mid,
    })
}

/// Quotes of every leg, `None` when one has no mark.
pub fn leg_quotes(legs: &[Leg], market: &MarketSnapshot) -> Option<Vec<LegQuote>> {
    legs.iter()
        .map(|l| leg_quote(&l.contract, market))
        .collect()
}

fn decimal(x: f64) -> Option<Decimal> {
    x.is_finite()
        .then(|| crate::money::to_dec(x).round_dp(PRICE_DP))
}

/// Net per-share price of `legs` at per-leg `prices` (credit positive).
pub fn net_of(legs: &[Leg], prices: &[Decimal]) -> Decimal {
    legs.iter()
        .zip(prices)
        .map(|(l, p)| -Decimal::from(l.action.sign()) * *p * Decimal::from(l.quantity))
        .sum()
}

/// Net per-share mark of `legs` from their quotes' mids (credit positive).
pub fn net_mid(legs: &[Leg], quotes: &[LegQuote]) -> Decimal {
    let mids: Vec<Decimal> = quotes.iter().map(|q| q.mid).collect();
    net_of(legs, &mids)
}

/// Per-leg fill prices of `legs` under the fill model, `None` when a leg has no mark.
pub fn model_fills(
    legs: &[Leg],
    market: &MarketSnapshot,
    fill: &FillParams,
) -> Option<Vec<Decimal>> {
    legs.iter()
        .map(|l| leg_quote(&l.contract, market).map(|q| fill.leg_price(l.action, &q)))
        .collect()
}

/// The net price the venue would fill `legs` at now (credit positive).
pub fn model_net(legs: &[Leg], market: &MarketSnapshot, fill: &FillParams) -> Option<Decimal> {
    model_fills(legs, market, fill).map(|p| net_of(legs, &p))
}

/// A marketable limit: the fill model's net price rounded down to the cent (less credit, more
/// debit), so the venue fills it at once at that price or better.
pub fn marketable_limit(
    legs: &[Leg],
    market: &MarketSnapshot,
    fill: &FillParams,
) -> Option<Decimal> {
    model_net(legs, market, fill).map(floor_cent)
}

/// Rounds a net price down to the cent.
pub fn floor_cent(x: Decimal) -> Decimal {
    (x * Decimal::ONE_HUNDRED).floor() / Decimal::ONE_HUNDRED
}

/// Per-leg prices that net exactly `limit` (credit positive), moved from `prices` (which net
/// less than `limit`): the difference goes to the first leg that can take it (a sold leg takes
/// any amount; a bought leg down to zero). `None` when no leg can.
pub fn prices_at_limit(legs: &[Leg], prices: &[Decimal], limit: Decimal) -> Option<Vec<Decimal>> {
    let gap = limit - net_of(legs, prices);
    let mut out = prices.to_vec();
    // Prefer single-ratio legs so the per-share move stays exact.
    let mut order: Vec<usize> = (0..legs.len()).collect();
    order.sort_by_key(|i| legs[*i].quantity != 1);
    for i in order {
        let q = Decimal::from(legs[i].quantity.max(1));
        let per = gap / q;
        let moved = match legs[i].action {
            Action::Sell => out[i] + per,
            Action::Buy => out[i] - per,
        };
        if moved >= Decimal::ZERO {
            out[i] = moved;
            if net_of(legs, &out) == limit {
                return Some(out);
            }
            out[i] = prices[i];
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Right;
    use chrono::NaiveDate;

    fn leg(action: Action, strike: f64) -> Leg {
        Leg {
            action,
            contract: OptionContract {
                symbol: "X".into(),
                expiry: NaiveDate::from_ymd_opt(2026, 6, 19).expect("date"),
                strike,
                right: Right::Put,
            },
            quantity: 1,
            price: 0.0,
        }
    }

    fn q(bid: &str, ask: &str, mid: &str) -> LegQuote {
        LegQuote {
            contract: "X".into(),
            bid: Some(bid.parse().expect("bid")),
            ask: Some(ask.parse().expect("ask")),
            mid: mid.parse().expect("mid"),
        }
    }

    #[test]
    fn leg_fills_move_against_us_under_each_model() {
        let half = FillParams {
            model: FillModel::HalfSpread,
            fill_k: Decimal::ONE,
            slippage_per_share: "0.01".parse().expect("d"),
        };
        let mid = FillParams {
            model: FillModel::Mid,
            ..half.clone()
        };
        let quote = q("1.00", "1.20", "1.10");
        let cases = [
            (&half, Action::Buy, "1.21"),
            (&half, Action::Sell, "0.99"),
            (&mid, Action::Buy, "1.11"),
            (&mid, Action::Sell, "1.09"),
        ];
        for (params, action, want) in cases {
            assert_eq!(
                params.leg_price(action, &quote).to_string(),
                want,
                "{action:?}"
            );
        }
        // A model-only mark has no spread to pay.
        let model_only = LegQuote {
            bid: None,
            ask: None,
            ..quote
        };
        assert_eq!(
            half.leg_price(Action::Sell, &model_only).to_string(),
            "1.09"
        );
    }

    #[test]
    fn marketable_limit_rounds_against_us() {
        assert_eq!(floor_cent("0.8534".parse().expect("d")).to_string(), "0.85");
        assert_eq!(
            floor_cent("-0.8534".parse().expect("d")).to_string(),
            "-0.86"
        );
        assert_eq!(floor_cent("-0.85".parse().expect("d")).to_string(), "-0.85");
    }

    #[test]
    fn prices_at_limit_net_exactly_the_limit() {
        let legs = vec![leg(Action::Buy, 100.0), leg(Action::Sell, 105.0)];
        let prices: Vec<Decimal> = vec!["0.02".parse().expect("d"), "1.00".parse().expect("d")];
        // Net 0.98 credit; a 1.10 limit moves the sold leg (the bought one cannot go below 0).
        let at = prices_at_limit(&legs, &prices, "1.10".parse().expect("d")).expect("fits");
        assert_eq!(net_of(&legs, &at).to_string(), "1.10");
        assert!(at.iter().all(|p| *p >= Decimal::ZERO));
        let only_buys = vec![leg(Action::Buy, 100.0)];
        assert_eq!(
            prices_at_limit(
                &only_buys,
                &["0.02".parse().expect("d")],
                "0.50".parse().expect("d")
            ),
            None,
            "a bought leg cannot go below zero"
        );
    }
}
