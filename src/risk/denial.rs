//! Why the risk gate denied an order: one variant per check, each with a stable code.

use rust_decimal::Decimal;
use std::fmt;

/// A denial reason: a stable SCREAMING_SNAKE code plus key=value context.
#[derive(Debug, Clone, PartialEq)]
pub enum DenyReason {
    /// Trading is HALTED: nothing but cancels and the watchdog's flatten.
    TradingHalted {
        /// Why it is halted.
        reason: String,
    },
    /// Trading is REDUCING: only orders that reduce risk.
    TradingReducing {
        /// Why it is reducing.
        reason: String,
    },
    /// The client order id was used before.
    DuplicateClientOrderId {
        /// The id.
        client_order_id: String,
    },
    /// Quantity is zero or absurd.
    InvalidQuantity {
        /// Requested combo quantity.
        quantity: u32,
        /// Largest accepted.
        max: u32,
    },
    /// The order has no legs.
    NoLegs,
    /// A symbol outside the configured universe, or legs on another underlying.
    UnknownSymbol {
        /// The symbol.
        symbol: String,
    },
    /// A leg expires today or earlier.
    ExpiryNotInFuture {
        /// The expiry.
        expiry: chrono::NaiveDate,
        /// The market date.
        today: chrono::NaiveDate,
    },
    /// The legs can lose without bound (e.g. a naked short option).
    UndefinedRisk {
        /// What the payoff analysis found.
        detail: String,
    },
    /// The legs do not form the declared structure.
    StructureMismatch {
        /// Declared structure.
        declared: String,
        /// What the legs form.
        actual: String,
    },
    /// Spread wider than allowed.
    MaxSpreadWidth {
        /// Width in points.
        width: Decimal,
        /// Limit.
        limit: Decimal,
    },
    /// A leg is priced below the minimum option price.
    MinOptionPrice {
        /// The contract.
        contract: String,
        /// Its mark.
        price: Decimal,
        /// Limit.
        limit: Decimal,
    },
    /// No current mark for a leg.
    NoMarketData {
        /// The contract.
        contract: String,
    },
    /// The limit price is too far from the current mark.
    PriceCollar {
        /// The order's net limit.
        limit_price: Decimal,
        /// The net price the venue's fill model gives now (a marketable limit's reference).
        marketable: Decimal,
        /// Largest accepted difference.
        max_deviation: Decimal,
    },
    /// Max loss above the per-trade limit.
    MaxRiskPerTrade {
        /// Max loss in dollars.
        max_risk: Decimal,
        /// Limit.
        limit: Decimal,
    },
    /// Capital above the per-trade limit.
    MaxCapitalPerTrade {
        /// Capital in dollars.
        capital: Decimal,
        /// Limit.
        limit: Decimal,
    },
    /// Today's loss reached the limit.
    DailyLossLimit {
        /// Today's P&L.
        day_pnl: Decimal,
        /// Limit (a positive loss amount).
        limit: Decimal,
    },
    /// Too many opening trades today.
    MaxDailyTrades {
        /// Trades so far today.
        trades: u32,
        /// Limit.
        limit: u32,
    },
    /// Too many losses in a row.
    ConsecutiveLosses {
        /// Current streak.
        streak: u32,
        /// Limit.
        limit: u32,
    },
    /// Max loss in one underlying above `max_concentration` × `max_total_exposure`.
    MaxConcentration {
        /// Underlying.
        underlying: String,
        /// Exposure including this order.
        exposure: Decimal,
        /// The cap in dollars: `limit` × `max_total_exposure`.
        cap: Decimal,
        /// Limit as a fraction of `max_total_exposure`.
        limit: Decimal,
    },
    /// Total exposure above the limit.
    MaxTotalExposure {
        /// Exposure including this order.
        exposure: Decimal,
        /// Limit.
        limit: Decimal,
    },
    /// Too many orders in the last minute.
    OrderRateLimit {
        /// Orders in the window.
        count: u32,
        /// Limit.
        limit: u32,
    },
    /// An exit names a position that is not open, or more than it holds.
    UnknownPosition {
        /// The position id.
        position_id: String,
        /// What is wrong.
        detail: String,
    },
    /// The account could not be read, so nothing can be checked.
    AccountUnavailable {
        /// Why.
        detail: String,
    },
}

