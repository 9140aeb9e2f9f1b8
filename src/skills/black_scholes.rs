//! Black–Scholes–Merton prices and greeks for European options with a continuous dividend
//! yield.
//!
//! Degenerate inputs (`time <= 0`, `vol <= 0`, or a total volatility `vol·√time` that
//! underflows) use the limit of the formula: the discounted intrinsic value
//! `max(±(S·e^{-qT} − K·e^{-rT}), 0)` with zero gamma and vega.

use serde::{Deserialize, Serialize};

use super::{normal, require_finite, require_non_negative, require_positive, SkillError};
use crate::domain::Right;

/// Calendar days per year, used to express theta per day.
const DAYS_PER_YEAR: f64 = 365.0;
/// Greeks quoted per percentage point (vega per 1 vol point, rho per 1 rate point).
const PER_POINT: f64 = 0.01;

/// Inputs of the Black–Scholes–Merton model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BsInput {
    /// Price of the underlying.
    pub spot: f64,
    /// Strike price.
    pub strike: f64,
    /// Continuously compounded risk-free rate (0.05 = 5%).
    pub rate: f64,
    /// Continuous dividend yield (0.01 = 1%).
    pub dividend_yield: f64,
    /// Annualised volatility (0.2 = 20%).
    pub vol: f64,
    /// Time to expiry in years.
    pub time: f64,
    /// Call or put.
    pub right: Right,
}

/// Price and sensitivities of one option (per share).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Greeks {
    /// Option price.
    pub price: f64,
    /// dPrice/dSpot.
    pub delta: f64,
    /// d²Price/dSpot².
    pub gamma: f64,
    /// Price change per calendar day that passes (usually negative).
    pub theta: f64,
    /// Price change per 1 volatility point (0.01).
    pub vega: f64,
    /// Price change per 1 rate point (0.01).
    pub rho: f64,
}

/// The pieces of the model that do not depend on volatility, computed once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forward {
    /// Discounted spot `S·e^{-qT}`.
    pub sd: f64,
    /// Discounted strike `K·e^{-rT}`.
    pub kd: f64,
    /// Log-moneyness `ln(sd / kd)`; NaN when spot or strike is not positive.
    pub x: f64,
    /// Time to expiry clamped at zero.
    pub t: f64,
}

/// Normal-distribution terms of one evaluation, already signed for the option's right.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms {
    /// `N(ω·d1)` (ω = +1 for a call, −1 for a put).
    pub n1: f64,
    /// `N(ω·d2)`.
    pub n2: f64,
    /// `φ(d1)`; zero in the degenerate limit.
    pub pdf1: f64,
    /// Option price.
    pub price: f64,
}

impl Forward {
    /// Builds the volatility-free part of the model.
    pub fn new(i: &BsInput) -> Forward {
        let t = i.time.max(0.0);
        let sd = i.spot * (-i.dividend_yield * t).exp();
        let kd = i.strike * (-i.rate * t).exp();
        let x = if i.spot > 0.0 && i.strike > 0.0 {
            let ratio = i.spot / i.strike;
            let log_ratio = if ratio.is_finite() && ratio > 0.0 {
                ratio.ln()
            } else {
                i.spot.ln() - i.strike.ln()
            };
            log_ratio + (i.rate - i.dividend_yield) * t
        } else {
            f64::NAN
        };
        Forward { sd, kd, x, t }
    }

    /// Evaluates the model at total volatility `s = σ·√T`.
    pub fn terms(&self, right: Right, s: f64) -> Terms {
        let w = omega(right);
        let (n1, n2, pdf1) = if s.is_nan() || s <= 0.0 || self.x.is_nan() {
            // Zero volatility or time: the forward is certain; ATM-forward splits the delta.
            let edge = w * (self.sd - self.kd);
            let n = if edge > 0.0 {
                1.0
            } else if edge < 0.0 {
                0.0
            } else {
                0.5
            };
            (n, n, 0.0)
        } else if s.is_infinite() {
            // Infinite total volatility: a call is worth the discounted spot, a put the strike.
            match right {
                Right::Call => (1.0, 0.0, 0.0),
                Right::Put => (0.0, 1.0, 0.0),
            }
        } else {
            let d1 = self.x / s + 0.5 * s;
            let (up1, down1, pdf1) = normal::cdf_pair(d1);
            let (up2, down2, _) = normal::cdf_pair(d1 - s);
            match right {
                Right::Call => (up1, up2, pdf1),
                Right::Put => (down1, down2, pdf1),
            }
        };
        let price = w * (scaled(self.sd, n1) - scaled(self.kd, n2));
        Terms {
            n1,
            n2,
            pdf1,
            // Rounding can leave a hair below zero far out of the money.
            price: if price < 0.0 { 0.0 } else { price },
        }
    }
}

