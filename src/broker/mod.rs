//! Brokers: the account and position views, executions, and the paper venue.

pub mod paper;

pub use crate::account::{AccountView, Execution, LegFill, PositionView};

/// Errors from a broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The store behind the paper venue failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The order cannot be executed (no quote, wrong state).
    #[error("order {client_order_id} cannot be executed: {reason}")]
    Unexecutable {
        /// The order.
        client_order_id: String,
        /// Why.
        reason: String,
    },
}
