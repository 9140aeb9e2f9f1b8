//! Market data: the snapshot every cycle reads, and the sources that produce it.

pub mod synthetic;

use crate::domain::{OptionContract, Right};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One option quote in a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionQuote {
    /// Strike price.
    pub strike: f64,
    /// Call or put.
    pub right: Right,
    /// Best bid (per share).
    pub bid: f64,
    /// Best ask (per share).
    pub ask: f64,
    /// Mid price (per share), the model price.
    pub mid: f64,
    /// Implied volatility used to price it.
    pub iv: f64,
    /// Black–Scholes delta (calls 0..1, puts -1..0).
    pub delta: f64,
}

/// All quotes of one expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpirySlice {
    /// Expiry date.
    pub expiry: NaiveDate,
    /// Calendar days from the snapshot date to expiry.
    pub dte: i64,
    /// Quotes sorted by (strike, right).
    pub quotes: Vec<OptionQuote>,
}

/// Everything known about one underlying at a point in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnderlyingSnapshot {
    /// Symbol.
    pub symbol: String,
    /// Last price.
    pub spot: f64,
    /// At-the-money implied vol (30-day), annualised.
    pub atm_iv: f64,
    /// IV rank 0–100 against the trailing year of daily ATM IV.
    pub iv_rank: f64,
    /// 20-day simple moving average of daily closes.
    pub sma20: f64,
    /// 14-day RSI of daily closes.
    pub rsi14: f64,
    /// Realized (historical) 20-day close-to-close vol, annualised; 0 when unknown.
    #[serde(default)]
    pub realized_vol: f64,
    /// Next known earnings date, if any.
    pub earnings_date: Option<NaiveDate>,
    /// Continuous dividend yield.
    pub dividend_yield: f64,
    /// Option chain, expiries ascending (7–60 DTE).
    pub chain: Vec<ExpirySlice>,
}

impl UnderlyingSnapshot {
    /// Looks up a quote by contract.
    pub fn quote(&self, contract: &OptionContract) -> Option<&OptionQuote> {
        let slice = self.chain.iter().find(|s| s.expiry == contract.expiry)?;
        slice
            .quotes
            .iter()
            .find(|q| q.right == contract.right && (q.strike - contract.strike).abs() < 1e-6)
    }
}

/// A full market snapshot for one cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSnapshot {
    /// Market time of the snapshot (exchange local time, US/Eastern).
    pub ts: NaiveDateTime,
    /// Risk-free rate, annualised, continuous.
    pub rate: f64,
    /// Underlyings by symbol.
    pub underlyings: BTreeMap<String, UnderlyingSnapshot>,
}

impl MarketSnapshot {
    /// The snapshot's date.
    pub fn date(&self) -> NaiveDate {
        self.ts.date()
    }

    /// Looks up a quote by contract.
    pub fn quote(&self, contract: &OptionContract) -> Option<&OptionQuote> {
        self.underlyings.get(&contract.symbol)?.quote(contract)
    }

    /// The snapshot cut to what a decision about `contracts` reads: every underlying with its
    /// figures and its expiries, but only the quotes of those contracts. Recorded with a
    /// decision, it lets `replay` decide again from the record alone, for any market source.
    pub fn restricted_to<'a>(
        &self,
        contracts: impl IntoIterator<Item = &'a OptionContract>,
    ) -> MarketSnapshot {
        let contracts: Vec<&OptionContract> = contracts.into_iter().collect();
        let mut out = self.clone();
        for u in out.underlyings.values_mut() {
            for slice in &mut u.chain {
                slice.quotes.retain(|q| {
                    contracts.iter().any(|c| {
                        c.symbol == u.symbol
                            && c.expiry == slice.expiry
                            && c.right == q.right
                            && (c.strike - q.strike).abs() < 1e-6
                    })
                });
            }
        }
        out
    }
}

/// Errors from a market data source.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// The source has nothing for the requested time.
    #[error("no market data at {0}")]
    NoData(NaiveDateTime),
    /// Any other failure, with what to do about it.
    #[error("market data source failed: {0}")]
    Source(String),
}

/// A source of market snapshots.
pub trait MarketData: Send {
    /// The snapshot at market time `ts`. Sources are deterministic for a given configuration.
    fn snapshot(&mut self, ts: NaiveDateTime) -> Result<MarketSnapshot, MarketError>;

    /// The closing spot of `symbol` on `date` (16:00), what an option expiring that day
    /// settles against. By default read off the 16:00 snapshot.
    fn close(&mut self, symbol: &str, date: NaiveDate) -> Result<f64, MarketError> {
        let ts = date.and_time(crate::clock::SESSION_CLOSE);
        self.snapshot(ts)?
            .underlyings
            .get(symbol)
            .map(|u| u.spot)
            .ok_or(MarketError::NoData(ts))
    }
}

/// Years from market time `ts` to 16:00 on `expiry` (365-day basis), never negative.
pub fn years_to_expiry(ts: NaiveDateTime, expiry: NaiveDate) -> f64 {
    let close = expiry.and_time(crate::clock::SESSION_CLOSE);
    ((close - ts).num_seconds() as f64 / (365.0 * 86_400.0)).max(0.0)
}

impl MarketSnapshot {
    /// The per-share mark of a contract: the listed mid, or where the contract is outside the
    /// listed chain (e.g. under 7 days to expiry), the Black–Scholes value at the underlying's
    /// ATM IV; intrinsic value once expired. `None` for an unknown underlying.
    pub fn mark(&self, contract: &OptionContract) -> Option<f64> {
        let u = self.underlyings.get(&contract.symbol)?;
        if let Some(q) = u.quote(contract) {
            return Some(q.mid);
        }
        let input = crate::skills::black_scholes::BsInput {
            spot: u.spot,
            strike: contract.strike,
            rate: self.rate,
            dividend_yield: u.dividend_yield,
            vol: u.atm_iv,
            time: years_to_expiry(self.ts, contract.expiry),
            right: contract.right,
        };
        let p = crate::skills::black_scholes::price(&input);
        p.is_finite().then_some((p * 100.0).round() / 100.0)
    }
}
