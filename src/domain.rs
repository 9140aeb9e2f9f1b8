//! Shared trading vocabulary: contracts, legs, structures, intents and signals.
//!
//! Prices in signals and quotes are `f64` (they are model outputs); anything that reaches the
//! ledger (order limit prices, fills, cash) is converted to [`rust_decimal::Decimal`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Right {
    /// A call option.
    #[serde(rename = "C", alias = "CALL", alias = "call", alias = "c")]
    Call,
    /// A put option.
    #[serde(rename = "P", alias = "PUT", alias = "put", alias = "p")]
    Put,
}

impl Right {
    /// One-letter code used in contract symbols ("C" or "P").
    pub fn code(self) -> &'static str {
        match self {
            Right::Call => "C",
            Right::Put => "P",
        }
    }
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    /// Buy (pay the premium).
    Buy,
    /// Sell (receive the premium).
    Sell,
}

impl Action {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> i64 {
        match self {
            Action::Buy => 1,
            Action::Sell => -1,
        }
    }

    /// The opposite action (used to close a leg).
    pub fn opposite(self) -> Action {
        match self {
            Action::Buy => Action::Sell,
            Action::Sell => Action::Buy,
        }
    }
}

/// An option contract on an underlying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionContract {
    /// Underlying symbol, e.g. "NVDA".
    pub symbol: String,
    /// Expiry date.
    pub expiry: NaiveDate,
    /// Strike price.
    pub strike: f64,
    /// Call or put.
    pub right: Right,
}

impl OptionContract {
    /// A stable textual key, e.g. `NVDA 2026-12-31 120P`.
    pub fn key(&self) -> String {
        format!(
            "{} {} {}{}",
            self.symbol,
            self.expiry,
            fmt_strike(self.strike),
            self.right.code()
        )
    }
}

impl fmt::Display for OptionContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Formats a strike without trailing zeros (120, 122.5).
pub fn fmt_strike(strike: f64) -> String {
    if (strike - strike.round()).abs() < 1e-9 {
        format!("{}", strike.round() as i64)
    } else {
        format!("{strike}")
    }
}

/// One leg of a combo order or signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// Buy or sell.
    pub action: Action,
    /// The option contract.
    pub contract: OptionContract,
    /// Contracts per combo unit (a ratio; usually 1).
    pub quantity: u32,
    /// Per-share option price the proposer saw (premium, not ×100).
    pub price: f64,
}

/// The named option structures AlphaHive trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Structure {
    /// Sell a put, buy a lower put (credit).
    ShortPutSpread,
    /// Sell a call, buy a higher call (credit).
    ShortCallSpread,
    /// Short put spread + short call spread (credit).
    IronCondor,
    /// Buy a call, sell a higher call (debit).
    LongCallSpread,
    /// Buy a put, sell a lower put (debit).
    LongPutSpread,
    /// No trade.
    NoTrade,
}

