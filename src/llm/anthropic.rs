//! Anthropic Messages API client.
//!
//! `POST {base_url}/v1/messages` with `x-api-key`, `anthropic-version: 2023-06-01` and a JSON
//! body `{model, max_tokens, system, messages: [{role: "user", content: prompt}]}` (`system`
//! omitted when empty). The answer is the concatenation of the response's `content[]` blocks
//! of `type == "text"`; tokens come from `usage.input_tokens` / `usage.output_tokens`.
//! `base_url` excludes `/v1` (default `https://api.anthropic.com`; a trailing `/v1` is
//! tolerated and stripped). The Messages API has no JSON-mode switch, so
//! [`LlmRequest::json_mode`] is ignored. HTTP 529 is [`LlmError::Overloaded`].
//!
//! Tool use: [`LlmRequest::tools`] go out as `tools: [{name, description, input_schema}]`
//! (`tool_choice: {"type": "none"}` when [`LlmRequest::forbid_tool_calls`]); later turns
//! become an assistant message of `text` and `tool_use {id, name, input}` blocks followed by a
//! user message of `tool_result {tool_use_id, content, is_error}` blocks. `tool_use` blocks of
//! the response are returned as [`LlmResponse::tool_calls`]; a response with neither text nor
//! a tool call is malformed.

use std::fmt;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use serde_json::json;

use crate::config::ProviderConfig;

use super::client::{CallSink, LlmClient, LlmError, LlmRequest, LlmResponse, ToolCall, Turn};
use super::resilience::{AttemptError, AttemptOk, ProviderCore, ResiliencePolicy};

/// Default API root.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` header value sent.
pub const API_VERSION: &str = "2023-06-01";

/// Client for one `kind = "anthropic"` provider. `Debug` never shows the key.
pub struct AnthropicClient {
    core: ProviderCore,
    url: String,
}

impl fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicClient")
            .field("url", &self.url)
            .field("core", &self.core)
            .finish()
    }
}

impl AnthropicClient {
    /// Builds the client for provider `name`. The API key is required: `api_key_env` must be
    /// set and name a non-empty environment variable ([`LlmError::MissingKey`] otherwise).
    pub fn new(
        name: &str,
        cfg: &ProviderConfig,
        sink: Option<CallSink>,
        policy: ResiliencePolicy,
    ) -> Result<Self, LlmError> {
        let core = ProviderCore::new(name, cfg, sink, policy)?;
        if core.key.is_none() {
            return Err(LlmError::Config(format!(
                "provider {name} (anthropic) needs api_key_env"
            )));
        }
        let base = cfg
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        Ok(Self {
            core,
            url: format!("{base}/v1/messages"),
        })
    }

    /// One HTTP attempt.
    async fn attempt(&self, req: &LlmRequest) -> Result<AttemptOk, AttemptError> {
        let mut body = json!({
            "model": self.core.model,
            "max_tokens": req.max_tokens,
            "messages": messages(req),
        });
        if !req.system.is_empty() {
            body["system"] = json!(req.system);
        }
        if !req.tools.is_empty() {
            body["tools"] = json!(req.tools);
            if req.forbid_tool_calls {
                body["tool_choice"] = json!({"type": "none"});
            }
        }
        let mut request = self
            .core
            .http
            .post(&self.url)
            .header("anthropic-version", API_VERSION)
            .json(&body);
        if let Some(key) = &self.core.key {
            let value = key.header_value("").map_err(|error| AttemptError {
                error,
                http_status: None,
                retry_after: None,
                retry_now: false,
            })?;
            request = request.header("x-api-key", value);
        }
        let raw = self.core.send(request).await?;
        self.core.check_status(&raw)?;
        let parsed: MessagesResponse =
            serde_json::from_slice(&raw.body).map_err(|e| self.core.malformed(raw.status, e))?;
        let texts: Vec<&str> = parsed
            .content
            .iter()
            .filter(|b| b.kind == "text")
            .filter_map(|b| b.text.as_deref())
            .collect();
        let mut tool_calls = Vec::new();
        for block in parsed.content.iter().filter(|b| b.kind == "tool_use") {
            let (Some(id), Some(name)) = (&block.id, &block.name) else {
                return Err(self
                    .core
                    .malformed(raw.status, "tool_use block without id or name"));
            };
            tool_calls.push(ToolCall {
                id: id.clone(),
                name: name.clone(),
                arguments: block.input.clone().unwrap_or_else(|| json!({})),
            });
        }
        if texts.is_empty() && tool_calls.is_empty() {
            return Err(self.core.malformed(raw.status, "no text content block"));
        }
        let usage = parsed.usage.unwrap_or_default();
        Ok(AttemptOk {
            text: texts.concat(),
            tool_calls,
            input_tokens: usage.input_tokens.unwrap_or(0),
            output_tokens: usage.output_tokens.unwrap_or(0),
            model: parsed.model,
            http_status: raw.status,
        })
    }
}

impl LlmClient for AnthropicClient {
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

/// The `messages` array: the prompt, then each later turn in the Messages API's block form.
fn messages(req: &LlmRequest) -> Vec<serde_json::Value> {
    let mut out = vec![json!({"role": "user", "content": req.prompt})];
    for turn in &req.turns {
        out.push(match turn {
            Turn::Assistant { text, tool_calls } => {
                let mut blocks = Vec::with_capacity(tool_calls.len() + 1);
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                blocks.extend(tool_calls.iter().map(|c| {
                    let input = if c.arguments.is_object() {
                        c.arguments.clone()
                    } else {
                        json!({})
                    };
                    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
                }));
                json!({"role": "assistant", "content": blocks})
            }
            Turn::ToolResults { results } => {
                let blocks: Vec<serde_json::Value> = results
                    .iter()
                    .map(|r| {
                        json!({
                            "type": "tool_result",
                            "tool_use_id": r.call_id,
                            "content": r.content,
                            "is_error": r.is_error,
                        })
                    })
                    .collect();
                json!({"role": "user", "content": blocks})
            }
        });
    }
    out
}

/// The parts of a Messages API response that are used.
#[derive(Deserialize)]
struct MessagesResponse {
    content: Vec<ContentBlock>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}
