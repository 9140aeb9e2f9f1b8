use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use super::*;

/// The config shipped at the repository root.
const SHIPPED: &str = include_str!("../../config.toml");

/// A temp dir holding the directories the default config requires, plus the path of a
/// `config.toml` inside it (not written).
fn sandbox() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in [
        "swarm_intelligence/templates",
        "swarm_intelligence/active_instances",
    ] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("create dir");
    }
    let path = dir.path().join("config.toml");
    (dir, path)
}

/// Writes `text` to a fresh sandbox and loads it through [`load`].
fn load_text(text: &str) -> (TempDir, Result<Config, ConfigError>) {
    let (dir, path) = sandbox();
    std::fs::write(&path, text).expect("write config");
    let result = load(&path);
    (dir, result)
}

struct TestCase {
    name: &'static str,
    toml: &'static str,
    expected_substrings: &'static [&'static str],
}

const ERROR_CASES: &[TestCase] = &[
    TestCase {
        name: "unknown top-level key",
        toml: "colour = \"blue\"\n",
        expected_substrings: &["colour", "unknown"],
    },
    TestCase {
        name: "unknown top-level section",
        toml: "[paper]\nstarting_cash = 1\n",
        expected_substrings: &["paper", "unknown"],
    },
    TestCase {
        name: "unknown key in a section",
        toml: "[risk]\nmax_risk_per_trad = 500\n",
        expected_substrings: &["risk.max_risk_per_trad", "unknown", "line 2"],
    },
    TestCase {
        name: "unknown key in a provider table",
        toml: "[llm.providers.rules]\nkind = \"rules\"\napi_key = \"sk-123\"\n",
        expected_substrings: &["llm.providers.rules.api_key", "unknown"],
    },
    TestCase {
        name: "unknown key in broker.ibkr",
        toml: "[broker.ibkr]\nhostname = \"x\"\n",
        expected_substrings: &["broker.ibkr.hostname", "unknown"],
    },
    TestCase {
        name: "provider without kind",
        toml: "[llm.providers.rules]\nmodel = \"rules-v1\"\n",
        expected_substrings: &["llm.providers.rules", "kind"],
    },
    TestCase {
        name: "string for a number",
        toml: "[risk]\nmax_risk_per_trade = \"500\"\n",
        expected_substrings: &["risk.max_risk_per_trade", "invalid type", "line 2"],
    },
    TestCase {
        name: "negative count",
        toml: "[risk]\nmax_daily_trades = -1\n",
        expected_substrings: &["risk.max_daily_trades", "-1"],
    },
    TestCase {
        name: "unknown enum value",
        toml: "[runtime]\nclock = \"sundial\"\n",
        expected_substrings: &["runtime.clock", "sundial", "simulated", "wall"],
    },
    TestCase {
        name: "bad date",
        toml: "[runtime]\nsim_start = \"2026-02-30\"\n",
        expected_substrings: &["runtime.sim_start", "YYYY-MM-DD", "2026-02-30"],
    },
    TestCase {
        name: "weekend sim_start",
        toml: "[runtime]\nsim_start = \"2026-03-01\"\n",
        expected_substrings: &["runtime.sim_start", "weekday"],
    },
    TestCase {
        name: "negative limit",
        toml: "[risk]\nmax_risk_per_trade = -5\n",
        expected_substrings: &["risk.max_risk_per_trade: expected a positive number, got -5"],
    },
    TestCase {
        name: "zero limit",
        toml: "[broker]\nstarting_cash = 0\n",
        expected_substrings: &["broker.starting_cash", "positive", "got 0"],
    },
    TestCase {
        name: "non-finite number",
        toml: "[risk]\ndaily_loss_limit = inf\n",
        expected_substrings: &["risk.daily_loss_limit", "finite", "inf"],
    },
    TestCase {
        name: "fraction above one",
        toml: "[risk]\nprice_collar_pct = 25\n",
        expected_substrings: &["risk.price_collar_pct", "(0, 1]", "25"],
    },
    TestCase {
        name: "min_confidence outside [0, 1]",
        toml: "[commander]\nmin_confidence = 1.5\n",
        expected_substrings: &["commander.min_confidence", "[0, 1]", "1.5"],
    },
    TestCase {
        name: "kelly_fraction zero",
        toml: "[commander]\nkelly_fraction = 0\n",
        expected_substrings: &["commander.kelly_fraction", "(0, 1]"],
    },
    TestCase {
        name: "zero orders per cycle",
        toml: "[commander]\nmax_orders_per_cycle = 0\n",
        expected_substrings: &["commander.max_orders_per_cycle", "at least 1"],
    },
    TestCase {
        name: "unbounded tool loop",
        toml: "[commander]\nmax_tool_rounds = 11\n",
        expected_substrings: &["commander.max_tool_rounds", "at most 10"],
    },
    TestCase {
        name: "empty symbols",
        toml: "[market]\nsymbols = []\n",
        expected_substrings: &["market.symbols", "at least one"],
    },
    TestCase {
        name: "duplicate symbol",
        toml: "[market]\nsymbols = [\"NVDA\", \"AMD\", \"NVDA\"]\n",
        expected_substrings: &["market.symbols", "NVDA", "twice"],
    },
    TestCase {
        name: "unknown provider referenced",
        toml: "[swarm]\nprovider = \"claude\"\n",
        expected_substrings: &["swarm.provider", "claude", "rules"],
    },
    TestCase {
        name: "remote provider without base_url and model",
        toml: "[llm.providers.rules]\nkind = \"rules\"\n\
               [llm.providers.local]\nkind = \"openai\"\n",
        expected_substrings: &["llm.providers.local.base_url", "llm.providers.local.model"],
    },
    TestCase {
        name: "provider timeout not positive",
        toml: "[llm.providers.rules]\nkind = \"rules\"\ntimeout_s = 0\n",
        expected_substrings: &["llm.providers.rules.timeout_s", "positive"],
    },
    TestCase {
        name: "missing templates dir",
        toml: "[swarm]\ntemplates_dir = \"no/such/templates\"\n",
        expected_substrings: &["swarm.templates_dir", "no/such/templates", "does not exist"],
    },
    TestCase {
        name: "heartbeat not above check interval",
        toml: "[watchdog]\ncheck_interval_s = 10\nheartbeat_timeout_s = 10\n",
        expected_substrings: &["watchdog.heartbeat_timeout_s", "watchdog.check_interval_s"],
    },
    TestCase {
        name: "same ibkr client ids",
        toml: "[broker.ibkr]\nclient_id = 5\nwatchdog_client_id = 5\n",
        expected_substrings: &["broker.ibkr.watchdog_client_id", "different"],
    },
    TestCase {
        name: "broken TOML",
        toml: "[runtime]\nmax_cycles = = 3\n",
        expected_substrings: &["invalid TOML", "line 2, column"],
    },
    TestCase {
        name: "unclosed table header",
        toml: "[risk\nmax_risk_per_trade = 5\n",
        expected_substrings: &["invalid TOML", "line 1"],
    },
    TestCase {
        name: "several violations reported together",
        toml: "[risk]\nmax_risk_per_trade = -5\nmax_concentration = 1.5\n\
               [swarm]\nprovider = \"nope\"\ninstances_dir = \"gone\"\n\
               [metrics]\ninterval_s = 0\n",
        expected_substrings: &[
            "risk.max_risk_per_trade: expected a positive number, got -5; ",
            "risk.max_concentration",
            "swarm.provider",
            "swarm.instances_dir",
            "metrics.interval_s",
        ],
    },
];

