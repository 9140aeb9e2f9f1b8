//! Runtime configuration: the `config.toml` schema, its defaults, loading and validation.
//!
//! [`load`] reads a file, parses it strictly (unknown keys are errors and name their dotted
//! key path), resolves relative paths against the file's directory and then runs
//! [`Config::validate`], which reports every violated rule at once. Every [`ConfigError`]
//! renders as a single line that names the file.
//!
//! Durations are seconds as `f64` (fractions allowed); use the `Duration` helpers on each
//! section. API keys are never stored here, only the name of the environment variable
//! that holds them ([`ProviderConfig::api_key_env`]).

mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The whole configuration, one field per TOML section; omitted sections take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[runtime]`: clock, data directory and cycle cadence.
    pub runtime: RuntimeConfig,
    /// `[market]`: market-data source and traded symbols.
    pub market: MarketConfig,
    /// `[llm]`: named LLM providers.
    pub llm: LlmConfig,
    /// `[swarm]`: the analyst agent swarm.
    pub swarm: SwarmConfig,
    /// `[commander]`: the agent that turns swarm signals into orders.
    pub commander: CommanderConfig,
    /// `[risk]`: deterministic risk-gate limits.
    pub risk: RiskConfig,
    /// `[broker]`: execution venue and cost model.
    pub broker: BrokerConfig,
    /// `[watchdog]`: the external process that flattens or halts if the runtime dies.
    pub watchdog: WatchdogConfig,
    /// `[metrics]`: metrics reporting.
    pub metrics: MetricsConfig,
    /// `[supervision]`: actor restart policy.
    pub supervision: SupervisionConfig,
}

/// Which clock drives the runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockKind {
    /// Simulated session time, advanced one cycle at a time.
    #[default]
    Simulated,
    /// Real wall-clock time.
    Wall,
}

/// Where market data comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarketKind {
    /// Seeded synthetic generator.
    #[default]
    Synthetic,
    /// Recorded CSV files.
    Csv,
    /// ThetaData terminal.
    Thetadata,
    /// Interactive Brokers market data (uses `[broker.ibkr]` connection settings).
    Ibkr,
}

/// The wire protocol of an LLM provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI-compatible chat completions API (OpenAI, Ollama, vLLM, ...).
    Openai,
    /// Built-in deterministic rules engine; no network.
    Rules,
}

/// Where orders are executed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// In-process paper broker.
    #[default]
    Paper,
    /// Interactive Brokers via TWS / IB Gateway (`[broker.ibkr]`).
    Ibkr,
}

/// How the paper venue prices fills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillModel {
    /// At the mark (mid), moved by `slippage_per_share`.
    #[default]
    Mid,
    /// At mid ± `fill_k` × half the bid/ask spread, moved by `slippage_per_share`.
    HalfSpread,
}

/// How the Commander prices the limit of an entry (exits are always marketable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryPricing {
    /// At the venue's fill-model price, rounded a cent against us: it fills at once, and the
    /// gate checks the worst price that can be booked.
    #[default]
    Marketable,
    /// At the mid: it fills at that limit with `broker.limit_fill_probability` when the fill
    /// model's price is worse, else not this cycle.
    Mid,
}

/// What the watchdog does when the runtime exits unexpectedly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRuntimeExit {
    /// Close all open positions.
    #[default]
    Flatten,
    /// Cancel working orders and stop, leaving positions open.
    Halt,
}

/// `[runtime]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Data lake directory; relative paths resolve against the config file's directory.
    pub data_dir: PathBuf,
    /// Which clock drives the runtime.
    pub clock: ClockKind,
    /// Seconds between decision cycles (fractions allowed).
    pub cycle_interval_s: f64,
    /// Number of cycles to run; 0 runs until stopped.
    pub max_cycles: u64,
    /// First simulated session day, `"YYYY-MM-DD"` (a TOML date literal is accepted too).
    #[serde(deserialize_with = "de_date")]
    pub sim_start: NaiveDate,
    /// Whether to write state snapshots.
    pub snapshots: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data_lake"),
            clock: ClockKind::Simulated,
            cycle_interval_s: 300.0,
            max_cycles: 78,
            sim_start: NaiveDate::from_ymd_opt(2026, 3, 23).unwrap_or_default(),
            snapshots: true,
        }
    }
}

impl RuntimeConfig {
    /// `cycle_interval_s` as a [`Duration`].
    pub fn cycle_interval(&self) -> Duration {
        secs(self.cycle_interval_s)
    }

