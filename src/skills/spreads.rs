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
    /// Best expiry outcome in dollars per combo; `INFINITY` if unbounded (serialised as
    /// `null`). Negative only if every outcome loses.
    pub max_profit: f64,
    /// Worst expiry loss in dollars per combo, as a positive number; `INFINITY` for undefined
    /// risk (serialised as `null`). Negative only if every outcome profits.
    ///
    /// Both figures are linear in the premiums: pricing the legs at 0 and subtracting
    /// `net_premium × 100` gives the same result.
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
            best * CONTRACT_MULTIPLIER
        },
        max_loss: if slope < 0.0 {
            f64::INFINITY
        } else {
            -worst * CONTRACT_MULTIPLIER
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

/// Probability that the terminal price exceeds `k`, where `ln S_T` is normal with mean
/// `ln S + drift` (`drift = (r − q − σ²/2)T`) and standard deviation `s = σ√T`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OptionContract;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn expiry() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 18).expect("valid date")
    }

    fn leg(action: Action, right: Right, strike: f64, price: f64) -> Leg {
        Leg {
            action,
            contract: OptionContract {
                symbol: "SPY".into(),
                expiry: expiry(),
                strike,
                right,
            },
            quantity: 1,
            price,
        }
    }

    use Action::{Buy, Sell};
    use Right::{Call, Put};

    struct TestCase {
        name: &'static str,
        input: Vec<Leg>,
        expected: PayoffProfile,
    }

    fn assert_close(name: &str, what: &str, got: f64, want: f64) {
        let ok = if want.is_infinite() {
            got == want
        } else {
            (got - want).abs() < 1e-9
        };
        assert!(ok, "{name}: {what} got {got}, expected {want}");
    }

    #[test]
    fn payoff_profiles() {
        let inf = f64::INFINITY;
        let cases = [
            TestCase {
                name: "short put spread 120/115 for 1.15",
                input: vec![leg(Sell, Put, 120.0, 2.0), leg(Buy, Put, 115.0, 0.85)],
                expected: PayoffProfile {
                    net_premium: 1.15,
                    max_profit: 115.0,
                    max_loss: 385.0,
                    breakevens: vec![118.85],
                },
            },
            TestCase {
                name: "iron condor 90/95/105/110 for 1.40",
                input: vec![
                    leg(Buy, Put, 90.0, 0.5),
                    leg(Sell, Put, 95.0, 1.2),
                    leg(Sell, Call, 105.0, 1.1),
                    leg(Buy, Call, 110.0, 0.4),
                ],
                expected: PayoffProfile {
                    net_premium: 1.4,
                    max_profit: 140.0,
                    max_loss: 360.0,
                    breakevens: vec![93.6, 106.4],
                },
            },
            TestCase {
                name: "long call spread 100/105 for 2.00",
                input: vec![leg(Buy, Call, 100.0, 3.0), leg(Sell, Call, 105.0, 1.0)],
                expected: PayoffProfile {
                    net_premium: -2.0,
                    max_profit: 300.0,
                    max_loss: 200.0,
                    breakevens: vec![102.0],
                },
            },
            TestCase {
                name: "naked short call",
                input: vec![leg(Sell, Call, 100.0, 2.0)],
                expected: PayoffProfile {
                    net_premium: 2.0,
                    max_profit: 200.0,
                    max_loss: inf,
                    breakevens: vec![102.0],
                },
            },
            TestCase {
                name: "long call",
                input: vec![leg(Buy, Call, 100.0, 2.0)],
                expected: PayoffProfile {
                    net_premium: -2.0,
                    max_profit: inf,
                    max_loss: 200.0,
                    breakevens: vec![102.0],
                },
            },
            TestCase {
                name: "guts strangle: intrinsic never below 10, so max_loss < debit",
                input: vec![leg(Buy, Call, 100.0, 9.0), leg(Buy, Put, 110.0, 12.0)],
                expected: PayoffProfile {
                    net_premium: -21.0,
                    max_profit: inf,
                    max_loss: 1100.0,
                    breakevens: vec![89.0, 121.0],
                },
            },
            TestCase {
                name: "naked short put risks the strike",
                input: vec![leg(Sell, Put, 50.0, 1.0)],
                expected: PayoffProfile {
                    net_premium: 1.0,
                    max_profit: 100.0,
                    max_loss: 4900.0,
                    breakevens: vec![49.0],
                },
            },
        ];
        for c in cases {
            let got = payoff_profile(&c.input).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_close(
                c.name,
                "net_premium",
                got.net_premium,
                c.expected.net_premium,
            );
            assert_close(c.name, "max_profit", got.max_profit, c.expected.max_profit);
            assert_close(c.name, "max_loss", got.max_loss, c.expected.max_loss);
            assert_eq!(
                got.breakevens.len(),
                c.expected.breakevens.len(),
                "{}: {:?}",
                c.name,
                got.breakevens
            );
            for (g, w) in got.breakevens.iter().zip(&c.expected.breakevens) {
                assert_close(c.name, "breakeven", *g, *w);
            }
            assert_eq!(
                is_defined_risk(&c.input),
                c.expected.max_loss.is_finite(),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn payoff_at_expiry_includes_premiums() {
        let spread = [leg(Sell, Put, 120.0, 2.0), leg(Buy, Put, 115.0, 0.85)];
        assert!((payoff_at_expiry(&spread, 130.0) - 1.15).abs() < 1e-12);
        assert!((payoff_at_expiry(&spread, 110.0) + 3.85).abs() < 1e-12);
        assert!(payoff_at_expiry(&spread, 118.85).abs() < 1e-12);
    }

    #[test]
    fn invalid_combos_are_rejected() {
        let good = leg(Sell, Put, 120.0, 2.0);
        let other_symbol = Leg {
            contract: OptionContract {
                symbol: "QQQ".into(),
                ..good.contract.clone()
            },
            ..good.clone()
        };
        let other_expiry = Leg {
            contract: OptionContract {
                expiry: NaiveDate::from_ymd_opt(2027, 1, 15).expect("date"),
                ..good.contract.clone()
            },
            ..good.clone()
        };
        let cases: Vec<(&str, Vec<Leg>, &str)> = vec![
            ("empty", vec![], "empty"),
            (
                "mixed underlyings",
                vec![good.clone(), other_symbol],
                "one underlying",
            ),
            (
                "mixed expiries",
                vec![good.clone(), other_expiry],
                "same-expiry",
            ),
            ("NaN strike", vec![leg(Buy, Put, f64::NAN, 1.0)], "strike"),
            (
                "infinite price",
                vec![leg(Buy, Put, 100.0, f64::INFINITY)],
                "price",
            ),
            ("negative price", vec![leg(Buy, Put, 100.0, -1.0)], "price"),
            (
                "zero quantity",
                vec![Leg {
                    quantity: 0,
                    ..good.clone()
                }],
                "quantity",
            ),
        ];
        for (name, legs, needle) in cases {
            match payoff_profile(&legs) {
                Err(SkillError::InvalidInput(msg)) => {
                    assert!(msg.contains(needle), "{name}: {msg}")
                }
                other => panic!("{name}: expected InvalidInput, got {other:?}"),
            }
            assert!(!is_defined_risk(&legs), "{name}");
        }
    }

    #[test]
    fn probability_of_profit_matches_lognormal() {
        // Expected values computed independently with mpmath.
        let t = 30.0 / 365.0;
        let put_spread = [leg(Sell, Put, 120.0, 2.0), leg(Buy, Put, 115.0, 0.85)];
        let pop = probability_of_profit(&put_spread, 120.0, 0.05, 0.0, 0.25, t).expect("pop");
        assert!((pop - 0.561_926_808_731_530).abs() < 1e-12, "{pop}");
        let condor = [
            leg(Buy, Put, 90.0, 0.5),
            leg(Sell, Put, 95.0, 1.2),
            leg(Sell, Call, 105.0, 1.1),
            leg(Buy, Call, 110.0, 0.4),
        ];
        let m = spread_metrics(&condor, 100.0, 0.05, 0.0, 0.25, t).expect("metrics");
        assert!(
            (m.probability_of_profit - 0.628_167_830_021_561).abs() < 1e-12,
            "{m:?}"
        );
        assert!((m.max_loss - 360.0).abs() < 1e-9);
        // Zero volatility: the terminal price is the forward, 100·e^{0.05t} ≈ 100.41.
        assert_eq!(
            probability_of_profit(&condor, 100.0, 0.05, 0.0, 0.0, t),
            Ok(1.0)
        );
        assert_eq!(
            probability_of_profit(&condor, 120.0, 0.05, 0.0, 0.0, t),
            Ok(0.0)
        );
        assert!(matches!(
            probability_of_profit(&condor, -1.0, 0.05, 0.0, 0.2, t),
            Err(SkillError::InvalidInput(_))
        ));
    }

    #[test]
    fn metrics_serialise_unbounded_as_null() {
        let m = spread_metrics(&[leg(Sell, Call, 100.0, 2.0)], 100.0, 0.0, 0.0, 0.2, 0.1)
            .expect("metrics");
        let v = serde_json::to_value(&m).expect("json");
        assert!(v["max_loss"].is_null());
        assert_eq!(v["max_profit"], 200.0);
    }

    #[test]
    fn expected_move_is_one_sigma() {
        assert!((expected_move(100.0, 0.2, 0.25) - 10.0).abs() < 1e-12);
        assert_eq!(expected_move(100.0, 0.2, -1.0), 0.0);
        assert_eq!(expected_move(f64::NAN, 0.2, 1.0), 0.0);
    }

    fn any_leg() -> impl Strategy<Value = Leg> {
        (
            any::<bool>(),
            any::<bool>(),
            1u32..4,
            80u32..121,
            0.0f64..10.0,
        )
            .prop_map(|(buy, call, qty, strike, price)| Leg {
                quantity: qty,
                ..leg(
                    if buy { Buy } else { Sell },
                    if call { Call } else { Put },
                    f64::from(strike),
                    price,
                )
            })
    }

    proptest! {
        #[test]
        fn profile_bounds_every_outcome(
            legs in prop::collection::vec(any_leg(), 1..5),
            u in 0.0f64..400.0,
        ) {
            let p = payoff_profile(&legs).expect("valid legs");
            let v = payoff_at_expiry(&legs, u) * CONTRACT_MULTIPLIER;
            prop_assert!(v <= p.max_profit + 1e-9, "payoff {v} above max_profit {}", p.max_profit);
            prop_assert!(-v <= p.max_loss + 1e-9, "loss {} above max_loss {}", -v, p.max_loss);
            // Linear in the premiums: price the legs at 0, then add the net premium back.
            let unpriced: Vec<Leg> = legs.iter().map(|l| Leg { price: 0.0, ..l.clone() }).collect();
            let q = payoff_profile(&unpriced).expect("valid legs");
            let credit = p.net_premium * CONTRACT_MULTIPLIER;
            let same = |a: f64, b: f64| a == b || (a - b).abs() < 1e-9;
            prop_assert!(same(p.max_loss, q.max_loss - credit));
            prop_assert!(same(p.max_profit, q.max_profit + credit));
            for b in &p.breakevens {
                prop_assert!(payoff_at_expiry(&legs, *b).abs() < 1e-9, "payoff at breakeven {b}");
            }
            let pop = probability_of_profit(&legs, 100.0, 0.03, 0.01, 0.3, 0.25).expect("pop");
            prop_assert!((0.0..=1.0).contains(&pop));
            // Brute force: lognormal mass of 0.05-wide cells whose midpoint is profitable.
            let (s, drift) = (0.3 * 0.5, (0.03 - 0.01 - 0.045) * 0.25);
            let above = |k: f64| prob_above(k, 100.0, drift, s);
            let grid: f64 = (0..8000)
                .map(|n| f64::from(n) * 0.05)
                .filter(|x| payoff_at_expiry(&legs, x + 0.025) > 0.0)
                .map(|x| above(x) - above(x + 0.05))
                .sum();
            let tail = if payoff_at_expiry(&legs, 400.0) > 0.0 { above(400.0) } else { 0.0 };
            prop_assert!((grid + tail - pop).abs() < 5e-3, "pop {pop} vs grid {}", grid + tail);
        }
    }
}
