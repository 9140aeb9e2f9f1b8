//! Every order status change goes through the one transition table, in the store too.

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
