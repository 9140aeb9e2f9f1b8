//! The provider-neutral LLM client interface: [`LlmClient`], its request, response and error
//! types, the per-HTTP-attempt [`CallRecord`] and [`build_client`].
//!
//! Every network client ([`AnthropicClient`], [`OpenAiClient`]) runs its HTTP attempts
//! through the shared resilience layer ([`super::resilience`]): timeouts, retries with
//! backoff, a concurrency limit and a circuit breaker. Each HTTP attempt, successful or not, is reported to the
//! caller's [`CallSink`] as one [`CallRecord`], so the runtime can write one `llm_calls` row
//! per HTTP call. Calls that never reach the network (missing key, breaker open) produce no
//! record.
//!
//! The API key is read once, at construction, from the environment variable the config names.
//! It never appears in logs, errors, `Debug` output or call records.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::config::{ProviderConfig, ProviderKind};

use super::anthropic::AnthropicClient;
use super::openai::OpenAiClient;
use super::resilience::ResiliencePolicy;

/// One completion request: a system prompt, the first user turn and, in a tool-use loop, the
/// turns that followed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LlmRequest {
    /// System prompt; omitted from the wire request when empty.
    pub system: String,
    /// The first user message.
    pub prompt: String,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Ask for a JSON object answer where the protocol supports it (OpenAI `response_format`;
    /// the Anthropic Messages API has no such switch, so it is ignored there).
    pub json_mode: bool,
    /// Tools the model may call (Anthropic `tools`, OpenAI `tools` of type `function`);
    /// none are sent when empty.
    pub tools: Vec<ToolSpec>,
    /// The conversation after `prompt`: the model's tool calls and their results, in order.
    pub turns: Vec<Turn>,
    /// With `tools` set: the model must answer in text now (`tool_choice` none), e.g. on the
    /// last round of a bounded tool loop.
    pub forbid_tool_calls: bool,
}

/// Tokens a request's input is assumed to cost on top of its text (role markers, message
/// framing, the tool-use preamble).
const INPUT_OVERHEAD_TOKENS: u64 = 256;

/// Framing tokens assumed per message.
const TOKENS_PER_MESSAGE: u64 = 16;

impl LlmRequest {
    /// A conservative upper bound on the request's input tokens: one token per UTF-8 byte
    /// of the system prompt, prompt, tool definitions and later turns (no tokenizer in use
    /// has tokens shorter than a byte), plus framing. Used to reserve a call's worst case.
    pub fn input_token_bound(&self) -> u64 {
        let tools = serde_json::to_string(&self.tools).map_or(0, |t| t.len());
        let bytes = self.system.len() + self.hashed_prompt().len() + tools;
        let messages = 2 + self.turns.len() as u64;
        (bytes as u64)
            .saturating_add(messages.saturating_mul(TOKENS_PER_MESSAGE))
            .saturating_add(INPUT_OVERHEAD_TOKENS)
    }

    /// The text hashed with provider, model and system into [`request_sha256`]: the prompt
    /// alone for a single-turn request; with tools or later turns, the prompt followed by the
    /// tool names and the turns as JSON, so every round of a tool loop has its own hash.
    pub fn hashed_prompt(&self) -> String {
        if self.tools.is_empty() && self.turns.is_empty() {
            return self.prompt.clone();
        }
        let tools: Vec<&str> = self.tools.iter().map(|t| t.name.as_str()).collect();
        let turns = serde_json::to_string(&self.turns).unwrap_or_default();
        format!(
            "{}\n[tools {}{}]\n{turns}",
            self.prompt,
            tools.join(","),
            if self.forbid_tool_calls {
                "; none now"
            } else {
                ""
            }
        )
    }
}

/// A tool offered to the model: its name, what it does and the JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ToolSpec {
    /// Unique name the model calls it by.
    pub name: String,
    /// What it computes and returns.
    pub description: String,
    /// JSON Schema (an `object` schema) of the arguments.
    pub input_schema: serde_json::Value,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call, echoed back with its result.
    pub id: String,
    /// The tool's name (not necessarily one that was offered).
    pub name: String,
    /// The arguments: a JSON object, or (when an OpenAI-compatible server sent arguments that
    /// are not JSON) the raw string.
    pub arguments: serde_json::Value,
}

/// The result of one [`ToolCall`], sent back to the model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolResult {
    /// The [`ToolCall::id`] it answers.
    pub call_id: String,
    /// The result as JSON text, or the error message.
    pub content: String,
    /// Whether the call failed (unknown tool, bad arguments, no solution).
    pub is_error: bool,
}

