//! Synthetic market: a deterministic, seedable option market for paper trading.
//!
//! Every number this source produces is a pure function of `(seed, symbol, ts)` (and the
//! configured rate, which only affects option pricing). Nothing depends on which timestamps
//! were requested before, or in which order.
//!
//! # Model
//!
//! * **Calendar.** Trading days are weekdays (no holidays). A session runs 09:30–16:00 market
//!   time. Each symbol's daily state is produced by stepping day by day from a fixed epoch
//!   ([`EPOCH`], a Monday in 2000); the per-day random numbers come from a counter-based stream
//!   keyed by `(seed, symbol, day)`, so the path is fixed forever for a seed. Computed days are
//!   cached; stepping costs roughly 0.5 µs per symbol-day (a few ms per symbol for the
//!   26 years up to [`REF_DATE`], paid in [`SyntheticMarket::new`]).
//! * **Volatility.** Each symbol has an instantaneous vol
//!   `v = base_vol · exp(A·tanh((level + x)/A))`, `A = 0.35`: `level` chases the target of a
//!   calm / normal / stressed Markov regime (mean stays of 10 / 5 / 7 trading days; up fast,
//!   down a little slower) and `x` is an Ornstein–Uhlenbeck noise term negatively correlated
//!   with returns (leverage effect). The soft bound keeps a year's extremes close to the
//!   typical calm and stressed levels, so IV rank swings through both ends every few weeks
//!   instead of being pinned by one outlier. The 30-day ATM IV adds a term structure that
//!   mean-reverts from `v` to `base_vol`, plus an earnings event variance while an earnings
//!   date lies inside the window (crushed the day it passes).
//! * **Price.** Overnight gap plus session move, GBM driven by `0.9 · v` of the previous close,
//!   with a market-wide factor shared by all symbols of a seed and an earnings jump at the open
//!   of earnings days. The raw path is scaled so each symbol trades at its reference level on
//!   [`REF_DATE`] (e.g. NVDA ≈ 180 at the start of 2026).
//! * **Intraday.** The spot at a minute is read off a Brownian bridge from the day's open to
//!   its close, sampled at 5-minute marks and interpolated linearly in between; the
//!   instantaneous vol is interpolated log-linearly from the previous close to today's close.
//! * **Chain.** Fridays 7–60 calendar days out (third-Friday monthlies included), strikes
//!   within ±25 % of spot on the listed-strike grid, both rights, Black–Scholes priced off
//!   `iv = atm(T) · (1 + skew·ln(K/F) + smile·ln(K/F)²)`.
//!
//! Intraday, `sma20`, `rsi14` and `iv_rank` treat the current spot / ATM IV as today's
//! provisional close; at 16:00 they equal the end-of-day values.
//!
//! # Timestamps outside a session
//!
//! `ts` is truncated to the minute. Before 09:30 on a trading day, on weekends, and after 16:00
//! the underlying state (spot, vol, indicators) is the close of the most recent session at or
//! before `ts`; the option chain is still priced at `ts` (expiries and time to expiry are
//! measured from `ts`). Requests before the first day with a full year of history (early
//! 2001) or after [`LAST_DATE`] return [`MarketError::NoData`].

use super::{
    years_to_expiry, ExpirySlice, MarketData, MarketError, MarketSnapshot, OptionQuote,
    UnderlyingSnapshot,
};
use crate::domain::Right;
use crate::skills::black_scholes::{self, BsInput};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use std::collections::BTreeMap;

/// First simulated trading day (a Monday). Day index 0.
pub const EPOCH: NaiveDate = const_date(2000, 1, 3);
/// The date on whose close every symbol trades exactly at its reference price level.
pub const REF_DATE: NaiveDate = const_date(2026, 1, 2);
/// Last date this source serves; later requests return [`MarketError::NoData`].
pub const LAST_DATE: NaiveDate = const_date(2100, 12, 31);

/// Trailing window for IV rank (trading days).
const IV_RANK_WINDOW: usize = 252;
/// First day index served: a full IV-rank window of history behind it.
const FIRST_SERVED_INDEX: usize = IV_RANK_WINDOW;
const SESSION_OPEN: NaiveTime = const_time(9, 30);
const SESSION_MINUTES: i64 = 390;
/// Brownian-bridge marks per session (every 5 minutes).
const BRIDGE_STEPS: usize = 78;
const BRIDGE_STEP_MINUTES: i64 = 5;
const TRADING_DAYS_PER_YEAR: f64 = 252.0;

/// Real-world drift of every underlying (annual, log-price before the Itô term).
const DRIFT: f64 = 0.06;
/// Share of daily variance realised overnight (the open gap).
const OVERNIGHT_SHARE: f64 = 0.2;
/// Closes behind the realized-vol estimate.
const REALIZED_WINDOW: usize = 20;
/// Realised vol as a fraction of the instantaneous implied vol (variance risk premium).
const REALISED_TO_IMPLIED: f64 = 0.9;
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
/// Constant-maturity horizon of the reported ATM IV.
const ATM_IV_DAYS: i64 = 30;
/// Standardised moneyness is clamped to ± this many total standard deviations for the smile.
const SMILE_CLAMP: f64 = 4.0;
const IV_FLOOR: f64 = 0.05;
/// Option expiries listed: DTE window in calendar days.
const MIN_DTE: i64 = 7;
const MAX_DTE: i64 = 60;
/// Strikes listed within ± this fraction of spot.
const STRIKE_RANGE: f64 = 0.25;

/// The continuous risk-free rate the runtime's synthetic market prices at (the Commander's
/// source, the Broker's settlement source and replay must all agree on it).
pub const DEFAULT_RATE: f64 = 0.04;

