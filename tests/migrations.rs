//! Migrations on an empty and on an existing store; pragmas on every connection.

use alphahive::store::models::{self, NewSafetyEvent};
use alphahive::store::{pool, Store};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    s: String,
}

#[test]
fn migrations_run_on_empty_then_are_idempotent_on_existing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("trades.db");
    let mut conn = pool::connect(&db).expect("connect");
    assert!(
        pool::run_migrations(&mut conn).expect("migrate") >= 1,
        "empty store gets every migration"
    );
    let tables: Vec<String> =
        diesel::sql_query("SELECT name AS s FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .load::<Row>(&mut conn)
            .expect("tables")
            .into_iter()
            .map(|r| r.s)
            .collect();
    for t in [
        "account_snapshots",
        "cycles",
        "fills",
        "llm_calls",
        "orders",
        "positions",
        "safety_events",
        "signals",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "missing table {t}: {tables:?}"
        );
    }
    models::insert_safety_event(
        &mut conn,
        &NewSafetyEvent::new("KILL_SWITCH", "critical", None, "test"),
    )
    .expect("insert");
    drop(conn);

    // An existing store: nothing pending, data intact, WAL on.
    let mut again = pool::connect(&db).expect("reconnect");
    assert_eq!(pool::run_migrations(&mut again).expect("migrate again"), 0);
    let n: i64 = alphahive::store::schema::safety_events::table
        .count()
        .get_result(&mut again)
        .expect("count");
    assert_eq!(n, 1);
    let mode: Vec<Row> = diesel::sql_query("SELECT journal_mode AS s FROM pragma_journal_mode()")
        .load(&mut again)
        .expect("mode");
    assert_eq!(mode[0].s, "wal");
    again.batch_execute("SELECT 1").expect("usable");

    // Store::open on the same directory works too, and serves calls from its writer thread.
    let store = Store::open(dir.path()).expect("store");
    let state = store
        .call_blocking(|c| models::get_state(c, "nothing"))
        .expect("call");
    assert_eq!(state, None);
}

#[test]
fn a_panicking_store_job_does_not_kill_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let r: Result<(), _> = store.call_blocking(|_| panic!("boom inside a store job"));
    assert!(r.is_err(), "the panicking job reports an error");
    store
        .call_blocking(|c| models::set_state(c, "k", "v"))
        .expect("the writer still serves");
    assert_eq!(
        store
            .call_blocking(|c| models::get_state(c, "k"))
            .expect("get"),
        Some("v".into())
    );
}
