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
            stdout.contains("market recorded")
                && stdout.contains("same orders")
                && stdout.lines().last() == Some("same"),
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

/// Issue 10: every cycle of 20 simulated days decides again, from its snapshot alone, to the
/// same orders and the same verdict for each; with the market's seed changed the replay still
/// agrees (it reads the recorded market, not a regenerated one) and says the config differs.
#[test]
fn every_cycle_of_twenty_days_replays_orders_and_verdicts_from_the_snapshot_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), &[("enabled = true", "enabled = false")]);
    let out = alphahive(&["--config", path.to_str().expect("utf8"), "--cycles", "1560"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db(dir.path());
    let orders = db.int("SELECT count(*) AS n FROM orders WHERE cycle_id IS NOT NULL");
    assert!(orders >= 50, "20 days propose orders: {orders}");
    let cfg = alphahive::config::load(&path).expect("config");
    let reseeded = alphahive::config::load(&write_config(
        dir.path(),
        &[
            ("enabled = true", "enabled = false"),
            ("seed = 42", "seed = 7"),
        ],
    ))
    .expect("config");
    let (mut verdicts, mut cycles) = (0, 0);
    for id in db.texts("SELECT CAST(id AS TEXT) AS s FROM cycles ORDER BY id") {
        let id: i32 = id.parse().expect("id");
        let r = alphahive::app::replay::replay(&cfg, id).expect("replay");
        assert_eq!(r.market_source, "recorded", "cycle {id}");
        assert_eq!(r.same_config, Some(true), "cycle {id}");
        assert!(
            r.same_orders,
            "cycle {id}: {:?} vs {:?}",
            r.recorded, r.replayed
        );
        for v in &r.verdicts {
            assert_eq!(v.recorded, v.replayed, "cycle {id}");
            assert_ne!(v.replayed, "NOT REPLAYED", "cycle {id}");
        }
        verdicts += r.verdicts.len() as i64;
        cycles += 1;
        if id % 97 == 0 {
            let again = alphahive::app::replay::replay(&reseeded, id).expect("replay");
            assert!(again.same(), "cycle {id} with another seed");
            assert_eq!(again.same_config, Some(false), "cycle {id}");
        }
    }
    assert_eq!(cycles, 1560);
    assert_eq!(verdicts, orders, "one replayed verdict per recorded order");
}

/// Issue 10: denials replay with their codes, and a tighter limit in today's config shows up
/// as a different verdict and a different config.
#[test]
fn denials_replay_with_their_codes_and_a_changed_limit_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tight = [
        ("enabled = true", "enabled = false"),
        ("max_daily_trades = 10", "max_daily_trades = 2"),
    ];
    let path = write_config(dir.path(), &tight);
    let out = alphahive(&["--config", path.to_str().expect("utf8"), "--cycles", "78"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db(dir.path());
    let denied = db.texts(
        "SELECT CAST(cycle_id AS TEXT) AS s FROM orders WHERE deny_code = 'MAX_DAILY_TRADES' ORDER BY id",
    );
    assert!(!denied.is_empty(), "a limit of 2 trades a day denies some");
    let cycle = denied[0].clone();
    let r = alphahive(&[
        "--config",
        path.to_str().expect("utf8"),
        "replay",
        "--cycle",
        &cycle,
    ]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{stdout}");
    assert!(
        stdout
            .contains("recorded DENIED MAX_DAILY_TRADES · replayed DENIED MAX_DAILY_TRADES · same"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("same"), "{stdout}");

    // Today's config allows more trades: the replay says the verdict and the config differ.
    let loose = write_config(dir.path(), &[("enabled = true", "enabled = false")]);
    let r = alphahive(&[
        "--config",
        loose.to_str().expect("utf8"),
        "replay",
        "--cycle",
        &cycle,
    ]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("config: DIFFERS"), "{stdout}");
    assert!(
        stdout.contains("recorded DENIED MAX_DAILY_TRADES · replayed APPROVED · DIFFERENT"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("different"), "{stdout}");
}