    /// `max_cycles` as a limit: `None` when 0 (run until stopped).
    pub fn max_cycles_limit(&self) -> Option<u64> {
        (self.max_cycles > 0).then_some(self.max_cycles)
    }
}

/// `[market]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketConfig {
    /// Market-data source.
    pub kind: MarketKind,
    /// Underlying symbols to trade.
    pub symbols: Vec<String>,
    /// Seed for the synthetic generator and any other randomness.
    pub seed: u64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            kind: MarketKind::Synthetic,
            symbols: ["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"]
                .into_iter()
                .map(String::from)
                .collect(),
            seed: 42,
        }
    }
}

/// `[llm]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Providers by name (`[llm.providers.<name>]`), referenced by `swarm.provider` and
    /// `commander.provider`. Writing any provider replaces the default `rules` entry.
    pub providers: BTreeMap<String, ProviderConfig>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            providers: BTreeMap::from([("rules".to_string(), ProviderConfig::rules())]),
        }
    }
}

impl LlmConfig {
    /// The provider called `name`, if defined.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.get(name)
    }
}

/// `[llm.providers.<name>]`: one LLM endpoint. `kind` is required; the rest have defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Model name; required unless `kind = "rules"`.
    #[serde(default)]
    pub model: String,
    /// API base URL; required unless `kind = "rules"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Per-request timeout in seconds.
    #[serde(default = "default_provider_timeout_s")]
    pub timeout_s: f64,
    /// Maximum in-flight requests to this provider.
    #[serde(default = "default_provider_max_concurrency")]
    pub max_concurrency: u32,
    /// Retries after a failed request.
    #[serde(default = "default_provider_max_retries")]
    pub max_retries: u32,
    /// Dollars per million input tokens (for cost accounting).
    #[serde(default)]
    pub input_cost_per_mtok: f64,
    /// Dollars per million output tokens (for cost accounting).
    #[serde(default)]
    pub output_cost_per_mtok: f64,
    /// Largest HTTP response body read from the provider, in bytes (default 1 MiB); a longer
    /// answer is refused as malformed and no more of it is read.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: u64,
}

/// Default `max_response_bytes`: 1 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1 << 20;

fn default_max_response_bytes() -> u64 {
    DEFAULT_MAX_RESPONSE_BYTES
}

fn default_provider_timeout_s() -> f64 {
    30.0
}
fn default_provider_max_concurrency() -> u32 {
    8
}
fn default_provider_max_retries() -> u32 {
    3
}

impl ProviderConfig {
    /// The built-in `rules` provider as shipped in the default config.
    pub fn rules() -> Self {
        Self {
            kind: ProviderKind::Rules,
            model: "rules-v1".to_string(),
            base_url: None,
            api_key_env: None,
            timeout_s: default_provider_timeout_s(),
            max_concurrency: default_provider_max_concurrency(),
            max_retries: default_provider_max_retries(),
            input_cost_per_mtok: 0.0,
            output_cost_per_mtok: 0.0,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// `timeout_s` as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        secs(self.timeout_s)
    }
}

/// `[swarm]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwarmConfig {
    /// Name of the `[llm.providers.<name>]` entry the agents use.
    pub provider: String,
    /// Directory of agent templates; must exist.
    pub templates_dir: PathBuf,
    /// Directory of instantiated agents; must exist.
    pub instances_dir: PathBuf,
    /// Maximum agents running at once.
    pub max_concurrent: usize,
    /// Seconds an agent may take before it is abandoned.
    pub agent_timeout_s: f64,
    /// Minimum agent answers needed for a cycle to produce signals.
    pub min_quorum: usize,
    /// LLM spend allowed per run, dollars (0 = no limit); once spent, agents abstain.
    pub budget_usd_per_run: f64,
    /// LLM spend allowed per trading day, dollars (0 = no limit).
    pub budget_usd_per_day: f64,
    /// LLM tokens (input + output) allowed per run (0 = no limit).
    pub budget_tokens_per_run: u64,
    /// LLM tokens (input + output) allowed per trading day (0 = no limit).
    pub budget_tokens_per_day: u64,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        Self {
            provider: "rules".to_string(),
            templates_dir: PathBuf::from("swarm_intelligence/templates"),
            instances_dir: PathBuf::from("swarm_intelligence/active_instances"),
            max_concurrent: 16,
            agent_timeout_s: 30.0,
            min_quorum: 1,
            budget_usd_per_run: 0.0,
            budget_usd_per_day: 0.0,
            budget_tokens_per_run: 0,
            budget_tokens_per_day: 0,
        }
    }
}

