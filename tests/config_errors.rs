//! Bad config: non-zero exit, one line naming the file and key, nothing written.

mod common;

use common::*;

struct TestCase {
    name: &'static str,
    replace: Vec<(&'static str, &'static str)>,
    expected: Vec<&'static str>,
}

#[test]
fn bad_configs_fail_with_one_clear_line_and_write_nothing() {
    let cases = vec![
        TestCase {
            name: "unknown key",
            replace: vec![("[risk]", "[risk]\nmax_yolo = 3")],
            expected: vec!["risk.max_yolo"],
        },
        TestCase {
            name: "wrong type",
            replace: vec![("max_daily_trades = 10", "max_daily_trades = \"ten\"")],
            expected: vec!["risk.max_daily_trades"],
        },
        TestCase {
            name: "negative limit",
            replace: vec![("max_risk_per_trade = 500", "max_risk_per_trade = -5")],
            expected: vec!["risk.max_risk_per_trade"],
        },
        TestCase {
            name: "broken TOML",
            replace: vec![("[risk]", "[risk")],
            expected: vec!["line"],
        },
    ];
    for c in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = write_config(dir.path(), &c.replace);
        let out = alphahive(&["--config", cfg.to_str().expect("utf8")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: should fail", c.name);
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{}: one line, got {stderr}",
            c.name
        );
        assert!(
            stderr.contains("config.toml"),
            "{}: names the file: {stderr}",
            c.name
        );
        for e in &c.expected {
            assert!(stderr.contains(e), "{}: expected {e:?} in {stderr}", c.name);
        }
        assert!(
            !dir.path().join("data").exists(),
            "{}: nothing may be written",
            c.name
        );
    }
}

#[test]
fn missing_template_dir_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[]);
    let text = std::fs::read_to_string(&cfg).expect("read");
    let repo_templates = repo()
        .join("swarm_intelligence/templates")
        .display()
        .to_string();
    std::fs::write(
        &cfg,
        text.replace(&repo_templates, "/nonexistent/templates"),
    )
    .expect("write");
    let out = alphahive(&["--config", cfg.to_str().expect("utf8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("swarm.templates_dir") && stderr.contains("config.toml"),
        "{stderr}"
    );
    assert!(!dir.path().join("data").exists());
}

#[test]
fn check_accepts_the_shipped_config() {
    let out = alphahive(&[
        "--config",
        repo().join("config.toml").to_str().expect("utf8"),
        "check",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok:"));
}
