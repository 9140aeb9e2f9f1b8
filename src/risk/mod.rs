//! The risk gate's logic: denial reasons, trading states, and the engine that alone can
//! make an [`gate::ApprovedOrder`] — the only type the broker accepts.

pub mod denial;
pub mod gate;
pub mod holds;
pub mod replay;
pub mod state;
pub mod status;

pub use denial::DenyReason;
pub use gate::{ApprovedOrder, OrderRisk, RiskEngine, RiskLimits, RiskState};
pub use holds::{Hold, HoldCause, HoldEvent, Holds, HoldsUpdate};
pub use state::TradingState;
pub use status::RiskStatus;

#[cfg(test)]
mod tests;
