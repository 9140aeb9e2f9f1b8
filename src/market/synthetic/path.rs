//! The daily path of one symbol: the state at each close ([`DayState`]) and the step from one
//! close to the next (regime, shocks, overnight gap, session move, vol, RSI averages).

use super::calendar::{day_date, EPOCH};
use super::indicators::wilder_step;
use super::regime::{next_noise, saturate, Regime};
use super::rng::{hash_parts, Rng, SALT_DAY};
use super::symbol::SymbolSim;
use chrono::NaiveDate;

/// Trading days per year (the annualisation basis of daily moves).
pub(super) const TRADING_DAYS_PER_YEAR: f64 = 252.0;
/// Share of daily variance realised overnight (the open gap).
pub(super) const OVERNIGHT_SHARE: f64 = 0.2;
/// Real-world drift of every underlying (annual, log-price before the Itô term).
const DRIFT: f64 = 0.06;
/// Realised vol as a fraction of the instantaneous implied vol (variance risk premium).
const REALISED_TO_IMPLIED: f64 = 0.9;

/// State of one symbol at the close of one trading day. Prices are on the raw (unscaled) path.
#[derive(Debug, Clone, Copy)]
pub(super) struct DayState {
    pub(super) log_open: f64,
    pub(super) log_close: f64,
    /// `exp(log_close)`, kept for the SMA.
    pub(super) close: f64,
    /// Annualised realised vol that drove the day's returns (also the bridge's vol).
    pub(super) sigma: f64,
    /// Instantaneous implied vol at the close.
    pub(super) vol: f64,
    /// 30-day ATM IV at the close (with earnings event variance).
    pub(super) iv30: f64,
    /// Wilder average gain / loss of closes at this close.
    pub(super) avg_gain: f64,
    pub(super) avg_loss: f64,
    pub(super) regime: Regime,
    pub(super) level: f64,
    pub(super) noise: f64,
}

/// The standard normal shocks of one day, drawn in a fixed order from the symbol's and the
/// market's streams.
struct Shocks {
    gap: f64,
    day: f64,
    jump: f64,
    vol_own: f64,
}

impl Shocks {
    fn draw(market_corr: f64, rng: &mut Rng, market: &mut Rng) -> Shocks {
        let idio = (1.0 - market_corr * market_corr).sqrt();
        let gap = market_corr * market.normal() + idio * rng.normal();
        let day = market_corr * market.normal() + idio * rng.normal();
        let jump = rng.normal();
        let vol_own = rng.normal();
        Shocks {
            gap,
            day,
            jump,
            vol_own,
        }
    }

    /// The day's total standardised return shock (gap and session together).
    fn ret(&self) -> f64 {
        OVERNIGHT_SHARE.sqrt() * self.gap + (1.0 - OVERNIGHT_SHARE).sqrt() * self.day
    }
}

impl SymbolSim {
    /// The state at the close of day 0 ([`EPOCH`]): the base vol, the initial regime's level.
    pub(super) fn initial_day(&self) -> DayState {
        let vol = self.profile.base_vol;
        DayState {
            log_open: 0.0,
            log_close: 0.0,
            close: 1.0,
            sigma: REALISED_TO_IMPLIED * vol,
            vol,
            iv30: self.iv30(vol, EPOCH),
            avg_gain: 0.0,
            avg_loss: 0.0,
            regime: self.profile.initial_regime,
            level: self.profile.initial_regime.target_level(),
            noise: 0.0,
        }
    }

    /// Extends the cached path through day `index`.
    pub(super) fn ensure_day(&mut self, index: usize, market_key: u64) {
        while self.days.len() <= index {
            let i = self.days.len();
            let next = self.step(&self.days[i - 1], i, market_key);
            self.days.push(next);
        }
    }

    /// The state at the close of day `i` from the close of day `i - 1`.
    fn step(&self, prev: &DayState, i: usize, market_key: u64) -> DayState {
        let date = day_date(i);
        let mut rng = Rng::new(hash_parts(&[self.key, SALT_DAY, i as u64]));
        let mut market = Rng::new(hash_parts(&[market_key, i as u64]));

        let regime = prev.regime.next(rng.uniform());
        let level = regime.next_level(prev.level);
        let shocks = Shocks::draw(self.profile.market_corr, &mut rng, &mut market);
        let sigma = REALISED_TO_IMPLIED * prev.vol;
        let (log_open, log_close) = self.open_and_close(prev.log_close, sigma, date, &shocks);

        let noise = next_noise(prev.noise, shocks.ret(), shocks.vol_own);
        let vol = self.profile.base_vol * saturate(level + noise).exp();

        let close = log_close.exp();
        let (avg_gain, avg_loss) = wilder_step(prev, close, i);
        DayState {
            log_open,
            log_close,
            close,
            sigma,
            vol,
            iv30: self.iv30(vol, date),
            avg_gain,
            avg_loss,
            regime,
            level,
            noise,
        }
    }

    /// Log open and close of `date` from the previous log close: GBM at `sigma` split into an
    /// overnight gap (plus the earnings jump on an earnings day) and the session's move.
    fn open_and_close(
        &self,
        prev_log_close: f64,
        sigma: f64,
        date: NaiveDate,
        shocks: &Shocks,
    ) -> (f64, f64) {
        let dt = 1.0 / TRADING_DAYS_PER_YEAR;
        let drift = (DRIFT - 0.5 * sigma * sigma) * dt;
        let mut gap = drift * OVERNIGHT_SHARE + sigma * (OVERNIGHT_SHARE * dt).sqrt() * shocks.gap;
        if self.earnings.binary_search(&date).is_ok() {
            gap += self.profile.earnings_move * shocks.jump;
        }
        let log_open = prev_log_close + gap;
        let session_share = 1.0 - OVERNIGHT_SHARE;
        let log_close =
            log_open + drift * session_share + sigma * (session_share * dt).sqrt() * shocks.day;
        (log_open, log_close)
    }
}
