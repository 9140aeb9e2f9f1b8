//! OpenAI-compatible Chat Completions client (OpenAI, Ollama, vLLM, llama.cpp server).
//!
//! `POST {base_url}/chat/completions`, `base_url` including `/v1` (default
//! `https://api.openai.com/v1`), with `Authorization: Bearer <key>` only when `api_key_env` is
//! configured (local servers need none). Body: `{model, max_tokens, messages: [{role:
//! "system"}, {role: "user"}], response_format: {"type": "json_object"}}`; the system message
//! is omitted when empty and `response_format` is sent only in JSON mode. The answer is
//! `choices[0].message.content`; tokens are `usage.prompt_tokens` /
//! `usage.completion_tokens` (0 when the server reports no usage).
//!
//! Tool use: [`LlmRequest::tools`] go out as `tools: [{type: "function", function: {name,
//! description, parameters}}]` (`tool_choice: "none"` when
//! [`LlmRequest::forbid_tool_calls`]); later turns become an assistant message with
//! `tool_calls: [{id, type: "function", function: {name, arguments}}]` (arguments as a JSON
//! string) followed by one `{role: "tool", tool_call_id, content}` message per result. The
//! response's `message.tool_calls` are returned as [`LlmResponse::tool_calls`] (arguments
//! that are not JSON are passed on as a string); `content` may then be null.
//!
//! Compatibility fallbacks, each learnt once for the client's lifetime and applied by an
//! immediate retry that does not use the retry budget:
//! - a 400 mentioning `response_format` while it was sent → stop sending it;
//! - a 400 mentioning `max_completion_tokens` (newer OpenAI models refuse `max_tokens`) →
//!   send the limit as `max_completion_tokens`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use serde_json::json;

use crate::config::ProviderConfig;

use super::client::{CallSink, LlmClient, LlmError, LlmRequest, LlmResponse, ToolCall, Turn};
use super::resilience::{AttemptError, AttemptOk, ProviderCore, ResiliencePolicy};

/// Default API root.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Client for one `kind = "openai"` provider. `Debug` never shows the key.
pub struct OpenAiClient {
    core: ProviderCore,
    url: String,
    /// Set once the server rejected `response_format`.
    no_response_format: AtomicBool,
    /// Set once the server asked for `max_completion_tokens` instead of `max_tokens`.
    use_max_completion_tokens: AtomicBool,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("url", &self.url)
            .field(
                "no_response_format",
                &self.no_response_format.load(Ordering::Relaxed),
            )
            .field(
                "use_max_completion_tokens",
                &self.use_max_completion_tokens.load(Ordering::Relaxed),
            )
            .field("core", &self.core)
            .finish()
    }
}

impl OpenAiClient {
    /// Builds the client for provider `name`. When `api_key_env` is set, the variable must
    /// hold a non-empty key ([`LlmError::MissingKey`] otherwise).
    pub fn new(
        name: &str,
        cfg: &ProviderConfig,
        sink: Option<CallSink>,
        policy: ResiliencePolicy,
    ) -> Result<Self, LlmError> {
        let core = ProviderCore::new(name, cfg, sink, policy)?;
        let base = cfg
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        Ok(Self {
            core,
            url: format!("{base}/chat/completions"),
            no_response_format: AtomicBool::new(false),
            use_max_completion_tokens: AtomicBool::new(false),
        })
    }

