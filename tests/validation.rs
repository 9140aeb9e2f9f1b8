//! Issue 9 item 11: `run` refuses what `check` refuses, and the other way round, with the
//! same one-line message naming the file and the key, before anything is written.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A config over copies of the shipped templates and instances (in `dir`), watchdog off, with
/// `replace` applied to the config text.
fn setup(dir: &Path, replace: &[(&str, &str)]) -> PathBuf {
    let src = repo().join("swarm_intelligence");
    for sub in ["templates", "active_instances"] {
        let to = dir.join(sub);
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(src.join(sub)).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("file name");
            std::fs::copy(&path, to.join(name)).expect("copy");
        }
    }
    let mut pairs = vec![("enabled = true", "enabled = false")];
    pairs.extend_from_slice(replace);
    let cfg = write_config(dir, &pairs);
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let text = text
        .replace(
            &src.join("templates").display().to_string(),
            &dir.join("templates").display().to_string(),
        )
        .replace(
            &src.join("active_instances").display().to_string(),
            &dir.join("active_instances").display().to_string(),
        );
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

/// Replaces `from` by `to` in `dir/file` (which must contain it).
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} has no {from}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

/// `check` and `run --cycles 1` both fail with the same single stderr line, which contains
/// every `expected` string; no data_dir is created. Returns the line.
fn both_refuse(dir: &Path, cfg: &Path, expected: &[&str]) -> String {
    let cfg = cfg.to_str().expect("utf8");
    let check = alphahive(&["--config", cfg, "check"]);
    let run = alphahive(&["--config", cfg, "--cycles", "1"]);
    let check_err = String::from_utf8_lossy(&check.stderr)
        .trim_end()
        .to_string();
    let run_err = String::from_utf8_lossy(&run.stderr).trim_end().to_string();
    assert!(!check.status.success(), "check must fail: {check_err}");
    assert!(!run.status.success(), "run must fail: {run_err}");
    assert_eq!(check_err.lines().count(), 1, "one line: {check_err}");
    assert_eq!(check_err, run_err, "check and run say the same");
    for e in expected {
        assert!(check_err.contains(e), "expected {e:?} in {check_err}");
    }
    assert!(
        !dir.join("data").exists(),
        "nothing may be written: {check_err}"
    );
    check_err
}

#[test]
fn item11_undefined_template_variable_is_refused_by_check_and_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    edit(
        dir.path(),
        "templates/vol_sniper.md",
        "# Market data",
        "Appetite: {{ risk_appetite }}\n\n# Market data",
    );
    let line = both_refuse(
        dir.path(),
        &cfg,
        &["templates/vol_sniper.md: risk_appetite:"],
    );
    assert!(line.contains("strict mode"), "{line}");
}

#[test]
fn item11_misspelled_parameter_is_refused_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    edit(
        dir.path(),
        "active_instances/tech_aggressive.json",
        "\"spread_width\"",
        "\"sprad_width\"",
    );
    both_refuse(
        dir.path(),
        &cfg,
        &[
            "active_instances/tech_aggressive.json: parameters.sprad_width: unknown parameter",
            "did you mean \"spread_width\"?",
        ],
    );
}

#[test]
fn item11_mistyped_parameter_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    edit(
        dir.path(),
        "active_instances/tech_aggressive.json",
        "\"min_iv_rank\": 80",
        "\"min_iv_rank\": \"high\"",
    );
    both_refuse(
        dir.path(),
        &cfg,
        &["active_instances/tech_aggressive.json: parameters.min_iv_rank: expected a number, got \"high\""],
    );
}

#[test]
fn item11_parameter_out_of_the_evaluators_range_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    edit(
        dir.path(),
        "active_instances/tech_aggressive.json",
        "\"min_iv_rank\": 80",
        "\"min_iv_rank\": 150",
    );
    both_refuse(
        dir.path(),
        &cfg,
        &["active_instances/tech_aggressive.json: parameters.min_iv_rank: must be in [0, 100], got 150"],
    );
}

#[test]
fn item11_empty_or_all_disabled_instances_folder_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    let instances = dir.path().join("active_instances");
    for entry in std::fs::read_dir(&instances).expect("read dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(
            &path,
            text.replace("\"enabled\": true", "\"enabled\": false"),
        )
        .expect("write");
    }
    both_refuse(
        dir.path(),
        &cfg,
        &["config.toml: swarm.instances_dir: no enabled instance in"],
    );
    std::fs::remove_dir_all(&instances).expect("rm");
    std::fs::create_dir(&instances).expect("mkdir");
    both_refuse(
        dir.path(),
        &cfg,
        &["config.toml: swarm.instances_dir: no enabled instance in"],
    );
}

