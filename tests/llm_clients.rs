//! LLM provider clients against local fake servers speaking the Anthropic Messages and
//! OpenAI Chat Completions wire protocols: request shape, retries, timeouts, the circuit
//! breaker, the concurrency limit, call records and key redaction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use alphahive::config::{ProviderConfig, ProviderKind};
use alphahive::llm::client::{
    build_client, build_client_with, request_sha256, CallRecord, CallSink, CallStatus, LlmClient,
    LlmError, LlmRequest, ToolCall, ToolSpec, Turn,
};
use alphahive::llm::resilience::ResiliencePolicy;
use alphahive::policy::chooser as commander;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANTHROPIC_KEY_ENV: &str = "ALPHAHIVE_TEST_ANTHROPIC_KEY";
const ANTHROPIC_KEY: &str = "sk-ant-test-5ecr3t-anthropic";
const OPENAI_KEY_ENV: &str = "ALPHAHIVE_TEST_OPENAI_KEY";
const OPENAI_KEY: &str = "sk-test-5ecr3t-openai";
const UNSET_KEY_ENV: &str = "ALPHAHIVE_TEST_KEY_THAT_IS_NOT_SET";

/// Sets the test keys once, before any test reads the environment.
fn init_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var(ANTHROPIC_KEY_ENV, ANTHROPIC_KEY);
        std::env::set_var(OPENAI_KEY_ENV, OPENAI_KEY);
        std::env::remove_var(UNSET_KEY_ENV);
    });
}

fn provider(kind: ProviderKind, base_url: String, key_env: Option<&str>) -> ProviderConfig {
    ProviderConfig {
        kind,
        model: "test-model".to_string(),
        base_url: Some(base_url),
        api_key_env: key_env.map(str::to_string),
        timeout_s: 5.0,
        max_concurrency: 8,
        max_retries: 2,
        input_cost_per_mtok: 3.0,
        output_cost_per_mtok: 15.0,
        max_response_bytes: 1 << 20,
    }
}

fn anthropic(server: &MockServer) -> ProviderConfig {
    provider(
        ProviderKind::Anthropic,
        server.uri(),
        Some(ANTHROPIC_KEY_ENV),
    )
}

fn openai(server: &MockServer) -> ProviderConfig {
    provider(
        ProviderKind::Openai,
        format!("{}/v1", server.uri()),
        Some(OPENAI_KEY_ENV),
    )
}

/// Fast backoff; breaker effectively off unless a test turns it on.
fn fast_policy() -> ResiliencePolicy {
    ResiliencePolicy {
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(50),
        breaker_threshold: 1000,
        ..ResiliencePolicy::default()
    }
}

/// Collects call records.
#[derive(Clone, Default)]
struct Records(Arc<Mutex<Vec<CallRecord>>>);

impl Records {
    fn sink(&self) -> Option<CallSink> {
        let inner = Arc::clone(&self.0);
        Some(Arc::new(move |r: CallRecord| {
            inner.lock().unwrap().push(r);
        }))
    }

    fn all(&self) -> Vec<CallRecord> {
        self.0.lock().unwrap().clone()
    }

    fn statuses(&self) -> Vec<CallStatus> {
        self.all().iter().map(|r| r.status).collect()
    }
}

fn client(name: &str, cfg: &ProviderConfig, records: &Records) -> Arc<dyn LlmClient> {
    build_client_with(name, cfg, records.sink(), fast_policy()).expect("client builds")
}

fn request(json_mode: bool) -> LlmRequest {
    LlmRequest {
        system: "You are a strategy agent.".to_string(),
        prompt: "Evaluate NVDA.".to_string(),
        max_tokens: 256,
        json_mode,
        ..LlmRequest::default()
    }
}

fn anthropic_ok(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-served",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 5}
    }))
}

