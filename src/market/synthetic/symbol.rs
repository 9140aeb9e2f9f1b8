//! One simulated symbol ([`SymbolSim`]): its parameters, earnings calendar, cached daily path,
//! and the snapshot of it at a minute.

use super::super::UnderlyingSnapshot;
use super::calendar::{day_index, REF_DATE};
use super::indicators::{
    iv_rank, realized_vol, rsi, sma, wilder_step, IV_RANK_WINDOW, REALIZED_WINDOW, SMA_WINDOW,
};
use super::intraday::{intraday_vol, Bridge};
use super::path::DayState;
use super::profile::{earnings_calendar, Profile};
use super::regime::term_variance;
use super::rng::{fnv1a, hash_parts, Rng, SALT_EARNINGS, SALT_PARAMS, SALT_SEED};
use chrono::{Duration, NaiveDate, NaiveDateTime};

/// Constant-maturity horizon of the reported ATM IV.
const ATM_IV_DAYS: i64 = 30;

/// One symbol: parameters, the cached daily path and the last intraday bridge.
pub(super) struct SymbolSim {
    pub(super) name: String,
    /// Key of every stream of this symbol (from the seed and the name).
    pub(super) key: u64,
    pub(super) profile: Profile,
    /// Earnings dates, ascending (empty for symbols without earnings).
    pub(super) earnings: Vec<NaiveDate>,
    /// `ln(reported price / raw price)`.
    pub(super) log_scale: f64,
    /// The close of every day computed so far, from [`super::EPOCH`].
    pub(super) days: Vec<DayState>,
    pub(super) bridge: Bridge,
    /// Reused buffer of the listed strikes.
    pub(super) strikes: Vec<f64>,
}

impl SymbolSim {
    /// Symbol `name` of a market with `seed`, its path simulated through [`REF_DATE`] and
    /// scaled to its reference price there.
    pub(super) fn new(name: &str, seed: u64, market_key: u64) -> SymbolSim {
        let key = hash_parts(&[seed ^ SALT_SEED, fnv1a(name.as_bytes())]);
        let mut params = Rng::new(hash_parts(&[key, SALT_PARAMS]));
        let profile = Profile::draw(name, &mut params);
        let mut calendar = Rng::new(hash_parts(&[key, SALT_EARNINGS]));
        let earnings = if profile.earnings_move > 0.0 {
            earnings_calendar(&mut calendar)
        } else {
            Vec::new()
        };
        let mut sim = SymbolSim {
            name: name.to_string(),
            key,
            profile,
            earnings,
            log_scale: 0.0,
            days: Vec::new(),
            bridge: Bridge::empty(),
            strikes: Vec::with_capacity(64),
        };
        let first = sim.initial_day();
        sim.days.push(first);
        let ref_index = day_index(REF_DATE);
        sim.ensure_day(ref_index, market_key);
        sim.log_scale = profile.ref_price.ln() - sim.days[ref_index].log_close;
        sim
    }

    /// Earnings variance (fraction², total over the event) if an earnings date lies in
    /// `(date, until]`.
    pub(super) fn event_variance(&self, date: NaiveDate, until: NaiveDate) -> f64 {
        let next = self.earnings.partition_point(|d| *d <= date);
        match self.earnings.get(next) {
            Some(d) if *d <= until => self.profile.earnings_move * self.profile.earnings_move,
            _ => 0.0,
        }
    }

    /// Next earnings date on or after `date`.
    fn next_earnings(&self, date: NaiveDate) -> Option<NaiveDate> {
        let next = self.earnings.partition_point(|d| *d < date);
        self.earnings.get(next).copied()
    }

    /// ATM implied vol for `t` years to `expiry` seen on `date`, given instantaneous vol `vol`.
    fn atm_iv(&self, vol: f64, date: NaiveDate, t: f64, expiry: NaiveDate) -> f64 {
        let base = term_variance(vol, self.profile.base_vol, t);
        (base + self.event_variance(date, expiry) / t).sqrt()
    }

    /// The 30-day constant-maturity ATM IV seen on `date` at instantaneous vol `vol`.
    pub(super) fn iv30(&self, vol: f64, date: NaiveDate) -> f64 {
        self.atm_iv(
            vol,
            date,
            ATM_IV_DAYS as f64 / 365.0,
            date + Duration::days(ATM_IV_DAYS),
        )
    }

    /// The underlying at `minute` into session `day` (state cached through `day`), chain priced
    /// at `at`.
    pub(super) fn underlying(
        &mut self,
        day: usize,
        minute: i64,
        at: NaiveDateTime,
        expiries: &[NaiveDate],
        rate: f64,
    ) -> UnderlyingSnapshot {
        let prev = self.days[day - 1];
        let date = at.date();

        let log_spot = self.intraday_log_price(day, minute);
        let raw_spot = log_spot.exp();
        let spot = (log_spot + self.log_scale).exp();
        let vol = intraday_vol(&prev, &self.days[day], minute);
        let atm_iv = self.iv30(vol, date);
        let (avg_gain, avg_loss) = wilder_step(&prev, raw_spot, day);

        let chain = self.chain(spot, vol, at, expiries, rate);
        UnderlyingSnapshot {
            symbol: self.name.clone(),
            spot,
            atm_iv,
            iv_rank: iv_rank(atm_iv, &self.days[day + 1 - IV_RANK_WINDOW..day]),
            sma20: sma(&self.days[day + 1 - SMA_WINDOW..day], raw_spot) * self.log_scale.exp(),
            rsi14: rsi(avg_gain, avg_loss),
            realized_vol: realized_vol(&self.days[day - REALIZED_WINDOW - 1..day]),
            earnings_date: self.next_earnings(date),
            dividend_yield: self.profile.dividend_yield,
            chain,
        }
    }
}
