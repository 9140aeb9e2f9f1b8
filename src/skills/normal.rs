//! Standard normal density and distribution function.
//!
//! The upper tail is computed as `Q(a) = φ(a)·R(a)`, where `R` is the Mills ratio. `R` is
//! smooth and slowly varying, so it is approximated by Chebyshev series on [0, 2], [2, 5] and
//! [5, 10] (coefficients fitted at 50 digits with mpmath on 64 Chebyshev nodes, truncated below
//! 1e-18 relative) and by Laplace's continued fraction beyond 10. Both tails keep ~1e-15
//! relative accuracy, which deep out-of-the-money prices and the implied-vol solver need.

/// 1 / sqrt(2π).
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// Beyond this |x| the tail underflows to zero.
const UNDERFLOW: f64 = 38.6;
/// Terms of the continued fraction used for |x| >= 10 (error < 1e-17 there).
const CF_TERMS: u32 = 14;

/// Chebyshev coefficients of the Mills ratio on [0, 2].
const C0: [f64; 22] = [
    0.7430790430645546,
    -0.3968939565586182,
    0.09073615019192148,
    -0.018474258449769763,
    0.003429488376040531,
    -0.0005895315296191612,
    9.48823349717841e-05,
    -1.4415775249047041e-05,
    2.080827977484079e-06,
    -2.86808657243898e-07,
    3.7906508687297865e-08,
    -4.820650673149853e-09,
    5.916168506679892e-10,
    -7.024395204473269e-11,
    8.086413024145855e-12,
    -9.042915360661821e-13,
    9.84002984882937e-14,
    -1.043442944664305e-14,
    1.0797076559794682e-15,
    -1.0915202982625066e-16,
    1.0792424138392299e-17,
    -1.044716165848462e-18,
];
/// Chebyshev coefficients of the Mills ratio on [2, 5].
const C1: [f64; 22] = [
    0.2862377855345972,
    -0.11065248883797843,
    0.02024570285464114,
    -0.0035309014581012604,
    0.0005901087021547559,
    -9.490834983523941e-05,
    1.473980074366625e-05,
    -2.216808536269577e-06,
    3.236348271233777e-07,
    -4.595821779571705e-08,
    6.359493922419889e-09,
    -8.588299336343789e-10,
    1.1334736841608612e-10,
    -1.4637397071453826e-11,
    1.851558916401036e-12,
    -2.2964587336010563e-13,
    2.795201677853697e-14,
    -3.3415836126796874e-15,
    3.9264254577425474e-16,
    -4.537775733798018e-17,
    5.1613221661845934e-18,
    -5.780990924740203e-19,
];
/// Chebyshev coefficients of the Mills ratio on [5, 10].
const C2: [f64; 22] = [
    0.13831243786230057,
    -0.0456757028877746,
    0.007415082539646944,
    -0.0011844939298735,
    0.00018631632644645283,
    -2.8877263214538352e-05,
    4.412743990254936e-06,
    -6.651928497898221e-07,
    9.896733538270212e-08,
    -1.453931824654617e-08,
    2.11004383584522e-09,
    -3.02627408574826e-10,
    4.290980546464593e-11,
    -6.017107895951518e-12,
    8.347258034924224e-13,
    -1.1459291358831446e-13,
    1.5572371174600035e-14,
    -2.0953315967653616e-15,
    2.7923071522349225e-16,
    -3.6863059248053163e-17,
    4.822110121555802e-18,
    -6.251656974164377e-19,
];