fn openai_ok(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test-served",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    }))
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

/// No key in the records, in any error string, or in the client's Debug output.
fn assert_no_key(records: &Records, client: &Arc<dyn LlmClient>, errors: &[&LlmError]) {
    for key in [ANTHROPIC_KEY, OPENAI_KEY] {
        let dump = format!("{:?}", records.all());
        assert!(!dump.contains(key), "key in call records: {dump}");
        let debug = format!("{client:?}");
        assert!(!debug.contains(key), "key in Debug: {debug}");
        for e in errors {
            assert!(!e.to_string().contains(key), "key in error: {e}");
            assert!(!format!("{e:?}").contains(key), "key in error Debug: {e:?}");
        }
    }
}

#[tokio::test]
async fn anthropic_success_sends_messages_api_request() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-test-served",
            "content": [
                {"type": "text", "text": "{\"signal\": "},
                {"type": "tool_use", "id": "t1", "name": "x", "input": {}},
                {"type": "text", "text": "\"NO_TRADE\"}"}
            ],
            "usage": {"input_tokens": 1000, "output_tokens": 500}
        })))
        .mount(&server)
        .await;
    let records = Records::default();
    let cfg = anthropic(&server);
    let client = client("claude", &cfg, &records);

    let resp = client.complete(request(true)).await.expect("success");
    assert_eq!(resp.text, "{\"signal\": \"NO_TRADE\"}");
    assert_eq!((resp.input_tokens, resp.output_tokens), (1000, 500));
    assert_eq!(resp.model, "claude-test-served");
    assert_eq!((resp.attempts, resp.http_status), (1, 200));

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.headers.get("x-api-key").unwrap(), ANTHROPIC_KEY);
    assert_eq!(r.headers.get("anthropic-version").unwrap(), "2023-06-01");
    assert!(r
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(r.headers.get("authorization").is_none());
    let body: Value = r.body_json().unwrap();
    assert_eq!(
        body,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "system": "You are a strategy agent.",
            "messages": [{"role": "user", "content": "Evaluate NVDA."}]
        })
    );

    let recs = records.all();
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec.provider, "claude");
    assert_eq!(rec.model, "test-model");
    assert_eq!(
        rec.request_sha256,
        request_sha256(
            "claude",
            "test-model",
            "You are a strategy agent.",
            "Evaluate NVDA."
        )
    );
    assert_eq!(
        (rec.attempt, rec.status, rec.http_status),
        (1, CallStatus::Ok, Some(200))
    );
    assert_eq!(rec.status.as_str(), "ok");
    assert_eq!((rec.input_tokens, rec.output_tokens), (1000, 500));
    // 1000 × $3/M + 500 × $15/M
    assert_eq!(rec.cost, Decimal::new(105, 4));
    assert!(rec.error.is_none());
    assert_no_key(&records, &client, &[]);
}

#[tokio::test]
async fn openai_success_sends_bearer_messages_and_response_format() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(openai_ok("{\"signal\": \"NO_TRADE\"}"))
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("gpt", &openai(&server), &records);

    let resp = client.complete(request(true)).await.expect("success");
    assert_eq!(resp.text, "{\"signal\": \"NO_TRADE\"}");
    assert_eq!((resp.input_tokens, resp.output_tokens), (1000, 500));
    assert_eq!(resp.model, "gpt-test-served");
    assert_eq!(resp.attempts, 1);

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].headers.get("authorization").unwrap(),
        &format!("Bearer {OPENAI_KEY}")
    );
    let body: Value = reqs[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "messages": [
                {"role": "system", "content": "You are a strategy agent."},
                {"role": "user", "content": "Evaluate NVDA."}
            ],
            "response_format": {"type": "json_object"}
        })
    );
    assert_eq!(records.all()[0].cost, Decimal::new(105, 4));
    assert_no_key(&records, &client, &[]);
}

#[tokio::test]
async fn openai_local_server_needs_no_key_and_usage_is_optional() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": "hello"}}]
        })))
        .mount(&server)
        .await;
    let records = Records::default();
    let mut cfg = openai(&server);
    cfg.api_key_env = None;
    let client = client("ollama", &cfg, &records);

    let resp = client.complete(request(false)).await.expect("success");
    assert_eq!(resp.text, "hello");
    assert_eq!((resp.input_tokens, resp.output_tokens), (0, 0));
    assert_eq!(resp.model, "test-model");
    let reqs = received(&server).await;
    assert!(reqs[0].headers.get("authorization").is_none());
    let body: Value = reqs[0].body_json().unwrap();
    assert!(body.get("response_format").is_none());
    assert_eq!(records.all()[0].cost, Decimal::ZERO);
}

