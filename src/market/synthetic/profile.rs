//! Per-symbol parameters: the sector ranges, the known reference levels, the draw of one
//! symbol's [`Profile`] from its seeded stream, and its quarterly earnings calendar.

use super::calendar::{EPOCH, LAST_DATE};
use super::regime::Regime;
use super::rng::Rng;
use chrono::{Datelike, Duration, NaiveDate};

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
pub(super) struct Profile {
    /// Price level on [`REF_DATE`](super::REF_DATE).
    pub(super) ref_price: f64,
    /// Long-run implied vol.
    pub(super) base_vol: f64,
    pub(super) dividend_yield: f64,
    /// Smile skew per total standard deviation of moneyness (negative: puts richer).
    pub(super) skew: f64,
    /// Smile curvature per squared total standard deviation of moneyness.
    pub(super) smile: f64,
    /// One-standard-deviation earnings move as a fraction; 0 for no earnings (ETFs).
    pub(super) earnings_move: f64,
    /// Correlation of returns with the market factor.
    pub(super) market_corr: f64,
    /// Initial regime of the vol process.
    pub(super) initial_regime: Regime,
}

impl Profile {
    /// Draws the parameters of `name` from its parameter stream.
    pub(super) fn draw(name: &str, rng: &mut Rng) -> Profile {
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
pub(super) fn earnings_calendar(rng: &mut Rng) -> Vec<NaiveDate> {
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