impl SwarmConfig {
    /// `agent_timeout_s` as a [`Duration`].
    pub fn agent_timeout(&self) -> Duration {
        secs(self.agent_timeout_s)
    }
}

/// `[commander]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommanderConfig {
    /// Name of the `[llm.providers.<name>]` entry the commander uses.
    pub provider: String,
    /// System prompt file.
    pub prompt: PathBuf,
    /// Minimum signal confidence, in [0, 1], to act on.
    pub min_confidence: f64,
    /// Maximum new orders per cycle.
    pub max_orders_per_cycle: u32,
    /// Fraction of the Kelly size to use, in (0, 1].
    pub kelly_fraction: f64,
    /// Take profit at this fraction of the maximum profit (0.5 = 50%).
    pub take_profit_pct: f64,
    /// Stop out when the loss reaches this multiple of the credit / debit.
    pub stop_loss_multiple: f64,
    /// Close positions at or below this many days to expiry.
    pub exit_dte: u32,
    /// Smallest position worth opening, in dollars.
    pub min_position_usd: f64,
    /// Minutes after opening a position on an underlying before another may open there.
    pub reentry_cooldown_min: f64,
    /// With an LLM commander: how many rounds of skill tool calls it may make before it must
    /// answer (0 offers no tools). At most 10.
    pub max_tool_rounds: u32,
    /// How entry limits are priced: `marketable` (default) or `mid`.
    pub entry_pricing: EntryPricing,
}

impl Default for CommanderConfig {
    fn default() -> Self {
        Self {
            provider: "rules".to_string(),
            prompt: PathBuf::from("prompts/commander_system.md"),
            min_confidence: 0.70,
            max_orders_per_cycle: 2,
            kelly_fraction: 0.25,
            take_profit_pct: 0.5,
            stop_loss_multiple: 2.0,
            exit_dte: 5,
            min_position_usd: 100.0,
            reentry_cooldown_min: 30.0,
            max_tool_rounds: 3,
            entry_pricing: EntryPricing::Marketable,
        }
    }
}

/// `[risk]` section; dollar amounts are `f64` here and converted to `Decimal` by the runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Maximum loss one trade may risk, in dollars.
    pub max_risk_per_trade: f64,
    /// Maximum capital one trade may tie up, in dollars.
    pub max_capital_per_trade: f64,
    /// Stop opening trades after losing this many dollars in a day.
    pub daily_loss_limit: f64,
    /// Maximum loss on one underlying, as a fraction of `max_total_exposure`, in (0, 1].
    pub max_concentration: f64,
    /// Maximum total exposure, in dollars.
    pub max_total_exposure: f64,
    /// Maximum trades opened per day.
    pub max_daily_trades: u32,
    /// After this many losing closes in a row, exits only (REDUCING) until `reset-breaker`.
    pub consecutive_loss_limit: u32,
    /// Halt when drawdown from peak equity reaches this fraction, in (0, 1].
    pub drawdown_circuit_breaker: f64,
    /// Reject options priced below this many dollars.
    pub min_option_price: f64,
    /// Maximum strike width of a spread, in dollars.
    pub max_spread_width: f64,
    /// Largest allowed distance of a limit price from the mark, as a fraction of the mark.
    pub price_collar_pct: f64,
    /// Order-rate limit.
    pub max_orders_per_minute: u32,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            max_risk_per_trade: 500.0,
            max_capital_per_trade: 2000.0,
            daily_loss_limit: 1000.0,
            max_concentration: 0.30,
            max_total_exposure: 10_000.0,
            max_daily_trades: 10,
            consecutive_loss_limit: 5,
            drawdown_circuit_breaker: 0.10,
            min_option_price: 0.05,
            max_spread_width: 10.0,
            price_collar_pct: 0.25,
            max_orders_per_minute: 30,
        }
    }
}