/// An OpenAI-compatible fake that answers 400 with `message` to any request whose body holds
/// `marker` and `{}` otherwise, and a client for it with no retry budget (a compatibility
/// retry is outside that budget).
async fn rejecting(marker: &str, message: &str) -> (MockServer, Arc<dyn LlmClient>, Records) {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains(marker))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": message, "type": "invalid_request_error"}
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(openai_ok("{}"))
        .with_priority(2)
        .mount(&server)
        .await;
    let records = Records::default();
    let mut cfg = openai(&server);
    cfg.max_retries = 0;
    let client = client("compat", &cfg, &records);
    (server, client, records)
}

#[tokio::test]
async fn openai_drops_response_format_once_rejected() {
    let (server, client, records) = rejecting(
        "response_format",
        "Unrecognized request argument supplied: response_format",
    )
    .await;

    let first = client
        .complete(request(true))
        .await
        .expect("fallback works");
    assert_eq!(first.attempts, 2);
    let second = client.complete(request(true)).await.expect("remembered");
    assert_eq!(second.attempts, 1);

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 3);
    let sent_format: Vec<bool> = reqs
        .iter()
        .map(|r| {
            r.body_json::<Value>()
                .unwrap()
                .get("response_format")
                .is_some()
        })
        .collect();
    assert_eq!(sent_format, [true, false, false]);
    assert_eq!(
        records.statuses(),
        [CallStatus::ClientError, CallStatus::Ok, CallStatus::Ok]
    );
}

#[tokio::test]
async fn slow_response_times_out() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(anthropic_ok("late").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let records = Records::default();
    let mut cfg = anthropic(&server);
    cfg.timeout_s = 0.3;
    cfg.max_retries = 0;
    let client = client("claude", &cfg, &records);

    let started = Instant::now();
    let err = client.complete(request(false)).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(records.statuses(), [CallStatus::Timeout]);
    assert_eq!(records.all()[0].http_status, None);
}

#[tokio::test]
async fn rate_limit_honours_retry_after_then_succeeds() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"message": "slow down"}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(openai_ok("ok"))
        .with_priority(2)
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("gpt", &openai(&server), &records);

    let started = Instant::now();
    let resp = client.complete(request(false)).await.expect("retried");
    let elapsed = started.elapsed();
    assert_eq!(resp.attempts, 2);
    assert_eq!(resp.text, "ok");
    assert!(
        elapsed >= Duration::from_millis(900),
        "waited only {elapsed:?}"
    );
    assert!(resp.latency >= Duration::from_millis(900));
    assert_eq!(received(&server).await.len(), 2);
    assert_eq!(
        records.statuses(),
        [CallStatus::RateLimited, CallStatus::Ok]
    );
    let recs = records.all();
    assert_eq!(recs[0].http_status, Some(429));
    assert_eq!(recs[0].request_sha256, recs[1].request_sha256);
    assert_eq!((recs[0].attempt, recs[1].attempt), (1, 2));
}

/// Answers `first` once, then `then`; returns the client's response and its call records.
async fn once_then(
    first: ResponseTemplate,
    then: ResponseTemplate,
    cfg: fn(&MockServer) -> ProviderConfig,
) -> (alphahive::llm::client::LlmResponse, Records) {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(then)
        .with_priority(2)
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("p", &cfg(&server), &records);
    let resp = client.complete(request(false)).await.expect("retried");
    (resp, records)
}

#[tokio::test]
async fn overloaded_529_then_success() {
    let overloaded = ResponseTemplate::new(529).set_body_json(json!({
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}
    }));
    let (resp, records) = once_then(overloaded, anthropic_ok("fine"), anthropic).await;
    assert_eq!((resp.attempts, resp.text.as_str()), (2, "fine"));
    assert_eq!(records.statuses(), [CallStatus::Overloaded, CallStatus::Ok]);
    assert_eq!(
        records.all()[0].error.as_deref(),
        Some("provider overloaded (HTTP 529)")
    );
}

