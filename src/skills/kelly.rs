//! Kelly position sizing for a binary bet.

/// Full Kelly fraction of bankroll for a bet that wins `win` with probability `p_win` and
/// otherwise loses `loss` (both in the same units, e.g. dollars per contract).
///
/// Uses `f* = p − q/b` with `b = win / loss`: the fraction of bankroll whose *loss* is at
/// risk. Returns 0 on bad input (non-finite, `p_win` outside [0, 1], `win <= 0`, `loss <= 0`)
/// and when the edge is negative; never exceeds `p_win <= 1`.
pub fn kelly_fraction(p_win: f64, win: f64, loss: f64) -> f64 {
    let valid = p_win.is_finite()
        && (0.0..=1.0).contains(&p_win)
        && win.is_finite()
        && win > 0.0
        && loss.is_finite()
        && loss > 0.0;
    if !valid {
        return 0.0;
    }
    let b = win / loss;
    let f = p_win - (1.0 - p_win) / b;
    if f.is_finite() && f > 0.0 {
        f
    } else {
        0.0
    }
}

/// `fraction × kelly_fraction(p_win, win, loss)`, clamped to `[0, cap]`.
///
/// `fraction` must be in [0, 1] (betting more than full Kelly only adds risk) and `cap`
/// finite and >= 0; otherwise returns 0.
pub fn fractional_kelly(p_win: f64, win: f64, loss: f64, fraction: f64, cap: f64) -> f64 {
    let valid =
        fraction.is_finite() && (0.0..=1.0).contains(&fraction) && cap.is_finite() && cap >= 0.0;
    if !valid {
        return 0.0;
    }
    (fraction * kelly_fraction(p_win, win, loss)).clamp(0.0, cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct TestCase {
        name: &'static str,
        input: (f64, f64, f64),
        expected: f64,
    }

    #[test]
    fn full_kelly() {
        let cases = [
            TestCase {
                name: "even money, 60%",
                input: (0.6, 1.0, 1.0),
                expected: 0.2,
            },
            TestCase {
                name: "2:1 payoff, 50%",
                input: (0.5, 2.0, 1.0),
                expected: 0.25,
            },
            TestCase {
                name: "credit spread 115 vs 385 at 80%",
                input: (0.8, 115.0, 385.0),
                expected: 0.8 - 0.2 * 385.0 / 115.0,
            },
            TestCase {
                name: "sure win",
                input: (1.0, 1.0, 5.0),
                expected: 1.0,
            },
            TestCase {
                name: "negative edge",
                input: (0.4, 1.0, 1.0),
                expected: 0.0,
            },
            TestCase {
                name: "p above 1",
                input: (1.1, 1.0, 1.0),
                expected: 0.0,
            },
            TestCase {
                name: "p negative",
                input: (-0.1, 1.0, 1.0),
                expected: 0.0,
            },
            TestCase {
                name: "p NaN",
                input: (f64::NAN, 1.0, 1.0),
                expected: 0.0,
            },
            TestCase {
                name: "win zero",
                input: (0.6, 0.0, 1.0),
                expected: 0.0,
            },
            TestCase {
                name: "loss negative",
                input: (0.6, 1.0, -1.0),
                expected: 0.0,
            },
            TestCase {
                name: "win infinite",
                input: (0.6, f64::INFINITY, 1.0),
                expected: 0.0,
            },
        ];
        for c in cases {
            let (p, w, l) = c.input;
            let got = kelly_fraction(p, w, l);
            assert!(
                (got - c.expected).abs() < 1e-15,
                "{}: got {got}, expected {}",
                c.name,
                c.expected
            );
        }
    }

    #[test]
    fn fractional_and_capped() {
        let cases = [
            ("half Kelly", (0.5, 1.0), 0.1),
            ("cap binds", (1.0, 0.05), 0.05),
            ("zero fraction", (0.0, 1.0), 0.0),
            ("fraction above 1", (1.5, 1.0), 0.0),
            ("negative fraction", (-0.5, 1.0), 0.0),
            ("NaN fraction", (f64::NAN, 1.0), 0.0),
            ("negative cap", (0.5, -0.1), 0.0),
            ("NaN cap", (0.5, f64::NAN), 0.0),
        ];
        for (name, (fraction, cap), expected) in cases {
            let got = fractional_kelly(0.6, 1.0, 1.0, fraction, cap);
            assert!(
                (got - expected).abs() < 1e-15,
                "{name}: got {got}, expected {expected}"
            );
        }
    }

    proptest! {
        #[test]
        fn stays_within_zero_and_cap(
            p in -0.5f64..1.5,
            win in -10.0f64..1000.0,
            loss in -10.0f64..1000.0,
            fraction in -0.5f64..1.5,
            cap in -0.5f64..1.5,
        ) {
            let full = kelly_fraction(p, win, loss);
            prop_assert!((0.0..=1.0).contains(&full));
            let f = fractional_kelly(p, win, loss, fraction, cap);
            prop_assert!(f >= 0.0 && f <= cap.max(0.0), "{f} outside [0, {cap}]");
        }
    }
}
