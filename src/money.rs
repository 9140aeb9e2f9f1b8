//! Money and prices as exact decimals.

use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;

/// Converts a finite config number to a decimal, to 6 places (non-finite becomes zero, which
/// denies; the config validation refuses such numbers before they get here).
pub fn to_dec(x: f64) -> Decimal {
    Decimal::from_f64(x)
        .map(|d| d.round_dp(6))
        .unwrap_or(Decimal::ZERO)
}
