//! Indicators of one underlying read off its daily closes: IV rank, 20-day SMA, 14-day RSI
//! (Wilder), realized vol. Intraday the current spot / ATM IV stands in for today's close.

use super::path::{DayState, TRADING_DAYS_PER_YEAR};

/// Trailing window for IV rank (trading days).
pub(super) const IV_RANK_WINDOW: usize = 252;
/// Closes behind the realized-vol estimate.
pub(super) const REALIZED_WINDOW: usize = 20;
/// Closes in the simple moving average (the last one is today's provisional close).
pub(super) const SMA_WINDOW: usize = 20;

/// IV rank 0–100 of `atm_iv` within `history`'s 30-day IVs and itself (50 when flat).
pub(super) fn iv_rank(atm_iv: f64, history: &[DayState]) -> f64 {
    let (lo, hi) = history.iter().fold((atm_iv, atm_iv), |(lo, hi), d| {
        (lo.min(d.iv30), hi.max(d.iv30))
    });
    if hi - lo > 1e-12 {
        ((atm_iv - lo) / (hi - lo) * 100.0).clamp(0.0, 100.0)
    } else {
        50.0
    }
}

/// Simple moving average of the closes of `previous` (the 19 days before today) and `today`.
pub(super) fn sma(previous: &[DayState], today: f64) -> f64 {
    let closes: f64 = previous.iter().map(|d| d.close).sum();
    (closes + today) / SMA_WINDOW as f64
}

/// Wilder average gain / loss after a close at `close` on day `i`, from the previous day.
pub(super) fn wilder_step(prev: &DayState, close: f64, i: usize) -> (f64, f64) {
    let change = close - prev.close;
    wilder(
        prev.avg_gain,
        prev.avg_loss,
        change.max(0.0),
        (-change).max(0.0),
        i,
    )
}

/// Wilder smoothing of average gain / loss at day `i` (simple mean for the first 14 days).
fn wilder(avg_gain: f64, avg_loss: f64, gain: f64, loss: f64, i: usize) -> (f64, f64) {
    let n = (i.clamp(1, 14)) as f64;
    (
        (avg_gain * (n - 1.0) + gain) / n,
        (avg_loss * (n - 1.0) + loss) / n,
    )
}

/// RSI from Wilder averages (100 when there were no losses, 50 when nothing moved).
pub(super) fn rsi(avg_gain: f64, avg_loss: f64) -> f64 {
    if avg_loss <= 0.0 {
        return if avg_gain <= 0.0 { 50.0 } else { 100.0 };
    }
    100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
}

/// Annualised close-to-close volatility of the given days' closes.
pub(super) fn realized_vol(days: &[DayState]) -> f64 {
    let rets: Vec<f64> = days
        .windows(2)
        .map(|w| (w[1].close / w[0].close).ln())
        .collect();
    if rets.len() < 2 {
        return 0.0;
    }
    let n = rets.len() as f64;
    let mean = rets.iter().sum::<f64>() / n;
    let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (var * TRADING_DAYS_PER_YEAR).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::synthetic::regime::Regime;

    fn day(close: f64, iv30: f64) -> DayState {
        DayState {
            log_open: close.ln(),
            log_close: close.ln(),
            close,
            sigma: 0.2,
            vol: 0.2,
            iv30,
            avg_gain: 1.0,
            avg_loss: 0.5,
            regime: Regime::Normal,
            level: 0.0,
            noise: 0.0,
        }
    }

    #[test]
    fn iv_rank_places_today_within_the_trailing_range() {
        let history = [day(10.0, 0.2), day(10.0, 0.4), day(10.0, 0.3)];
        assert!((iv_rank(0.35, &history) - 75.0).abs() < 1e-9);
        assert_eq!(iv_rank(0.5, &history), 100.0);
        assert_eq!(iv_rank(0.2, &[day(10.0, 0.2)]), 50.0);
    }

    #[test]
    fn sma_rsi_and_realized_vol_follow_their_definitions() {
        let previous: Vec<DayState> = (1..20).map(|k| day(f64::from(k), 0.2)).collect();
        assert_eq!(sma(&previous, 20.0), 10.5);
        // Averages 1.0 / 0.5 at day 20 (n = 14) after a +2.0 close: gain (13 + 2) / 14.
        let (g, l) = wilder_step(&day(10.0, 0.2), 12.0, 20);
        assert!((g - 15.0 / 14.0).abs() < 1e-12 && (l - 6.5 / 14.0).abs() < 1e-12);
        assert!((rsi(1.0, 0.5) - 100.0 * 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(rsi(0.0, 0.0), 50.0);
        assert_eq!(rsi(1.0, 0.0), 100.0);
        let flat = [day(10.0, 0.2), day(10.0, 0.2), day(10.0, 0.2)];
        assert_eq!(realized_vol(&flat), 0.0);
        let alternating: Vec<DayState> = [100.0, 101.0, 100.0, 101.0]
            .iter()
            .map(|c| day(*c, 0.2))
            .collect();
        let r = (101.0f64 / 100.0).ln();
        // Returns +r, -r, +r: mean r/3, sample variance (4r²/9·2 + 16r²/9) / 2 = 4r²/3.
        let expected = (4.0 * r * r / 3.0 * 252.0).sqrt();
        assert!((realized_vol(&alternating) - expected).abs() < 1e-12);
    }
}
