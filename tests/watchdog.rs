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

fn watchdog_pid(dir: &Path) -> i32 {
    let log = std::fs::read_to_string(dir.join("data/watchdog.log")).expect("watchdog.log");
    log.lines()
        .rfind(|l| l.contains("watchdog listening"))
        .and_then(|l| l.split("pid=").nth(1))
        .and_then(|p| p.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("watchdog pid in its log")
}

fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).expect("signal");
}

fn state_changes(dir: &Path, needle: &str) -> bool {
    events(dir, "TRADING_STATE_CHANGED")
        .iter()
        .any(|d| d.contains(needle))
}

fn sleeper() -> Child {
    Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("spawn sleep")
}

#[test]
fn item4_kill_switch_reports_a_stale_pid_instead_of_killing_it() {
    use alphahive::process_identity::ProcessIdentity;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]).display().to_string();
    assert!(alphahive(&["--config", &cfg, "migrate"]).status.success());
    // A crashed runtime's record whose pid now belongs to an unrelated process.
    let mut victim = sleeper();
    let real = ProcessIdentity::of(victim.id() as i32).expect("identity of sleep");
    let records = [
        // What a crashed older build left: a bare pid.
        real.pid.to_string(),
        ProcessIdentity {
            start_ticks: real.start_ticks.wrapping_sub(1),
            ..real.clone()
        }
        .record(),
        ProcessIdentity {
            exe: std::path::PathBuf::from(env!("CARGO_BIN_EXE_alphahive")),
            ..real.clone()
        }
        .record(),
    ];
    for record in &records {
        db(dir.path()).exec(&format!(
            "INSERT OR REPLACE INTO runtime_state (key, value, updated_at) VALUES ('runtime_pid', '{record}', '2026-01-01 00:00:00')"
        ));
        let out = alphahive(&["--config", &cfg, "kill-switch", "--reason", "test"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("stale") && said.contains("not signalled"),
            "{record}: {said}"
        );
        assert!(!said.contains("killed"), "{said}");
        assert!(
            alive(&mut victim),
            "{record}: the unrelated process was not signalled"
        );
    }
    assert_eq!(
        events(dir.path(), "KILL_SWITCH").len(),
        records.len(),
        "still halts each time"
    );
    // The verified identity is signalled.
    db(dir.path()).exec(&format!(
        "UPDATE runtime_state SET value = '{}' WHERE key = 'runtime_pid'",
        real.record()
    ));
    let out = alphahive(&["--config", &cfg, "kill-switch", "--reason", "test"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("runtime pid {} killed", real.pid))
    );
    within(Duration::from_secs(2), "verified pid killed", || {
        !alive(&mut victim)
    });
    reap(victim);
}

/// Sends heartbeats naming `pid` every 50 ms on its own connection until `stop`.
fn forge_beats(
    socket: std::path::PathBuf,
    pid: u32,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut s = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
        let _ = s.write_all(format!("{{\"type\":\"goodbye\",\"pid\":{pid}}}\n").as_bytes());
        let mut seq = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            seq += 1;
            let line = format!(
                "{{\"type\":\"heartbeat\",\"pid\":{pid},\"seq\":{seq},\"ts\":\"\",\"trading_state\":\"ACTIVE\",\"actors\":[]}}\n"
            );
            if s.write_all(line.as_bytes()).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seq
    })
}

#[test]
fn item4_a_forged_beat_naming_another_pid_neither_redirects_the_kill_nor_keeps_a_stopped_runtime_alive(
) {
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
    let mut victim = sleeper();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forger = forge_beats(dir.path().join("wd.sock"), victim.id(), stop.clone());
    // A forged goodbye does not end the watchdog (a real process must be observed: bounded).
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        socket_answers(dir.path()),
        "a forged goodbye stopped the watchdog"
    );

    signal(child.id() as i32, nix::sys::signal::Signal::SIGSTOP);
    let bound = Duration::from_secs_f64(TIMEOUT_S + CHECK_S + 2.0);
    let took = within(bound, "stopped runtime killed despite forged beats", || {
        !events(dir.path(), "WATCHDOG_ALERT").is_empty() && open_positions(dir.path()) == 0
    });
    println!(
        "forged beats every 50 ms: stopped runtime flattened after {} ms",
        took.as_millis()
    );
    within(Duration::from_secs(3), "runtime dead", || {
        !alive(&mut child)
    });
    reap(child);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = forger.join();
    assert!(
        alive(&mut victim),
        "the pid named by the forged frames was not killed"
    );
    reap(victim);
    let alert = &events(dir.path(), "WATCHDOG_ALERT")[0];
    assert!(alert.contains("no heartbeat"), "{alert}");
}

