//! The external watchdog with real processes: freeze, vanish, wedge, drawdown, kill switch.

#[cfg(not(feature = "test-faults"))]
compile_error!("tests/watchdog.rs needs the test fault hooks: run `cargo test --all-targets --features test-faults`");

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHECK_S: f64 = 0.2;
const TIMEOUT_S: f64 = 1.0;

fn watchdog_config(dir: &Path, extra: &[(&str, &str)]) -> String {
    let socket = dir.join("wd.sock").display().to_string();
    let socket_line = format!("socket = {socket:?}");
    let mut replace: Vec<(&str, &str)> = vec![
        ("socket = \"data_lake/watchdog.sock\"", socket_line.as_str()),
        ("check_interval_s = 10", "check_interval_s = 0.2"),
        ("heartbeat_timeout_s = 60", "heartbeat_timeout_s = 1"),
    ];
    replace.extend_from_slice(extra);
    write_config(dir, &replace).display().to_string()
}

fn spawn_runtime(cfg: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alphahive"));
    cmd.args(["--config", cfg, "--cycles", "1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn runtime")
}

fn open_positions(dir: &Path) -> i64 {
    db(dir).int("SELECT count(*) AS n FROM positions WHERE quantity > 0")
}

fn events(dir: &Path, kind: &str) -> Vec<String> {
    db(dir).texts(&format!(
        "SELECT detail AS s FROM safety_events WHERE event_type = '{kind}'"
    ))
}

/// Polls `done` every 10 ms up to `limit`; returns the time it took.
fn within(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    loop {
        if done() {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn reap(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn alive(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

#[test]
fn a_frozen_runtime_is_killed_and_flattened_and_restarts_halted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(dir.path(), &[]);
    let mut child = spawn_runtime(&cfg, &[]);
    wait_until(
        dir.path(),
        "positions",
        "SELECT count(*) AS n FROM positions WHERE quantity > 0",
        1,
        "no position opened",
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let bound = Duration::from_secs_f64(TIMEOUT_S + CHECK_S + 1.0);
    let took = within(bound, "flat after freeze", || {
        open_positions(dir.path()) == 0 && !events(dir.path(), "WATCHDOG_ALERT").is_empty()
    });
    println!(
        "freeze-to-flat: {} ms (check {CHECK_S} s, timeout {TIMEOUT_S} s, bound {} ms)",
        took.as_millis(),
        bound.as_millis()
    );
    within(Duration::from_secs(3), "runtime dead", || {
        !alive(&mut child)
    });
    reap(child);
    let alert = &events(dir.path(), "WATCHDOG_ALERT")[0];
    assert!(
        alert.contains("no heartbeat") || alert.contains("unresponsive"),
        "{alert}"
    );

    // A restarted runtime starts HALTED: it runs but opens nothing.
    let before = db(dir.path())
        .int("SELECT count(*) AS n FROM orders WHERE intent = 'OPEN' AND status = 'FILLED'");
    let out = alphahive(&["--config", &cfg, "--cycles", "12"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("state=HALTED"));
    assert_eq!(
        db(dir.path())
            .int("SELECT count(*) AS n FROM orders WHERE intent = 'OPEN' AND status = 'FILLED'"),
        before
    );

    // Until the breaker is reset.
    let out = alphahive(&[
        "--config",
        &cfg,
        "reset-breaker",
        "--reason",
        "test: investigated the freeze",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = alphahive(&["--config", &cfg, "--cycles", "3"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("state=ACTIVE"));
}

#[test]
fn a_vanished_runtime_is_flattened_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(dir.path(), &[]);
    let child = spawn_runtime(&cfg, &[]);
    wait_until(
        dir.path(),
        "positions",
        "SELECT count(*) AS n FROM positions WHERE quantity > 0",
        1,
        "no position opened",
    );
    reap(child); // SIGKILL: no goodbye
    within(Duration::from_secs(5), "flat after SIGKILL", || {
        open_positions(dir.path()) == 0
    });
    assert!(events(dir.path(), "WATCHDOG_ALERT")
        .iter()
        .any(|d| d.contains("without a goodbye")));
    assert_eq!(
        db(dir.path()).texts("SELECT value AS s FROM runtime_state WHERE key = 'trading_state'"),
        ["HALTED"]
    );
}

#[test]
fn a_vanished_runtime_is_only_halted_when_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(
        dir.path(),
        &[(
            "on_runtime_exit = \"flatten\"",
            "on_runtime_exit = \"halt\"",
        )],
    );
    let child = spawn_runtime(&cfg, &[]);
    wait_until(
        dir.path(),
        "positions",
        "SELECT count(*) AS n FROM positions WHERE quantity > 0",
        1,
        "no position opened",
    );
    reap(child);
    within(Duration::from_secs(5), "halt recorded", || {
        !events(dir.path(), "WATCHDOG_ALERT").is_empty()
    });
    assert!(open_positions(dir.path()) >= 1, "halt keeps the book");
    assert_eq!(
        db(dir.path()).texts("SELECT value AS s FROM runtime_state WHERE key = 'trading_state'"),
        ["HALTED"]
    );
}

#[test]
fn a_wedged_actor_in_a_live_process_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(dir.path(), &[]);
    let mut child = spawn_runtime(&cfg, &[("ALPHAHIVE_TEST_FAULT", "wedge:RiskGate:40")]);
    within(Duration::from_secs(30), "watchdog alert", || {
        Path::new(&dir.path().join("data/trades.db")).exists()
            && db(dir.path())
                .int("SELECT count(*) AS n FROM sqlite_master WHERE name = 'safety_events'")
                == 1
            && !events(dir.path(), "WATCHDOG_ALERT").is_empty()
    });
    within(Duration::from_secs(5), "runtime killed", || {
        !alive(&mut child)
    });
    reap(child);
    let alert = &events(dir.path(), "WATCHDOG_ALERT")[0];
    assert!(alert.contains("RiskGate"), "{alert}");
    assert_eq!(open_positions(dir.path()), 0);
}

#[test]
fn a_drawdown_breach_trips_the_circuit_breaker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(
        dir.path(),
        &[(
            "drawdown_circuit_breaker = 0.10",
            "drawdown_circuit_breaker = 0.00005",
        )],
    );
    let mut child = spawn_runtime(&cfg, &[]);
    within(Duration::from_secs(60), "circuit breaker", || {
        Path::new(&dir.path().join("data/trades.db")).exists()
            && db(dir.path())
                .int("SELECT count(*) AS n FROM sqlite_master WHERE name = 'safety_events'")
                == 1
            && !events(dir.path(), "CIRCUIT_BREAKER").is_empty()
    });
    within(Duration::from_secs(5), "runtime killed", || {
        !alive(&mut child)
    });
    reap(child);
    assert_eq!(open_positions(dir.path()), 0);
    assert!(events(dir.path(), "CIRCUIT_BREAKER")[0].contains("flattened="));
    assert_eq!(
        db(dir.path()).texts("SELECT value AS s FROM runtime_state WHERE key = 'trading_state'"),
        ["HALTED"]
    );
}

#[test]
fn the_kill_switch_works_with_and_without_a_running_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]).display().to_string();
    let mut child = spawn_runtime(&cfg, &[]);
    wait_until(
        dir.path(),
        "positions",
        "SELECT count(*) AS n FROM positions WHERE quantity > 0",
        1,
        "no position opened",
    );
    let out = alphahive(&["--config", &cfg, "kill-switch", "--reason", "test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("killed"));
    within(Duration::from_secs(2), "runtime dead", || {
        !alive(&mut child)
    });
    reap(child);
    assert_eq!(open_positions(dir.path()), 0);
    assert_eq!(events(dir.path(), "KILL_SWITCH").len(), 1);

    // Without a runtime: still halts and records (nothing left to flatten).
    let out = alphahive(&["--config", &cfg, "kill-switch", "--reason", "again"]);
    assert!(out.status.success());
    assert_eq!(events(dir.path(), "KILL_SWITCH").len(), 2);
    assert_eq!(
        db(dir.path()).texts("SELECT value AS s FROM runtime_state WHERE key = 'trading_state'"),
        ["HALTED"]
    );
}

#[test]
fn a_lost_watchdog_means_reducing_until_one_answers_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(dir.path(), &[]);
    let child = spawn_runtime(&cfg, &[]);
    wait_until(
        dir.path(),
        "cycles",
        "SELECT count(*) AS n FROM cycles WHERE status = 'done'",
        3,
        "no cycle ran",
    );
    let log = std::fs::read_to_string(dir.path().join("data/watchdog.log")).expect("watchdog.log");
    let pid: i32 = log
        .lines()
        .find(|l| l.contains("watchdog listening"))
        .and_then(|l| l.split("pid=").nth(1))
        .and_then(|p| p.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("watchdog pid in its log");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill watchdog");
    let changes = |needle: &str| {
        events(dir.path(), "TRADING_STATE_CHANGED")
            .iter()
            .any(|d| d.contains(needle))
    };
    within(
        Duration::from_secs(10),
        "REDUCING on a lost watchdog",
        || changes("to=REDUCING reason=WATCHDOG_LOST"),
    );
    within(
        Duration::from_secs(15),
        "ACTIVE once a respawned watchdog answers",
        || changes("to=ACTIVE reason=watchdog answers again"),
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    // The respawned watchdog took the goodbye and exited.
    within(Duration::from_secs(5), "watchdog gone", || {
        !socket_answers(dir.path())
    });
}

fn socket_answers(dir: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(dir.join("wd.sock")).is_ok()
}