#[test]
fn error_cases_name_file_and_key_on_one_line() {
    for case in ERROR_CASES {
        let (_dir, result) = load_text(case.toml);
        let message = match result {
            Ok(_) => panic!("{}: expected an error, got Ok", case.name),
            Err(e) => e.to_string(),
        };
        assert!(
            !message.contains('\n'),
            "{}: message spans lines: {message:?}",
            case.name
        );
        assert!(
            message.starts_with(&std::env::temp_dir().display().to_string())
                && message.contains("config.toml: "),
            "{}: message does not name the file: {message}",
            case.name
        );
        for want in case.expected_substrings {
            assert!(
                message.contains(want),
                "{}: expected {want:?} in: {message}",
                case.name
            );
        }
    }
}

const VALID_CASES: &[TestCase] = &[
    TestCase {
        name: "empty file takes every default",
        toml: "",
        expected_substrings: &[],
    },
    TestCase {
        name: "fractional durations",
        toml: "[runtime]\ncycle_interval_s = 0.2\n\
               [swarm]\nagent_timeout_s = 0.2\n\
               [watchdog]\ncheck_interval_s = 0.05\nheartbeat_timeout_s = 0.2\n\
               [metrics]\ninterval_s = 0.2\n\
               [supervision]\nwindow_s = 0.5\n\
               [llm.providers.rules]\nkind = \"rules\"\ntimeout_s = 0.2\n",
        expected_substrings: &[],
    },
    TestCase {
        name: "TOML date literal",
        toml: "[runtime]\nsim_start = 2026-03-03\nmax_cycles = 0\nclock = \"wall\"\n",
        expected_substrings: &[],
    },
    TestCase {
        name: "remote providers",
        toml: "[llm.providers.claude]\nkind = \"anthropic\"\nmodel = \"claude-sonnet-4-5\"\n\
               base_url = \"https://api.anthropic.com\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n\
               input_cost_per_mtok = 3.0\noutput_cost_per_mtok = 15.0\n\
               [llm.providers.ollama]\nkind = \"openai\"\n\
               base_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.1\"\n\
               [swarm]\nprovider = \"ollama\"\n[commander]\nprovider = \"claude\"\n",
        expected_substrings: &[],
    },
    TestCase {
        name: "ibkr broker and halting watchdog",
        toml: "[broker]\nkind = \"ibkr\"\n[broker.ibkr]\nport = 7497\n\
               [market]\nkind = \"ibkr\"\n\
               [watchdog]\nenabled = true\non_runtime_exit = \"halt\"\n",
        expected_substrings: &[],
    },
];

