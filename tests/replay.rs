//! `replay --cycle ID` reproduces recorded cycles and notices when anything differs.

mod common;

use common::*;

#[test]
fn recorded_cycles_replay_to_the_same_orders_and_tampering_is_noticed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[("enabled = true", "enabled = false")]);
    let cfg = cfg.to_str().expect("utf8");
    let out = alphahive(&["--config", cfg, "--cycles", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db(dir.path());
    let with_orders = db.texts("SELECT DISTINCT CAST(cycle_id AS TEXT) AS s FROM orders WHERE cycle_id IS NOT NULL ORDER BY cycle_id");
    assert!(
        !with_orders.is_empty(),
        "the first 20 cycles propose orders"
    );
    for id in db.texts("SELECT CAST(id AS TEXT) AS s FROM cycles") {
        let r = alphahive(&["--config", cfg, "replay", "--cycle", &id]);
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(r.status.success(), "cycle {id}: {stdout}");
        assert!(
            stdout.contains("market identical") && stdout.contains("same orders"),
            "{stdout}"
        );
    }

    // A recorded answer changed after the fact: the replay no longer yields the same orders.
    let target = &with_orders[0];
    let conn_path = dir.path().join("data/trades.db");
    {
        use diesel::prelude::*;
        let mut c = SqliteConnection::establish(&conn_path.to_string_lossy()).expect("db");
        diesel::sql_query(format!(
            "UPDATE signals SET raw = 'not json' WHERE cycle_id = {target}"
        ))
        .execute(&mut c)
        .expect("tamper");
    }
    let r = alphahive(&["--config", cfg, "replay", "--cycle", target]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stdout).contains("DIFFERENT orders"));

    // A snapshot edited on disk fails its sha256 check.
    let path = db.texts(&format!(
        "SELECT snapshot_path AS s FROM cycles WHERE id = {target}"
    ))[0]
        .clone();
    std::fs::write(&path, b"{}").expect("tamper snapshot");
    let r = alphahive(&["--config", cfg, "replay", "--cycle", target]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("sha256"));
    let r = alphahive(&["--config", cfg, "replay", "--cycle", "999999"]);
    assert!(!r.status.success());
}