/// A deterministic synthetic option market over a fixed list of symbols.
///
/// Construct with [`SyntheticMarket::new`]; read through [`MarketData::snapshot`].
pub struct SyntheticMarket {
    rate: f64,
    market_key: u64,
    symbols: Vec<SymbolSim>,
}

impl SyntheticMarket {
    /// A market over `symbols` (duplicates ignored) driven by `seed`, pricing options at the
    /// continuous risk-free `rate` (e.g. 0.04).
    ///
    /// Each symbol's parameters and path depend only on `seed` and its own name, so adding a
    /// symbol never changes another one. Construction simulates every symbol up to
    /// [`REF_DATE`] (~4 ms per symbol in a release build).
    pub fn new(symbols: &[String], seed: u64, rate: f64) -> SyntheticMarket {
        let market_key = hash_parts(&[seed, SALT_MARKET]);
        let mut sims: Vec<SymbolSim> = Vec::with_capacity(symbols.len());
        for name in symbols {
            if sims.iter().all(|s| &s.name != name) {
                sims.push(SymbolSim::new(name, seed, market_key));
            }
        }
        SyntheticMarket {
            rate,
            market_key,
            symbols: sims,
        }
    }
}

impl MarketData for SyntheticMarket {
    fn snapshot(&mut self, ts: NaiveDateTime) -> Result<MarketSnapshot, MarketError> {
        let at = truncate_to_minute(ts);
        let date = at.date();
        if date > LAST_DATE {
            return Err(MarketError::NoData(ts));
        }
        let (day, minute) = session_position(at).ok_or(MarketError::NoData(ts))?;
        if day < FIRST_SERVED_INDEX {
            return Err(MarketError::NoData(ts));
        }
        let expiries = listed_expiries(date);
        let mut underlyings = BTreeMap::new();
        for sim in &mut self.symbols {
            sim.ensure_day(day, self.market_key);
            let snap = sim.underlying(day, minute, at, &expiries, self.rate);
            underlyings.insert(sim.name.clone(), snap);
        }
        Ok(MarketSnapshot {
            ts,
            rate: self.rate,
            underlyings,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------------------------

const fn const_date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid constant date"),
    }
}

const fn const_time(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

fn truncate_to_minute(ts: NaiveDateTime) -> NaiveDateTime {
    let time = ts.time();
    let minute = NaiveTime::from_hms_opt(time.hour(), time.minute(), 0).unwrap_or(time);
    ts.date().and_time(minute)
}

/// The trading day (index from [`EPOCH`]) whose state applies at `at`, and the minute into that
/// session (0..=390; 390 = the close). `None` before the first session.
fn session_position(at: NaiveDateTime) -> Option<(usize, i64)> {
    let days = (at.date() - EPOCH).num_days();
    if days < 0 {
        return None;
    }
    let (weeks, weekday) = (days / 7, days % 7);
    let base = usize::try_from(weeks * 5).ok()?;
    if weekday >= 5 {
        return Some((base + 4, SESSION_MINUTES));
    }
    let day = base + weekday as usize;
    let time = at.time();
    if time < SESSION_OPEN {
        return day.checked_sub(1).map(|prev| (prev, SESSION_MINUTES));
    }
    let minute = (time - SESSION_OPEN).num_minutes().min(SESSION_MINUTES);
    Some((day, minute))
}

/// The date of trading day `index`.
fn day_date(index: usize) -> NaiveDate {
    let (weeks, weekday) = (index / 5, index % 5);
    EPOCH + Duration::days((weeks * 7 + weekday) as i64)
}

/// Trading-day index of a weekday date on or after [`EPOCH`].
fn day_index(date: NaiveDate) -> usize {
    let days = (date - EPOCH).num_days().max(0) as usize;
    days / 7 * 5 + (days % 7).min(4)
}

/// Expiries listed on `date`: every Friday 7–60 calendar days out plus third-Friday monthlies
/// in that window (which are Fridays too; merged and deduplicated), ascending.
fn listed_expiries(date: NaiveDate) -> Vec<NaiveDate> {
    let first = date + Duration::days(MIN_DTE);
    let last = date + Duration::days(MAX_DTE);
    let to_friday = (Weekday::Fri.num_days_from_monday() as i64
        - first.weekday().num_days_from_monday() as i64)
        .rem_euclid(7);
    let mut expiries: Vec<NaiveDate> = Vec::with_capacity(10);
    let mut friday = first + Duration::days(to_friday);
    while friday <= last {
        expiries.push(friday);
        friday += Duration::days(7);
    }
    let mut month = first.with_day(1);
    while let Some(start) = month {
        if start > last {
            break;
        }
        if let Some(third) =
            NaiveDate::from_weekday_of_month_opt(start.year(), start.month(), Weekday::Fri, 3)
        {
            if third >= first && third <= last {
                expiries.push(third);
            }
        }
        month = start.checked_add_months(chrono::Months::new(1));
    }
    expiries.sort_unstable();
    expiries.dedup();
    expiries
}

// ---------------------------------------------------------------------------------------------
// Per-symbol parameters
// ---------------------------------------------------------------------------------------------

/// Broad class of an underlying; sets the parameter ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sector {
    Tech,
    Finance,
    IndexEtf,
    Other,
}

/// Ranges (low, high) a symbol's parameters are drawn from uniformly.
struct SectorRanges {
    base_vol: (f64, f64),
    dividend_yield: (f64, f64),
    /// One-standard-deviation earnings gap; (0, 0) means no earnings.
    earnings_move: (f64, f64),
    skew: (f64, f64),
    market_corr: f64,
}

impl Sector {
    fn of(name: &str) -> Sector {
        if TECH.contains(&name) {
            Sector::Tech
        } else if FINANCE.contains(&name) {
            Sector::Finance
        } else if INDEX_ETFS.contains(&name) {
            Sector::IndexEtf
        } else {
            Sector::Other
        }
    }

    fn ranges(self) -> SectorRanges {
        match self {
            Sector::Tech => SectorRanges {
                base_vol: (0.40, 0.60),
                dividend_yield: (0.0, 0.008),
                earnings_move: (0.05, 0.09),
                skew: (-0.09, -0.05),
                market_corr: 0.6,
            },
            Sector::Finance => SectorRanges {
                base_vol: (0.20, 0.30),
                dividend_yield: (0.015, 0.025),
                earnings_move: (0.02, 0.04),
                skew: (-0.09, -0.05),
                market_corr: 0.6,
            },
            Sector::IndexEtf => SectorRanges {
                base_vol: (0.15, 0.25),
                dividend_yield: (0.005, 0.015),
                earnings_move: (0.0, 0.0),
                skew: (-0.14, -0.10),
                market_corr: 0.95,
            },
            Sector::Other => SectorRanges {
                base_vol: (0.25, 0.45),
                dividend_yield: (0.0, 0.025),
                earnings_move: (0.03, 0.07),
                skew: (-0.09, -0.05),
                market_corr: 0.5,
            },
        }
    }
}

const TECH: &[&str] = &[
    "NVDA", "AMD", "TSLA", "AAPL", "MSFT", "META", "GOOGL", "GOOG", "AMZN", "NFLX", "AVGO", "INTC",
    "MU", "QCOM", "ORCL", "CRM", "ADBE", "PLTR", "SMCI", "ARM", "COIN", "SHOP", "UBER",
];
const FINANCE: &[&str] = &[
    "JPM", "BAC", "GS", "MS", "C", "WFC", "SCHW", "BLK", "AXP", "USB", "PNC", "COF", "V", "MA",
];
const INDEX_ETFS: &[&str] = &["SPY", "QQQ", "IWM", "DIA"];

/// Known reference price levels and dividend yields.
const KNOWN: &[(&str, f64, f64)] = &[
    ("NVDA", 180.0, 0.0002),
    ("AMD", 160.0, 0.0),
    ("TSLA", 250.0, 0.0),
    ("JPM", 240.0, 0.021),
    ("BAC", 45.0, 0.024),
    ("GS", 550.0, 0.020),
    ("SPY", 560.0, 0.013),
    ("QQQ", 480.0, 0.006),
    ("AAPL", 220.0, 0.005),
    ("MSFT", 420.0, 0.008),
];

/// Static parameters of one symbol, drawn from `(seed, symbol)`.
#[derive(Debug, Clone, Copy)]
struct Profile {
    /// Price level on [`REF_DATE`].
    ref_price: f64,
    /// Long-run implied vol.
    base_vol: f64,
    dividend_yield: f64,
    /// Smile skew per total standard deviation of moneyness (negative: puts richer).
    skew: f64,
    /// Smile curvature per squared total standard deviation of moneyness.
    smile: f64,
    /// One-standard-deviation earnings move as a fraction; 0 for no earnings (ETFs).
    earnings_move: f64,
    /// Correlation of returns with the market factor.
    market_corr: f64,
    /// Initial regime of the vol process.
    initial_regime: Regime,
}

impl Profile {
    fn draw(name: &str, rng: &mut Rng) -> Profile {
        let sector = Sector::of(name);
        let known = KNOWN.iter().find(|(k, _, _)| *k == name);
        // Draw every parameter unconditionally so the stream layout never depends on the name.
        let u_price = rng.uniform();
        let u_vol = rng.uniform();
        let u_div = rng.uniform();
        let u_skew = rng.uniform();
        let u_smile = rng.uniform();
        let u_move = rng.uniform();
        let u_regime = rng.uniform();
        let lerp = |(lo, hi): (f64, f64), u: f64| lo + (hi - lo) * u;
        let ranges = sector.ranges();
        Profile {
            // Log-uniform 20–300 for unknown names.
            ref_price: known.map_or_else(|| 20.0 * 15.0_f64.powf(u_price), |k| k.1),
            base_vol: lerp(ranges.base_vol, u_vol),
            dividend_yield: known.map_or_else(|| lerp(ranges.dividend_yield, u_div), |k| k.2),
            skew: lerp(ranges.skew, u_skew),
            smile: lerp((0.015, 0.03), u_smile),
            earnings_move: lerp(ranges.earnings_move, u_move),
            market_corr: ranges.market_corr,
            initial_regime: if u_regime < 0.3 {
                Regime::Calm
            } else if u_regime < 0.85 {
                Regime::Normal
            } else {
                Regime::Stressed
            },
        }
    }
}

/// Quarterly earnings dates from the year before [`EPOCH`] to the year after [`LAST_DATE`]:
/// a fixed month-of-quarter and day per symbol, jittered ±2 days per quarter, moved off
/// weekends to the following Monday.
fn earnings_calendar(rng: &mut Rng) -> Vec<NaiveDate> {
    let month_in_quarter = (rng.next_u64() % 3) as u32;
    let base_day = 8 + (rng.next_u64() % 18) as i64; // 8..=25
    let mut dates = Vec::with_capacity(4 * 104);
    for year in (EPOCH.year() - 1)..=(LAST_DATE.year() + 1) {
        for quarter in 0..4u32 {
            let jitter = (rng.next_u64() % 5) as i64 - 2;
            let month = 1 + 3 * quarter + month_in_quarter;
            let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
                continue;
            };
            let mut date = first + Duration::days(base_day + jitter - 1);
            while date.weekday().num_days_from_monday() >= 5 {
                date += Duration::days(1);
            }
            dates.push(date);
        }
    }
    dates
}

// ---------------------------------------------------------------------------------------------
// Daily process
// ---------------------------------------------------------------------------------------------

/// Volatility regime of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regime {
    Calm,
    Normal,
    Stressed,
}