#[test]
fn item5_a_stopped_watchdog_is_noticed_within_the_heartbeat_timeout_and_respawned_once_gone() {
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
    within(Duration::from_secs(5), "watchdog watching", || {
        std::fs::read_to_string(dir.path().join("data/watchdog.log"))
            .is_ok_and(|l| l.contains("watching the runtime"))
    });
    let wd = watchdog_pid(dir.path());
    signal(wd, nix::sys::signal::Signal::SIGSTOP);
    let bound = Duration::from_secs_f64(TIMEOUT_S + 2.0);
    let took = within(bound, "REDUCING on a stopped watchdog", || {
        state_changes(dir.path(), "to=REDUCING reason=WATCHDOG_LOST")
    });
    println!(
        "stopped watchdog noticed after {} ms (heartbeat_timeout {TIMEOUT_S} s)",
        took.as_millis()
    );
    // Once it is gone, a new one is spawned and the hold clears on its first good beat.
    signal(wd, nix::sys::signal::Signal::SIGKILL);
    within(
        Duration::from_secs(15),
        "ACTIVE once a respawned watchdog reads the beats",
        || state_changes(dir.path(), "to=ACTIVE reason=watchdog answers again"),
    );
    assert_ne!(watchdog_pid(dir.path()), wd, "a new watchdog");
    signal(child.id() as i32, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
}

#[test]
fn item5_the_watchdog_lost_hold_clears_on_the_first_good_beat_after_a_restart_and_others_stay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = watchdog_config(dir.path(), &[]);
    assert!(alphahive(&["--config", &cfg, "--cycles", "1"])
        .status
        .success());
    let set_state = |reason: &str| {
        db(dir.path()).exec(&format!(
            "INSERT OR REPLACE INTO runtime_state (key, value, updated_at) VALUES ('trading_state', 'REDUCING', '2026-01-01 00:00:00'); \
             INSERT OR REPLACE INTO runtime_state (key, value, updated_at) VALUES ('trading_state_reason', '{reason}', '2026-01-01 00:00:00');"
        ))
    };
    // Left by a run that lost its watchdog and then stopped.
    set_state("WATCHDOG_LOST: no watchdog answers on the socket");
    let child = spawn_runtime(&cfg, &[]);
    within(
        Duration::from_secs(10),
        "ACTIVE on the first good beat",
        || state_changes(dir.path(), "to=ACTIVE reason=watchdog answers again"),
    );
    signal(child.id() as i32, nix::sys::signal::Signal::SIGTERM);
    assert!(child.wait_with_output().expect("wait").status.success());

    // Another cause of REDUCING is not the watchdog's to clear.
    let cleared = events(dir.path(), "TRADING_STATE_CHANGED").len();
    set_state("CONSECUTIVE_LOSSES: streak=5 limit=5");
    let child = spawn_runtime(&cfg, &[]);
    let log = dir.path().join("data/watchdog.log");
    let watching = |l: &str| l.matches("watching the runtime").count();
    let before = std::fs::read_to_string(&log)
        .map(|l| watching(&l))
        .unwrap_or(0);
    within(
        Duration::from_secs(10),
        "the new runtime's beats read",
        || std::fs::read_to_string(&log).is_ok_and(|l| watching(&l) > before),
    );
    // Beats go on being acked for a while (a real process must be observed: bounded).
    std::thread::sleep(Duration::from_millis(1500));
    signal(child.id() as i32, nix::sys::signal::Signal::SIGTERM);
    assert!(child.wait_with_output().expect("wait").status.success());
    assert_eq!(events(dir.path(), "TRADING_STATE_CHANGED").len(), cleared);
    assert_eq!(
        db(dir.path()).texts("SELECT value AS s FROM runtime_state WHERE key = 'trading_state'"),
        ["REDUCING"]
    );
}

fn peak_rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("VmHWM")
}

#[test]
fn item9_an_overlong_line_closes_its_connection_and_the_watchdog_keeps_watching() {
    use alphahive::watchdog::conn::MAX_FOREIGN_CONNECTIONS;
    use std::io::{Read, Write};
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
    let wd = watchdog_pid(dir.path());
    // 300 MB without a newline.
    let mut s =
        std::os::unix::net::UnixStream::connect(dir.path().join("wd.sock")).expect("connect");
    let chunk = vec![b'x'; 1 << 20];
    let mut sent = 0usize;
    while sent < 300 << 20 {
        match s.write(&chunk) {
            Ok(n) if n > 0 => sent += n,
            _ => break,
        }
    }
    assert!(sent < 300 << 20, "the connection was closed early");
    let peak = peak_rss_kib(wd);
    println!("watchdog peak RSS {peak} KiB after a {sent}-byte partial line");
    assert!(peak < 48 * 1024, "memory stays bounded: {peak} KiB");
    within(Duration::from_secs(2), "logged", || {
        std::fs::read_to_string(dir.path().join("data/watchdog.log"))
            .is_ok_and(|l| l.contains("line too long: connection closed"))
    });

    // Connections beyond the cap are closed at once.
    let conns: Vec<_> = (0..10)
        .map(|_| {
            std::os::unix::net::UnixStream::connect(dir.path().join("wd.sock")).expect("connect")
        })
        .collect();
    let mut closed = 0;
    for mut c in &conns {
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut b = [0u8; 1];
        if matches!(c.read(&mut b), Ok(0)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 10 - MAX_FOREIGN_CONNECTIONS);

    // It keeps watching: a frozen runtime is still killed and flattened.
    signal(child.id() as i32, nix::sys::signal::Signal::SIGSTOP);
    within(
        Duration::from_secs_f64(TIMEOUT_S + CHECK_S + 2.0),
        "flat after freeze",
        || open_positions(dir.path()) == 0 && !events(dir.path(), "WATCHDOG_ALERT").is_empty(),
    );
    within(Duration::from_secs(3), "runtime dead", || {
        !alive(&mut child)
    });
    reap(child);
    drop(conns);
}