/// `[broker]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    /// Execution venue.
    pub kind: BrokerKind,
    /// Starting cash of the paper account, in dollars.
    pub starting_cash: f64,
    /// Commission per option contract, in dollars.
    pub commission_per_contract: f64,
    /// Fill slippage per share, per leg, in dollars away from mid against us.
    pub slippage_per_share: f64,
    /// Paper fill model: `mid` (mark ± slippage) or `half_spread` (mid ± `fill_k` × half the
    /// quoted spread, ± slippage).
    pub fill_model: FillModel,
    /// With `half_spread`: the fraction of the half-spread paid, in [0, 1].
    pub fill_k: f64,
    /// Chance that an order whose limit is better than the model's fill price (a limit that
    /// would rest) fills at its limit this cycle; otherwise it is canceled. 1 = always fills.
    pub limit_fill_probability: f64,
    /// `[broker.ibkr]` connection settings (may be omitted; defaults apply).
    pub ibkr: IbkrConfig,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            kind: BrokerKind::Paper,
            starting_cash: 100_000.0,
            commission_per_contract: 0.65,
            slippage_per_share: 0.01,
            fill_model: FillModel::Mid,
            fill_k: 0.5,
            limit_fill_probability: 1.0,
            ibkr: IbkrConfig::default(),
        }
    }
}

/// `[broker.ibkr]`: TWS / IB Gateway connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IbkrConfig {
    /// Gateway host.
    pub host: String,
    /// Gateway port (4002 = IB Gateway paper).
    pub port: u16,
    /// Client id used by the runtime.
    pub client_id: i32,
    /// Client id used by the watchdog; must differ from `client_id`.
    pub watchdog_client_id: i32,
}

impl Default for IbkrConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_string(),
            port: 4002,
            client_id: 17,
            watchdog_client_id: 18,
        }
    }
}

/// `[watchdog]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchdogConfig {
    /// Whether the watchdog runs.
    pub enabled: bool,
    /// Unix socket the runtime sends heartbeats to.
    pub socket: PathBuf,
    /// Seconds between liveness checks.
    pub check_interval_s: f64,
    /// Seconds without a heartbeat before the runtime counts as dead; above `check_interval_s`.
    pub heartbeat_timeout_s: f64,
    /// Action when the runtime dies.
    pub on_runtime_exit: OnRuntimeExit,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            socket: PathBuf::from("data_lake/watchdog.sock"),
            check_interval_s: 10.0,
            heartbeat_timeout_s: 60.0,
            on_runtime_exit: OnRuntimeExit::Flatten,
        }
    }
}

impl WatchdogConfig {
    /// The socket path to bind and connect: `socket`, or where that is longer than a Unix
    /// socket path can be (108 bytes), a stable short path in the temp directory derived
    /// from it, so a checkout in a deep directory still works.
    pub fn effective_socket(&self) -> PathBuf {
        if self.socket.as_os_str().len() <= 100 {
            return self.socket.clone();
        }
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.socket.as_os_str().as_encoded_bytes());
        std::env::temp_dir().join(format!("alphahive-{}.sock", hex::encode(&digest[..8])))
    }

    /// `check_interval_s` as a [`Duration`].
    pub fn check_interval(&self) -> Duration {
        secs(self.check_interval_s)
    }

    /// `heartbeat_timeout_s` as a [`Duration`].
    pub fn heartbeat_timeout(&self) -> Duration {
        secs(self.heartbeat_timeout_s)
    }
}

/// `[metrics]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Seconds between metrics reports.
    pub interval_s: f64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { interval_s: 10.0 }
    }
}

impl MetricsConfig {
    /// `interval_s` as a [`Duration`].
    pub fn interval(&self) -> Duration {
        secs(self.interval_s)
    }
}

/// `[supervision]` section: at most `max_restarts` restarts of an actor within `window_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisionConfig {
    /// Restarts allowed within the window before giving up.
    pub max_restarts: u32,
    /// Length of the restart-counting window, in seconds.
    pub window_s: f64,
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        Self {
            max_restarts: 3,
            window_s: 60.0,
        }
    }
}

impl SupervisionConfig {
    /// `window_s` as a [`Duration`].
    pub fn window(&self) -> Duration {
        secs(self.window_s)
    }
}

/// Seconds to a [`Duration`], saturating: NaN and negatives give zero, overflow gives `MAX`.
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(if s > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

/// Accepts `"2026-03-02"` or the TOML date literal `2026-03-02`.
fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    struct DateVisitor;

    impl<'de> serde::de::Visitor<'de> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a date \"YYYY-MM-DD\"")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NaiveDate, E> {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| E::custom(format!("expected a date \"YYYY-MM-DD\", got \"{s}\"")))
        }

        // The toml crate hands date literals over as a one-entry map holding the text.
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<NaiveDate, A::Error> {
            match map.next_key::<String>()? {
                Some(_) => {
                    let text: String = map.next_value()?;
                    self.visit_str(&text)
                }
                None => Err(serde::de::Error::custom("expected a date \"YYYY-MM-DD\"")),
            }
        }
    }

    d.deserialize_any(DateVisitor)
}

