//! The volatility process of one symbol: a calm / normal / stressed Markov [`Regime`] whose
//! target the log-vol level chases, an Ornstein–Uhlenbeck noise term tied to returns
//! (leverage effect), the soft bound on both, and the term structure of variance.

/// Correlation between the vol noise and the day's return shock.
const LEVERAGE: f64 = -0.6;
/// Daily persistence of the OU vol noise (half-life 4 trading days).
const VOL_NOISE_DECAY: f64 = 0.840_896_415_253_714_6; // 0.5^(1/4)
/// Stationary standard deviation of the OU vol noise (log units).
const VOL_NOISE_SD: f64 = 0.06;
/// Daily fraction of the gap to the regime's vol level closed when vol rises / falls.
const LEVEL_SPEED_UP: f64 = 0.5;
const LEVEL_SPEED_DOWN: f64 = 0.35;
/// Bound of the log-vol deviation from the base vol (see [`saturate`]).
const VOL_BOUND: f64 = 0.35;
/// Mean-reversion speed of the vol term structure (per year).
const TERM_REVERSION: f64 = 4.0;

/// Volatility regime of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Regime {
    Calm,
    Normal,
    Stressed,
}

impl Regime {
    /// Log-vol offset the level drifts toward.
    pub(super) fn target_level(self) -> f64 {
        match self {
            Regime::Calm => -0.40,
            Regime::Normal => 0.0,
            Regime::Stressed => 0.50,
        }
    }

    /// Daily Markov transition for a uniform draw `u`.
    /// Mean stays: calm 10 days, normal 5 days (then 40 % calm, 60 % stressed), stressed 7 days.
    pub(super) fn next(self, u: f64) -> Regime {
        match self {
            Regime::Calm if u < 1.0 / 10.0 => Regime::Normal,
            Regime::Normal if u < 0.4 / 5.0 => Regime::Calm,
            Regime::Normal if u < 1.0 / 5.0 => Regime::Stressed,
            Regime::Stressed if u < 1.0 / 7.0 => Regime::Normal,
            other => other,
        }
    }

    /// The log-vol level a day later: `level` closes part of its gap to this regime's target
    /// (faster up than down).
    pub(super) fn next_level(self, level: f64) -> f64 {
        let target = self.target_level();
        let speed = if target > level {
            LEVEL_SPEED_UP
        } else {
            LEVEL_SPEED_DOWN
        };
        level + (target - level) * speed
    }
}

/// The OU vol noise a day later, from the day's standardised return shock `z_ret` and the
/// vol's own shock `z_vol_own`.
pub(super) fn next_noise(noise: f64, z_ret: f64, z_vol_own: f64) -> f64 {
    let z_vol = LEVERAGE * z_ret + (1.0 - LEVERAGE * LEVERAGE).sqrt() * z_vol_own;
    noise * VOL_NOISE_DECAY
        + VOL_NOISE_SD * (1.0 - VOL_NOISE_DECAY * VOL_NOISE_DECAY).sqrt() * z_vol
}

/// Soft bound on the log-vol deviation, `A·tanh(y/A)`: keeps the yearly extremes close to the
/// typical calm / stressed levels, so high and low IV ranks are common rather than rare.
pub(super) fn saturate(y: f64) -> f64 {
    VOL_BOUND * (y / VOL_BOUND).tanh()
}

/// Expected average variance over `t` years when instantaneous vol `vol` reverts to `long_run`.
pub(super) fn term_variance(vol: f64, long_run: f64, t: f64) -> f64 {
    let kt = TERM_REVERSION * t;
    let weight = if kt < 1e-9 {
        1.0
    } else {
        (1.0 - (-kt).exp()) / kt
    };
    long_run * long_run + (vol * vol - long_run * long_run) * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_moves_toward_the_regime_target_faster_up_than_down() {
        assert_eq!(Regime::Stressed.next_level(0.0), 0.25);
        assert!((Regime::Calm.next_level(0.0) - -0.14).abs() < 1e-12);
        assert_eq!(Regime::Normal.next(0.5), Regime::Normal);
        assert_eq!(Regime::Normal.next(0.05), Regime::Calm);
        assert_eq!(Regime::Normal.next(0.15), Regime::Stressed);
    }

    #[test]
    fn vol_is_soft_bounded_and_the_term_structure_reverts() {
        assert!(saturate(10.0) <= VOL_BOUND && saturate(10.0) > 0.99 * VOL_BOUND);
        assert!(saturate(0.5) < VOL_BOUND && saturate(-0.5) > -VOL_BOUND);
        assert!((saturate(0.01) - 0.01).abs() < 1e-5);
        assert_eq!(term_variance(0.5, 0.3, 0.0), 0.25);
        let long = term_variance(0.5, 0.3, 50.0);
        assert!((long - 0.09).abs() < 0.01, "{long}");
        assert_eq!(next_noise(0.0, 0.0, 0.0), 0.0);
    }
}
