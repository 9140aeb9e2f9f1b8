//! Item 3: one runtime per data_dir; `report`, `replay` and `check` open the store read-only
//! and never create it; `migrate` brings a store up to date.

mod common;

use common::*;
use std::process::{Command, Stdio};

#[test]
fn item3_second_run_is_refused_while_first_holds_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]).display().to_string();
    let mut first = Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args(["--config", &cfg, "--cycles", "1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until(
        dir.path(),
        "cycles",
        "SELECT count(*) AS n FROM cycles WHERE status = 'done'",
        3,
        "the first run never ran a cycle",
    );
    let db = db(dir.path());
    let events_before = db.int("SELECT count(*) AS n FROM safety_events");

    let second = alphahive(&["--config", &cfg, "--cycles", "5"]);
    assert_eq!(second.status.code(), Some(2), "a second run exits 2");
    let err = String::from_utf8_lossy(&second.stderr);
    let data = dir.path().join("data");
    let expected = format!(
        "data_dir {} is in use by alphahive pid {} since ",
        data.display(),
        first.id()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(
        String::from_utf8_lossy(&second.stdout).is_empty(),
        "nothing ran"
    );

    // It wrote nothing: no cycle of the live run aborted, no reconcile, no new event.
    assert_eq!(
        db.int("SELECT count(*) AS n FROM cycles WHERE status = 'aborted'"),
        0
    );
    assert_eq!(
        db.int("SELECT count(*) AS n FROM safety_events WHERE event_type = 'RECONCILED'"),
        0
    );
    assert!(db.int("SELECT count(*) AS n FROM safety_events") >= events_before);
    assert!(
        matches!(first.try_wait(), Ok(None)),
        "the first run goes on"
    );
    // The shared watchdog was not told goodbye.
    let socket = dir.path().join("data_lake/watchdog.sock");
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_ok());

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    assert!(first.wait().expect("wait").success());
    // Released with the process: the next run starts.
    let third = alphahive(&["--config", &cfg, "--cycles", "1"]);
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
}

#[test]
fn item3_report_replay_and_check_never_create_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]).display().to_string();
    let data = dir.path().join("data");
    for args in [vec!["report"], vec!["replay", "--cycle", "1"]] {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend(args.iter());
        let out = alphahive(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("no store at {}", data.join("trades.db").display()))
                && err.contains("alphahive migrate"),
            "{args:?}: {err}"
        );
    }
    let out = alphahive(&["--config", &cfg, "check"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no store yet at"));
    assert!(!data.exists(), "a mistyped data_dir is never created");

    // A store that needs a migration is refused until `migrate`.
    let out = alphahive(&["--config", &cfg, "migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db(dir.path());
    // Undo the latest migration, as a store written by an older build would be.
    let latest = std::fs::read_dir(repo().join("migrations"))
        .expect("migrations")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .max()
        .expect("a migration");
    db.exec(&std::fs::read_to_string(latest.join("down.sql")).expect("down.sql"));
    db.exec("DELETE FROM __diesel_schema_migrations WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)");
    for args in [vec!["report"], vec!["check"]] {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend(args.iter());
        let out = alphahive(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("needs 1 migration(s): run `alphahive migrate` (or `run`) first"),
            "{err}"
        );
    }
    let out = alphahive(&["--config", &cfg, "migrate"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 migration(s) applied"));
    let out = alphahive(&["--config", &cfg, "report", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"fills\": 0"));
}
