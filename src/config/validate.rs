//! [`Config::validate`]: every rule, every violation reported at once.

use std::path::Path;

use chrono::{Datelike, Weekday};

use super::{Config, ProviderKind, Violation};

/// Largest magnitude of a config number the runtime computes with as a decimal: larger
/// amounts (and their products in risk and sizing arithmetic) would overflow or lose cents.
pub const MAX_DECIMAL: f64 = 1e12;

/// Decimal places kept when a config number becomes a decimal.
pub const DECIMAL_PLACES: u32 = 6;

/// Most rounds of tool calls an LLM commander may make in one cycle.
const MAX_TOOL_ROUNDS: u32 = 10;

/// Collects violations.
#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// Finite; returns false (after recording) otherwise.
    fn finite(&mut self, key: &str, x: f64) -> bool {
        if !x.is_finite() {
            self.fail(key, format!("expected a finite number, got {x}"));
        }
        x.is_finite()
    }

    /// Finite and > 0.
    fn positive(&mut self, key: &str, x: f64) {
        if self.finite(key, x) && x <= 0.0 {
            self.fail(key, format!("expected a positive number, got {x}"));
        }
    }

    /// Finite and >= 0.
    fn non_negative(&mut self, key: &str, x: f64) {
        if self.finite(key, x) && x < 0.0 {
            self.fail(key, format!("expected zero or a positive number, got {x}"));
        }
    }

    /// In (0, 1].
    fn fraction(&mut self, key: &str, x: f64) {
        if self.finite(key, x) && !(x > 0.0 && x <= 1.0) {
            self.fail(
                key,
                format!("expected a fraction in (0, 1] (e.g. 0.25 for 25%), got {x}"),
            );
        }
    }

    /// In [0, 1].
    fn unit_interval(&mut self, key: &str, x: f64) {
        if self.finite(key, x) && !(0.0..=1.0).contains(&x) {
            self.fail(key, format!("expected a number in [0, 1], got {x}"));
        }
    }

    /// A number the runtime turns into a decimal: finite, at most [`MAX_DECIMAL`] in
    /// magnitude and exact to [`DECIMAL_PLACES`] places, so it is never silently zeroed or
    /// rounded away. Non-finite values are left to the range check, which reports them.
    fn decimal(&mut self, key: &str, x: f64) {
        use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
        if !x.is_finite() {
            return;
        }
        if x.abs() > MAX_DECIMAL {
            self.fail(
                key,
                format!(
                    "expected at most {MAX_DECIMAL:e} in magnitude (a larger amount cannot be represented exactly), got {}",
                    show(x)
                ),
            );
            return;
        }
        let exact = rust_decimal::Decimal::from_f64(x)
            .map(|d| d.round_dp(DECIMAL_PLACES))
            .and_then(|d| d.to_f64())
            .is_some_and(|back| (back - x).abs() <= 1e-9_f64.max(x.abs() * 1e-15));
        if !exact {
            self.fail(
                key,
                format!(
                    "expected at most {DECIMAL_PLACES} decimal places (it would be rounded to another amount), got {}",
                    show(x)
                ),
            );
        }
    }

    /// At least 1.
    fn at_least_one(&mut self, key: &str, n: u64) {
        if n == 0 {
            self.fail(key, "expected at least 1, got 0");
        }
    }

    fn non_empty(&mut self, key: &str, s: &str) {
        if s.trim().is_empty() {
            self.fail(key, "expected a non-empty value");
        }
    }

    fn non_empty_path(&mut self, key: &str, p: &Path) -> bool {
        let empty = p.as_os_str().is_empty();
        if empty {
            self.fail(key, "expected a non-empty path");
        }
        !empty
    }

    fn existing_dir(&mut self, key: &str, p: &Path) {
        if !self.non_empty_path(key, p) {
            return;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => self.fail(
                key,
                format!("expected a directory, but {} is not one", p.display()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.fail(
                key,
                format!(
                    "expected an existing directory, {} does not exist",
                    p.display()
                ),
            ),
            Err(e) => self.fail(
                key,
                format!(
                    "expected an existing directory, cannot access {}: {e}",
                    p.display()
                ),
            ),
        }
    }

    fn known_provider(&mut self, key: &str, name: &str, config: &Config) {
        if !config.llm.providers.contains_key(name) {
            let known: Vec<&str> = config.llm.providers.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none are defined".to_string()
            } else {
                format!("defined: {}", known.join(", "))
            };
            self.fail(
                key,
                format!("expected the name of an [llm.providers.<name>] table ({known}), got \"{name}\""),
            );
        }
    }
}