/// A turn after the first user message in a tool-use conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Turn {
    /// The model's turn: any text it wrote and the tools it called.
    Assistant {
        /// Text written alongside the calls (may be empty).
        text: String,
        /// The calls, in the order the model made them.
        tool_calls: Vec<ToolCall>,
    },
    /// The results of the previous assistant turn's calls, one per call, in order.
    ToolResults {
        /// The results.
        results: Vec<ToolResult>,
    },
}

/// A successful completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmResponse {
    /// The answer text (empty when the model only called tools).
    pub text: String,
    /// The tools the model asked to call; empty for a final answer.
    pub tool_calls: Vec<ToolCall>,
    /// Prompt tokens reported by the provider (0 when not reported).
    pub input_tokens: u64,
    /// Completion tokens reported by the provider (0 when not reported).
    pub output_tokens: u64,
    /// The model that answered, as reported by the provider (the configured model otherwise).
    pub model: String,
    /// Wall time of the whole call, including retries and backoff waits.
    pub latency: Duration,
    /// HTTP attempts made, 1 when the first one succeeded.
    pub attempts: u32,
    /// HTTP status of the successful attempt.
    pub http_status: u16,
}

/// Why a call failed. Display strings never contain the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The request (connect, headers or body) took longer than the configured timeout, or
    /// the server answered 408.
    #[error("request timed out")]
    Timeout,
    /// HTTP 429.
    #[error("rate limited (HTTP 429)")]
    RateLimited,
    /// HTTP 529 (Anthropic's "overloaded").
    #[error("provider overloaded (HTTP 529)")]
    Overloaded,
    /// Any other HTTP 5xx.
    #[error("server error (HTTP {0})")]
    Server(u16),
    /// HTTP 4xx other than 408 and 429: the request itself is wrong (bad key, bad model,
    /// bad parameters). Never retried. The message is the provider's, truncated and with the
    /// key redacted.
    #[error("client error (HTTP {0}): {1}")]
    Client(u16, String),
    /// A 2xx answer that does not follow the protocol (bad JSON, missing fields, no text).
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The provider's circuit breaker is open; no request was sent.
    #[error("circuit breaker open")]
    BreakerOpen,
    /// Connection-level failure (DNS, refused, reset, TLS) or an unexpected HTTP status.
    #[error("transport error: {0}")]
    Transport(String),
    /// The environment variable that should hold the API key is unset or empty.
    #[error("API key environment variable {0} is not set")]
    MissingKey(String),
    /// The provider configuration cannot be used by a network client.
    #[error("invalid provider config: {0}")]
    Config(String),
    /// The call's worst case does not fit the LLM budget; nothing was sent.
    #[error("LLM budget exhausted: {0}")]
    BudgetExhausted(String),
}

impl LlmError {
    /// Whether another attempt may succeed: timeouts, 429, 529, 5xx and transport errors.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Timeout
                | LlmError::RateLimited
                | LlmError::Overloaded
                | LlmError::Server(_)
                | LlmError::Transport(_)
        )
    }

    /// The [`CallStatus`] an HTTP attempt that ended in this error is recorded with.
    pub fn call_status(&self) -> CallStatus {
        match self {
            LlmError::Timeout => CallStatus::Timeout,
            LlmError::RateLimited => CallStatus::RateLimited,
            LlmError::Overloaded => CallStatus::Overloaded,
            LlmError::Server(_) => CallStatus::ServerError,
            LlmError::Client(..) => CallStatus::ClientError,
            LlmError::Malformed(_) => CallStatus::Malformed,
            LlmError::BreakerOpen | LlmError::BudgetExhausted(_) => CallStatus::BreakerOpen,
            LlmError::Transport(_) | LlmError::MissingKey(_) | LlmError::Config(_) => {
                CallStatus::Transport
            }
        }
    }
}

/// Outcome of one HTTP attempt, as written to `llm_calls.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// 2xx with a well-formed answer.
    Ok,
    /// Timed out.
    Timeout,
    /// HTTP 429.
    RateLimited,
    /// HTTP 529.
    Overloaded,
    /// Other HTTP 5xx.
    ServerError,
    /// HTTP 4xx (not retried).
    ClientError,
    /// 2xx with a body that does not follow the protocol.
    Malformed,
    /// Refused by the open circuit breaker (not emitted as a record: no HTTP call is made).
    BreakerOpen,
    /// Connection-level failure.
    Transport,
}