impl Regime {
    /// Log-vol offset the level drifts toward.
    fn target_level(self) -> f64 {
        match self {
            Regime::Calm => -0.40,
            Regime::Normal => 0.0,
            Regime::Stressed => 0.50,
        }
    }

    /// Daily Markov transition for a uniform draw `u`.
    /// Mean stays: calm 10 days, normal 5 days (then 40 % calm, 60 % stressed), stressed 7 days.
    fn next(self, u: f64) -> Regime {
        match self {
            Regime::Calm if u < 1.0 / 10.0 => Regime::Normal,
            Regime::Normal if u < 0.4 / 5.0 => Regime::Calm,
            Regime::Normal if u < 1.0 / 5.0 => Regime::Stressed,
            Regime::Stressed if u < 1.0 / 7.0 => Regime::Normal,
            other => other,
        }
    }
}

/// State of one symbol at the close of one trading day. Prices are on the raw (unscaled) path.
#[derive(Debug, Clone, Copy)]
struct DayState {
    log_open: f64,
    log_close: f64,
    /// `exp(log_close)`, kept for the SMA.
    close: f64,
    /// Annualised realised vol that drove the day's returns (also the bridge's vol).
    sigma: f64,
    /// Instantaneous implied vol at the close.
    vol: f64,
    /// 30-day ATM IV at the close (with earnings event variance).
    iv30: f64,
    /// Wilder average gain / loss of closes at this close.
    avg_gain: f64,
    avg_loss: f64,
    regime: Regime,
    level: f64,
    noise: f64,
}

