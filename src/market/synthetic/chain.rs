//! The option chain of one symbol: listed strikes, the smile, Black–Scholes prices and the
//! bid/ask around them.

use super::super::{years_to_expiry, ExpirySlice, OptionQuote};
use super::regime::term_variance;
use super::symbol::SymbolSim;
use crate::domain::Right;
use crate::skills::black_scholes::{self, BsInput};
use chrono::{NaiveDate, NaiveDateTime};

/// Standardised moneyness is clamped to ± this many total standard deviations for the smile.
const SMILE_CLAMP: f64 = 4.0;
const IV_FLOOR: f64 = 0.05;
/// Strikes listed within ± this fraction of spot.
const STRIKE_RANGE: f64 = 0.25;

impl SymbolSim {
    /// The option chain at `at` for spot `spot` and instantaneous vol `vol`.
    pub(super) fn chain(
        &mut self,
        spot: f64,
        vol: f64,
        at: NaiveDateTime,
        expiries: &[NaiveDate],
        rate: f64,
    ) -> Vec<ExpirySlice> {
        strike_grid(spot, &mut self.strikes);
        expiries
            .iter()
            .map(|&expiry| self.expiry_slice(spot, vol, at, expiry, rate))
            .collect()
    }

    /// The quotes of one expiry: every listed strike, both rights, priced off the smile
    /// `iv = atm(T) · (1 + skew·x + smile·x²)`, `x` the moneyness in total standard deviations.
    fn expiry_slice(
        &self,
        spot: f64,
        vol: f64,
        at: NaiveDateTime,
        expiry: NaiveDate,
        rate: f64,
    ) -> ExpirySlice {
        let date = at.date();
        let q = self.profile.dividend_yield;
        let t = years_to_expiry(at, expiry).max(1e-6);
        let total_var =
            term_variance(vol, self.profile.base_vol, t) * t + self.event_variance(date, expiry);
        let total_sd = total_var.sqrt();
        let atm = total_sd / t.sqrt();
        let forward = spot * ((rate - q) * t).exp();
        let mut quotes = Vec::with_capacity(self.strikes.len() * 2);
        for &strike in &self.strikes {
            let x = ((strike / forward).ln() / total_sd).clamp(-SMILE_CLAMP, SMILE_CLAMP);
            let iv =
                (atm * (1.0 + self.profile.skew * x + self.profile.smile * x * x)).max(IV_FLOOR);
            for right in [Right::Call, Right::Put] {
                let input = BsInput {
                    spot,
                    strike,
                    rate,
                    dividend_yield: q,
                    vol: iv,
                    time: t,
                    right,
                };
                quotes.push(quote(
                    strike,
                    right,
                    black_scholes::price(&input),
                    iv,
                    black_scholes::delta(&input),
                ));
            }
        }
        ExpirySlice {
            expiry,
            dte: (expiry - date).num_days(),
            quotes,
        }
    }
}

/// Listed strike increment at a strike level.
fn strike_step(level: f64) -> f64 {
    if level < 50.0 {
        1.0
    } else if level < 150.0 {
        2.5
    } else if level < 500.0 {
        5.0
    } else {
        10.0
    }
}

/// Listed strikes within ±25 % of `spot`, ascending, into `out`.
fn strike_grid(spot: f64, out: &mut Vec<f64>) {
    out.clear();
    let (lo, hi) = (spot * (1.0 - STRIKE_RANGE), spot * (1.0 + STRIKE_RANGE));
    if !(lo.is_finite() && hi.is_finite()) {
        return;
    }
    let step = strike_step(lo);
    let mut strike = (lo / step).ceil() * step;
    while strike <= hi {
        if strike > 0.0 {
            out.push(strike);
        }
        strike += strike_step(strike);
    }
}