#[test]
fn valid_cases_load() {
    for case in VALID_CASES {
        let (_dir, result) = load_text(case.toml);
        if let Err(e) = result {
            panic!("{}: expected Ok, got: {e}", case.name);
        }
    }
}

#[test]
fn fractional_durations_become_durations() {
    let (_dir, result) = load_text(VALID_CASES[1].toml);
    let config = result.expect("fractional durations load");
    assert_eq!(config.runtime.cycle_interval(), Duration::from_millis(200));
    assert_eq!(config.swarm.agent_timeout(), Duration::from_millis(200));
    assert_eq!(config.watchdog.check_interval(), Duration::from_millis(50));
    assert_eq!(
        config.watchdog.heartbeat_timeout(),
        Duration::from_millis(200)
    );
    assert_eq!(config.metrics.interval(), Duration::from_millis(200));
    assert_eq!(config.supervision.window(), Duration::from_millis(500));
    assert_eq!(
        config.llm.providers["rules"].timeout(),
        Duration::from_millis(200)
    );
}

#[test]
fn shipped_config_loads_and_equals_defaults() {
    let (dir, result) = load_text(SHIPPED);
    let loaded = result.unwrap_or_else(|e| panic!("shipped config.toml: {e}"));
    let parsed = Config::parse(SHIPPED, Path::new("config.toml")).expect("parses");
    assert_eq!(parsed, Config::default());

    let mut resolved_default = Config::default();
    resolved_default.resolve_paths(dir.path());
    assert_eq!(loaded, resolved_default);
    assert_eq!(loaded.runtime.max_cycles_limit(), Some(78));
}

/// Every key `Config::default()` serializes is written out in the shipped file.
#[test]
fn shipped_config_writes_every_key() {
    fn keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => keys(&key, t, out),
                _ => out.push(key),
            }
        }
    }
    let shipped: toml::Table = toml::from_str(SHIPPED).expect("shipped parses");
    let text = toml::to_string(&Config::default()).expect("serialize default");
    let default: toml::Table = toml::from_str(&text).expect("default parses");
    let (mut have, mut want) = (Vec::new(), Vec::new());
    keys("", &shipped, &mut have);
    keys("", &default, &mut want);
    have.sort();
    want.sort();
    assert_eq!(have, want);
}

#[test]
fn default_round_trips_through_toml() {
    let text = toml::to_string(&Config::default()).expect("serialize");
    let back = Config::parse(&text, Path::new("config.toml")).expect("parse back");
    assert_eq!(back, Config::default());
}