/// One symbol: parameters, the cached daily path and the last intraday bridge.
struct SymbolSim {
    name: String,
    key: u64,
    profile: Profile,
    earnings: Vec<NaiveDate>,
    /// `ln(reported price / raw price)`.
    log_scale: f64,
    days: Vec<DayState>,
    bridge_day: usize,
    bridge: [f64; BRIDGE_STEPS + 1],
    strikes: Vec<f64>,
}

impl SymbolSim {
    fn new(name: &str, seed: u64, market_key: u64) -> SymbolSim {
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
            bridge_day: usize::MAX,
            bridge: [0.0; BRIDGE_STEPS + 1],
            strikes: Vec::with_capacity(64),
        };
        let first = sim.initial_day();
        sim.days.push(first);
        let ref_index = day_index(REF_DATE);
        sim.ensure_day(ref_index, market_key);
        sim.log_scale = profile.ref_price.ln() - sim.days[ref_index].log_close;
        sim
    }

    fn initial_day(&self) -> DayState {
        let vol = self.profile.base_vol;
        DayState {
            log_open: 0.0,
            log_close: 0.0,
            close: 1.0,
            sigma: REALISED_TO_IMPLIED * vol,
            vol,
            iv30: self.atm_iv(
                vol,
                EPOCH,
                ATM_IV_DAYS as f64 / 365.0,
                EPOCH + Duration::days(ATM_IV_DAYS),
            ),
            avg_gain: 0.0,
            avg_loss: 0.0,
            regime: self.profile.initial_regime,
            level: self.profile.initial_regime.target_level(),
            noise: 0.0,
        }
    }

    /// Extends the cached path through day `index`.
    fn ensure_day(&mut self, index: usize, market_key: u64) {
        while self.days.len() <= index {
            let i = self.days.len();
            let next = self.step(&self.days[i - 1], i, market_key);
            self.days.push(next);
        }
    }

    /// The state at the close of day `i` from the close of day `i - 1`.
    fn step(&self, prev: &DayState, i: usize, market_key: u64) -> DayState {
        let p = &self.profile;
        let date = day_date(i);
        let mut rng = Rng::new(hash_parts(&[self.key, SALT_DAY, i as u64]));
        let mut market = Rng::new(hash_parts(&[market_key, i as u64]));

        let regime = prev.regime.next(rng.uniform());
        let target = regime.target_level();
        let speed = if target > prev.level {
            LEVEL_SPEED_UP
        } else {
            LEVEL_SPEED_DOWN
        };
        let level = prev.level + (target - prev.level) * speed;

        let idio = (1.0 - p.market_corr * p.market_corr).sqrt();
        let z_gap = p.market_corr * market.normal() + idio * rng.normal();
        let z_day = p.market_corr * market.normal() + idio * rng.normal();
        let z_jump = rng.normal();
        let z_vol_own = rng.normal();

        let sigma = REALISED_TO_IMPLIED * prev.vol;
        let dt = 1.0 / TRADING_DAYS_PER_YEAR;
        let drift = (DRIFT - 0.5 * sigma * sigma) * dt;
        let mut gap = drift * OVERNIGHT_SHARE + sigma * (OVERNIGHT_SHARE * dt).sqrt() * z_gap;
        if self.earnings.binary_search(&date).is_ok() {
            gap += p.earnings_move * z_jump;
        }
        let log_open = prev.log_close + gap;
        let session_share = 1.0 - OVERNIGHT_SHARE;
        let log_close =
            log_open + drift * session_share + sigma * (session_share * dt).sqrt() * z_day;

        let z_ret = OVERNIGHT_SHARE.sqrt() * z_gap + session_share.sqrt() * z_day;
        let z_vol = LEVERAGE * z_ret + (1.0 - LEVERAGE * LEVERAGE).sqrt() * z_vol_own;
        let noise = prev.noise * VOL_NOISE_DECAY
            + VOL_NOISE_SD * (1.0 - VOL_NOISE_DECAY * VOL_NOISE_DECAY).sqrt() * z_vol;
        let vol = p.base_vol * saturate(level + noise).exp();

        let close = log_close.exp();
        let change = close - prev.close;
        let (gain, loss) = (change.max(0.0), (-change).max(0.0));
        let (avg_gain, avg_loss) = wilder(prev.avg_gain, prev.avg_loss, gain, loss, i);

        let window_end = date + Duration::days(ATM_IV_DAYS);
        DayState {
            log_open,
            log_close,
            close,
            sigma,
            vol,
            iv30: self.atm_iv(vol, date, ATM_IV_DAYS as f64 / 365.0, window_end),
            avg_gain,
            avg_loss,
            regime,
            level,
            noise,
        }
    }

    /// Earnings variance (fraction², total over the event) if an earnings date lies in
    /// `(date, until]`.
    fn event_variance(&self, date: NaiveDate, until: NaiveDate) -> f64 {
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

    // -----------------------------------------------------------------------------------------
    // Snapshot of one underlying
    // -----------------------------------------------------------------------------------------

    /// The underlying at `minute` into session `day` (state cached through `day`), chain priced
    /// at `at`.
    fn underlying(
        &mut self,
        day: usize,
        minute: i64,
        at: NaiveDateTime,
        expiries: &[NaiveDate],
        rate: f64,
    ) -> UnderlyingSnapshot {
        let today = self.days[day];
        let prev = self.days[day - 1];
        let date = at.date();

        let log_spot = self.intraday_log_price(day, minute);
        let raw_spot = log_spot.exp();
        let spot = (log_spot + self.log_scale).exp();
        let vol = if minute >= SESSION_MINUTES {
            today.vol
        } else {
            let f = minute as f64 / SESSION_MINUTES as f64;
            (prev.vol.ln() * (1.0 - f) + today.vol.ln() * f).exp()
        };
        let atm_iv = self.atm_iv(
            vol,
            date,
            ATM_IV_DAYS as f64 / 365.0,
            date + Duration::days(ATM_IV_DAYS),
        );

        let history = &self.days[day + 1 - IV_RANK_WINDOW..day];
        let (lo, hi) = history.iter().fold((atm_iv, atm_iv), |(lo, hi), d| {
            (lo.min(d.iv30), hi.max(d.iv30))
        });
        let iv_rank = if hi - lo > 1e-12 {
            ((atm_iv - lo) / (hi - lo) * 100.0).clamp(0.0, 100.0)
        } else {
            50.0
        };

        let closes: f64 = self.days[day - 19..day].iter().map(|d| d.close).sum();
        let sma20 = (closes + raw_spot) / 20.0 * self.log_scale.exp();

        let change = raw_spot - prev.close;
        let (avg_gain, avg_loss) = wilder(
            prev.avg_gain,
            prev.avg_loss,
            change.max(0.0),
            (-change).max(0.0),
            day,
        );
        let rsi14 = rsi(avg_gain, avg_loss);
        let realized_vol = realized_vol(&self.days[day - REALIZED_WINDOW - 1..day]);

        let chain = self.chain(spot, vol, at, expiries, rate);
        UnderlyingSnapshot {
            symbol: self.name.clone(),
            spot,
            atm_iv,
            iv_rank,
            sma20,
            rsi14,
            realized_vol,
            earnings_date: self.next_earnings(date),
            dividend_yield: self.profile.dividend_yield,
            chain,
        }
    }

    /// Raw log price at `minute` of session `day`: the day's Brownian bridge, linearly
    /// interpolated between 5-minute marks.
    fn intraday_log_price(&mut self, day: usize, minute: i64) -> f64 {
        let state = self.days[day];
        if minute <= 0 {
            return state.log_open;
        }
        if minute >= SESSION_MINUTES {
            return state.log_close;
        }
        if self.bridge_day != day {
            self.build_bridge(day);
        }
        let mark = (minute / BRIDGE_STEP_MINUTES) as usize;
        let within = (minute % BRIDGE_STEP_MINUTES) as f64 / BRIDGE_STEP_MINUTES as f64;
        let a = self.bridge[mark];
        let b = self.bridge[(mark + 1).min(BRIDGE_STEPS)];
        a + (b - a) * within
    }

    /// Fills `self.bridge` with day `day`'s path from log open to log close.
    fn build_bridge(&mut self, day: usize) {
        let state = self.days[day];
        let mut rng = Rng::new(hash_parts(&[self.key, SALT_BRIDGE, day as u64]));
        let step_sd = state.sigma
            * ((1.0 - OVERNIGHT_SHARE) / TRADING_DAYS_PER_YEAR / BRIDGE_STEPS as f64).sqrt();
        let mut walk = 0.0;
        self.bridge[0] = 0.0;
        for k in 1..=BRIDGE_STEPS {
            walk += step_sd * rng.normal();
            self.bridge[k] = walk;
        }
        let end = self.bridge[BRIDGE_STEPS];
        let n = BRIDGE_STEPS as f64;
        for (k, point) in self.bridge.iter_mut().enumerate() {
            let f = k as f64 / n;
            *point = state.log_open + f * (state.log_close - state.log_open) + (*point - f * end);
        }
        self.bridge_day = day;
    }

    /// The option chain at `at` for spot `spot` and instantaneous vol `vol`.
    fn chain(
        &mut self,
        spot: f64,
        vol: f64,
        at: NaiveDateTime,
        expiries: &[NaiveDate],
        rate: f64,
    ) -> Vec<ExpirySlice> {
        strike_grid(spot, &mut self.strikes);
        let date = at.date();
        let q = self.profile.dividend_yield;
        let mut chain = Vec::with_capacity(expiries.len());
        for &expiry in expiries {
            let t = years_to_expiry(at, expiry).max(1e-6);
            let total_var = term_variance(vol, self.profile.base_vol, t) * t
                + self.event_variance(date, expiry);
            let total_sd = total_var.sqrt();
            let atm = total_sd / t.sqrt();
            let forward = spot * ((rate - q) * t).exp();
            let mut quotes = Vec::with_capacity(self.strikes.len() * 2);
            for &strike in &self.strikes {
                let x = ((strike / forward).ln() / total_sd).clamp(-SMILE_CLAMP, SMILE_CLAMP);
                let iv = (atm * (1.0 + self.profile.skew * x + self.profile.smile * x * x))
                    .max(IV_FLOOR);
                for right in [Right::Call, Right::Put] {
                    let input = BsInput {
                        spot,
                        strike,
                        rate,
                        dividend_yield: q,
                        vol: iv,
                        time: t,
                        right,
                    };
                    quotes.push(quote(
                        strike,
                        right,
                        black_scholes::price(&input),
                        iv,
                        black_scholes::delta(&input),
                    ));
                }
            }
            chain.push(ExpirySlice {
                expiry,
                dte: (expiry - date).num_days(),
                quotes,
            });
        }
        chain
    }
}