#[tokio::test]
async fn server_error_retried_max_retries_times() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let records = Records::default();
    let cfg = anthropic(&server); // max_retries = 2
    let client = client("claude", &cfg, &records);

    let err = client.complete(request(false)).await.unwrap_err();
    assert_eq!(err, LlmError::Server(500));
    assert_eq!(received(&server).await.len(), 3);
    let recs = records.all();
    assert_eq!(
        recs.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(recs
        .iter()
        .all(|r| r.status == CallStatus::ServerError && r.http_status == Some(500)));
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_key_is_redacted() {
    init_env();
    let server = MockServer::start().await;
    // A server that echoes the key back in its error message.
    Mock::given(method("POST"))
        .and(header("x-api-key", ANTHROPIC_KEY))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "error",
            "error": {"type": "authentication_error",
                      "message": format!("invalid x-api-key {ANTHROPIC_KEY}")}
        })))
        .mount(&server)
        .await;
    let records = Records::default();
    let mut cfg = anthropic(&server);
    cfg.max_retries = 3;
    let client = client("claude", &cfg, &records);

    let err = client.complete(request(false)).await.unwrap_err();
    match &err {
        LlmError::Client(401, message) => {
            assert!(message.contains("invalid x-api-key"), "{message}");
            assert!(message.contains("<redacted>"), "{message}");
        }
        other => panic!("expected Client(401), got {other:?}"),
    }
    assert_eq!(received(&server).await.len(), 1);
    assert_eq!(records.statuses(), [CallStatus::ClientError]);
    assert_no_key(&records, &client, &[&err]);
}

#[tokio::test]
async fn not_found_is_not_retried_for_openai() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"message": "The model `test-model` does not exist"}
        })))
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("gpt", &openai(&server), &records);
    let err = client.complete(request(true)).await.unwrap_err();
    assert_eq!(
        err,
        LlmError::Client(404, "The model `test-model` does not exist".into())
    );
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn malformed_bodies_are_malformed_and_not_retried() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"content\": [oops"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"choices": []})))
        .mount(&server)
        .await;
    let records = Records::default();
    let claude = client("claude", &anthropic(&server), &records);
    let gpt = client("gpt", &openai(&server), &records);

    let e1 = claude.complete(request(false)).await.unwrap_err();
    assert!(matches!(e1, LlmError::Malformed(_)), "{e1:?}");
    let e2 = gpt.complete(request(false)).await.unwrap_err();
    assert_eq!(e2, LlmError::Malformed("no choices".into()));
    assert_eq!(received(&server).await.len(), 2);
    assert_eq!(
        records.statuses(),
        [CallStatus::Malformed, CallStatus::Malformed]
    );
    assert_no_key(&records, &claude, &[&e1, &e2]);
}

#[tokio::test]
async fn breaker_opens_fails_fast_and_closes_after_probe() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let records = Records::default();
    let mut cfg = anthropic(&server);
    cfg.max_retries = 0;
    let cooldown = Duration::from_millis(300);
    let policy = ResiliencePolicy {
        breaker_threshold: 3,
        breaker_cooldown: cooldown,
        ..fast_policy()
    };
    let client = build_client_with("claude", &cfg, records.sink(), policy).unwrap();

    for _ in 0..3 {
        assert_eq!(
            client.complete(request(false)).await.unwrap_err(),
            LlmError::Server(503)
        );
    }
    // Open: fails fast, nothing reaches the server, nothing is recorded.
    let started = Instant::now();
    assert_eq!(
        client.complete(request(false)).await.unwrap_err(),
        LlmError::BreakerOpen
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(received(&server).await.len(), 3);
    assert_eq!(records.all().len(), 3);

    // After the cool-down a failing probe re-opens it.
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    assert_eq!(
        client.complete(request(false)).await.unwrap_err(),
        LlmError::Server(503)
    );
    assert_eq!(
        client.complete(request(false)).await.unwrap_err(),
        LlmError::BreakerOpen
    );
    assert_eq!(received(&server).await.len(), 4);

    // The provider recovers: the next probe succeeds and the breaker closes.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(anthropic_ok("back"))
        .mount(&server)
        .await;
    assert_eq!(
        client.complete(request(false)).await.unwrap_err(),
        LlmError::BreakerOpen
    );
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    assert_eq!(client.complete(request(false)).await.unwrap().text, "back");
    assert_eq!(client.complete(request(false)).await.unwrap().text, "back");
    assert_eq!(received(&server).await.len(), 2);
}

