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
