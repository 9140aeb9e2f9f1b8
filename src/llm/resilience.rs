//! Resilience shared by the network LLM clients: HTTP timeouts, retries with exponential
//! backoff and jitter (honouring `retry-after`), a per-provider concurrency limit and a
//! per-provider circuit breaker, plus emission of one [`CallRecord`] per HTTP attempt.
//!
//! # Retries
//! Timeouts, 408, 429, 529, other 5xx and transport errors are retried up to
//! `max_retries` times. The wait before retry *n* (1-based) is the server's `retry-after`
//! (or `retry-after-ms`) when given, capped at [`ResiliencePolicy::max_retry_after`];
//! otherwise `min(backoff_base × 2^(n−1), backoff_cap)`, of which a random half is jittered
//! away. Other 4xx and malformed 2xx answers are never retried.
//!
//! # Concurrency
//! At most `max_concurrency` HTTP attempts per provider are in flight; a slot is held only
//! for the attempt itself, not during backoff waits.
//!
//! # Circuit breaker
//! Closed → open after [`ResiliencePolicy::breaker_threshold`] consecutive unhealthy attempts
//! (timeouts, 429, 529, 5xx, transport errors, malformed answers). While open, calls fail at
//! once with [`LlmError::BreakerOpen`] and send nothing. After
//! [`ResiliencePolicy::breaker_cooldown`] the next call is let through as the single
//! half-open probe (others still fail fast): a healthy answer closes the breaker, an unhealthy
//! one re-opens it for another cool-down. A 4xx answer other than 429 counts as healthy (the
//! endpoint is up; the request is at fault). A probe that is cancelled lets the next call
//! probe again. A call whose retry finds the breaker open stops and returns its last error.

use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::HeaderMap;
use tokio::sync::Semaphore;

use crate::config::ProviderConfig;

use super::client::{
    request_sha256, truncate_one_line, ApiKey, CallRecord, CallSink, CallStatus, LlmError,
    LlmRequest, LlmResponse, TokenPrices,
};

/// Backoff, `retry-after` and circuit-breaker settings of a client. The timeout, retry count
/// and concurrency limit come from [`ProviderConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResiliencePolicy {
    /// Backoff before the first retry (doubling each retry); default 200 ms.
    pub backoff_base: Duration,
    /// Longest computed backoff; default 5 s.
    pub backoff_cap: Duration,
    /// Longest wait a server's `retry-after` can impose; default 30 s.
    pub max_retry_after: Duration,
    /// Consecutive unhealthy attempts that open the breaker; default 5; 0 disables it.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before a probe; default 30 s.
    pub breaker_cooldown: Duration,
    /// Longest connect phase, further capped by the request timeout; default 10 s.
    pub connect_timeout: Duration,
}

