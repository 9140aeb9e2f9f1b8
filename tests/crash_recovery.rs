//! SIGKILL mid-run: the store stays consistent and the next run reconciles and goes on.

mod common;

use common::*;
use std::process::{Command, Stdio};

#[test]
fn sigkill_mid_run_then_restart_reconciles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]);
    let cfg = cfg.to_str().expect("utf8");
    let mut child = Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args(["--config", cfg, "--cycles", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until it has traded a while (fills exist), then kill it without warning.
    wait_until(
        dir.path(),
        "fills",
        "SELECT count(*) AS n FROM fills",
        4,
        "runtime never produced fills",
    );
    let db = db(dir.path());
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    assert_eq!(
        db.texts("SELECT integrity_check AS s FROM pragma_integrity_check()")
            .first()
            .map(String::as_str),
        Some("ok")
    );
    let before = db.int("SELECT count(*) AS n FROM cycles");

    let out = alphahive(&["--config", cfg, "--cycles", "5"]);
    assert!(
        out.status.success(),
        "restart failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(db.int("SELECT count(*) AS n FROM cycles"), before + 5);
    assert_eq!(
        db.int("SELECT count(*) AS n FROM cycles WHERE status = 'running'"),
        0,
        "no cycle left running"
    );
    assert_eq!(
        db.int(
            "SELECT count(*) AS n FROM orders WHERE status IN ('PROPOSED','APPROVED','SUBMITTED')"
        ),
        0,
        "nothing left in flight"
    );
    assert_eq!(
        db.int("SELECT count(*) AS n FROM (SELECT client_order_id FROM orders GROUP BY client_order_id HAVING count(*) > 1)"),
        0
    );
    // The paper book reconciles: every filled order has all its legs, and cash = start + fills.
    assert_eq!(
        db.int("SELECT count(*) AS n FROM orders o WHERE o.status = 'FILLED' AND NOT EXISTS (SELECT 1 FROM fills f WHERE f.client_order_id = o.client_order_id)"),
        0
    );
    let dec = |s: &str| s.parse::<rust_decimal::Decimal>().expect("decimal");
    let cash = dec(&db.texts("SELECT cash AS s FROM paper_account")[0]);
    let start = dec(&db.texts("SELECT starting_cash AS s FROM paper_account")[0]);
    let moved: rust_decimal::Decimal = db
        .texts("SELECT cash_delta AS s FROM fills")
        .iter()
        .map(|s| dec(s))
        .sum();
    assert_eq!(
        cash,
        start + moved,
        "cash moved by exactly the fills and commissions"
    );
    assert_eq!(
        db.texts("SELECT integrity_check AS s FROM pragma_integrity_check()")
            .first()
            .map(String::as_str),
        Some("ok")
    );
}

#[test]
fn sigterm_finishes_the_cycle_in_flight_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]);
    let child = Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args([
            "--config",
            cfg.to_str().expect("utf8"),
            "--cycles",
            "100000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until(
        dir.path(),
        "cycles",
        "SELECT count(*) AS n FROM cycles WHERE status = 'done'",
        3,
        "runtime never ran a cycle",
    );
    let db = db(dir.path());
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "SIGTERM exits 0: {:?}", out.status);
    assert!(String::from_utf8_lossy(&out.stdout).contains("summary: cycles="));
    assert_eq!(
        db.int("SELECT count(*) AS n FROM cycles WHERE status != 'done'"),
        0,
        "the cycle in flight finished"
    );
}