/// A minimal HTTP/1.1 server answering every request with an OpenAI chat completion after
/// `delay`, tracking the most requests in flight at once.
async fn spawn_counting_server(delay: Duration) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let (max_out, total_out) = (Arc::clone(&max_in_flight), Arc::clone(&total));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (in_flight, max_in_flight, total) = (
                Arc::clone(&in_flight),
                Arc::clone(&max_in_flight),
                Arc::clone(&total),
            );
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then Content-Length bytes of body.
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }

                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                total.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);

                let body = json!({
                    "choices": [{"message": {"role": "assistant", "content": "ok"}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1}
                })
                .to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/v1"), max_out, total_out)
}

#[tokio::test]
async fn concurrency_limit_caps_requests_in_flight() {
    init_env();
    let (base_url, max_in_flight, total) = spawn_counting_server(Duration::from_millis(200)).await;
    let records = Records::default();
    let mut cfg = provider(ProviderKind::Openai, base_url, None);
    cfg.max_concurrency = 3;
    let client = client("local", &cfg, &records);

    let calls = (0..10).map(|_| client.complete(request(false)));
    let results = futures::future::join_all(calls).await;
    assert!(results
        .iter()
        .all(|r| r.as_ref().is_ok_and(|r| r.text == "ok")));
    assert_eq!(total.load(Ordering::SeqCst), 10);
    assert_eq!(max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(records.all().len(), 10);
}

#[tokio::test]
async fn construction_errors() {
    init_env();
    let mut cfg = provider(
        ProviderKind::Anthropic,
        "http://127.0.0.1:9".into(),
        Some(UNSET_KEY_ENV),
    );
    let err = build_client("claude", &cfg, None).unwrap_err();
    assert_eq!(err, LlmError::MissingKey(UNSET_KEY_ENV.to_string()));
    assert!(err.to_string().contains(UNSET_KEY_ENV));

    cfg.kind = ProviderKind::Openai;
    assert_eq!(
        build_client("gpt", &cfg, None).unwrap_err(),
        LlmError::MissingKey(UNSET_KEY_ENV.to_string())
    );

    let rules = ProviderConfig::rules();
    assert!(matches!(
        build_client("rules", &rules, None).unwrap_err(),
        LlmError::Config(_)
    ));

    cfg.api_key_env = Some(OPENAI_KEY_ENV.to_string());
    let client = build_client("gpt", &cfg, None).unwrap();
    assert_eq!((client.provider(), client.model()), ("gpt", "test-model"));
    let debug = format!("{client:?}");
    assert!(
        !debug.contains(OPENAI_KEY) && debug.contains("<redacted>"),
        "{debug}"
    );
}

/// The skill tools offered, and the black_scholes call a fake model makes (Hull's example).
fn hull_call() -> (Vec<ToolSpec>, Value) {
    (
        commander::skill_tools(),
        json!({"spot": 42, "strike": 40, "rate": 0.1, "dividend_yield": 0,
               "vol": 0.2, "time": 0.5, "right": "call"}),
    )
}

/// One bounded tool loop against a fake that answers `tool_turn` until the request carries
/// `results_marker` (the tool results), then `answer`: the first call with the skill tools,
/// the calls run against the registry, then a second call that forbids tools.
struct ToolLoop {
    first: alphahive::llm::client::LlmResponse,
    results: Vec<alphahive::llm::client::ToolResult>,
    last: alphahive::llm::client::LlmResponse,
    bodies: Vec<Value>,
    records: Records,
}

async fn tool_loop(
    cfg: fn(&MockServer) -> ProviderConfig,
    results_marker: &str,
    answer: ResponseTemplate,
    tool_turn: ResponseTemplate,
) -> ToolLoop {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains(results_marker))
        .respond_with(answer)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(tool_turn)
        .with_priority(2)
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("p", &cfg(&server), &records);
    let mut req = LlmRequest {
        tools: hull_call().0,
        ..request(true)
    };
    let first = client.complete(req.clone()).await.expect("tool turn");
    let (results, _) = commander::run_tools(&first.tool_calls);
    req.turns = vec![
        Turn::Assistant {
            text: first.text.clone(),
            tool_calls: first.tool_calls.clone(),
        },
        Turn::ToolResults {
            results: results.clone(),
        },
    ];
    req.forbid_tool_calls = true;
    let last = client.complete(req).await.expect("answer");
    let bodies = received(&server)
        .await
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    ToolLoop {
        first,
        results,
        last,
        bodies,
        records,
    }
}