impl Structure {
    /// Stable SCREAMING_SNAKE name, as stored in `orders.strategy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Structure::ShortPutSpread => "SHORT_PUT_SPREAD",
            Structure::ShortCallSpread => "SHORT_CALL_SPREAD",
            Structure::IronCondor => "IRON_CONDOR",
            Structure::LongCallSpread => "LONG_CALL_SPREAD",
            Structure::LongPutSpread => "LONG_PUT_SPREAD",
            Structure::NoTrade => "NO_TRADE",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Structure> {
        [
            Structure::ShortPutSpread,
            Structure::ShortCallSpread,
            Structure::IronCondor,
            Structure::LongCallSpread,
            Structure::LongPutSpread,
            Structure::NoTrade,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// True for structures opened for a net credit.
    pub fn is_credit(self) -> bool {
        matches!(
            self,
            Structure::ShortPutSpread | Structure::ShortCallSpread | Structure::IronCondor
        )
    }

    /// The directional bias: +1 bullish, -1 bearish, 0 neutral/none.
    pub fn bias(self) -> i32 {
        match self {
            Structure::ShortPutSpread | Structure::LongCallSpread => 1,
            Structure::ShortCallSpread | Structure::LongPutSpread => -1,
            Structure::IronCondor | Structure::NoTrade => 0,
        }
    }
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an order exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Intent {
    /// Opens a new position.
    Open,
    /// Closes at the profit target.
    TakeProfit,
    /// Closes at the stop.
    StopLoss,
    /// Closes because expiry is near.
    TimeExit,
    /// Settled at expiry.
    Expiry,
    /// Closed by a flatten (watchdog, kill switch, breaker).
    Flatten,
}

impl Intent {
    /// Stable name stored in `orders.intent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Open => "OPEN",
            Intent::TakeProfit => "TAKE_PROFIT",
            Intent::StopLoss => "STOP_LOSS",
            Intent::TimeExit => "TIME_EXIT",
            Intent::Expiry => "EXPIRY",
            Intent::Flatten => "FLATTEN",
        }
    }

    /// True when the order reduces risk (closes an existing position).
    pub fn reduces_risk(self) -> bool {
        !matches!(self, Intent::Open)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parameters of a signal: the legs and the proposer's risk figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalParams {
    /// The legs, one combo unit.
    #[serde(default)]
    pub legs: Vec<Leg>,
    /// Proposer's max loss per combo in dollars (informational; code recomputes it).
    #[serde(default)]
    pub max_risk: f64,
    /// Proposer's capital per combo in dollars (informational; code recomputes it).
    #[serde(default)]
    pub capital_required: f64,
}

/// A validated strategy signal (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The instance that produced it.
    pub instance_id: String,
    /// The template the instance uses.
    pub template_used: String,
    /// Target underlying.
    pub target: String,
    /// The structure (or NO_TRADE).
    pub signal: Structure,
    /// Legs and risk figures.
    pub params: SignalParams,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// Free-text reasoning.
    pub reasoning: String,
}

/// The legs that close `legs`: same contracts and ratios, opposite actions.
pub fn closing_legs(legs: &[Leg]) -> Vec<Leg> {
    legs.iter()
        .map(|l| Leg {
            action: l.action.opposite(),
            ..l.clone()
        })
        .collect()
}

/// The structure `legs` form, or `None` if they form none of the supported ones.
///
/// No legs is [`Structure::NoTrade`]. Otherwise all legs must share symbol, expiry and a
/// quantity >= 1, and (strikes distinct):
/// - 2 legs, same right, one sell and one buy: a vertical. Puts: sell the higher strike →
///   `SHORT_PUT_SPREAD`, buy the higher → `LONG_PUT_SPREAD`. Calls: sell the lower →
///   `SHORT_CALL_SPREAD`, buy the lower → `LONG_CALL_SPREAD`.
/// - 4 legs: a short put spread and a short call spread with every put strike below every
///   call strike → `IRON_CONDOR`.
pub fn classify_structure(legs: &[Leg]) -> Option<Structure> {
    let Some(first) = legs.first() else {
        return Some(Structure::NoTrade);
    };
    let consistent = legs.iter().all(|l| {
        l.contract.symbol == first.contract.symbol
            && l.contract.expiry == first.contract.expiry
            && l.quantity == first.quantity
            && l.quantity >= 1
            && l.contract.strike.is_finite()
    });
    if !consistent {
        return None;
    }
    match legs {
        [a, b] => vertical(a, b),
        [_, _, _, _] => {
            let (puts, calls): (Vec<&Leg>, Vec<&Leg>) =
                legs.iter().partition(|l| l.contract.right == Right::Put);
            let ([p1, p2], [c1, c2]) = (puts.as_slice(), calls.as_slice()) else {
                return None;
            };
            let put_top = p1.contract.strike.max(p2.contract.strike);
            let call_bottom = c1.contract.strike.min(c2.contract.strike);
            let ok = vertical(p1, p2) == Some(Structure::ShortPutSpread)
                && vertical(c1, c2) == Some(Structure::ShortCallSpread)
                && put_top < call_bottom;
            ok.then_some(Structure::IronCondor)
        }
        _ => None,
    }
}

/// Classifies a two-leg vertical spread.
fn vertical(a: &Leg, b: &Leg) -> Option<Structure> {
    if a.contract.right != b.contract.right
        || a.action == b.action
        || (a.contract.strike - b.contract.strike).abs() < 1e-9
    {
        return None;
    }
    let (sold, bought) = if a.action == Action::Sell {
        (a, b)
    } else {
        (b, a)
    };
    let sold_higher = sold.contract.strike > bought.contract.strike;
    Some(match (a.contract.right, sold_higher) {
        (Right::Put, true) => Structure::ShortPutSpread,
        (Right::Put, false) => Structure::LongPutSpread,
        (Right::Call, true) => Structure::LongCallSpread,
        (Right::Call, false) => Structure::ShortCallSpread,
    })
}