/// +1 for a call, −1 for a put.
pub(crate) fn omega(right: Right) -> f64 {
    match right {
        Right::Call => 1.0,
        Right::Put => -1.0,
    }
}

/// `a·n`, except that a zero probability wins over an overflowed amount (no `inf·0 = NaN`).
fn scaled(a: f64, n: f64) -> f64 {
    if n == 0.0 {
        0.0
    } else {
        a * n
    }
}

/// Total volatility `σ·√T` (zero when either is not positive).
fn total_vol(i: &BsInput) -> (f64, f64) {
    let sqrt_t = i.time.max(0.0).sqrt();
    (sqrt_t, i.vol.max(0.0) * sqrt_t)
}

/// Option price per share.
pub fn price(i: &BsInput) -> f64 {
    let (_, s) = total_vol(i);
    Forward::new(i).terms(i.right, s).price
}

/// Delta: `e^{-qT}·N(d1)` for a call, `−e^{-qT}·N(−d1)` for a put.
pub fn delta(i: &BsInput) -> f64 {
    let (_, s) = total_vol(i);
    let fwd = Forward::new(i);
    let disc_q = (-i.dividend_yield * fwd.t).exp();
    omega(i.right) * disc_q * fwd.terms(i.right, s).n1
}

/// Price and all first-order greeks (plus gamma) in one pass.
pub fn greeks(i: &BsInput) -> Greeks {
    let (sqrt_t, s) = total_vol(i);
    let fwd = Forward::new(i);
    let m = fwd.terms(i.right, s);
    let w = omega(i.right);
    let disc_q = (-i.dividend_yield * fwd.t).exp();
    let carry = w * (i.dividend_yield * scaled(fwd.sd, m.n1) - i.rate * scaled(fwd.kd, m.n2));
    let (gamma, vega, decay) = if m.pdf1 > 0.0 {
        let sd_pdf = fwd.sd * m.pdf1;
        (
            disc_q * m.pdf1 / (i.spot * s),
            sd_pdf * sqrt_t,
            -sd_pdf * i.vol / (2.0 * sqrt_t),
        )
    } else {
        (0.0, 0.0, 0.0)
    };
    Greeks {
        price: m.price,
        delta: w * disc_q * m.n1,
        gamma,
        theta: (decay + carry) / DAYS_PER_YEAR,
        vega: vega * PER_POINT,
        rho: w * fwd.t * scaled(fwd.kd, m.n2) * PER_POINT,
    }
}