const CHOICE: &str = r#"{"chosen": [], "reasoning": "priced"}"#;

#[tokio::test]
async fn anthropic_tool_use_round_trip() {
    let args = hull_call().1;
    let tool_turn = ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "m",
        "content": [
            {"type": "text", "text": "Let me price it."},
            {"type": "tool_use", "id": "toolu_01", "name": "black_scholes", "input": args}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 20, "output_tokens": 10}
    }));
    let t = tool_loop(anthropic, "tool_result", anthropic_ok(CHOICE), tool_turn).await;
    assert_eq!(t.first.text, "Let me price it.");
    assert_eq!(
        t.first.tool_calls,
        [ToolCall {
            id: "toolu_01".into(),
            name: "black_scholes".into(),
            arguments: args.clone()
        }]
    );
    assert!(!t.results[0].is_error, "{}", t.results[0].content);
    let price = serde_json::from_str::<Value>(&t.results[0].content).unwrap()["price"]
        .as_f64()
        .unwrap();
    assert!((price - 4.7594).abs() < 1e-3, "{price}");
    assert_eq!(t.last.text, CHOICE);
    assert!(t.last.tool_calls.is_empty());

    let [b0, b1] = t.bodies.as_slice() else {
        panic!("two requests: {:?}", t.bodies);
    };
    let names: Vec<&str> = b0["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"black_scholes") && names.contains(&"implied_vol"));
    assert_eq!(b0["tools"][0]["input_schema"]["type"], "object");
    assert!(b0.get("tool_choice").is_none());
    assert_eq!(b1["tool_choice"], json!({"type": "none"}));
    assert_eq!(
        b1["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Let me price it."},
            {"type": "tool_use", "id": "toolu_01", "name": "black_scholes", "input": args}
        ]})
    );
    assert_eq!(
        b1["messages"][2],
        json!({"role": "user", "content": [{
            "type": "tool_result", "tool_use_id": "toolu_01",
            "content": t.results[0].content, "is_error": false
        }]})
    );
    // Every round is its own request in the call records.
    let recs = t.records.all();
    assert_eq!(recs.len(), 2);
    assert_ne!(recs[0].request_sha256, recs[1].request_sha256);
}

