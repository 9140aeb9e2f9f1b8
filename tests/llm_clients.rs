//! LLM provider clients against local fake servers speaking the Anthropic Messages and
//! OpenAI Chat Completions wire protocols: request shape, retries, timeouts, the circuit
//! breaker, the concurrency limit, call records and key redaction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use alphahive::config::{ProviderConfig, ProviderKind};
use alphahive::llm::client::{
    build_client, build_client_with, request_sha256, CallRecord, CallSink, CallStatus, LlmClient,
    LlmError, LlmRequest,
};
use alphahive::llm::resilience::ResiliencePolicy;
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

#[tokio::test]
async fn openai_drops_response_format_once_rejected() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("response_format"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "Unrecognized request argument supplied: response_format",
                      "type": "invalid_request_error"}
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
    cfg.max_retries = 0; // the fallback retry is outside the retry budget
    let client = client("llamacpp", &cfg, &records);

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

#[tokio::test]
async fn overloaded_529_then_success() {
    init_env();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(529).set_body_json(json!({
            "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(anthropic_ok("fine"))
        .with_priority(2)
        .mount(&server)
        .await;
    let records = Records::default();
    let client = client("claude", &anthropic(&server), &records);

    let resp = client.complete(request(false)).await.expect("retried");
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