impl Default for ResiliencePolicy {
    fn default() -> Self {
        Self {
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl ResiliencePolicy {
    /// The wait before retry number `retry` (1-based) when the server gave no `retry-after`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .backoff_base
            .checked_mul(1u32 << retry.saturating_sub(1).min(30))
            .unwrap_or(self.backoff_cap)
            .min(self.backoff_cap);
        exp / 2 + exp.mul_f64(jitter_unit() / 2.0)
    }
}

/// A uniformly distributed number in [0, 1) from the std library's randomly keyed hasher.
fn jitter_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bits = std::collections::hash_map::RandomState::new()
        .hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// State of a [`Breaker`].
#[derive(Debug, Clone, Copy)]
enum BreakerState {
    /// Calls flow; `failures` consecutive unhealthy attempts so far.
    Closed { failures: u32 },
    /// Calls fail fast until `until`, then one probe is admitted.
    Open { until: Instant },
    /// A probe is in flight; other calls fail fast.
    HalfOpen,
}

/// A per-provider circuit breaker (see the module docs).
pub(crate) struct Breaker {
    provider: String,
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

impl Breaker {
    fn new(provider: &str, threshold: u32, cooldown: Duration) -> Self {
        Self {
            provider: provider.to_string(),
            threshold,
            cooldown,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets an attempt through, or refuses it with [`LlmError::BreakerOpen`].
    fn admit(&self) -> Result<BreakerPermit<'_>, LlmError> {
        if self.threshold == 0 {
            return Ok(BreakerPermit::new(self, false));
        }
        let mut state = self.lock();
        match *state {
            BreakerState::Closed { .. } => Ok(BreakerPermit::new(self, false)),
            BreakerState::Open { until } if Instant::now() >= until => {
                *state = BreakerState::HalfOpen;
                tracing::info!(provider = %self.provider, "circuit breaker half-open: probing");
                Ok(BreakerPermit::new(self, true))
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => Err(LlmError::BreakerOpen),
        }
    }

    fn open(&self, state: &mut BreakerState) {
        *state = BreakerState::Open {
            until: Instant::now() + self.cooldown,
        };
        tracing::warn!(
            provider = %self.provider,
            cooldown_s = self.cooldown.as_secs_f64(),
            "circuit breaker open"
        );
    }
}

/// Admission of one attempt; settle it with the attempt's health.
struct BreakerPermit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    settled: bool,
}

impl<'a> BreakerPermit<'a> {
    fn new(breaker: &'a Breaker, probe: bool) -> Self {
        Self {
            breaker,
            probe,
            settled: false,
        }
    }

    /// Records the attempt's outcome.
    fn settle(mut self, healthy: bool) {
        self.settled = true;
        let breaker = self.breaker;
        if breaker.threshold == 0 {
            return;
        }
        let mut state = breaker.lock();
        if self.probe {
            if healthy {
                *state = BreakerState::Closed { failures: 0 };
                tracing::info!(provider = %breaker.provider, "circuit breaker closed");
            } else {
                breaker.open(&mut state);
            }
            return;
        }
        // Outcomes of attempts admitted before the breaker opened do not move it.
        if let BreakerState::Closed { failures } = *state {
            if healthy {
                *state = BreakerState::Closed { failures: 0 };
            } else if failures + 1 >= breaker.threshold {
                breaker.open(&mut state);
            } else {
                *state = BreakerState::Closed {
                    failures: failures + 1,
                };
            }
        }
    }
}

impl Drop for BreakerPermit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            // A cancelled probe proves nothing: let the next call probe straight away.
            let mut state = self.breaker.lock();
            if let BreakerState::HalfOpen = *state {
                *state = BreakerState::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

/// A successful HTTP attempt, parsed by the provider.
#[derive(Debug)]
pub(crate) struct AttemptOk {
    pub(crate) text: String,
    pub(crate) tool_calls: Vec<super::client::ToolCall>,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    /// The model the provider reports, if any.
    pub(crate) model: Option<String>,
    pub(crate) http_status: u16,
}

/// A failed HTTP attempt.
#[derive(Debug)]
pub(crate) struct AttemptError {
    pub(crate) error: LlmError,
    pub(crate) http_status: Option<u16>,
    /// The server's `retry-after`, already capped.
    pub(crate) retry_after: Option<Duration>,
    /// Retry at once, outside the retry budget: the provider changed the request to suit the
    /// server (at most [`MAX_COMPAT_RETRIES`] per call).
    pub(crate) retry_now: bool,
}

impl AttemptError {
    fn transport(error: LlmError) -> Self {
        Self {
            error,
            http_status: None,
            retry_after: None,
            retry_now: false,
        }
    }
}

/// Immediate, budget-free retries a call may make after adapting its request.
const MAX_COMPAT_RETRIES: u32 = 2;

/// Largest token count taken from a server's usage report (what an `llm_calls` row holds).
pub const MAX_REPORTED_TOKENS: u64 = i32::MAX as u64;

/// Longest provider error message kept in [`LlmError::Client`].
const MAX_ERROR_MESSAGE_CHARS: usize = 300;

/// An HTTP response of any status, body read in full.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// What every network client shares: identity, HTTP client, key, limits and the sink.
pub(crate) struct ProviderCore {
    pub(crate) provider: String,
    pub(crate) model: String,
    pub(crate) http: reqwest::Client,
    pub(crate) key: Option<ApiKey>,
    max_retries: u32,
    timeout: Duration,
    max_concurrency: u32,
    semaphore: Semaphore,
    breaker: Breaker,
    policy: ResiliencePolicy,
    prices: TokenPrices,
    sink: Option<CallSink>,
    max_response_bytes: u64,
}

impl fmt::Debug for ProviderCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderCore")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_concurrency", &self.max_concurrency)
            .field("policy", &self.policy)
            .field("prices", &self.prices)
            .field("sink", &self.sink.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl ProviderCore {
    /// Builds the shared part of a client; reads the API key when `cfg.api_key_env` is set.
    pub(crate) fn new(
        provider: &str,
        cfg: &ProviderConfig,
        sink: Option<CallSink>,
        policy: ResiliencePolicy,
    ) -> Result<Self, LlmError> {
        if cfg.model.trim().is_empty() {
            return Err(LlmError::Config(format!(
                "provider {provider} has no model"
            )));
        }
        let key = match cfg.api_key_env.as_deref().map(str::trim) {
            Some(var) if !var.is_empty() => Some(ApiKey::from_env(var)?),
            _ => None,
        };
        let timeout = cfg.timeout();
        if timeout.is_zero() {
            return Err(LlmError::Config(format!(
                "provider {provider} has a zero timeout_s"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout.min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        let max_concurrency = cfg.max_concurrency.max(1);
        Ok(Self {
            provider: provider.to_string(),
            model: cfg.model.clone(),
            http,
            key,
            max_retries: cfg.max_retries,
            timeout,
            max_concurrency,
            semaphore: Semaphore::new(max_concurrency as usize),
            breaker: Breaker::new(provider, policy.breaker_threshold, policy.breaker_cooldown),
            policy,
            prices: TokenPrices::from_config(cfg),
            sink,
            max_response_bytes: cfg.max_response_bytes.max(1),
        })
    }

    /// Sends one request and reads the whole body. Only network-level failures are errors;
    /// any HTTP status is returned as a [`RawResponse`].
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<RawResponse, AttemptError> {
        let response = request
            .send()
            .await
            .map_err(|e| AttemptError::transport(self.map_reqwest(e)))?;
        let status = response.status().as_u16();
        let retry_after = self.retry_after(response.headers());
        let cap = self.max_response_bytes;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(self.too_large(status, cap));
        }
        let mut response = response;
        let mut body: Vec<u8> = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| AttemptError {
                error: self.map_reqwest(e),
                http_status: Some(status),
                retry_after: None,
                retry_now: false,
            })?;
            let Some(chunk) = chunk else { break };
            if (body.len() + chunk.len()) as u64 > cap {
                // Stop reading: the rest of the body is never buffered.
                return Err(self.too_large(status, cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            retry_after,
            body,
        })
    }

    /// A body over `max_response_bytes`: malformed (not retried), nothing of it kept.
    fn too_large(&self, status: u16, cap: u64) -> AttemptError {
        self.malformed(
            status,
            format!("response body exceeds max_response_bytes = {cap}"),
        )
    }

    /// Turns a non-2xx response into its [`AttemptError`]; 2xx passes.
    pub(crate) fn check_status(&self, raw: &RawResponse) -> Result<(), AttemptError> {
        let error = match raw.status {
            200..=299 => return Ok(()),
            408 => LlmError::Timeout,
            429 => LlmError::RateLimited,
            529 => LlmError::Overloaded,
            500..=599 => LlmError::Server(raw.status),
            400..=499 => LlmError::Client(raw.status, self.error_message(&raw.body)),
            other => LlmError::Transport(format!("unexpected HTTP status {other}")),
        };
        Err(AttemptError {
            error,
            http_status: Some(raw.status),
            retry_after: raw.retry_after,
            retry_now: false,
        })
    }

    /// A 2xx body that does not parse: [`LlmError::Malformed`].
    pub(crate) fn malformed(&self, status: u16, what: impl fmt::Display) -> AttemptError {
        AttemptError {
            error: LlmError::Malformed(self.clean(&what.to_string())),
            http_status: Some(status),
            retry_after: None,
            retry_now: false,
        }
    }

    /// The provider's error message from an error body: `error.message` of the usual
    /// `{"error": {"message": ...}}` shape, else the raw body; truncated, key redacted.
    pub(crate) fn error_message(&self, body: &[u8]) -> String {
        let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| {
                v.pointer("/error/message")
                    .or_else(|| v.get("error"))
                    .or_else(|| v.get("message"))
            })
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        self.clean(&message)
    }

    /// Text that leaves the client as an error: the key masked first (in every spelling),
    /// then cut to [`MAX_ERROR_MESSAGE_CHARS`] on one line. The other order lets a key cut in
    /// half by the truncation slip past the mask.
    pub(crate) fn clean(&self, text: &str) -> String {
        truncate_one_line(&self.redact(text), MAX_ERROR_MESSAGE_CHARS)
    }

    /// `text` with the API key masked.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(key) => key.redact(text),
            None => text.to_string(),
        }
    }

    fn map_reqwest(&self, e: reqwest::Error) -> LlmError {
        if e.is_timeout() {
            return LlmError::Timeout;
        }
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        LlmError::Transport(self.clean(&message))
    }

    /// `retry-after-ms` or `retry-after` (seconds), capped; HTTP-date forms are ignored.
    fn retry_after(&self, headers: &HeaderMap) -> Option<Duration> {
        let parse = |name: &str, scale: f64| {
            headers
                .get(name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| Duration::from_secs_f64((v * scale).min(1e9)))
        };
        parse("retry-after-ms", 1e-3)
            .or_else(|| parse("retry-after", 1.0))
            .map(|d| d.min(self.policy.max_retry_after))
    }

    /// Runs one call: `attempt` makes one HTTP attempt each time it is invoked; this adds the
    /// breaker, the concurrency limit, retries and the call records.
    pub(crate) async fn run<F, Fut>(
        &self,
        req: &LlmRequest,
        mut attempt: F,
    ) -> Result<LlmResponse, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<AttemptOk, AttemptError>>,
    {
        let started = Instant::now();
        let sha = request_sha256(
            &self.provider,
            &self.model,
            &req.system,
            &req.hashed_prompt(),
        );
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut compat_retries = 0u32;
        let mut last_error: Option<LlmError> = None;
        loop {
            let permit = match self.breaker.admit() {
                Ok(p) => p,
                Err(e) => return Err(last_error.unwrap_or(e)),
            };
            let slot = self
                .semaphore
                .acquire()
                .await
                .map_err(|_| LlmError::Transport("concurrency limiter closed".into()))?;
            attempts += 1;
            let started_at = Utc::now();
            let attempt_started = Instant::now();
            let outcome = attempt().await;
            drop(slot);
            let latency = attempt_started.elapsed();

            match outcome {
                Ok(ok) => {
                    let ok = self.validate_usage(self.redact_answer(ok));
                    permit.settle(true);
                    self.emit(CallRecord {
                        provider: self.provider.clone(),
                        model: self.model.clone(),
                        request_sha256: sha.clone(),
                        attempt: attempts,
                        started_at,
                        latency,
                        input_tokens: ok.input_tokens,
                        output_tokens: ok.output_tokens,
                        cost: self.prices.cost(ok.input_tokens, ok.output_tokens),
                        status: CallStatus::Ok,
                        http_status: Some(ok.http_status),
                        error: None,
                    });
                    tracing::debug!(
                        provider = %self.provider,
                        model = %self.model,
                        attempt = attempts,
                        latency_ms = latency.as_secs_f64() * 1e3,
                        input_tokens = ok.input_tokens,
                        output_tokens = ok.output_tokens,
                        "llm call ok"
                    );
                    return Ok(LlmResponse {
                        text: ok.text,
                        tool_calls: ok.tool_calls,
                        input_tokens: ok.input_tokens,
                        output_tokens: ok.output_tokens,
                        model: ok.model.unwrap_or_else(|| self.model.clone()),
                        latency: started.elapsed(),
                        attempts,
                        http_status: ok.http_status,
                    });
                }
                Err(err) => {
                    let healthy = matches!(err.error, LlmError::Client(..));
                    permit.settle(healthy);
                    let message = err.error.to_string();
                    self.emit(CallRecord {
                        provider: self.provider.clone(),
                        model: self.model.clone(),
                        request_sha256: sha.clone(),
                        attempt: attempts,
                        started_at,
                        latency,
                        input_tokens: 0,
                        output_tokens: 0,
                        cost: rust_decimal::Decimal::ZERO,
                        status: err.error.call_status(),
                        http_status: err.http_status,
                        error: Some(message.clone()),
                    });
                    if err.retry_now && compat_retries < MAX_COMPAT_RETRIES {
                        compat_retries += 1;
                        tracing::info!(
                            provider = %self.provider,
                            error = %message,
                            "retrying at once with an adapted request"
                        );
                        last_error = Some(err.error);
                        continue;
                    }
                    if !err.error.is_retryable() || retries >= self.max_retries {
                        tracing::warn!(
                            provider = %self.provider,
                            model = %self.model,
                            attempts,
                            error = %message,
                            "llm call failed"
                        );
                        return Err(err.error);
                    }
                    retries += 1;
                    let delay = err
                        .retry_after
                        .unwrap_or_else(|| self.policy.backoff(retries));
                    tracing::warn!(
                        provider = %self.provider,
                        attempt = attempts,
                        error = %message,
                        delay_ms = delay.as_millis() as u64,
                        "llm attempt failed; retrying"
                    );
                    last_error = Some(err.error);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Token counts clamped to [`MAX_REPORTED_TOKENS`]: a server reporting an absurd count
    /// (e.g. `2^64 − 1`) is charged the most a record can hold, which spends any budget, rather
    /// than overflowing into a small or negative figure.
    fn validate_usage(&self, mut ok: AttemptOk) -> AttemptOk {
        for (name, count) in [
            ("input_tokens", &mut ok.input_tokens),
            ("output_tokens", &mut ok.output_tokens),
        ] {
            if *count > MAX_REPORTED_TOKENS {
                tracing::warn!(provider = %self.provider, field = name, reported = *count, clamped = MAX_REPORTED_TOKENS, "implausible token count reported; clamped");
                *count = MAX_REPORTED_TOKENS;
            }
        }
        ok
    }

    /// The configured token prices.
    pub(crate) fn prices(&self) -> TokenPrices {
        self.prices
    }

    /// A successful answer with the key masked in its text, tool calls and model name, so an
    /// answer echoing the key never reaches `signals.raw`, `llm_cache` or a snapshot.
    fn redact_answer(&self, mut ok: AttemptOk) -> AttemptOk {
        let Some(key) = &self.key else { return ok };
        ok.text = key.redact(&ok.text);
        ok.model = ok.model.map(|m| key.redact(&m));
        for call in &mut ok.tool_calls {
            call.id = key.redact(&call.id);
            call.name = key.redact(&call.name);
            call.arguments = key.redact_value(&call.arguments);
        }
        ok
    }

    fn emit(&self, record: CallRecord) {
        if let Some(sink) = &self.sink {
            sink(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let policy = ResiliencePolicy {
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_millis(1000),
            ..ResiliencePolicy::default()
        };
        for _ in 0..50 {
            let d1 = policy.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = policy.backoff(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d40 = policy.backoff(40);
            assert!(d40 >= Duration::from_millis(500) && d40 <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn breaker_opens_probes_and_closes() {
        let breaker = Breaker::new("p", 2, Duration::from_millis(20));
        breaker.admit().map(|p| p.settle(false)).ok();
        breaker.admit().map(|p| p.settle(false)).ok();
        assert_eq!(breaker.admit().err(), Some(LlmError::BreakerOpen));
        std::thread::sleep(Duration::from_millis(25));
        let probe = breaker.admit();
        assert!(probe.is_ok());
        // Only one probe at a time.
        assert_eq!(breaker.admit().err(), Some(LlmError::BreakerOpen));
        // A dropped probe lets the next call probe.
        drop(probe);
        let probe = breaker.admit();
        assert!(probe.as_ref().is_ok_and(|p| p.probe));
        probe.map(|p| p.settle(true)).ok();
        assert!(breaker.admit().is_ok_and(|p| !p.probe));
    }
}