/// `x` for a message: exponent notation when huge or tiny, so 1e300 is not 301 digits.
fn show(x: f64) -> String {
    if x != 0.0 && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Config {
    /// Checks every rule and returns all violations at once (the `Err` list is never empty).
    ///
    /// Directory checks (`swarm.templates_dir`, `swarm.instances_dir`) look at the paths as
    /// stored: [`super::load`] has already made them absolute; on a hand-built config relative
    /// paths are checked against the current directory.
    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut c = Checker::default();

        // [runtime]
        let rt = &self.runtime;
        c.non_empty_path("runtime.data_dir", &rt.data_dir);
        c.positive("runtime.cycle_interval_s", rt.cycle_interval_s);
        if matches!(rt.sim_start.weekday(), Weekday::Sat | Weekday::Sun) {
            c.fail(
                "runtime.sim_start",
                format!(
                    "expected a weekday (a trading session), got {} ({})",
                    rt.sim_start,
                    rt.sim_start.weekday()
                ),
            );
        }

        // [market]
        let symbols = &self.market.symbols;
        if symbols.is_empty() {
            c.fail("market.symbols", "expected at least one symbol, got []");
        }
        for (i, s) in symbols.iter().enumerate() {
            if s.is_empty() || s.chars().any(char::is_whitespace) {
                c.fail(
                    "market.symbols",
                    format!("expected ticker symbols without spaces, got \"{s}\""),
                );
            } else if symbols[..i].contains(s) {
                c.fail(
                    "market.symbols",
                    format!("expected each symbol once, got \"{s}\" twice"),
                );
            }
        }

        // [llm.providers.<name>]
        for (name, p) in &self.llm.providers {
            let key = |field: &str| format!("llm.providers.{name}.{field}");
            c.positive(&key("timeout_s"), p.timeout_s);
            c.at_least_one(&key("max_concurrency"), u64::from(p.max_concurrency));
            c.at_least_one(&key("max_response_bytes"), p.max_response_bytes);
            c.non_negative(&key("input_cost_per_mtok"), p.input_cost_per_mtok);
            c.non_negative(&key("output_cost_per_mtok"), p.output_cost_per_mtok);
            if let Some(var) = &p.api_key_env {
                // The value is deliberately not echoed: it may be a pasted secret.
                if !is_env_var_name(var) {
                    c.fail(
                        &key("api_key_env"),
                        "expected the NAME of an environment variable holding the key \
                         (e.g. ANTHROPIC_API_KEY), not the key itself",
                    );
                }
            }
            if p.kind == ProviderKind::Rules {
                continue;
            }
            c.non_empty(&key("model"), &p.model);
            match p.base_url.as_deref() {
                None => c.fail(&key("base_url"), "expected a URL, but it is missing"),
                Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => c
                    .fail(
                        &key("base_url"),
                        format!("expected an http:// or https:// URL, got \"{url}\""),
                    ),
                Some(_) => {}
            }
            if p.kind == ProviderKind::Anthropic && p.api_key_env.is_none() {
                c.fail(
                    &key("api_key_env"),
                    "expected the name of the environment variable holding the API key \
                     (e.g. ANTHROPIC_API_KEY), but it is missing",
                );
            }
        }

        // [swarm]
        let sw = &self.swarm;
        c.known_provider("swarm.provider", &sw.provider, self);
        c.existing_dir("swarm.templates_dir", &sw.templates_dir);
        c.existing_dir("swarm.instances_dir", &sw.instances_dir);
        c.at_least_one("swarm.max_concurrent", sw.max_concurrent as u64);
        c.positive("swarm.agent_timeout_s", sw.agent_timeout_s);
        c.at_least_one("swarm.min_quorum", sw.min_quorum as u64);
        c.non_negative("swarm.budget_usd_per_run", sw.budget_usd_per_run);
        c.non_negative("swarm.budget_usd_per_day", sw.budget_usd_per_day);

        // [commander]
        let cm = &self.commander;
        c.known_provider("commander.provider", &cm.provider, self);
        c.non_empty_path("commander.prompt", &cm.prompt);
        c.unit_interval("commander.min_confidence", cm.min_confidence);
        c.at_least_one(
            "commander.max_orders_per_cycle",
            u64::from(cm.max_orders_per_cycle),
        );
        c.fraction("commander.kelly_fraction", cm.kelly_fraction);
        c.positive("commander.take_profit_pct", cm.take_profit_pct);
        c.positive("commander.stop_loss_multiple", cm.stop_loss_multiple);
        c.non_negative("commander.min_position_usd", cm.min_position_usd);
        c.non_negative("commander.reentry_cooldown_min", cm.reentry_cooldown_min);
        if cm.max_tool_rounds > MAX_TOOL_ROUNDS {
            c.fail(
                "commander.max_tool_rounds",
                format!(
                    "is {}; at most {MAX_TOOL_ROUNDS} rounds of tool calls are allowed per cycle",
                    cm.max_tool_rounds
                ),
            );
        }

        // [risk]
        let r = &self.risk;
        c.positive("risk.max_risk_per_trade", r.max_risk_per_trade);
        c.positive("risk.max_capital_per_trade", r.max_capital_per_trade);
        c.positive("risk.daily_loss_limit", r.daily_loss_limit);
        c.fraction("risk.max_concentration", r.max_concentration);
        c.positive("risk.max_total_exposure", r.max_total_exposure);
        c.at_least_one("risk.max_daily_trades", u64::from(r.max_daily_trades));
        c.at_least_one(
            "risk.consecutive_loss_limit",
            u64::from(r.consecutive_loss_limit),
        );
        c.fraction("risk.drawdown_circuit_breaker", r.drawdown_circuit_breaker);
        c.positive("risk.min_option_price", r.min_option_price);
        c.positive("risk.max_spread_width", r.max_spread_width);
        c.fraction("risk.price_collar_pct", r.price_collar_pct);
        c.at_least_one(
            "risk.max_orders_per_minute",
            u64::from(r.max_orders_per_minute),
        );

        // [broker]
        let b = &self.broker;
        c.positive("broker.starting_cash", b.starting_cash);
        c.non_negative("broker.commission_per_contract", b.commission_per_contract);
        c.non_negative("broker.slippage_per_share", b.slippage_per_share);
        c.unit_interval("broker.fill_k", b.fill_k);
        c.unit_interval("broker.limit_fill_probability", b.limit_fill_probability);
        let ib = &b.ibkr;
        c.non_empty("broker.ibkr.host", &ib.host);
        if ib.port == 0 {
            c.fail("broker.ibkr.port", "expected a port in 1..=65535, got 0");
        }
        if ib.client_id < 0 {
            c.fail(
                "broker.ibkr.client_id",
                format!("expected zero or a positive id, got {}", ib.client_id),
            );
        }
        if ib.watchdog_client_id < 0 {
            c.fail(
                "broker.ibkr.watchdog_client_id",
                format!(
                    "expected zero or a positive id, got {}",
                    ib.watchdog_client_id
                ),
            );
        } else if ib.watchdog_client_id == ib.client_id {
            c.fail(
                "broker.ibkr.watchdog_client_id",
                format!(
                    "expected an id different from broker.ibkr.client_id, got {} for both",
                    ib.client_id
                ),
            );
        }

        // [watchdog]
        let w = &self.watchdog;
        // A path longer than a socket can hold is not an error: `effective_socket()` maps it
        // to a short, stable path in the temp directory.
        c.non_empty_path("watchdog.socket", &w.socket);
        c.positive("watchdog.check_interval_s", w.check_interval_s);
        if c.finite("watchdog.heartbeat_timeout_s", w.heartbeat_timeout_s)
            && w.check_interval_s.is_finite()
            && w.heartbeat_timeout_s <= w.check_interval_s
        {
            c.fail(
                "watchdog.heartbeat_timeout_s",
                format!(
                    "expected more than watchdog.check_interval_s ({}), got {}",
                    w.check_interval_s, w.heartbeat_timeout_s
                ),
            );
        }

        // Every number converted to a decimal (money, prices, fractions in decimal arithmetic).
        let decimals: [(&str, f64); 19] = [
            ("risk.max_risk_per_trade", r.max_risk_per_trade),
            ("risk.max_capital_per_trade", r.max_capital_per_trade),
            ("risk.daily_loss_limit", r.daily_loss_limit),
            ("risk.max_concentration", r.max_concentration),
            ("risk.max_total_exposure", r.max_total_exposure),
            ("risk.drawdown_circuit_breaker", r.drawdown_circuit_breaker),
            ("risk.min_option_price", r.min_option_price),
            ("risk.max_spread_width", r.max_spread_width),
            ("risk.price_collar_pct", r.price_collar_pct),
            ("broker.starting_cash", b.starting_cash),
            ("broker.commission_per_contract", b.commission_per_contract),
            ("broker.slippage_per_share", b.slippage_per_share),
            ("broker.fill_k", b.fill_k),
            ("commander.min_position_usd", cm.min_position_usd),
            ("commander.kelly_fraction", cm.kelly_fraction),
            ("commander.take_profit_pct", cm.take_profit_pct),
            ("commander.stop_loss_multiple", cm.stop_loss_multiple),
            ("swarm.budget_usd_per_run", sw.budget_usd_per_run),
            ("swarm.budget_usd_per_day", sw.budget_usd_per_day),
        ];
        for (key, x) in decimals {
            c.decimal(key, x);
        }
        for (name, p) in &self.llm.providers {
            c.decimal(
                &format!("llm.providers.{name}.input_cost_per_mtok"),
                p.input_cost_per_mtok,
            );
            c.decimal(
                &format!("llm.providers.{name}.output_cost_per_mtok"),
                p.output_cost_per_mtok,
            );
        }

        // [metrics], [supervision]
        c.positive("metrics.interval_s", self.metrics.interval_s);
        c.positive("supervision.window_s", self.supervision.window_s);

        if c.violations.is_empty() {
            Ok(())
        } else {
            Err(c.violations)
        }
    }
}