/// Standard normal density φ(x).
pub fn pdf(x: f64) -> f64 {
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal distribution function Φ(x).
pub fn cdf(x: f64) -> f64 {
    cdf_pair(x).0
}

/// Returns `(Φ(x), Φ(-x), φ(x))` using a single exponential.
///
/// Both tails are computed directly (not as `1 - Φ`), so the small one keeps full relative
/// precision. NaN input yields NaN values.
pub fn cdf_pair(x: f64) -> (f64, f64, f64) {
    let a = x.abs();
    let density = pdf(a);
    let tail = if a > UNDERFLOW {
        0.0
    } else {
        density * mills_ratio(a)
    };
    if x.is_nan() {
        (f64::NAN, f64::NAN, f64::NAN)
    } else if x > 0.0 {
        (1.0 - tail, tail, density)
    } else {
        (tail, 1.0 - tail, density)
    }
}

/// Mills ratio `Q(a)/φ(a)` for `a >= 0`.
fn mills_ratio(a: f64) -> f64 {
    if a < 2.0 {
        chebyshev(&C0, a - 1.0)
    } else if a < 5.0 {
        chebyshev(&C1, (2.0 * a - 7.0) / 3.0)
    } else if a < 10.0 {
        chebyshev(&C2, (2.0 * a - 15.0) / 5.0)
    } else {
        let mut b = a;
        for k in (1..=CF_TERMS).rev() {
            b = a + f64::from(k) / b;
        }
        1.0 / b
    }
}

/// Clenshaw evaluation of `c[0] + Σ c[k]·T_k(t)` for `t` in [-1, 1].
fn chebyshev(c: &[f64], t: f64) -> f64 {
    let (mut b1, mut b2) = (0.0, 0.0);
    for &ck in c[1..].iter().rev() {
        let b0 = ck + 2.0 * t * b1 - b2;
        b2 = b1;
        b1 = b0;
    }
    c[0] + t * b1 - b2
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestCase {
        name: &'static str,
        input: f64,
        expected: f64,
    }

    #[test]
    fn cdf_matches_reference_to_relative_precision() {
        // Expected values from mpmath at 30 digits.
        let cases = [
            TestCase {
                name: "centre",
                input: 0.0,
                expected: 0.5,
            },
            TestCase {
                name: "-1",
                input: -1.0,
                expected: 0.158_655_253_931_457_05,
            },
            TestCase {
                name: "1.96",
                input: 1.96,
                expected: 0.975_002_104_851_779_5,
            },
            TestCase {
                name: "-3",
                input: -3.0,
                expected: 0.001_349_898_031_630_094_6,
            },
            TestCase {
                name: "-5",
                input: -5.0,
                expected: 2.866_515_718_791_939e-7,
            },
            TestCase {
                name: "-7.5",
                input: -7.5,
                expected: 3.190_891_672_910_896_3e-14,
            },
            TestCase {
                name: "-10",
                input: -10.0,
                expected: 7.619_853_024_160_525e-24,
            },
            TestCase {
                name: "-20",
                input: -20.0,
                expected: 2.753_624_118_606_233_7e-89,
            },
            TestCase {
                name: "-37",
                input: -37.0,
                expected: 5.725_571_222_524_577e-300,
            },
            TestCase {
                name: "-40 underflows",
                input: -40.0,
                expected: 0.0,
            },
        ];
        for c in cases {
            let got = cdf(c.input);
            let err = (got - c.expected).abs() / c.expected.max(f64::MIN_POSITIVE);
            assert!(
                err < 1e-13 || got == c.expected,
                "{}: got {got:e}, expected {:e}",
                c.name,
                c.expected
            );
        }
    }

    #[test]
    fn pair_is_consistent() {
        for n in -400..=400 {
            let x = f64::from(n) * 0.025;
            let (lo, hi, d) = cdf_pair(x);
            assert!((lo + hi - 1.0).abs() < 1e-15, "{x}");
            assert_eq!(hi, cdf(-x), "{x}");
            assert_eq!(d, pdf(x), "{x}");
            assert!(cdf(x + 0.025) >= lo, "monotone at {x}");
        }
        assert!(cdf_pair(f64::NAN).0.is_nan());
        assert_eq!(cdf(f64::INFINITY), 1.0);
        assert_eq!(cdf(f64::NEG_INFINITY), 0.0);
    }
}
