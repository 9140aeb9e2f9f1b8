//! Orders: the request the Commander proposes, and the order status machine.

use crate::domain::{Intent, Leg, Structure};
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A combo order as the Commander proposes it to the risk gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Unique, stable across restarts.
    pub client_order_id: String,
    /// The cycle that proposed it.
    pub cycle_id: Option<i32>,
    /// The instance whose signal it came from (`commander` for exits).
    pub instance_id: String,
    /// Underlying symbol.
    pub underlying: String,
    /// The structure the legs form.
    pub strategy: Structure,
    /// Why the order exists.
    pub intent: Intent,
    /// The position an exit closes.
    pub position_id: Option<String>,
    /// Legs of one combo unit; `price` is the mid the proposer saw.
    pub legs: Vec<Leg>,
    /// Number of combo units.
    pub quantity: u32,
    /// Net limit per share: positive = credit received, negative = debit paid.
    pub limit_price: Decimal,
    /// The Commander's reasoning, recorded with the order.
    pub reasoning: String,
    /// Market time of the proposal.
    pub market_ts: NaiveDateTime,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Proposed, not yet decided by the risk gate.
    Proposed,
    /// Denied by the risk gate (terminal).
    Denied,
    /// Approved by the risk gate, not yet at the broker.
    Approved,
    /// Sent to the broker; its fate is unknown until the broker answers or a reconcile.
    Submitted,
    /// Filled (terminal).
    Filled,
    /// Rejected by the broker (terminal).
    Rejected,
    /// Canceled, including by a restart's reconcile (terminal).
    Canceled,
}

/// What happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderEvent {
    /// The risk gate denied it.
    Deny,
    /// The risk gate approved it.
    Approve,
    /// It was sent to the broker.
    Submit,
    /// The broker filled it.
    Fill,
    /// The broker rejected it.
    Reject,
    /// It was canceled (user, watchdog, or reconcile found it never reached the venue).
    Cancel,
}

/// An event that does not apply to the order's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order status {from} does not accept event {event:?}")]
pub struct TransitionError {
    /// The status the order was in.
    pub from: OrderStatus,
    /// The event that does not apply.
    pub event: OrderEvent,
}

impl OrderStatus {
    /// The one transition table: `(status, event) → status`; anything else is an error.
    pub fn apply(self, event: OrderEvent) -> Result<OrderStatus, TransitionError> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            (S::Proposed, E::Deny) => S::Denied,
            (S::Proposed, E::Approve) => S::Approved,
            (S::Proposed, E::Cancel) => S::Canceled,
            (S::Approved, E::Submit) => S::Submitted,
            (S::Approved, E::Cancel) => S::Canceled,
            (S::Submitted, E::Fill) => S::Filled,
            (S::Submitted, E::Reject) => S::Rejected,
            (S::Submitted, E::Cancel) => S::Canceled,
            (from, event) => return Err(TransitionError { from, event }),
        };
        Ok(next)
    }

    /// True when no event can change it any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Denied
                | OrderStatus::Filled
                | OrderStatus::Rejected
                | OrderStatus::Canceled
        )
    }

    /// Stable name stored in `orders.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Proposed => "PROPOSED",
            OrderStatus::Denied => "DENIED",
            OrderStatus::Approved => "APPROVED",
            OrderStatus::Submitted => "SUBMITTED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Canceled => "CANCELED",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        use OrderStatus as S;
        [
            S::Proposed,
            S::Denied,
            S::Approved,
            S::Submitted,
            S::Filled,
            S::Rejected,
            S::Canceled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestCase {
        name: &'static str,
        from: OrderStatus,
        event: OrderEvent,
        expected: Option<OrderStatus>,
    }

    #[test]
    fn transition_table() {
        use OrderEvent as E;
        use OrderStatus as S;
        let cases = [
            TestCase {
                name: "deny",
                from: S::Proposed,
                event: E::Deny,
                expected: Some(S::Denied),
            },
            TestCase {
                name: "approve",
                from: S::Proposed,
                event: E::Approve,
                expected: Some(S::Approved),
            },
            TestCase {
                name: "submit",
                from: S::Approved,
                event: E::Submit,
                expected: Some(S::Submitted),
            },
            TestCase {
                name: "fill",
                from: S::Submitted,
                event: E::Fill,
                expected: Some(S::Filled),
            },
            TestCase {
                name: "reject",
                from: S::Submitted,
                event: E::Reject,
                expected: Some(S::Rejected),
            },
            TestCase {
                name: "reconcile cancel",
                from: S::Submitted,
                event: E::Cancel,
                expected: Some(S::Canceled),
            },
            TestCase {
                name: "fill before submit",
                from: S::Approved,
                event: E::Fill,
                expected: None,
            },
            TestCase {
                name: "denied is terminal",
                from: S::Denied,
                event: E::Approve,
                expected: None,
            },
            TestCase {
                name: "double fill",
                from: S::Filled,
                event: E::Fill,
                expected: None,
            },
            TestCase {
                name: "proposed cannot fill",
                from: S::Proposed,
                event: E::Fill,
                expected: None,
            },
        ];
        for c in cases {
            assert_eq!(c.from.apply(c.event).ok(), c.expected, "{}", c.name);
        }
    }

    #[test]
    fn names_round_trip() {
        for s in [
            "PROPOSED",
            "DENIED",
            "APPROVED",
            "SUBMITTED",
            "FILLED",
            "REJECTED",
            "CANCELED",
        ] {
            assert_eq!(OrderStatus::parse(s).map(|x| x.as_str()), Some(s));
        }
        assert!(OrderStatus::parse("BOGUS").is_none());
    }
}