impl CallStatus {
    /// The stable lower-case name stored in `llm_calls.status`, e.g. `"ok"`, `"rate_limited"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Timeout => "timeout",
            CallStatus::RateLimited => "rate_limited",
            CallStatus::Overloaded => "overloaded",
            CallStatus::ServerError => "server_error",
            CallStatus::ClientError => "client_error",
            CallStatus::Malformed => "malformed",
            CallStatus::BreakerOpen => "breaker_open",
            CallStatus::Transport => "transport",
        }
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP attempt, emitted to the [`CallSink`] whatever its outcome; maps onto an
/// `llm_calls` row. Contains no API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The provider's config name (`[llm.providers.<name>]`).
    pub provider: String,
    /// The configured model.
    pub model: String,
    /// [`request_sha256`] of (provider, model, system, prompt); equal for every attempt of a
    /// call.
    pub request_sha256: String,
    /// 1-based attempt number within the call.
    pub attempt: u32,
    /// When the attempt started.
    pub started_at: DateTime<Utc>,
    /// Wall time of this attempt (waiting for a concurrency slot excluded).
    pub latency: Duration,
    /// Prompt tokens (0 unless the attempt succeeded).
    pub input_tokens: u64,
    /// Completion tokens (0 unless the attempt succeeded).
    pub output_tokens: u64,
    /// Dollar cost of the tokens at the configured per-million-token prices.
    pub cost: Decimal,
    /// Outcome.
    pub status: CallStatus,
    /// HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// The error's display string, when the attempt failed.
    pub error: Option<String>,
}

/// The `llm_calls` row of a record (the store knows rows, not clients).
impl crate::store::models::NewLlmCall {
    /// The row for one HTTP attempt of a cycle, attributed to `instance_id`.
    pub fn from_record(r: CallRecord, cycle_id: i32, instance_id: Option<String>) -> Self {
        Self {
            cycle_id: Some(cycle_id),
            instance_id,
            provider: r.provider,
            model: r.model,
            request_sha256: r.request_sha256,
            latency_ms: r.latency.as_secs_f64() * 1000.0,
            input_tokens: i32::try_from(r.input_tokens).unwrap_or(i32::MAX),
            output_tokens: i32::try_from(r.output_tokens).unwrap_or(i32::MAX),
            cost: r.cost.to_string(),
            status: r.status.as_str().to_string(),
            error: r.error,
            cached: false,
            created_at: crate::store::models::now(),
        }
    }
}

/// Where clients report their [`CallRecord`]s. Called synchronously from the request task, so
/// it should be quick (e.g. push onto a channel).
pub type CallSink = Arc<dyn Fn(CallRecord) + Send + Sync>;

/// An LLM endpoint. Object-safe; share it as `Arc<dyn LlmClient>`.
pub trait LlmClient: Send + Sync + fmt::Debug {
    /// Sends `req`, retrying transient failures, and returns the answer.
    fn complete(&self, req: LlmRequest) -> BoxFuture<'_, Result<LlmResponse, LlmError>>;

    /// The provider's config name.
    fn provider(&self) -> &str;

    /// The configured model.
    fn model(&self) -> &str;

    /// The provider's token prices, for reserving a call's worst case against the budget
    /// (zero unless the client knows them).
    fn prices(&self) -> TokenPrices {
        TokenPrices::default()
    }
}

/// Builds the network client for provider `name` with the default [`ResiliencePolicy`].
///
/// `kind = "rules"` is not a network provider and is refused with [`LlmError::Config`]; an
/// `api_key_env` naming an unset or empty variable gives [`LlmError::MissingKey`].
pub fn build_client(
    name: &str,
    cfg: &ProviderConfig,
    sink: Option<CallSink>,
) -> Result<Arc<dyn LlmClient>, LlmError> {
    build_client_with(name, cfg, sink, ResiliencePolicy::default())
}

/// Like [`build_client`], with explicit backoff and circuit-breaker settings (tests use short
/// ones).
pub fn build_client_with(
    name: &str,
    cfg: &ProviderConfig,
    sink: Option<CallSink>,
    policy: ResiliencePolicy,
) -> Result<Arc<dyn LlmClient>, LlmError> {
    match cfg.kind {
        ProviderKind::Anthropic => Ok(Arc::new(AnthropicClient::new(name, cfg, sink, policy)?)),
        ProviderKind::Openai => Ok(Arc::new(OpenAiClient::new(name, cfg, sink, policy)?)),
        ProviderKind::Rules => Err(LlmError::Config(format!(
            "provider {name} has kind \"rules\", which has no network client"
        ))),
    }
}

