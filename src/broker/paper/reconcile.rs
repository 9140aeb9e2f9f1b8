//! Restart reconcile: orders a crash left in flight, settled against the venue's fills.

use crate::orders::OrderEvent;
use crate::store::models;
use crate::store::schema::{fills, orders};
use crate::store::StoreError;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

/// What a restart's reconcile found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReconcileReport {
    /// Orders in flight that the venue had filled (status repaired to FILLED).
    pub filled: Vec<String>,
    /// Orders in flight that never reached the venue (now CANCELED).
    pub canceled: Vec<String>,
}

/// Reconciles orders left in flight by a crash against the venue's book: an order with all
/// its fills is FILLED; one with none never executed and is CANCELED. One transaction.
pub fn reconcile(conn: &mut SqliteConnection) -> Result<ReconcileReport, StoreError> {
    conn.immediate_transaction(|conn| {
        let mut report = ReconcileReport::default();
        for coid in models::orders_in_status(conn, &["PROPOSED", "APPROVED", "SUBMITTED"])? {
            let n: i64 = fills::table
                .filter(fills::client_order_id.eq(&coid))
                .count()
                .get_result(conn)?;
            if n > 0 {
                models::transition_order_because(
                    conn,
                    &coid,
                    OrderEvent::Fill,
                    Some("reconciled at restart: its fills are recorded"),
                )?;
                report.filled.push(coid);
            } else {
                let why = "reconciled at restart: never reached the venue";
                models::transition_order_because(conn, &coid, OrderEvent::Cancel, Some(why))?;
                diesel::update(orders::table.filter(orders::client_order_id.eq(&coid)))
                    .set(orders::deny_reason.eq(why))
                    .execute(conn)?;
                report.canceled.push(coid);
            }
        }
        Ok(report)
    })
}
