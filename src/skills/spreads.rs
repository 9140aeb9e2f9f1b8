//! Expiry payoff analysis of option combos: same-expiry legs on one underlying.
//!
//! At expiry a combo's payoff is piecewise linear in the underlying price with kinks only at
//! the strikes, so evaluating it at 0, at every strike and its slope beyond the highest strike
//! gives the exact maximum profit, maximum loss, breakevens and profitable intervals.
//! Per-share figures are multiplied by [`CONTRACT_MULTIPLIER`] for dollar figures.

use serde::Serialize;

use super::{normal, require_finite, require_non_negative, require_positive, SkillError};
use crate::domain::{Action, Leg, Right};

/// Shares per equity option contract.
pub const CONTRACT_MULTIPLIER: f64 = 100.0;

/// Expiry risk profile of one combo unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayoffProfile {
    /// Net premium per share per combo; credit positive, debit negative.
    pub net_premium: f64,
    /// Best expiry outcome in dollars per combo (0 if it can never profit); `INFINITY` if
    /// unbounded (serialised as `null`).
    pub max_profit: f64,
    /// Worst expiry loss in dollars per combo as a positive number (0 if it can never lose);
    /// `INFINITY` for undefined risk (serialised as `null`).
    pub max_loss: f64,
    /// Underlying prices where the expiry payoff crosses zero, ascending.
    pub breakevens: Vec<f64>,
}

/// Expiry profile plus the probability of finishing profitable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadMetrics {
    /// Net premium per share per combo; credit positive, debit negative.
    pub net_premium: f64,
    /// Best expiry outcome in dollars per combo; `INFINITY` (JSON `null`) if unbounded.
    pub max_profit: f64,
    /// Worst expiry loss in dollars per combo, positive; `INFINITY` (JSON `null`) if undefined.
    pub max_loss: f64,
    /// Underlying prices where the expiry payoff crosses zero, ascending.
    pub breakevens: Vec<f64>,
    /// Risk-neutral probability that the expiry payoff is > 0.
    pub probability_of_profit: f64,
}

/// +1 for a bought leg, −1 for a sold one, times the leg's ratio.
fn weight(leg: &Leg) -> f64 {
    let sign = match leg.action {
        Action::Buy => 1.0,
        Action::Sell => -1.0,
    };
    sign * f64::from(leg.quantity)
}

/// Expiry payoff per share of one combo unit at `underlying_price`, premiums included.
pub fn payoff_at_expiry(legs: &[Leg], underlying_price: f64) -> f64 {
    legs.iter()
        .map(|leg| {
            let k = leg.contract.strike;
            let intrinsic = match leg.contract.right {
                Right::Call => (underlying_price - k).max(0.0),
                Right::Put => (k - underlying_price).max(0.0),
            };
            weight(leg) * (intrinsic - leg.price)
        })
        .sum()
}

/// Checks that `legs` form one analysable combo.
fn validate_legs(legs: &[Leg]) -> Result<(), SkillError> {
    let first = legs.first().ok_or_else(|| {
        SkillError::InvalidInput("legs is empty; pass at least one option leg".into())
    })?;
    for (n, leg) in legs.iter().enumerate() {
        let c = &leg.contract;
        if c.symbol != first.contract.symbol {
            return Err(SkillError::InvalidInput(format!(
                "leg {n} is on {} but leg 0 is on {}; a combo must use one underlying",
                c.symbol, first.contract.symbol
            )));
        }
        if c.expiry != first.contract.expiry {
            return Err(SkillError::InvalidInput(format!(
                "leg {n} expires {} but leg 0 expires {}; only same-expiry combos are supported",
                c.expiry, first.contract.expiry
            )));
        }
        require_positive(
            &format!("legs[{n}].contract.strike"),
            c.strike,
            "the strike",
        )?;
        require_non_negative(
            &format!("legs[{n}].price"),
            leg.price,
            "the per-share premium",
        )?;
        if leg.quantity == 0 {
            return Err(SkillError::InvalidInput(format!(
                "legs[{n}].quantity is 0; pass the contracts per combo unit (usually 1)"
            )));
        }
    }
    Ok(())
}

/// The payoff's kink points `(price, payoff)`: 0 and each distinct strike, ascending.
fn kinks(legs: &[Leg]) -> Vec<(f64, f64)> {
    let mut xs: Vec<f64> = legs.iter().map(|l| l.contract.strike).collect();
    xs.push(0.0);
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .map(|x| (x, payoff_at_expiry(legs, x)))
        .collect()
}

/// Payoff slope (per share per $1 of underlying) above the highest strike.
fn right_slope(legs: &[Leg]) -> f64 {
    legs.iter()
        .filter(|l| l.contract.right == Right::Call)
        .map(weight)
        .sum()
}