#[test]
fn item11_pool_symbol_outside_market_symbols_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    edit(
        dir.path(),
        "active_instances/tech_aggressive.json",
        "[\"NVDA\", \"AMD\", \"TSLA\"]",
        "[\"NVDA\", \"AMD\", \"GME\"]",
    );
    both_refuse(
        dir.path(),
        &cfg,
        &["active_instances/tech_aggressive.json: parameters.symbol_pool: \"GME\" is not in market.symbols (NVDA, AMD, TSLA, JPM, BAC, GS)"],
    );
}

#[test]
fn item11_kinds_this_build_cannot_run_are_refused_by_check_too() {
    for (from, to, expected) in [
        (
            "kind = \"synthetic\"",
            "kind = \"csv\"",
            "config.toml: market.kind: \"csv\" is not available in this build (only \"synthetic\")",
        ),
        (
            "kind = \"paper\"",
            "kind = \"ibkr\"",
            "config.toml: broker.kind: \"ibkr\" is not available in this build (only \"paper\")",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = setup(dir.path(), &[(from, to)]);
        both_refuse(dir.path(), &cfg, &[expected]);
    }
}

#[test]
fn item11_llm_provider_without_its_api_key_is_refused_by_check_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = "[llm.providers.fake]\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"ALPHAHIVE_ITEM11_UNSET_KEY\"\n\n[swarm]\nprovider = \"fake\"";
    let cfg = setup(dir.path(), &[("[swarm]\nprovider = \"rules\"", provider)]);
    both_refuse(
        dir.path(),
        &cfg,
        &[
            "config.toml: llm.providers.fake:",
            "ALPHAHIVE_ITEM11_UNSET_KEY",
        ],
    );
}

#[test]
fn item11_unrepresentable_config_numbers_are_errors() {
    for (from, to, expected) in [
        (
            "starting_cash = 100000",
            "starting_cash = 1e300",
            "config.toml: broker.starting_cash: expected at most 1e12 in magnitude (a larger amount cannot be represented exactly), got 1e300",
        ),
        (
            "max_risk_per_trade = 500",
            "max_risk_per_trade = 5e15",
            "config.toml: risk.max_risk_per_trade: expected at most 1e12",
        ),
        (
            "min_option_price = 0.05",
            "min_option_price = 0.0000001",
            "config.toml: risk.min_option_price: expected at most 6 decimal places",
        ),
        (
            "commission_per_contract = 0.65",
            "commission_per_contract = nan",
            "config.toml: broker.commission_per_contract: expected a finite number, got NaN",
        ),
        (
            "starting_cash = 100000",
            "starting_cash = inf",
            "config.toml: broker.starting_cash: expected a finite number, got inf",
        ),
        (
            "slippage_per_share = 0.01",
            "slippage_per_share = -0.01",
            "config.toml: broker.slippage_per_share: expected zero or a positive number, got -0.01",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = setup(dir.path(), &[(from, to)]);
        both_refuse(dir.path(), &cfg, &[expected]);
    }
}

#[test]
fn item11_shipped_config_templates_and_instances_pass_check_and_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    let cfg = cfg.to_str().expect("utf8");
    let check = alphahive(&["--config", cfg, "check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.starts_with("ok: config valid; 3 template(s), 4 instance(s) render with sample data; no store yet at "),
        "{stdout}"
    );
    let run = alphahive(&["--config", cfg, "--cycles", "1"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("summary: cycles=1 failed=0 signals=4 abstentions=0"),
        "{stdout}"
    );
}

#[test]
fn item11_template_declared_parameters_are_accepted_and_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path(), &[]);
    edit(
        dir.path(),
        "templates/vol_sniper.md",
        "evaluator: vol_sniper\n",
        "evaluator: vol_sniper\nparams: {risk_style: string}\n",
    );
    edit(
        dir.path(),
        "templates/vol_sniper.md",
        "# Market data",
        "Style: {{ risk_style }}\n\n# Market data",
    );
    for file in ["tech_aggressive.json", "finance_conservative.json"] {
        edit(
            dir.path(),
            &format!("active_instances/{file}"),
            "\"spread_width\": 5",
            "\"spread_width\": 5, \"risk_style\": \"calm\"",
        );
    }
    let cfg_s = cfg.to_str().expect("utf8");
    let check = alphahive(&["--config", cfg_s, "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    edit(
        dir.path(),
        "active_instances/tech_aggressive.json",
        "\"risk_style\": \"calm\"",
        "\"risk_style\": 3",
    );
    both_refuse(
        dir.path(),
        &cfg,
        &["active_instances/tech_aggressive.json: parameters.risk_style: expected a string, got 3"],
    );
}