/// Checks that every field is finite, `spot > 0`, `strike > 0`, `vol >= 0` and `time >= 0`.
pub fn validate(i: &BsInput) -> Result<(), SkillError> {
    require_positive("spot", i.spot, "the underlying price")?;
    require_positive("strike", i.strike, "the option strike")?;
    require_finite(
        "rate",
        i.rate,
        "the risk-free rate as a decimal (0.05 = 5%)",
    )?;
    require_finite(
        "dividend_yield",
        i.dividend_yield,
        "the dividend yield as a decimal (0 if none)",
    )?;
    require_non_negative(
        "vol",
        i.vol,
        "annualised volatility as a decimal (0.2 = 20%)",
    )?;
    require_non_negative("time", i.time, "time to expiry in years (days / 365)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(
        spot: f64,
        strike: f64,
        rate: f64,
        q: f64,
        vol: f64,
        time: f64,
        right: Right,
    ) -> BsInput {
        BsInput {
            spot,
            strike,
            rate,
            dividend_yield: q,
            vol,
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
    fn reference_prices() {
        // Expected values: Hull's textbook examples, recomputed to 15 digits with mpmath.
        let cases = [
            TestCase {
                name: "Hull call S=42 K=40 r=10% vol=20% T=0.5 (4.76)",
                input: input(42.0, 40.0, 0.1, 0.0, 0.2, 0.5, Right::Call),
                expected: 4.759_422_392_871_533,
            },
            TestCase {
                name: "Hull put S=42 K=40 r=10% vol=20% T=0.5 (0.81)",
                input: input(42.0, 40.0, 0.1, 0.0, 0.2, 0.5, Right::Put),
                expected: 0.808_599_372_900_094,
            },
            TestCase {
                name: "Hull index call with 3% dividend yield (51.83)",
                input: input(930.0, 900.0, 0.08, 0.03, 0.2, 2.0 / 12.0, Right::Call),
                expected: 51.832_956_796_490_85,
            },
            TestCase {
                name: "expired call is intrinsic",
                input: input(42.0, 40.0, 0.1, 0.0, 0.2, 0.0, Right::Call),
                expected: 2.0,
            },
            TestCase {
                name: "negative time is treated as expired",
                input: input(38.0, 40.0, 0.1, 0.0, 0.2, -1.0, Right::Put),
                expected: 2.0,
            },
            TestCase {
                name: "zero vol call is discounted intrinsic",
                input: input(42.0, 40.0, 0.1, 0.0, 0.0, 0.5, Right::Call),
                expected: 42.0 - 40.0 * (-0.05f64).exp(),
            },
            TestCase {
                name: "zero vol OTM-forward put is worthless",
                input: input(42.0, 40.0, 0.1, 0.0, 0.0, 0.5, Right::Put),
                expected: 0.0,
            },
        ];
        for c in cases {
            let got = price(&c.input);
            assert!(
                (got - c.expected).abs() <= 1e-12 * c.expected.max(1.0),
                "{}: got {got}, expected {}",
                c.name,
                c.expected
            );
        }
    }

    #[test]
    fn hull_greeks_units() {
        // Hull's delta example: delta 0.522, gamma 0.066, theta -4.31/yr, vega 12.1, rho 8.91.
        let g = greeks(&input(49.0, 50.0, 0.05, 0.0, 0.2, 0.3846, Right::Call));
        let expected = Greeks {
            price: 2.400_461_086_965_662,
            delta: 0.521_601_633_971_576,
            gamma: 0.065_545_377_252_479,
            theta: -0.011_795_588_943_962,
            vega: 0.121_052_427_542_438,
            rho: 0.089_065_740_988_009,
        };
        let pairs = [
            ("price", g.price, expected.price),
            ("delta", g.delta, expected.delta),
            ("gamma", g.gamma, expected.gamma),
            ("theta", g.theta, expected.theta),
            ("vega", g.vega, expected.vega),
            ("rho", g.rho, expected.rho),
        ];
        for (name, got, want) in pairs {
            assert!((got - want).abs() < 1e-12, "{name}: {got} vs {want}");
        }
        assert!(
            (delta(&input(49.0, 50.0, 0.05, 0.0, 0.2, 0.3846, Right::Call)) - g.delta).abs()
                < 1e-15
        );
    }

    #[test]
    fn degenerate_greeks_are_limits() {
        let g = greeks(&input(42.0, 40.0, 0.1, 0.02, 0.0, 0.5, Right::Call));
        assert_eq!(g.gamma, 0.0);
        assert_eq!(g.vega, 0.0);
        assert!((g.delta - (-0.01f64).exp()).abs() < 1e-15);
        let expired_otm = greeks(&input(38.0, 40.0, 0.1, 0.0, 0.3, 0.0, Right::Call));
        assert_eq!(
            expired_otm,
            Greeks {
                price: 0.0,
                delta: 0.0,
                gamma: 0.0,
                theta: 0.0,
                vega: 0.0,
                rho: 0.0
            }
        );
    }

    #[test]
    fn extreme_finite_inputs_never_nan() {
        let values = [1e-300, 1e-9, 1.0, 1e9, 1e300];
        for &s in &values {
            for &k in &values {
                for &vol in &[0.0, 1e-300, 0.2, 1e6, 1e300] {
                    for &t in &[0.0, 1e-300, 1.0, 1e6] {
                        for right in [Right::Call, Right::Put] {
                            let i = input(s, k, 0.05, 0.01, vol, t, right);
                            let g = greeks(&i);
                            let all = [g.price, g.delta, g.gamma, g.theta, g.vega, g.rho];
                            assert!(all.iter().all(|v| !v.is_nan()), "{i:?} -> {g:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn validate_rejects_bad_fields() {
        let good = input(100.0, 100.0, 0.05, 0.0, 0.2, 0.5, Right::Call);
        assert!(validate(&good).is_ok());
        let bad = [
            ("spot", BsInput { spot: 0.0, ..good }),
            (
                "strike",
                BsInput {
                    strike: f64::NAN,
                    ..good
                },
            ),
            (
                "rate",
                BsInput {
                    rate: f64::INFINITY,
                    ..good
                },
            ),
            (
                "dividend_yield",
                BsInput {
                    dividend_yield: f64::NAN,
                    ..good
                },
            ),
            ("vol", BsInput { vol: -0.1, ..good }),
            ("time", BsInput { time: -1.0, ..good }),
        ];
        for (field, i) in bad {
            match validate(&i) {
                Err(SkillError::InvalidInput(msg)) => assert!(msg.starts_with(field), "{msg}"),
                other => panic!("{field}: expected InvalidInput, got {other:?}"),
            }
        }
    }

    fn market() -> impl Strategy<Value = (f64, f64, f64, f64, f64, f64)> {
        (
            1.0f64..1000.0, // spot
            0.5f64..2.0,    // moneyness K/S
            -0.02f64..0.1,  // rate
            0.0f64..0.06,   // dividend yield
            0.05f64..1.5,   // vol
            0.02f64..2.0,   // time
        )
    }

    proptest! {
        #[test]
        fn put_call_parity_with_dividends((s, m, r, q, v, t) in market()) {
            let call = input(s, s * m, r, q, v, t, Right::Call);
            let put = BsInput { right: Right::Put, ..call };
            let lhs = price(&call) - price(&put);
            let rhs = s * (-q * t).exp() - s * m * (-r * t).exp();
            prop_assert!((lhs - rhs).abs() <= 1e-12 * s * (1.0 + m), "{lhs} vs {rhs}");
        }

        #[test]
        fn price_increases_with_vol(
            (s, m, r, q, v, t) in market(),
            bump in 1e-4f64..1.0,
            right in prop_oneof![Just(Right::Call), Just(Right::Put)],
        ) {
            let lo = input(s, s * m, r, q, v, t, right);
            let hi = BsInput { vol: v + bump, ..lo };
            prop_assert!(price(&hi) >= price(&lo) - 1e-13 * s);
        }

        #[test]
        fn delta_within_bounds((s, m, r, q, v, t) in market()) {
            let call = input(s, s * m, r, q, v, t, Right::Call);
            let put = BsInput { right: Right::Put, ..call };
            let dq = (-q * t).exp();
            let (dc, dp) = (delta(&call), delta(&put));
            prop_assert!((0.0..=dq).contains(&dc), "call delta {dc} outside [0, {dq}]");
            prop_assert!((-dq..=0.0).contains(&dp), "put delta {dp} outside [-{dq}, 0]");
        }

        #[test]
        fn greeks_match_finite_differences(
            (s, m, r, q, v, t) in market(),
            right in prop_oneof![Just(Right::Call), Just(Right::Put)],
        ) {
            let i = input(s, s * m, r, q, v, t, right);
            let g = greeks(&i);
            // Central differences; steps scale with the distribution's width s·σ·√T.
            let bump = |f: &dyn Fn(f64) -> BsInput, x: f64, h: f64| {
                let (up, down) = (price(&f(x + h)), price(&f(x - h)));
                ((up - down) / (2.0 * h), (up - 2.0 * g.price + down) / (h * h))
            };
            let hs = 1e-3 * s * v * t.sqrt();
            let (fd_delta, fd_gamma) = bump(&|x| BsInput { spot: x, ..i }, s, hs);
            let (fd_vega, _) = bump(&|x| BsInput { vol: x, ..i }, v, 1e-4 * v);
            let (fd_dt, _) = bump(&|x| BsInput { time: x, ..i }, t, 1e-4 * t);
            let (fd_rho, _) = bump(&|x| BsInput { rate: x, ..i }, r, 1e-4);
            // Absolute tolerances include the differences' own rounding noise, ~1e-13·s / h^k.
            let checks = [
                ("delta", g.delta, fd_delta, 1.0 + 1e-6 * s / hs),
                ("gamma", g.gamma, fd_gamma, 1.0 / s + 1e-6 * s / (hs * hs)),
                ("vega", g.vega, fd_vega * 0.01, s),
                ("theta", g.theta, -fd_dt / 365.0, s),
                ("rho", g.rho, fd_rho * 0.01, s),
            ];
            for (name, analytic, fd, scale) in checks {
                prop_assert!(
                    (analytic - fd).abs() <= 1e-7 * scale + 1e-5 * analytic.abs(),
                    "{name}: analytic {analytic} vs finite difference {fd}"
                );
            }
        }
    }
}