/// Maximal open intervals `(lo, hi)` of underlying prices where the payoff is > 0
/// (`hi` may be `INFINITY`).
fn profitable_intervals(points: &[(f64, f64)], slope: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut push = |lo: f64, hi: f64| match out.last_mut() {
        Some(last) if last.1 >= lo => last.1 = hi,
        _ => out.push((lo, hi)),
    };
    for w in points.windows(2) {
        let ((x0, v0), (x1, v1)) = (w[0], w[1]);
        let root = || x0 + v0 / (v0 - v1) * (x1 - x0);
        match (v0 > 0.0, v1 > 0.0) {
            (true, true) => push(x0, x1),
            (true, false) => push(x0, root()),
            (false, true) => push(root(), x1),
            (false, false) => {}
        }
    }
    if let Some(&(x, v)) = points.last() {
        match (v > 0.0, slope) {
            (true, m) if m >= 0.0 => push(x, f64::INFINITY),
            (true, m) => push(x, x - v / m),
            (false, m) if m > 0.0 => push(x - v / m, f64::INFINITY),
            _ => {}
        }
    }
    out
}

/// Breakevens are the interval ends other than 0 and infinity.
fn breakevens(intervals: &[(f64, f64)]) -> Vec<f64> {
    intervals
        .iter()
        .flat_map(|&(lo, hi)| [lo, hi])
        .filter(|x| *x > 0.0 && x.is_finite())
        .collect()
}

/// Analyses the expiry payoff of `legs` (one combo unit).
///
/// Errors on empty legs, mixed underlyings or expiries, a zero quantity, and non-finite or
/// non-positive strikes / negative premiums.
pub fn payoff_profile(legs: &[Leg]) -> Result<PayoffProfile, SkillError> {
    validate_legs(legs)?;
    let points = kinks(legs);
    let slope = right_slope(legs);
    let best = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let worst = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let intervals = profitable_intervals(&points, slope);
    Ok(PayoffProfile {
        net_premium: -legs.iter().map(|l| weight(l) * l.price).sum::<f64>(),
        max_profit: if slope > 0.0 {
            f64::INFINITY
        } else {
            best.max(0.0) * CONTRACT_MULTIPLIER
        },
        max_loss: if slope < 0.0 {
            f64::INFINITY
        } else {
            (-worst).max(0.0) * CONTRACT_MULTIPLIER
        },
        breakevens: breakevens(&intervals),
    })
}

/// True when the combo's worst expiry loss is finite (false for invalid legs).
pub fn is_defined_risk(legs: &[Leg]) -> bool {
    payoff_profile(legs).is_ok_and(|p| p.max_loss.is_finite())
}

/// Checks the market inputs of the probability model.
fn validate_market(
    spot: f64,
    rate: f64,
    dividend_yield: f64,
    vol: f64,
    time: f64,
) -> Result<(), SkillError> {
    require_positive("spot", spot, "the underlying price")?;
    require_finite("rate", rate, "the risk-free rate as a decimal (0.05 = 5%)")?;
    require_finite(
        "dividend_yield",
        dividend_yield,
        "the dividend yield as a decimal (0 if none)",
    )?;
    require_non_negative("vol", vol, "annualised volatility as a decimal (0.2 = 20%)")?;
    require_non_negative("time", time, "time to expiry in years (days / 365)")?;
    Ok(())
}

/// Probability that the terminal price exceeds `k`, with `ln S_T ~ N(ln S + (r − q − σ²/2)T, σ²T)`.
fn prob_above(k: f64, spot: f64, drift: f64, s: f64) -> f64 {
    if k <= 0.0 {
        1.0
    } else if k.is_infinite() {
        0.0
    } else if s > 0.0 {
        normal::cdf(((spot / k).ln() + drift) / s)
    } else if spot * drift.exp() > k {
        1.0
    } else {
        0.0
    }
}

/// Risk-neutral probability that the combo's expiry payoff is > 0: the lognormal mass of
/// the profitable intervals between breakevens.
pub fn probability_of_profit(
    legs: &[Leg],
    spot: f64,
    rate: f64,
    dividend_yield: f64,
    vol: f64,
    time: f64,
) -> Result<f64, SkillError> {
    validate_legs(legs)?;
    validate_market(spot, rate, dividend_yield, vol, time)?;
    let intervals = profitable_intervals(&kinks(legs), right_slope(legs));
    let s = vol * time.sqrt();
    let drift = (rate - dividend_yield - 0.5 * vol * vol) * time;
    let p: f64 = intervals
        .iter()
        .map(|&(lo, hi)| prob_above(lo, spot, drift, s) - prob_above(hi, spot, drift, s))
        .sum();
    Ok(p.clamp(0.0, 1.0))
}

/// Payoff profile and probability of profit in one call.
pub fn spread_metrics(
    legs: &[Leg],
    spot: f64,
    rate: f64,
    dividend_yield: f64,
    vol: f64,
    time: f64,
) -> Result<SpreadMetrics, SkillError> {
    let profile = payoff_profile(legs)?;
    let probability_of_profit = probability_of_profit(legs, spot, rate, dividend_yield, vol, time)?;
    Ok(SpreadMetrics {
        net_premium: profile.net_premium,
        max_profit: profile.max_profit,
        max_loss: profile.max_loss,
        breakevens: profile.breakevens,
        probability_of_profit,
    })
}

/// One-standard-deviation expected move `spot·vol·√time` (negative or non-finite inputs
/// give 0).
pub fn expected_move(spot: f64, vol: f64, time: f64) -> f64 {
    let m = spot * vol * time.sqrt();
    if m.is_finite() && spot > 0.0 && vol >= 0.0 {
        m
    } else {
        0.0
    }
}