#[tokio::test]
async fn openai_tool_calls_round_trip() {
    let args = hull_call().1;
    let tool_turn = ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "black_scholes", "arguments": args.to_string()}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "implied_vol", "arguments": "{not json"}},
                {"id": "call_3", "type": "function",
                 "function": {"name": "rm_rf", "arguments": "{}"}}
            ]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 10}
    }));
    let t = tool_loop(openai, "\"role\":\"tool\"", openai_ok(CHOICE), tool_turn).await;
    assert_eq!(t.first.text, "");
    assert_eq!(t.first.tool_calls.len(), 3);
    assert_eq!(t.first.tool_calls[0].arguments, args);
    assert_eq!(t.first.tool_calls[1].arguments, json!("{not json"));
    assert_eq!(
        t.results.iter().map(|r| r.is_error).collect::<Vec<_>>(),
        [false, true, true],
        "{:?}",
        t.results
    );
    assert_eq!(t.last.text, CHOICE);

    let [b0, b1] = t.bodies.as_slice() else {
        panic!("two requests: {:?}", t.bodies);
    };
    assert_eq!(b0["tools"][0]["type"], "function");
    assert_eq!(b0["tools"][0]["function"]["name"], "black_scholes");
    assert_eq!(b0["tools"][0]["function"]["parameters"]["type"], "object");
    assert!(b0.get("tool_choice").is_none());
    assert_eq!(b1["tool_choice"], "none");
    let msgs = b1["messages"].as_array().unwrap();
    // system, user, assistant with the calls, then one tool message per call.
    assert_eq!(msgs.len(), 6);
    assert_eq!(msgs[2]["role"], "assistant");
    assert_eq!(msgs[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(
        msgs[2]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .map(|a| serde_json::from_str::<Value>(a).unwrap()),
        Some(args)
    );
    assert_eq!(
        msgs[2]["tool_calls"][1]["function"]["arguments"],
        "{not json"
    );
    for (i, id) in ["call_1", "call_2", "call_3"].iter().enumerate() {
        assert_eq!(msgs[3 + i]["role"], "tool");
        assert_eq!(msgs[3 + i]["tool_call_id"], *id);
        assert_eq!(msgs[3 + i]["content"], t.results[i].content.as_str());
    }
}

#[tokio::test]
async fn too_many_tool_calls_in_one_turn_are_answered_not_run() {
    let calls: Vec<ToolCall> = (0..commander::MAX_CALLS_PER_ROUND + 2)
        .map(|i| ToolCall {
            id: format!("c{i}"),
            name: "kelly".into(),
            arguments: json!({"p_win": 0.6, "win": 1.0, "loss": 1.0, "fraction": 0.5, "cap": 0.2}),
        })
        .collect();
    let (results, traces) = commander::run_tools(&calls);
    assert_eq!(results.len(), calls.len(), "every call gets a result");
    assert_eq!(traces.len(), calls.len());
    let errors: Vec<bool> = results.iter().map(|r| r.is_error).collect();
    assert!(
        errors[..commander::MAX_CALLS_PER_ROUND].iter().all(|e| !e),
        "{results:?}"
    );
    assert!(errors[commander::MAX_CALLS_PER_ROUND..].iter().all(|e| *e));
    assert!(results[commander::MAX_CALLS_PER_ROUND]
        .content
        .contains("at most"));
}

#[tokio::test]
async fn connection_refused_is_a_retried_transport_error() {
    init_env();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let records = Records::default();
    let cfg = provider(
        ProviderKind::Anthropic,
        format!("http://127.0.0.1:{port}"),
        Some(ANTHROPIC_KEY_ENV),
    ); // max_retries = 2
    let client = client("claude", &cfg, &records);
    let err = client.complete(request(false)).await.unwrap_err();
    assert!(matches!(err, LlmError::Transport(_)), "{err:?}");
    assert_eq!(
        records.statuses(),
        [
            CallStatus::Transport,
            CallStatus::Transport,
            CallStatus::Transport
        ]
    );
    assert!(records.all().iter().all(|r| r.http_status.is_none()));
    assert_no_key(&records, &client, &[&err]);
}

#[tokio::test]
async fn request_timeout_408_is_retried() {
    let (resp, records) = once_then(ResponseTemplate::new(408), openai_ok("fine"), openai).await;
    assert_eq!((resp.attempts, resp.text.as_str()), (2, "fine"));
    assert_eq!(records.statuses(), [CallStatus::Timeout, CallStatus::Ok]);
    assert_eq!(records.all()[0].http_status, Some(408));
}

#[tokio::test]
async fn openai_switches_to_max_completion_tokens_once_asked() {
    let (server, client, _) = rejecting(
        "\"max_tokens\"",
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
    )
    .await;

    assert_eq!(client.complete(request(false)).await.unwrap().attempts, 2);
    assert_eq!(client.complete(request(false)).await.unwrap().attempts, 1);
    let limits: Vec<(Option<u64>, Option<u64>)> = received(&server)
        .await
        .iter()
        .map(|r| {
            let b: Value = r.body_json().unwrap();
            (
                b["max_tokens"].as_u64(),
                b["max_completion_tokens"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        limits,
        [(Some(256), None), (None, Some(256)), (None, Some(256))]
    );
}

/// The longest prefix of `key` (4 characters or more) found in `text`: how much of the key
/// leaked; 0 when none did.
fn key_chars_leaked(text: &str, key: &str) -> usize {
    (4..=key.len())
        .rev()
        .find(|n| text.contains(&key[..*n]))
        .unwrap_or(0)
}

#[tokio::test]
async fn item8_the_key_is_masked_before_truncation_escaped_and_in_answers() {
    init_env();
    let key = OPENAI_KEY;
    // 1. The key straddles the 300-character cut of the error message.
    let straddling = format!("{} {key} trailing", "x".repeat(300 - 12));
    // 2. The key JSON-escaped in a body that is not the usual error shape (kept as raw text).
    let escaped = key.replace('-', "\\u002d");
    let body = format!(r#"{{"detail": "unknown key {escaped}"}}"#);
    // 3. A 200 answer that echoes the key (decoded and escaped) in its text.
    let echo = format!("{{\"signal\": \"NO_TRADE\", \"note\": \"{key} and {escaped}\"}}");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("straddle"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"message": straddling}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("escaped"))
        .respond_with(ResponseTemplate::new(403).set_body_string(body))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("echo"))
        .respond_with(openai_ok(&echo))
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("gpt", &openai(&server), &records);
    let ask = |prompt: &str| LlmRequest {
        prompt: prompt.to_string(),
        ..request(false)
    };

    let err1 = client.complete(ask("straddle")).await.unwrap_err();
    let err2 = client.complete(ask("escaped")).await.unwrap_err();
    let ok = client.complete(ask("echo")).await.expect("200 answer");
    let texts = [err1.to_string(), err2.to_string(), ok.text.clone()];
    for (text, what) in texts.iter().zip(["straddling", "escaped", "echoed"]) {
        assert_eq!(key_chars_leaked(text, key), 0, "{what}: {text}");
        assert!(!text.contains(&escaped), "{what}: {text}");
        assert!(text.contains("<redacted>"), "{what}: {text}");
    }
    assert!(err1.to_string().ends_with('…'), "still truncated: {err1}");
    let dump = format!("{:?}", records.all());
    assert_eq!(key_chars_leaked(&dump, key), 0, "{dump}");
    assert!(!dump.contains(&escaped), "{dump}");
}

#[tokio::test]
async fn item9_a_response_body_over_max_response_bytes_is_refused_unread() {
    init_env();
    let server = MockServer::start().await;
    let huge = "x".repeat(5 * 1024 * 1024);
    Mock::given(method("POST"))
        .and(body_string_contains("huge"))
        .respond_with(openai_ok(&huge))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("small"))
        .respond_with(openai_ok("{\"ok\": true}"))
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("gpt", &openai(&server), &records);
    let ask = |prompt: &str| LlmRequest {
        prompt: prompt.to_string(),
        ..request(false)
    };
    let err = client.complete(ask("huge")).await.unwrap_err();
    match &err {
        LlmError::Malformed(m) => assert!(m.contains("max_response_bytes = 1048576"), "{m}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(received(&server).await.len(), 1, "not retried");
    assert_eq!(
        client.complete(ask("small")).await.expect("small").text,
        "{\"ok\": true}"
    );

    // A smaller configured cap applies the same way.
    let mut cfg = openai(&server);
    cfg.max_response_bytes = 100;
    let tight = self::client("gpt", &cfg, &records);
    assert!(matches!(
        tight.complete(ask("small")).await,
        Err(LlmError::Malformed(_))
    ));
}
