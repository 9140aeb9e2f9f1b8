//! Implied volatility: the `vol` at which [`black_scholes::price`] matches a given price.
//!
//! The solver works on the out-of-the-money side (an in-the-money price is converted with
//! put–call parity, which removes the intrinsic part exactly as the price itself carries it)
//! and in total volatility `s = σ·√T`. The Black price is convex in `s` below
//! `s_c = √(2|x|)` and concave above it (`x` = log forward moneyness), so:
//! * above `p(s_c)`, Newton on the price started at `s_c` rises monotonically to the root;
//! * below it, Newton on `ln p` in the variable `u = 1/s` is used: there `ln p ≈ −x²u²/2`,
//!   nearly a parabola, which tames the exponentially small wing.
//!
//! Every step is kept inside a bracket `[lo, hi]` that always contains the root; a step that
//! would leave it is replaced by bisection, so the solver converges whenever a solution exists.

use super::black_scholes::{self, BsInput, Forward};
use super::{normal, require_non_negative, SkillError};
use crate::domain::Right;

/// Iteration limit; quadratic convergence needs < 15, bisection fallbacks < 80.
const MAX_ITER: usize = 100;
/// Relative Newton step below which the root is found: convergence is quadratic, so the
/// error left after such a step is far below `f64` resolution (or the price's own noise).
const NEWTON_TOL: f64 = 1e-12;
/// Relative bracket width at which bisection stops.
const BRACKET_TOL: f64 = 4.0 * f64::EPSILON;

/// Returns the annualised volatility that reproduces `price` for the option `i` (`i.vol` is
/// ignored).
///
/// Errors with [`SkillError::InvalidInput`] for bad inputs (including `time <= 0`) and with
/// [`SkillError::NoSolution`] when `price` lies outside the no-arbitrage bounds
/// `[max(±(S·e^{-qT} − K·e^{-rT}), 0), S·e^{-qT}]` (call) or `[…, K·e^{-rT}]` (put).
/// A price exactly at the lower bound returns `0.0`.
pub fn implied_vol(price: f64, i: &BsInput) -> Result<f64, SkillError> {
    black_scholes::validate(&BsInput { vol: 0.0, ..*i })?;
    require_non_negative("price", price, "the option's per-share price")?;
    if i.time <= 0.0 {
        return Err(SkillError::InvalidInput(
            "time must be > 0 to imply a volatility: at expiry the price is pure intrinsic \
             value; pass the time to expiry in years"
                .into(),
        ));
    }
    let fwd = Forward::new(i);
    let (otm, lower, upper) = match i.right {
        Right::Call if fwd.sd > fwd.kd => (Right::Put, fwd.sd - fwd.kd, fwd.sd),
        Right::Call => (Right::Call, 0.0, fwd.sd),
        Right::Put if fwd.kd > fwd.sd => (Right::Call, fwd.kd - fwd.sd, fwd.kd),
        Right::Put => (Right::Put, 0.0, fwd.kd),
    };
    let name = format!("{:?}", i.right).to_lowercase();
    if price >= upper {
        return Err(SkillError::NoSolution(format!(
            "{name} price {price} is at or above the no-arbitrage upper bound {upper} (no \
             volatility reaches it); check the price, right, rate and dividend yield"
        )));
    }
    // Time value: the out-of-the-money option's price, via parity when in the money.
    let target = price - lower;
    let slack = 4.0 * f64::EPSILON * fwd.sd.max(fwd.kd);
    if target <= 0.0 {
        if target >= -slack {
            return Ok(0.0);
        }
        return Err(SkillError::NoSolution(format!(
            "{name} price {price} is below the discounted intrinsic lower bound {lower} (no \
             volatility reaches it); check the price, right, rate and dividend yield"
        )));
    }
    let s = solve_total_vol(&fwd, otm, target).ok_or_else(|| {
        SkillError::NoSolution(format!(
            "{name} price {price} is too close to the upper bound {upper} to resolve a finite \
             volatility; check the price"
        ))
    })?;
    Ok(s / i.time.sqrt())
}