#[test]
fn relative_paths_resolve_against_config_dir() {
    let (dir, path) = sandbox();
    std::fs::create_dir_all(dir.path().join("nested/tpl")).expect("create dir");
    let outside = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[runtime]\ndata_dir = \"lake\"\n\
         [swarm]\ntemplates_dir = \"nested/tpl\"\ninstances_dir = \"{}\"\n\
         [commander]\nprompt = \"prompts/c.md\"\n\
         [watchdog]\nsocket = \"run/wd.sock\"\n",
        outside.path().display()
    );
    let config = Config::from_str_at(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let base = dir.path();
    assert_eq!(config.runtime.data_dir, base.join("lake"));
    assert_eq!(config.swarm.templates_dir, base.join("nested/tpl"));
    assert_eq!(config.swarm.instances_dir, outside.path());
    assert_eq!(config.commander.prompt, base.join("prompts/c.md"));
    assert_eq!(config.watchdog.socket, base.join("run/wd.sock"));
    assert!(config.runtime.data_dir.is_absolute());
}

#[test]
fn unreadable_file_names_file_and_os_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("missing.toml");
    let message = match load(&path) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("missing.toml"), "{message}");
    assert!(message.contains("os error"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn api_key_pasted_as_env_name_is_not_echoed() {
    let (_dir, result) =
        load_text("[llm.providers.rules]\nkind = \"rules\"\napi_key_env = \"sk-ant-secret123\"\n");
    let message = result.map(|_| ()).expect_err("rejected").to_string();
    assert!(
        message.contains("llm.providers.rules.api_key_env"),
        "{message}"
    );
    assert!(!message.contains("secret123"), "{message}");
}

#[test]
fn violations_are_listed_individually() {
    let mut config = Config::default();
    config.risk.max_risk_per_trade = -1.0;
    config.risk.max_total_exposure = f64::NAN;
    config.swarm.templates_dir = PathBuf::from("/definitely/not/here");
    let violations = config.validate().expect_err("invalid");
    let keys: Vec<&str> = violations.iter().map(|v| v.key.as_str()).collect();
    for want in [
        "risk.max_risk_per_trade",
        "risk.max_total_exposure",
        "swarm.templates_dir",
    ] {
        assert!(keys.contains(&want), "{want} missing from {keys:?}");
    }
}

#[test]
fn duration_helper_saturates() {
    assert_eq!(secs(-1.0), Duration::ZERO);
    assert_eq!(secs(f64::NAN), Duration::ZERO);
    assert_eq!(secs(f64::INFINITY), Duration::MAX);
    assert_eq!(secs(1.5), Duration::from_millis(1500));
    assert_eq!(RuntimeConfig::default().max_cycles_limit(), Some(78));
}

#[test]
fn item11_every_decimal_key_refuses_unrepresentable_numbers() {
    // Each key the runtime turns into a decimal: too large, too precise, and a fine value.
    let keys = [
        ("risk", "max_risk_per_trade"),
        ("risk", "max_capital_per_trade"),
        ("risk", "daily_loss_limit"),
        ("risk", "max_total_exposure"),
        ("risk", "min_option_price"),
        ("risk", "max_spread_width"),
        ("broker", "starting_cash"),
        ("broker", "commission_per_contract"),
        ("broker", "slippage_per_share"),
        ("commander", "min_position_usd"),
        ("commander", "stop_loss_multiple"),
        ("swarm", "budget_usd_per_run"),
        ("swarm", "budget_usd_per_day"),
        ("llm.providers.rules", "input_cost_per_mtok"),
    ];
    for (section, key) in keys {
        let prefix = if section.starts_with("llm") {
            "[llm.providers.rules]\nkind = \"rules\"\n".to_string()
        } else {
            format!("[{section}]\n")
        };
        let (_dir, r) = load_text(&format!("{prefix}{key} = 1e300\n"));
        let err = r.expect_err("1e300").to_string();
        assert!(
            err.contains(&format!(
                "{section}.{key}: expected at most 1e12 in magnitude"
            )) && err.contains("got 1e300"),
            "{err}"
        );
        let (_dir, r) = load_text(&format!("{prefix}{key} = 1.0000001\n"));
        let err = r.expect_err("7 places").to_string();
        assert!(
            err.contains(&format!(
                "{section}.{key}: expected at most 6 decimal places"
            )),
            "{err}"
        );
        let (_dir, r) = load_text(&format!("{prefix}{key} = 1234.125\n"));
        let result = r.map(|_| ()).map_err(|e| e.to_string());
        assert!(
            result.as_ref().err().is_none_or(|e| !e.contains(key)),
            "{section}.{key} = 1234.125 is exact: {result:?}"
        );
    }
    // The boundary itself is allowed.
    let (_dir, r) = load_text("[broker]\nstarting_cash = 1e12\n");
    assert!(r.is_ok(), "{:?}", r.err().map(|e| e.to_string()));
}
