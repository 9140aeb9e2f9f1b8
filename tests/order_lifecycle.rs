//! Every order status change goes through the one transition table, in the store too.

mod common;

use alphahive::orders::{OrderEvent, OrderStatus};
use alphahive::store::models::{self, NewOrder};
use alphahive::store::{pool, StoreError};

fn order(coid: &str, status: &str) -> NewOrder {
    NewOrder {
        client_order_id: coid.into(),
        cycle_id: None,
        instance_id: "test".into(),
        underlying: "NVDA".into(),
        strategy: "SHORT_PUT_SPREAD".into(),
        intent: "OPEN".into(),
        position_id: None,
        legs_json: "[]".into(),
        quantity: 1,
        limit_price: "1.10".into(),
        max_risk: "390".into(),
        capital_required: "500".into(),
        status: status.into(),
        deny_code: None,
        deny_reason: None,
        reasoning: None,
        market_ts: models::now(),
        created_at: models::now(),
        updated_at: models::now(),
    }
}

#[test]
fn the_store_refuses_transitions_the_table_does_not_have() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = pool::connect(&dir.path().join("trades.db")).expect("connect");
    pool::run_migrations(&mut conn).expect("migrate");
    models::insert_order(&mut conn, &order("A-1", "APPROVED")).expect("insert");

    let early = models::transition_order(&mut conn, "A-1", OrderEvent::Fill);
    assert!(
        matches!(early, Err(StoreError::Transition(_))),
        "no fill before submit: {early:?}"
    );
    assert_eq!(
        models::transition_order(&mut conn, "A-1", OrderEvent::Submit).expect("submit"),
        OrderStatus::Submitted
    );
    assert_eq!(
        models::transition_order(&mut conn, "A-1", OrderEvent::Fill).expect("fill"),
        OrderStatus::Filled
    );
    assert!(
        matches!(
            models::transition_order(&mut conn, "A-1", OrderEvent::Fill),
            Err(StoreError::Transition(_))
        ),
        "no double fill"
    );
    assert!(
        matches!(
            models::transition_order(&mut conn, "A-1", OrderEvent::Cancel),
            Err(StoreError::Transition(_))
        ),
        "filled is terminal"
    );
    assert_eq!(
        models::orders_in_status(&mut conn, &["FILLED"]).expect("query"),
        ["A-1"]
    );

    // A duplicate client order id cannot be inserted at all.
    assert!(models::insert_order(&mut conn, &order("A-1", "APPROVED")).is_err());
}

/// One order's life as `order_events` records it: (from, to, event, reason).
fn life(conn: &mut diesel::SqliteConnection, coid: &str) -> Vec<String> {
    use alphahive::store::schema::order_events;
    use diesel::prelude::*;
    let rows: Vec<(Option<String>, String, String, Option<String>)> = order_events::table
        .filter(order_events::client_order_id.eq(coid))
        .order(order_events::id.asc())
        .select((
            order_events::from_status,
            order_events::to_status,
            order_events::event,
            order_events::reason,
        ))
        .load(conn)
        .expect("order_events");
    rows.into_iter()
        .map(|(f, t, e, r)| {
            format!(
                "{}->{t} {e}{}",
                f.unwrap_or_default(),
                r.map(|r| format!(" ({r})")).unwrap_or_default()
            )
        })
        .collect()
}

/// Issue 10: every transition is an `order_events` row with its from, to, event and reason,
/// so an order's life reads back; a refused transition writes none.
#[test]
fn every_transition_is_an_order_event_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = pool::connect(&dir.path().join("trades.db")).expect("connect");
    pool::run_migrations(&mut conn).expect("migrate");
    models::insert_order(&mut conn, &order("A-1", "APPROVED")).expect("insert");
    models::transition_order(&mut conn, "A-1", OrderEvent::Fill).expect_err("refused");
    models::transition_order(&mut conn, "A-1", OrderEvent::Submit).expect("submit");
    models::transition_order(&mut conn, "A-1", OrderEvent::Fill).expect("fill");
    assert_eq!(
        life(&mut conn, "A-1"),
        [
            "PROPOSED->APPROVED APPROVE",
            "APPROVED->SUBMITTED SUBMIT",
            "SUBMITTED->FILLED FILL"
        ]
    );
    let mut denied = order("B-1", "DENIED");
    denied.deny_code = Some("MAX_RISK_PER_TRADE".into());
    denied.deny_reason = Some("MAX_RISK_PER_TRADE: max_risk=612.00 limit=500.00".into());
    models::insert_order(&mut conn, &denied).expect("insert");
    assert_eq!(
        life(&mut conn, "B-1"),
        ["PROPOSED->DENIED DENY (MAX_RISK_PER_TRADE: max_risk=612.00 limit=500.00)"]
    );
    models::insert_order(&mut conn, &order("C-1", "APPROVED")).expect("insert");
    models::transition_order(&mut conn, "C-1", OrderEvent::Submit).expect("submit");
    models::transition_order_because(
        &mut conn,
        "C-1",
        OrderEvent::Cancel,
        Some("limit 1.20 better than the model's 1.10: not filled"),
    )
    .expect("cancel");
    assert_eq!(
        life(&mut conn, "C-1")[2],
        "SUBMITTED->CANCELED CANCEL (limit 1.20 better than the model's 1.10: not filled)"
    );
}

/// Issue 10: over a day with denials and unfilled limits, every order's recorded life is a
/// chain (each step starts where the last ended) that ends at the order's status.
#[test]
fn a_days_orders_read_back_as_chains_ending_at_their_status() {
    use common::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &[
            ("enabled = true", "enabled = false"),
            ("max_daily_trades = 10", "max_daily_trades = 2"),
            ("entry_pricing = \"marketable\"", "entry_pricing = \"mid\""),
            (
                "limit_fill_probability = 1.0",
                "limit_fill_probability = 0.5",
            ),
        ],
    );
    let out = alphahive(&["--config", cfg.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut conn = pool::connect(&dir.path().join("data").join("trades.db")).expect("connect");
    let db = db(dir.path());
    let orders = db.texts("SELECT client_order_id || '|' || status AS s FROM orders ORDER BY id");
    let mut seen = std::collections::BTreeSet::new();
    for row in &orders {
        let (coid, status) = row.split_once('|').expect("coid|status");
        let steps = life(&mut conn, coid);
        assert!(!steps.is_empty(), "{coid}: no events");
        let mut at: Option<String> = None;
        for step in &steps {
            let (from, rest) = step.split_once("->").expect("from->to");
            let to = rest.split(' ').next().expect("to");
            if let Some(prev) = &at {
                assert_eq!(from, prev, "{coid}: {steps:?}");
            }
            at = Some(to.to_string());
        }
        assert_eq!(at.as_deref(), Some(status), "{coid}: {steps:?}");
        seen.insert(status.to_string());
    }
    for status in ["FILLED", "DENIED", "CANCELED"] {
        assert!(
            seen.contains(status),
            "no {status} order in the day: {seen:?}"
        );
    }
}