/// Finds `s > 0` with `price(otm, s) = target`, for `0 < target < upper bound`.
fn solve_total_vol(fwd: &Forward, right: Right, target: f64) -> Option<f64> {
    let s_c = (2.0 * fwd.x.abs()).sqrt();
    let use_log = target < fwd.terms(right, s_c).price;
    let ln_target = target.ln();
    let (mut lo, mut hi) = if use_log {
        (0.0, s_c)
    } else {
        (s_c, f64::INFINITY)
    };
    // At the money (s_c = 0) the first Newton step from s = 0 is taken analytically,
    // since the model at s = 0 is the degenerate limit: p'(0) = sd·φ(0).
    let mut s = if s_c > 0.0 {
        s_c
    } else {
        target / (fwd.sd * normal::pdf(0.0))
    };
    for _ in 0..MAX_ITER {
        let m = fwd.terms(right, s);
        let vega = fwd.sd * m.pdf1; // dPrice/ds
        let f = match (use_log, m.price > 0.0) {
            (true, true) => m.price.ln() - ln_target,
            (true, false) => f64::NEG_INFINITY,
            (false, _) => m.price - target,
        };
        if f == 0.0 {
            return Some(s);
        }
        if f < 0.0 {
            lo = s;
        } else {
            hi = s;
        }
        let newton = if use_log {
            // Newton in u = 1/s, where ln p ≈ −x²u²/2 + … is close to a concave parabola: the
            // first step may overshoot but the iteration then converges monotonically.
            s / (1.0 + f * m.price / (vega * s))
        } else {
            s - f / vega
        };
        if newton > lo && newton < hi && (newton - s).abs() <= NEWTON_TOL * newton {
            return Some(newton);
        }
        let next = if newton > lo && newton < hi && newton.is_finite() {
            newton
        } else if hi.is_finite() {
            0.5 * (lo + hi)
        } else {
            2.0 * s.max(1.0)
        };
        if !next.is_finite() {
            return None;
        }
        if hi.is_finite() && hi - lo <= BRACKET_TOL * hi {
            return Some(next);
        }
        s = next;
    }
    (hi.is_finite() && hi - lo <= 1e-9 * hi).then_some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::black_scholes::{greeks, price};
    use proptest::prelude::*;

    fn option(strike: f64, time: f64, right: Right) -> BsInput {
        BsInput {
            spot: 100.0,
            strike,
            rate: 0.05,
            dividend_yield: 0.02,
            vol: 0.0,
            time,
            right,
        }
    }

    struct TestCase {
        name: &'static str,
        input: BsInput,
        expected: f64,
    }

    #[test]
    fn recovers_known_vols() {
        let cases = [
            TestCase {
                name: "ATM call",
                input: option(100.0, 0.5, Right::Call),
                expected: 0.25,
            },
            TestCase {
                name: "deep ITM put",
                input: option(150.0, 1.0, Right::Put),
                expected: 0.4,
            },
            TestCase {
                name: "far OTM call, 1 week",
                input: option(130.0, 7.0 / 365.0, Right::Call),
                expected: 0.9,
            },
            TestCase {
                name: "OTM put, high vol",
                input: option(60.0, 2.0, Right::Put),
                expected: 2.5,
            },
            TestCase {
                name: "ATM-forward put",
                input: BsInput {
                    rate: 0.0,
                    dividend_yield: 0.0,
                    ..option(100.0, 0.25, Right::Put)
                },
                expected: 0.3,
            },
        ];
        for c in cases {
            let p = price(&BsInput {
                vol: c.expected,
                ..c.input
            });
            let got = implied_vol(p, &c.input).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert!(
                (got - c.expected).abs() < 1e-12,
                "{}: got {got}, expected {}",
                c.name,
                c.expected
            );
        }
    }

    #[test]
    fn hull_call_round_trip() {
        let i = BsInput {
            spot: 42.0,
            strike: 40.0,
            rate: 0.1,
            dividend_yield: 0.0,
            vol: 0.0,
            time: 0.5,
            right: Right::Call,
        };
        let vol = implied_vol(4.759_422_392_871_533, &i).expect("solvable");
        assert!((vol - 0.2).abs() < 1e-12, "{vol}");
    }

    #[test]
    fn prices_outside_bounds_have_no_solution() {
        let call = option(80.0, 0.5, Right::Call); // lower bound S·e^{-qT} − K·e^{-rT} ≈ 21.0
        let put = option(120.0, 0.5, Right::Put); // upper bound K·e^{-rT} ≈ 117.0
        let cases = [
            (
                "call below intrinsic",
                19.0,
                call,
                "below the discounted intrinsic",
            ),
            ("call above spot", 100.0, call, "upper bound"),
            ("put above discounted strike", 118.0, put, "upper bound"),
            (
                "OTM call above spot",
                150.0,
                option(200.0, 1.0, Right::Call),
                "upper bound",
            ),
            (
                "put below intrinsic",
                10.0,
                put,
                "below the discounted intrinsic",
            ),
        ];
        for (name, p, i, needle) in cases {
            match implied_vol(p, &i) {
                Err(SkillError::NoSolution(msg)) => assert!(msg.contains(needle), "{name}: {msg}"),
                other => panic!("{name}: expected NoSolution, got {other:?}"),
            }
        }
    }

    #[test]
    fn price_at_lower_bound_is_zero_vol() {
        let i = option(80.0, 0.5, Right::Call);
        let bound = price(&BsInput { vol: 0.0, ..i });
        assert_eq!(implied_vol(bound, &i), Ok(0.0));
        assert_eq!(implied_vol(0.0, &option(120.0, 0.5, Right::Call)), Ok(0.0));
    }

    #[test]
    fn prices_near_the_upper_bound_stay_finite() {
        let i = option(100.0, 0.5, Right::Call);
        let upper = 100.0 * (-0.02f64 * 0.5).exp();
        for gap in [1e-2, 1e-6, 1e-10, 1e-14] {
            match implied_vol(upper * (1.0 - gap), &i) {
                Ok(vol) => {
                    let again = price(&BsInput { vol, ..i });
                    assert!(
                        (again / (upper * (1.0 - gap)) - 1.0).abs() < 1e-12,
                        "gap {gap}: {vol}"
                    );
                }
                Err(SkillError::NoSolution(_)) => {}
                Err(e) => panic!("gap {gap}: {e}"),
            }
        }
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let i = option(100.0, 0.5, Right::Call);
        let cases = [
            ("negative price", -1.0, i),
            ("NaN price", f64::NAN, i),
            ("expired", 1.0, BsInput { time: 0.0, ..i }),
            ("bad spot", 1.0, BsInput { spot: -5.0, ..i }),
        ];
        for (name, p, input) in cases {
            assert!(
                matches!(implied_vol(p, &input), Err(SkillError::InvalidInput(_))),
                "{name}"
            );
        }
    }

    proptest! {
        /// Round trip over K/S 0.5–2, T 1 day–2 years, vol 5%–300%.
        ///
        /// Skipped cases, where the price carries no usable information about the volatility:
        /// * the time value is below 1e-12 of the price (deep in the money), or the price
        ///   underflows (< 1e-280 of spot);
        /// * more generally, the price's own rounding, about ε·(S·e^{-qT} + K·e^{-rT}),
        ///   divided by vega would already move the vol by more than 1e-9.
        #[test]
        fn round_trips(
            moneyness in 0.5f64..2.0,
            time in (1.0 / 365.0)..2.0f64,
            vol in 0.05f64..3.0,
            rate in -0.01f64..0.08,
            dividend_yield in 0.0f64..0.05,
            right in prop_oneof![Just(Right::Call), Just(Right::Put)],
        ) {
            let spot = 100.0;
            let strike = spot * moneyness;
            let i = BsInput { spot, strike, rate, dividend_yield, vol, time, right };
            let g = greeks(&i);
            let p = g.price;
            let zero_vol = price(&BsInput { vol: 0.0, ..i });
            let scale = spot * (-dividend_yield * time).exp() + i.strike * (-rate * time).exp();
            let vega = g.vega / 0.01;
            let uninformative = p - zero_vol < 1e-12 * p
                || p < 1e-280 * spot
                || f64::EPSILON * scale / vega > 1e-9;
            prop_assume!(!uninformative);
            let iv = implied_vol(p, &i).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!((iv - vol).abs() <= 1e-8, "vol {vol} came back as {iv}");
            if p >= 1e-6 * spot {
                let again = price(&BsInput { vol: iv, ..i });
                prop_assert!((again - p).abs() <= 2e-12 * p, "repriced {again} vs {p}");
            }
        }
    }
}