impl DenyReason {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::TradingHalted { .. } => "TRADING_HALTED",
            DenyReason::TradingReducing { .. } => "TRADING_REDUCING",
            DenyReason::DuplicateClientOrderId { .. } => "DUPLICATE_CLIENT_ORDER_ID",
            DenyReason::InvalidQuantity { .. } => "INVALID_QUANTITY",
            DenyReason::NoLegs => "NO_LEGS",
            DenyReason::UnknownSymbol { .. } => "UNKNOWN_SYMBOL",
            DenyReason::ExpiryNotInFuture { .. } => "EXPIRY_NOT_IN_FUTURE",
            DenyReason::UndefinedRisk { .. } => "UNDEFINED_RISK",
            DenyReason::StructureMismatch { .. } => "STRUCTURE_MISMATCH",
            DenyReason::MaxSpreadWidth { .. } => "MAX_SPREAD_WIDTH",
            DenyReason::MinOptionPrice { .. } => "MIN_OPTION_PRICE",
            DenyReason::NoMarketData { .. } => "NO_MARKET_DATA",
            DenyReason::PriceCollar { .. } => "PRICE_COLLAR",
            DenyReason::MaxRiskPerTrade { .. } => "MAX_RISK_PER_TRADE",
            DenyReason::MaxCapitalPerTrade { .. } => "MAX_CAPITAL_PER_TRADE",
            DenyReason::DailyLossLimit { .. } => "DAILY_LOSS_LIMIT",
            DenyReason::MaxDailyTrades { .. } => "MAX_DAILY_TRADES",
            DenyReason::ConsecutiveLosses { .. } => "CONSECUTIVE_LOSSES",
            DenyReason::MaxConcentration { .. } => "MAX_CONCENTRATION",
            DenyReason::MaxTotalExposure { .. } => "MAX_TOTAL_EXPOSURE",
            DenyReason::OrderRateLimit { .. } => "ORDER_RATE_LIMIT",
            DenyReason::UnknownPosition { .. } => "UNKNOWN_POSITION",
            DenyReason::AccountUnavailable { .. } => "ACCOUNT_UNAVAILABLE",
        }
    }

    /// The key=value context.
    pub fn context(&self) -> String {
        match self {
            DenyReason::TradingHalted { reason } | DenyReason::TradingReducing { reason } => {
                format!("reason={reason}")
            }
            DenyReason::DuplicateClientOrderId { client_order_id } => {
                format!("client_order_id={client_order_id}")
            }
            DenyReason::InvalidQuantity { quantity, max } => {
                format!("quantity={quantity} max={max}")
            }
            DenyReason::NoLegs => "legs=0".to_string(),
            DenyReason::UnknownSymbol { symbol } => format!("symbol={symbol}"),
            DenyReason::ExpiryNotInFuture { expiry, today } => {
                format!("expiry={expiry} today={today}")
            }
            DenyReason::UndefinedRisk { detail } => format!("detail={detail}"),
            DenyReason::StructureMismatch { declared, actual } => {
                format!("declared={declared} actual={actual}")
            }
            DenyReason::MaxSpreadWidth { width, limit } => {
                format!("width={width:.2} limit={limit:.2}")
            }
            DenyReason::MinOptionPrice {
                contract,
                price,
                limit,
            } => {
                format!("contract={contract:?} price={price:.2} limit={limit:.2}")
            }
            DenyReason::NoMarketData { contract } => format!("contract={contract:?}"),
            DenyReason::PriceCollar {
                limit_price,
                marketable,
                max_deviation,
            } => {
                format!(
                    "limit_price={limit_price:.4} marketable={marketable:.4} max_deviation={max_deviation:.4}"
                )
            }
            DenyReason::MaxRiskPerTrade { max_risk, limit } => {
                format!("max_risk={max_risk:.2} limit={limit:.2}")
            }
            DenyReason::MaxCapitalPerTrade { capital, limit } => {
                format!("capital={capital:.2} limit={limit:.2}")
            }
            DenyReason::DailyLossLimit { day_pnl, limit } => {
                format!("day_pnl={day_pnl:.2} limit={limit:.2}")
            }
            DenyReason::MaxDailyTrades { trades, limit } => {
                format!("trades={trades} limit={limit}")
            }
            DenyReason::ConsecutiveLosses { streak, limit } => {
                format!("streak={streak} limit={limit}")
            }
            DenyReason::MaxConcentration {
                underlying,
                exposure,
                cap,
                limit,
            } => {
                format!("underlying={underlying} exposure={exposure:.2} cap={cap:.2} limit={limit}")
            }
            DenyReason::MaxTotalExposure { exposure, limit } => {
                format!("exposure={exposure:.2} limit={limit:.2}")
            }
            DenyReason::OrderRateLimit { count, limit } => format!("count={count} limit={limit}"),
            DenyReason::UnknownPosition {
                position_id,
                detail,
            } => {
                format!("position_id={position_id} detail={detail:?}")
            }
            DenyReason::AccountUnavailable { detail } => format!("detail={detail:?}"),
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.context())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    #[test]
    fn display_is_code_then_context() {
        let r = DenyReason::MaxRiskPerTrade {
            max_risk: d("612"),
            limit: d("500"),
        };
        assert_eq!(
            r.to_string(),
            "MAX_RISK_PER_TRADE: max_risk=612.00 limit=500.00"
        );
    }
}