/// Hex sha256 identifying a request: each of provider, model, system and prompt is fed as its
/// byte length (u64 little-endian) followed by its UTF-8 bytes, so field boundaries are
/// unambiguous.
pub fn request_sha256(provider: &str, model: &str, system: &str, prompt: &str) -> String {
    let mut hasher = Sha256::new();
    for field in [provider, model, system, prompt] {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Per-million-token prices of a provider, for [`CallRecord::cost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenPrices {
    /// Dollars per million input tokens.
    pub input_per_mtok: Decimal,
    /// Dollars per million output tokens.
    pub output_per_mtok: Decimal,
}

impl TokenPrices {
    /// The prices of `cfg`; a non-finite or negative price counts as 0.
    pub fn from_config(cfg: &ProviderConfig) -> Self {
        Self {
            input_per_mtok: price(cfg.input_cost_per_mtok),
            output_per_mtok: price(cfg.output_cost_per_mtok),
        }
    }

    /// Dollar cost of `input` and `output` tokens.
    pub fn cost(&self, input: u64, output: u64) -> Decimal {
        let total = Decimal::from(input)
            .checked_mul(self.input_per_mtok)
            .zip(Decimal::from(output).checked_mul(self.output_per_mtok))
            .and_then(|(a, b)| a.checked_add(b))
            .unwrap_or(Decimal::MAX);
        (total / Decimal::from(1_000_000u32)).normalize()
    }
}

fn price(dollars: f64) -> Decimal {
    if !dollars.is_finite() || dollars <= 0.0 {
        return Decimal::ZERO;
    }
    Decimal::try_from(dollars)
        .map(|d| d.normalize())
        .unwrap_or(Decimal::ZERO)
}

/// An API key. `Debug` prints `<redacted>`; there is no `Display`.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    /// Reads the key from `env_var`; unset, non-UTF-8 or blank is [`LlmError::MissingKey`].
    pub(crate) fn from_env(env_var: &str) -> Result<Self, LlmError> {
        match std::env::var(env_var) {
            Ok(v) if !v.trim().is_empty() => Ok(Self(v.trim().to_string())),
            _ => Err(LlmError::MissingKey(env_var.to_string())),
        }
    }

    /// A header value holding `prefix` + the key, marked sensitive so HTTP logging skips it.
    pub(crate) fn header_value(
        &self,
        prefix: &str,
    ) -> Result<reqwest::header::HeaderValue, LlmError> {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("{prefix}{}", self.0))
            .map_err(|_| {
                LlmError::Config("the API key contains characters not allowed in a header".into())
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// `text` with every occurrence of the key replaced by `<redacted>`: the key as is and
    /// in any JSON-escaped spelling (each character literal or as `\uXXXX`, `/` also as
    /// `\/`), so an error body or an answer that echoes the key escaped is masked too. Mask
    /// before truncating: a key cut in half by truncation no longer matches.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact_secret(text, &self.0)
    }

    /// [`ApiKey::redact`] over every string (and object key) of a JSON value.
    pub(crate) fn redact_value(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// `text` with every spelling of `secret` (see [`ApiKey::redact`]) replaced by `<redacted>`.
fn redact_secret(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match match_escaped(&text[i..], secret) {
            Some(len) => {
                out.push_str("<redacted>");
                i += len;
            }
            None => {
                let c = text[i..].chars().next().unwrap_or('\0');
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    out
}

/// The byte length of the prefix of `text` that spells `secret`, each character literally or
/// JSON-escaped; `None` when `text` does not start with it.
fn match_escaped(text: &str, secret: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut j = 0;
    for c in secret.chars() {
        let rest = &text[j..];
        if rest.starts_with(c) {
            j += c.len_utf8();
            continue;
        }
        if c == '/' && rest.starts_with("\\/") {
            j += 2;
            continue;
        }
        let hex = bytes.get(j + 2..j + 6)?;
        if !rest.starts_with("\\u") || !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        if char::from_u32(code) != Some(c) {
            return None;
        }
        j += 6;
    }
    Some(j)
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `text` cut to at most `max` characters (an ellipsis marks the cut), on one line.
pub(crate) fn truncate_one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_separates_fields() {
        assert_ne!(
            request_sha256("a", "b", "cd", ""),
            request_sha256("a", "b", "c", "d")
        );
        assert_eq!(request_sha256("p", "m", "s", "u").len(), 64);
    }

    #[test]
    fn cost_uses_per_million_prices() {
        let prices = TokenPrices {
            input_per_mtok: price(3.0),
            output_per_mtok: price(15.0),
        };
        assert_eq!(
            prices.cost(1_000, 500),
            Decimal::new(105, 4) // 0.003 + 0.0075
        );
        assert_eq!(price(f64::NAN), Decimal::ZERO);
        assert_eq!(price(0.15), Decimal::new(15, 2));
    }

    #[test]
    fn key_redaction() {
        let key = ApiKey("sk-secret-123".into());
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(key.redact("bad key sk-secret-123!"), "bad key <redacted>!");
        assert_eq!(
            key.redact(r#"{"k":"sk\u002dsecret\u002D123","x":"sk-secret-12"}"#),
            r#"{"k":"<redacted>","x":"sk-secret-12"}"#
        );
        assert_eq!(key.redact("é sk-secret-123"), "é <redacted>");
        assert_eq!(truncate_one_line("a\n b  c", 3), "a b…");
        assert_eq!(truncate_one_line("abc", 3), "abc");
    }
}