/// One broken rule: the dotted key and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted key path, e.g. `risk.max_risk_per_trade`.
    pub key: String,
    /// What was expected and what was found, e.g. `expected a positive number, got -5`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a config could not be loaded. Every variant displays as one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read config file: {source}", .path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}: {}invalid TOML: {message}", .path.display(), location_prefix(*.location))]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// 1-based line and column of the error, when known.
        location: Option<(usize, usize)>,
        /// The TOML parser's message, on one line.
        message: String,
    },
    /// A key is unknown, has the wrong type, or holds a value outside its allowed set.
    #[error("{}: {key}: {message}{}", .path.display(), location_suffix(*.location))]
    Key {
        /// The config file.
        path: PathBuf,
        /// Dotted key path, e.g. `risk.max_risk_per_trade`.
        key: String,
        /// What went wrong, on one line.
        message: String,
        /// 1-based line and column of the offending value, when known.
        location: Option<(usize, usize)>,
    },
    /// The config parsed but broke one or more rules; all of them are listed.
    #[error("{}: {}", .path.display(), join_violations(.violations))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Every broken rule.
        violations: Vec<Violation>,
    },
}

fn location_prefix(location: Option<(usize, usize)>) -> String {
    location.map_or_else(String::new, |(l, c)| format!("line {l}, column {c}: "))
}

fn location_suffix(location: Option<(usize, usize)>) -> String {
    location.map_or_else(String::new, |(l, c)| format!(" (line {l}, column {c})"))
}

fn join_violations(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collapses all whitespace runs (including newlines) into single spaces.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Loads, strictly parses, path-resolves and validates the config file at `path`.
///
/// Relative paths in the file (`runtime.data_dir`, `swarm.templates_dir`,
/// `swarm.instances_dir`, `commander.prompt`, `watchdog.socket`) are made absolute against
/// the file's directory before validation.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Config::from_str_at(&text, path)
}

impl Config {
    /// Like [`load`], but with the file's contents given as `text`; `path` is used for
    /// messages and as the base for relative paths. Handy for tests.
    pub fn from_str_at(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config = Self::parse(text, path)?;
        config.resolve_paths(&base_dir(path));
        config
            .validate()
            .map_err(|violations| ConfigError::Invalid {
                path: path.to_path_buf(),
                violations,
            })?;
        Ok(config)
    }

    /// Strict parse only: no path resolution, no validation.
    fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            location: e.span().map(|s| line_col(text, s.start)),
            message: one_line(e.message()),
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::Key {
                path: path.to_path_buf(),
                key: if key == "." {
                    "(top level)".to_string()
                } else {
                    key
                },
                message: one_line(inner.message()).replace("unknown field", "unknown key"),
                location: inner.span().map(|s| line_col(text, s.start)),
            }
        })
    }

    /// Makes the relative paths absolute against `base` (empty paths are left for
    /// [`Config::validate`] to report).
    fn resolve_paths(&mut self, base: &Path) {
        for p in [
            &mut self.runtime.data_dir,
            &mut self.swarm.templates_dir,
            &mut self.swarm.instances_dir,
            &mut self.commander.prompt,
            &mut self.watchdog.socket,
        ] {
            if p.as_os_str().is_empty() {
                continue;
            }
            let joined = base.join(&*p);
            *p = std::path::absolute(&joined).unwrap_or(joined);
        }
    }
}

/// The directory relative config paths are resolved against.
fn base_dir(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The sha256 (hex) of the config's decision sections — `[market]`, `[commander]` (without
/// its prompt's path), `[risk]` and `[broker]` — as JSON: what a cycle's orders and verdicts
/// depend on beyond the recorded inputs. Recorded on every cycle row; `replay` compares it.
pub fn decision_sha256(cfg: &Config) -> String {
    use sha2::Digest;
    let mut commander = serde_json::to_value(&cfg.commander).unwrap_or_default();
    if let Some(c) = commander.as_object_mut() {
        c.remove("prompt");
    }
    let sections = serde_json::json!({
        "market": cfg.market,
        "commander": commander,
        "risk": cfg.risk,
        "broker": cfg.broker,
    });
    let digest = sha2::Sha256::digest(sections.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