/// Bid/ask around the model price: half-spread `max(0.01, 2 % · price + 0.005)`, cents, bid ≥ 0;
/// `mid` is the midpoint of the rounded bid and ask.
fn quote(strike: f64, right: Right, model: f64, iv: f64, delta: f64) -> OptionQuote {
    let model = model.max(0.0);
    let half = (0.02 * model + 0.005).max(0.01);
    let bid = round_cents(model - half).max(0.0);
    let ask = round_cents(model + half).max(0.01);
    OptionQuote {
        strike,
        right,
        bid,
        ask,
        mid: (bid + ask) / 2.0,
        iv,
        delta,
    }
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::super::calendar::{listed_expiries, truncate_to_minute, MAX_DTE, MIN_DTE};
    use super::super::test_support::{at, default_symbols, snap};
    use super::super::SyntheticMarket;
    use super::*;
    use crate::market::UnderlyingSnapshot;
    use chrono::{Datelike, Weekday};

    #[test]
    fn chain_sanity() {
        let mut m = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        for ts in [
            at(2026, 3, 2, 9, 30),
            at(2026, 3, 18, 13, 42),
            at(2026, 5, 1, 16, 0),
            at(2026, 5, 2, 11, 0),
        ] {
            let s = snap(&mut m, ts);
            let date = ts.date();
            for (name, u) in &s.underlyings {
                assert!(!u.chain.is_empty(), "{name}");
                assert!(u.chain.windows(2).all(|w| w[0].expiry < w[1].expiry));
                let monthly = listed_expiries(date)
                    .into_iter()
                    .filter(|e| (15..=21).contains(&e.day()))
                    .count();
                assert!(monthly >= 1);
                for slice in &u.chain {
                    assert_eq!(slice.expiry.weekday(), Weekday::Fri);
                    assert_eq!(slice.dte, (slice.expiry - date).num_days());
                    assert!((MIN_DTE..=MAX_DTE).contains(&slice.dte), "{}", slice.dte);
                    check_slice(u, slice, ts, s.rate);
                }
            }
        }
    }

    fn check_slice(u: &UnderlyingSnapshot, slice: &ExpirySlice, ts: NaiveDateTime, rate: f64) {
        let quotes = &slice.quotes;
        assert!(quotes.len() >= 10, "{} strikes", quotes.len() / 2);
        assert!(quotes
            .windows(2)
            .all(|w| (w[0].strike, w[0].right) < (w[1].strike, w[1].right)));
        for q in quotes {
            assert!(q.bid >= 0.0 && q.bid <= q.mid && q.mid <= q.ask, "{q:?}");
            assert!(q.iv >= IV_FLOOR && q.iv < 3.0, "{q:?}");
            assert!((q.strike - u.spot).abs() <= STRIKE_RANGE * u.spot + 1e-9);
            let step = strike_step(q.strike);
            assert!((q.strike / step - (q.strike / step).round()).abs() < 1e-9);
            match q.right {
                Right::Call => assert!(q.delta > 0.0 && q.delta <= 1.0, "{q:?}"),
                Right::Put => assert!(q.delta < 0.0 && q.delta >= -1.0, "{q:?}"),
            }
        }
        let calls: Vec<_> = quotes.iter().filter(|q| q.right == Right::Call).collect();
        let puts: Vec<_> = quotes.iter().filter(|q| q.right == Right::Put).collect();
        assert!(calls.windows(2).all(|w| w[1].delta <= w[0].delta + 1e-12));
        let t = years_to_expiry(truncate_to_minute(ts), slice.expiry);
        for (c, p) in calls.iter().zip(&puts) {
            assert_eq!(c.strike, p.strike);
            let parity = u.spot * (-u.dividend_yield * t).exp() - c.strike * (-rate * t).exp();
            assert!(
                (c.mid - p.mid - parity).abs() < 0.02,
                "{c:?} {p:?} {parity}"
            );
        }
    }

    #[test]
    fn strikes_follow_the_listed_grid_and_quotes_round_to_cents() {
        let mut out = Vec::new();
        strike_grid(100.0, &mut out);
        assert_eq!(out.first(), Some(&75.0));
        assert_eq!(out.last(), Some(&125.0));
        assert_eq!(out.len(), 21);
        strike_grid(f64::NAN, &mut out);
        assert!(out.is_empty());
        let worthless = quote(100.0, Right::Put, 0.0, 0.3, -0.01);
        assert_eq!(
            (worthless.bid, worthless.ask, worthless.mid),
            (0.0, 0.01, 0.005)
        );
        // Half-spread 2 % · 2.00 + 0.005 = 0.045 either side, rounded to cents.
        let q = quote(100.0, Right::Call, 2.0, 0.3, 0.5);
        assert!((q.bid - 1.955).abs() <= 0.005 + 1e-9, "{q:?}");
        assert!((q.ask - 2.045).abs() <= 0.005 + 1e-9, "{q:?}");
        assert!((q.mid - (q.bid + q.ask) / 2.0).abs() < 1e-12);
    }
}