    /// One HTTP attempt.
    async fn attempt(&self, req: &LlmRequest) -> Result<AttemptOk, AttemptError> {
        let mut body = json!({"model": self.core.model, "messages": messages(req)});
        if !req.tools.is_empty() {
            let tools: Vec<serde_json::Value> = req
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.input_schema,
                    }})
                })
                .collect();
            body["tools"] = json!(tools);
            if req.forbid_tool_calls {
                body["tool_choice"] = json!("none");
            }
        }
        let completion_tokens = self.use_max_completion_tokens.load(Ordering::Relaxed);
        let limit_key = if completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body[limit_key] = json!(req.max_tokens);
        let sent_response_format =
            req.json_mode && !self.no_response_format.load(Ordering::Relaxed);
        if sent_response_format {
            body["response_format"] = json!({"type": "json_object"});
        }

        let mut request = self.core.http.post(&self.url).json(&body);
        if let Some(key) = &self.core.key {
            let value = key.header_value("Bearer ").map_err(|error| AttemptError {
                error,
                http_status: None,
                retry_after: None,
                retry_now: false,
            })?;
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let raw = self.core.send(request).await?;
        if let Err(mut err) = self.core.check_status(&raw) {
            if raw.status == 400 {
                let text = String::from_utf8_lossy(&raw.body).to_ascii_lowercase();
                if sent_response_format && text.contains("response_format") {
                    self.no_response_format.store(true, Ordering::Relaxed);
                    err.retry_now = true;
                } else if !completion_tokens && text.contains("max_completion_tokens") {
                    self.use_max_completion_tokens
                        .store(true, Ordering::Relaxed);
                    err.retry_now = true;
                }
            }
            return Err(err);
        }

        let parsed: ChatResponse =
            serde_json::from_slice(&raw.body).map_err(|e| self.core.malformed(raw.status, e))?;
        let Some(choice) = parsed.choices.into_iter().next() else {
            return Err(self.core.malformed(raw.status, "no choices"));
        };
        let tool_calls: Vec<ToolCall> = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                arguments: serde_json::from_str(&c.function.arguments)
                    .unwrap_or(serde_json::Value::String(c.function.arguments)),
                name: c.function.name,
            })
            .collect();
        let text = match choice.message.content {
            Some(text) => text,
            None if !tool_calls.is_empty() => String::new(),
            None => {
                return Err(self
                    .core
                    .malformed(raw.status, "choices[0].message.content is null"))
            }
        };
        let usage = parsed.usage.unwrap_or_default();
        Ok(AttemptOk {
            text,
            tool_calls,
            input_tokens: usage.prompt_tokens.unwrap_or(0),
            output_tokens: usage.completion_tokens.unwrap_or(0),
            model: parsed.model,
            http_status: raw.status,
        })
    }
}

impl LlmClient for OpenAiClient {
    fn complete(&self, req: LlmRequest) -> BoxFuture<'_, Result<LlmResponse, LlmError>> {
        async move { self.core.run(&req, || self.attempt(&req)).await }.boxed()
    }

    fn provider(&self) -> &str {
        &self.core.provider
    }

    fn model(&self) -> &str {
        &self.core.model
    }

    fn prices(&self) -> super::client::TokenPrices {
        self.core.prices()
    }
}

/// The parts of a chat completion response that are used.
#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

/// The `messages` array: system (when set), the prompt, then each later turn.
fn messages(req: &LlmRequest) -> Vec<serde_json::Value> {
    let mut out = Vec::with_capacity(2 + req.turns.len());
    if !req.system.is_empty() {
        out.push(json!({"role": "system", "content": req.system}));
    }
    out.push(json!({"role": "user", "content": req.prompt}));
    for turn in &req.turns {
        match turn {
            Turn::Assistant { text, tool_calls } => {
                let mut msg = json!({"role": "assistant", "content": text});
                if !tool_calls.is_empty() {
                    let calls: Vec<serde_json::Value> = tool_calls
                        .iter()
                        .map(|c| {
                            let arguments = match &c.arguments {
                                serde_json::Value::String(raw) => raw.clone(),
                                other => other.to_string(),
                            };
                            json!({"id": c.id, "type": "function", "function": {
                                "name": c.name, "arguments": arguments,
                            }})
                        })
                        .collect();
                    msg["tool_calls"] = json!(calls);
                }
                out.push(msg);
            }
            Turn::ToolResults { results } => {
                out.extend(results.iter().map(
                    |r| json!({"role": "tool", "tool_call_id": r.call_id, "content": r.content}),
                ))
            }
        }
    }
    out
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}