/// Soft bound on the log-vol deviation, `A·tanh(y/A)`: keeps the yearly extremes close to the
/// typical calm / stressed levels, so high and low IV ranks are common rather than rare.
fn saturate(y: f64) -> f64 {
    VOL_BOUND * (y / VOL_BOUND).tanh()
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
fn rsi(avg_gain: f64, avg_loss: f64) -> f64 {
    if avg_loss <= 0.0 {
        return if avg_gain <= 0.0 { 50.0 } else { 100.0 };
    }
    100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
}

/// Expected average variance over `t` years when instantaneous vol `vol` reverts to `long_run`.
fn term_variance(vol: f64, long_run: f64, t: f64) -> f64 {
    let kt = TERM_REVERSION * t;
    let weight = if kt < 1e-9 {
        1.0
    } else {
        (1.0 - (-kt).exp()) / kt
    };
    long_run * long_run + (vol * vol - long_run * long_run) * weight
}

/// Listed strike increment at a strike level.
fn strike_step(level: f64) -> f64 {
    if level < 50.0 {
        1.0
    } else if level < 150.0 {
        2.5
    } else if level < 500.0 {
        5.0
    } else {
        10.0
    }
}

/// Listed strikes within ±25 % of `spot`, ascending, into `out`.
fn strike_grid(spot: f64, out: &mut Vec<f64>) {
    out.clear();
    let (lo, hi) = (spot * (1.0 - STRIKE_RANGE), spot * (1.0 + STRIKE_RANGE));
    if !(lo.is_finite() && hi.is_finite()) {
        return;
    }
    let step = strike_step(lo);
    let mut strike = (lo / step).ceil() * step;
    while strike <= hi {
        if strike > 0.0 {
            out.push(strike);
        }
        strike += strike_step(strike);
    }
}

/// Bid/ask around the model price: half-spread `max(0.01, 2 % · price + 0.005)`, cents, bid ≥ 0;
/// `mid` is the midpoint of the rounded bid and ask.
fn quote(strike: f64, right: Right, model: f64, iv: f64, delta: f64) -> OptionQuote {
    let model = model.max(0.0);
    let half = (0.02 * model + 0.005).max(0.01);
    let bid = round_cents(model - half).max(0.0);
    let ask = round_cents(model + half).max(0.01);
    OptionQuote {
        strike,
        right,
        bid,
        ask,
        mid: (bid + ask) / 2.0,
        iv,
        delta,
    }
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: FNV-1a names, SplitMix64 streams, Box–Muller normals
// ---------------------------------------------------------------------------------------------

const SALT_SEED: u64 = 0x0A1F_4A5E_0000_0001;
const SALT_MARKET: u64 = 0x4D41_524B_4554_0001;
const SALT_PARAMS: u64 = 0x5041_5241_4D53_0001;
const SALT_EARNINGS: u64 = 0x4541_524E_494E_0001;
const SALT_DAY: u64 = 0x4441_5953_5441_0001;
const SALT_BRIDGE: u64 = 0x4252_4944_4745_0001;

/// FNV-1a, 64 bit: a stable hash of a symbol name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64 finaliser.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Combines parts into one well-mixed stream key.
fn hash_parts(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |h, p| {
        mix64(h ^ p.wrapping_add(0x9e37_79b9_7f4a_7c15))
    })
}

/// SplitMix64 generator with Box–Muller standard normals.
struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    fn new(key: u64) -> Rng {
        Rng {
            state: key,
            spare: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal.
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

/// Annualised close-to-close volatility of the given days' closes.
fn realized_vol(days: &[DayState]) -> f64 {
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
    use std::time::Instant;

    const SESSION_CLOSE: NaiveTime = const_time(16, 0);

    fn symbols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn default_symbols() -> Vec<String> {
        symbols(&["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"])
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("valid test timestamp")
    }

    /// `n` trading days starting at `start` (a weekday).
    fn trading_days(start: NaiveDate, n: usize) -> Vec<NaiveDate> {
        let first = day_index(start);
        (first..first + n).map(day_date).collect()
    }

    fn snap(market: &mut SyntheticMarket, ts: NaiveDateTime) -> MarketSnapshot {
        market.snapshot(ts).expect("snapshot in range")
    }

    #[test]
    fn same_seed_same_snapshot_in_any_order() {
        let times = [
            at(2026, 3, 2, 9, 30),
            at(2026, 3, 2, 11, 17),
            at(2026, 4, 15, 15, 55),
            at(2026, 3, 7, 12, 0), // Saturday
            at(2027, 1, 5, 10, 0),
        ];
        let mut forward = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        let mut backward = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        let a: Vec<_> = times.iter().map(|t| snap(&mut forward, *t)).collect();
        let mut b: Vec<_> = times
            .iter()
            .rev()
            .map(|t| snap(&mut backward, *t))
            .collect();
        b.reverse();
        assert_eq!(a, b);
        // Asking again (after other days were visited) gives the same answer.
        assert_eq!(snap(&mut forward, times[1]), a[1]);
    }

    #[test]
    fn different_seed_differs_and_symbols_are_independent() {
        let ts = at(2026, 3, 2, 10, 0);
        let a = snap(&mut SyntheticMarket::new(&default_symbols(), 42, 0.04), ts);
        let b = snap(&mut SyntheticMarket::new(&default_symbols(), 43, 0.04), ts);
        assert_ne!(a, b);
        for (name, u) in &a.underlyings {
            assert_ne!(u.spot, b.underlyings[name].spot, "{name}");
        }
        let mut alone = SyntheticMarket::new(&symbols(&["TSLA"]), 42, 0.04);
        assert_eq!(
            snap(&mut alone, ts).underlyings["TSLA"],
            a.underlyings["TSLA"]
        );
    }

    #[test]
    fn intraday_path_and_sessions() {
        let mut m = SyntheticMarket::new(&default_symbols(), 7, 0.04);
        let spot = |m: &mut SyntheticMarket, ts| snap(m, ts).underlyings["NVDA"].spot;
        let close = spot(&mut m, at(2026, 3, 6, 16, 0)); // Friday
        assert_eq!(spot(&mut m, at(2026, 3, 6, 20, 0)), close);
        assert_eq!(spot(&mut m, at(2026, 3, 7, 12, 0)), close);
        assert_eq!(spot(&mut m, at(2026, 3, 9, 8, 0)), close);
        let open = spot(&mut m, at(2026, 3, 9, 9, 30));
        assert_ne!(open, close, "the overnight gap moves the price");
        let with_seconds = NaiveDate::from_ymd_opt(2026, 3, 9)
            .and_then(|d| d.and_hms_milli_opt(10, 7, 45, 500))
            .expect("valid");
        assert_eq!(
            spot(&mut m, with_seconds),
            spot(&mut m, at(2026, 3, 9, 10, 7))
        );
        let path: Vec<f64> = (0..=SESSION_MINUTES)
            .map(|k| spot(&mut m, at(2026, 3, 9, 9, 30) + Duration::minutes(k)))
            .collect();
        assert!(path.windows(2).any(|w| w[0] != w[1]));
        let moves = path.windows(2).map(|w| (w[1] / w[0]).ln().abs());
        assert!(
            moves.fold(0.0, f64::max) < 0.02,
            "no jumps inside a session"
        );
    }

    #[test]
    fn reference_levels_and_out_of_range() {
        let mut m = SyntheticMarket::new(&symbols(&["NVDA", "GS", "SPY", "ZZZQ"]), 42, 0.04);
        let s = snap(&mut m, REF_DATE.and_time(SESSION_CLOSE));
        assert!((s.underlyings["NVDA"].spot - 180.0).abs() < 1e-6);
        assert!((s.underlyings["GS"].spot - 550.0).abs() < 1e-6);
        let other = s.underlyings["ZZZQ"].spot;
        assert!((20.0..=300.0).contains(&other), "{other}");
        assert_eq!(s.underlyings["SPY"].earnings_date, None);
        let earnings = s.underlyings["NVDA"].earnings_date.expect("stocks report");
        assert!((0..=95).contains(&(earnings - REF_DATE).num_days()));
        assert!(matches!(
            m.snapshot(at(2000, 6, 1, 10, 0)),
            Err(MarketError::NoData(_))
        ));
        assert!(matches!(
            m.snapshot(at(2101, 1, 3, 10, 0)),
            Err(MarketError::NoData(_))
        ));
        assert!(m.snapshot(at(2001, 6, 1, 10, 0)).is_ok());
    }

    #[test]
    fn chain_sanity() {
        let mut m = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        for ts in [
            at(2026, 3, 2, 9, 30),
            at(2026, 3, 18, 13, 42),
            at(2026, 5, 1, 16, 0),
            at(2026, 5, 2, 11, 0),
        ] {
            let s = snap(&mut m, ts);
            let date = ts.date();
            for (name, u) in &s.underlyings {
                assert!(!u.chain.is_empty(), "{name}");
                assert!(u.chain.windows(2).all(|w| w[0].expiry < w[1].expiry));
                let monthly = listed_expiries(date)
                    .into_iter()
                    .filter(|e| (15..=21).contains(&e.day()))
                    .count();
                assert!(monthly >= 1);
                for slice in &u.chain {
                    assert_eq!(slice.expiry.weekday(), Weekday::Fri);
                    assert_eq!(slice.dte, (slice.expiry - date).num_days());
                    assert!((MIN_DTE..=MAX_DTE).contains(&slice.dte), "{}", slice.dte);
                    check_slice(u, slice, ts, s.rate);
                }
            }
        }
    }

    fn check_slice(u: &UnderlyingSnapshot, slice: &ExpirySlice, ts: NaiveDateTime, rate: f64) {
        let quotes = &slice.quotes;
        assert!(quotes.len() >= 10, "{} strikes", quotes.len() / 2);
        assert!(quotes
            .windows(2)
            .all(|w| (w[0].strike, w[0].right) < (w[1].strike, w[1].right)));
        for q in quotes {
            assert!(q.bid >= 0.0 && q.bid <= q.mid && q.mid <= q.ask, "{q:?}");
            assert!(q.iv >= IV_FLOOR && q.iv < 3.0, "{q:?}");
            assert!((q.strike - u.spot).abs() <= STRIKE_RANGE * u.spot + 1e-9);
            let step = strike_step(q.strike);
            assert!((q.strike / step - (q.strike / step).round()).abs() < 1e-9);
            match q.right {
                Right::Call => assert!(q.delta > 0.0 && q.delta <= 1.0, "{q:?}"),
                Right::Put => assert!(q.delta < 0.0 && q.delta >= -1.0, "{q:?}"),
            }
        }
        let calls: Vec<_> = quotes.iter().filter(|q| q.right == Right::Call).collect();
        let puts: Vec<_> = quotes.iter().filter(|q| q.right == Right::Put).collect();
        assert!(calls.windows(2).all(|w| w[1].delta <= w[0].delta + 1e-12));
        let t = years_to_expiry(truncate_to_minute(ts), slice.expiry);
        for (c, p) in calls.iter().zip(&puts) {
            assert_eq!(c.strike, p.strike);
            let parity = u.spot * (-u.dividend_yield * t).exp() - c.strike * (-rate * t).exp();
            assert!(
                (c.mid - p.mid - parity).abs() < 0.02,
                "{c:?} {p:?} {parity}"
            );
        }
    }

    #[test]
    fn indicators_stay_in_range() {
        let mut m = SyntheticMarket::new(&default_symbols(), 3, 0.04);
        for day in trading_days(const_date(2026, 1, 5), 60) {
            for (h, min) in [(9, 30), (12, 33), (16, 0)] {
                let s = snap(&mut m, day.and_hms_opt(h, min, 0).expect("valid"));
                for u in s.underlyings.values() {
                    assert!((0.0..=100.0).contains(&u.iv_rank), "{}", u.iv_rank);
                    assert!((0.0..=100.0).contains(&u.rsi14), "{}", u.rsi14);
                    assert!(u.atm_iv > 0.1 && u.atm_iv < 1.5, "{}", u.atm_iv);
                    assert!((u.sma20 / u.spot - 1.0).abs() < 0.5);
                }
            }
        }
    }

    /// Counts, over the first `n` of `ranks` (per day, per symbol), the days with some symbol
    /// at or above `level`.
    fn days_with_any(ranks: &[Vec<f64>], level: f64) -> usize {
        ranks
            .iter()
            .filter(|r| r.iter().any(|x| *x >= level))
            .count()
    }

    #[test]
    fn iv_rank_extremes_are_common() {
        let mut m = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        let days = trading_days(const_date(2026, 3, 2), 40);
        let ranks: Vec<Vec<f64>> = days
            .iter()
            .map(|d| {
                let s = snap(&mut m, d.and_time(SESSION_CLOSE));
                s.underlyings.values().map(|u| u.iv_rank).collect()
            })
            .collect();
        let first = snap(&mut m, at(2026, 3, 2, 9, 30));
        println!(
            "2026-03-02 09:30 ranks: {:?}",
            first
                .underlyings
                .values()
                .map(|u| u.iv_rank.round())
                .collect::<Vec<_>>()
        );
        assert!(first.underlyings.values().any(|u| u.iv_rank >= 80.0));
        assert!(ranks[0].iter().any(|x| *x >= 80.0));
        assert!(days_with_any(&ranks, 80.0) > 0);
        assert!(ranks.iter().any(|r| r.iter().any(|x| *x <= 20.0)));
        let hi80 = days_with_any(&ranks[..20], 80.0);
        let hi90 = days_with_any(&ranks[..20], 90.0);
        println!("first 20 days (closes): some symbol >=80 on {hi80}, >=90 on {hi90}");
        for (d, r) in days.iter().zip(&ranks) {
            println!("{d} {:?}", r.iter().map(|x| x.round()).collect::<Vec<_>>());
        }
    }

    /// Statistics across seeds (run with `--ignored --nocapture`).
    #[test]
    #[ignore]
    fn iv_rank_statistics_across_seeds() {
        let seeds = 0..100u64;
        let (mut hi80, mut win90, mut first80, mut both, mut n) = (0, 0, 0, 0, 0);
        for seed in seeds.clone() {
            let mut m = SyntheticMarket::new(&default_symbols(), seed, 0.04);
            let ranks: Vec<Vec<f64>> = trading_days(const_date(2026, 3, 2), 40)
                .iter()
                .map(|d| {
                    let s = snap(&mut m, d.and_time(SESSION_CLOSE));
                    s.underlyings.values().map(|u| u.iv_rank).collect()
                })
                .collect();
            hi80 += days_with_any(&ranks[..20], 80.0);
            win90 += (0..20)
                .filter(|&i| days_with_any(&ranks[i..i + 20], 90.0) > 0)
                .count();
            first80 += usize::from(ranks[0].iter().any(|x| *x >= 80.0));
            for s in 0..6 {
                let hi = ranks.iter().any(|r| r[s] >= 80.0);
                let lo = ranks.iter().any(|r| r[s] <= 20.0);
                both += usize::from(hi && lo);
                n += 1;
            }
        }
        let k = seeds.count() as f64;
        println!(
            "per seed, of the first 20 days: some symbol >=80 on {:.1}; a >=90 within the \
             trailing-20-day window on {:.1}; first day >=80 for {:.0}% of seeds; symbols with \
             both >=80 and <=20 within 40 days: {:.0}%",
            hi80 as f64 / k,
            win90 as f64 / k,
            first80 as f64 / k * 100.0,
            both as f64 / n as f64 * 100.0
        );
    }

    /// Rough timing (run with `cargo test --release -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn bench_snapshot() {
        let built = Instant::now();
        let mut m = SyntheticMarket::new(&default_symbols(), 42, 0.04);
        println!("construction of 6 symbols: {:?}", built.elapsed());
        let start = at(2026, 3, 2, 9, 30);
        snap(&mut m, start);
        let n = 2000;
        let began = Instant::now();
        let mut quotes = 0;
        for k in 0..n {
            // One-minute cycles across ~5 sessions, including a new bridge each day.
            let ts = start + Duration::minutes(k);
            let s = snap(&mut m, ts);
            quotes += s
                .underlyings
                .values()
                .flat_map(|u| &u.chain)
                .map(|c| c.quotes.len())
                .sum::<usize>();
        }
        let per = began.elapsed().as_secs_f64() / n as f64;
        println!(
            "snapshot of 6 symbols: {:.1} µs ({} quotes on average)",
            per * 1e6,
            quotes / n as usize
        );
    }
}
