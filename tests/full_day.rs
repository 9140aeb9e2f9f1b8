//! The default simulated day, end to end through the binary.

mod common;

use common::*;
use sha2::{Digest, Sha256};

#[test]
fn default_day_trades_records_and_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]);
    let cfg = cfg.to_str().expect("utf8 path");
    let out = alphahive(&["--config", cfg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );

    let db = db(dir.path());
    assert_eq!(db.int("SELECT count(*) AS n FROM cycles"), 78);
    assert_eq!(
        db.int("SELECT count(*) AS n FROM cycles WHERE status = 'done'"),
        78
    );
    assert_eq!(
        db.int("SELECT count(*) AS n FROM signals"),
        78 * 4,
        "one row per agent per cycle"
    );
    assert!(
        db.int("SELECT count(*) AS n FROM fills") >= 1,
        "the day has a fill"
    );
    // The Commander sizes inside every limit, so the shipped day has no denials; any denial
    // there is carries its code.
    assert_eq!(
        db.int("SELECT count(*) AS n FROM orders WHERE status = 'DENIED' AND deny_code IS NULL"),
        0,
        "every denial has its code"
    );
    assert_eq!(
        db.texts("SELECT integrity_check AS s FROM pragma_integrity_check()")
            .first()
            .map(String::as_str),
        Some("ok")
    );

    // Every snapshot exists and matches its recorded sha256.
    for row in db.texts("SELECT snapshot_path || '|' || snapshot_sha256 AS s FROM cycles") {
        let (path, sha) = row.split_once('|').expect("path|sha");
        let bytes = std::fs::read(path).expect("snapshot file");
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha, "{path}");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("snapshot is JSON");
        assert!(v.get("decisions").is_some() && v.get("agents").is_some());
    }

    // Every actor prints its metrics line.
    for actor in [
        "Commander",
        "SwarmPool",
        "RiskGate",
        "Broker",
        "Recorder",
        "Monitor",
    ] {
        let needle = format!("actor=\"{actor}\"");
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("alphahive::metrics") && l.contains(&needle)),
            "no metrics line for {actor}"
        );
    }
    // The default day's summary, timing fields aside, is the golden line the architecture
    // refactor keeps (issue 10).
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary: "))
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    let (figures, timing) = summary
        .split_once(" wall_s=")
        .unwrap_or_else(|| panic!("no wall_s in {summary}"));
    assert_eq!(
        figures,
        "summary: cycles=78 failed=0 signals=312 abstentions=0 orders_approved=10 \
         orders_denied=0 fills=26 equity=99954.60 pnl=-45.40 state=ACTIVE"
    );
    assert!(timing.contains(" cycles_per_s="), "{summary}");

    // A second run appends and continues the simulated calendar.
    let again = alphahive(&["--config", cfg, "--cycles", "3", "--log-format", "json"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(db.int("SELECT count(*) AS n FROM cycles"), 81);
    assert_eq!(
        db.int("SELECT count(DISTINCT market_ts) AS n FROM cycles"),
        81,
        "no market time repeats"
    );
    for line in String::from_utf8_lossy(&again.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["target"] == "alphahive::metrics" {
            for key in [
                "actor",
                "handled",
                "queued",
                "max_queued",
                "wait_p99_us",
                "handle_p99_us",
                "restarts",
            ] {
                assert!(v.get(key).is_some(), "metrics line without {key}: {line}");
            }
        }
    }
}
