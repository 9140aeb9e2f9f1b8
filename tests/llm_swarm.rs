//! The swarm against a local fake OpenAI-compatible server: a cycle where agents are answered
//! well, with garbage, with errors, with rate limits and not at all still completes, records
//! every agent's outcome and every HTTP call, trades nothing on an invalid answer, and never
//! lets the API key reach the logs, the store or the snapshots.

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-SECRET-4c1d";

fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 80}
    }))
}

fn instance(dir: &Path, id: &str) {
    let v = json!({"id": id, "template": "vol_sniper", "sector": "technology", "enabled": true,
        "parameters": {"symbol_pool": ["NVDA", "AMD"], "min_iv_rank": 80, "max_delta_exposure": 0.30, "spread_width": 5}});
    std::fs::write(dir.join(format!("{id}.json")), v.to_string()).expect("write instance");
}

#[tokio::test]
async fn a_cycle_under_a_misbehaving_server_completes_and_records_everything() {
    let server = MockServer::start().await;
    let answer = json!({"target": "NVDA", "signal": "NO_TRADE", "confidence": 0.0, "params": {"legs": []}, "reasoning": "IV rank too low"}).to_string();
    let routes: Vec<(&str, ResponseTemplate)> = vec![
        ("agent_ok", completion(&answer)),
        (
            "agent_garbage",
            completion("Sure! I think NVDA looks great, buy calls."),
        ),
        (
            "agent_outside_pool",
            completion(&answer.replace("NVDA", "GME")),
        ),
        (
            "agent_error",
            ResponseTemplate::new(500).set_body_string("boom"),
        ),
        (
            "agent_limited",
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_string("slow down"),
        ),
        (
            "agent_hang",
            completion(&answer).set_delay(Duration::from_secs(5)),
        ),
    ];
    for (id, resp) in &routes {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_string_contains(*id))
            .respond_with(resp.clone())
            .mount(&server)
            .await;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let inst = dir.path().join("instances");
    std::fs::create_dir_all(&inst).expect("mkdir");
    for (id, _) in &routes {
        instance(&inst, id);
    }
    let provider = format!(
        "[llm.providers.fake]\nkind = \"openai\"\nmodel = \"fake-model\"\nbase_url = \"{}/v1\"\napi_key_env = \"FAKE_LLM_KEY\"\ntimeout_s = 2\nmax_concurrency = 8\nmax_retries = 1\ninput_cost_per_mtok = 3.0\noutput_cost_per_mtok = 15.0\n\n[swarm]\nprovider = \"fake\"",
        server.uri()
    );
    let cfg = write_config(
        dir.path(),
        &[
            ("[swarm]\nprovider = \"rules\"", provider.as_str()),
            ("agent_timeout_s = 30", "agent_timeout_s = 0.5"),
            ("enabled = true", "enabled = false"),
        ],
    );
    let text = std::fs::read_to_string(&cfg).expect("read");
    let repo_instances = repo()
        .join("swarm_intelligence/active_instances")
        .display()
        .to_string();
    std::fs::write(
        &cfg,
        text.replace(&repo_instances, &inst.display().to_string()),
    )
    .expect("write");

    let out = tokio::task::spawn_blocking({
        let cfg = cfg.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_alphahive"))
                .args(["--config", cfg.to_str().expect("utf8"), "--cycles", "2"])
                .env("FAKE_LLM_KEY", KEY)
                .output()
                .expect("run")
        }
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let db = db(dir.path());
    assert_eq!(
        db.int("SELECT count(*) AS n FROM cycles WHERE status = 'done'"),
        2
    );
    let status = |id: &str| {
        db.texts(&format!("SELECT status || ':' || coalesce(reason, '') AS s FROM signals WHERE instance_id = '{id}' ORDER BY id"))
    };
    assert_eq!(status("agent_ok"), ["ok:", "ok:"]);
    assert_eq!(
        status("agent_garbage"),
        ["abstain:INVALID_JSON", "abstain:INVALID_JSON"]
    );
    assert_eq!(
        status("agent_outside_pool"),
        ["abstain:TARGET_NOT_IN_POOL", "abstain:TARGET_NOT_IN_POOL"]
    );
    assert_eq!(
        status("agent_error"),
        ["error:LLM_ERROR", "error:LLM_ERROR"]
    );
    assert_eq!(
        status("agent_limited"),
        ["error:LLM_ERROR", "error:LLM_ERROR"]
    );
    assert_eq!(
        status("agent_hang"),
        ["timeout:AGENT_TIMEOUT", "timeout:AGENT_TIMEOUT"]
    );
    assert_eq!(
        db.int("SELECT count(*) AS n FROM signals WHERE raw LIKE '%buy calls%'"),
        2,
        "raw text of an abstention is kept"
    );
    assert_eq!(
        db.int("SELECT count(*) AS n FROM orders"),
        0,
        "no order from an invalid answer"
    );

    // One llm_calls row per HTTP attempt, with tokens and cost for the answered ones.
    assert!(
        db.int("SELECT count(*) AS n FROM llm_calls WHERE instance_id = 'agent_error'") >= 4,
        "2 cycles x (1 + max_retries)"
    );
    assert_eq!(db.texts("SELECT cost AS s FROM llm_calls WHERE instance_id = 'agent_ok' AND status = 'ok' LIMIT 1"), ["0.0048"]);
    assert!(db.int("SELECT count(*) AS n FROM llm_calls WHERE status != 'ok'") >= 6);

    // The key went out in its header, and nowhere else.
    let received = server.received_requests().await.expect("recorded");
    assert!(received.iter().all(
        |r| r.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&*format!("Bearer {KEY}"))
    ));
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "key in logs"
    );
    let db_bytes = std::fs::read(dir.path().join("data/trades.db")).expect("db");
    assert!(
        !String::from_utf8_lossy(&db_bytes).contains(KEY),
        "key in store"
    );
    for p in db.texts("SELECT snapshot_path AS s FROM cycles") {
        assert!(
            !std::fs::read_to_string(p).expect("snapshot").contains(KEY),
            "key in snapshot"
        );
    }
}

#[tokio::test]
async fn a_missing_api_key_is_a_clear_start_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = "[llm.providers.fake]\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"ALPHAHIVE_UNSET_KEY_FOR_TEST\"\n\n[swarm]\nprovider = \"fake\"";
    let cfg = write_config(dir.path(), &[("[swarm]\nprovider = \"rules\"", provider)]);
    let out = alphahive(&["--config", cfg.to_str().expect("utf8"), "--cycles", "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ALPHAHIVE_UNSET_KEY_FOR_TEST"), "{stderr}");
}

#[tokio::test]
async fn a_spent_budget_makes_agents_abstain_and_stops_calls() {
    let server = MockServer::start().await;
    let answer = json!({"target": "NVDA", "signal": "NO_TRADE", "confidence": 0.0, "params": {"legs": []}, "reasoning": "quiet"}).to_string();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(&answer))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let inst = dir.path().join("instances");
    std::fs::create_dir_all(&inst).expect("mkdir");
    instance(&inst, "agent_thrifty");
    let provider = format!(
        "[llm.providers.fake]\nkind = \"openai\"\nmodel = \"fake-model\"\nbase_url = \"{}/v1\"\ninput_cost_per_mtok = 3.0\noutput_cost_per_mtok = 15.0\n\n[swarm]\nprovider = \"fake\"",
        server.uri()
    );
    let cfg = write_config(
        dir.path(),
        &[
            ("[swarm]\nprovider = \"rules\"", provider.as_str()),
            ("budget_usd_per_run = 0.0", "budget_usd_per_run = 0.001"),
            ("enabled = true", "enabled = false"),
        ],
    );
    let text = std::fs::read_to_string(&cfg).expect("read");
    let repo_instances = repo()
        .join("swarm_intelligence/active_instances")
        .display()
        .to_string();
    std::fs::write(
        &cfg,
        text.replace(&repo_instances, &inst.display().to_string()),
    )
    .expect("write");
    let cfg2 = cfg.clone();
    let out = tokio::task::spawn_blocking(move || {
        alphahive(&["--config", cfg2.to_str().expect("utf8"), "--cycles", "3"])
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db(dir.path());
    let statuses =
        db.texts("SELECT status || ':' || coalesce(reason, '') AS s FROM signals ORDER BY id");
    // $0.001 is less than one call's worst case (its input bound and 1,024 output tokens at
    // $3 / $15 per million), so nothing is sent.
    assert_eq!(
        statuses,
        [
            "abstain:BUDGET_EXHAUSTED",
            "abstain:BUDGET_EXHAUSTED",
            "abstain:BUDGET_EXHAUSTED"
        ]
    );
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        0,
        "no call whose worst case does not fit"
    );
    let detail = db.texts("SELECT detail AS s FROM signals ORDER BY id LIMIT 1");
    assert!(
        detail[0].contains("worst case") && detail[0].contains("budget_usd_per_run"),
        "{detail:?}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("LLM budget spent"));
}

/// A fake commander that picks the first candidate it is offered.
struct PickFirst;

impl wiremock::Respond for PickFirst {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let user = body["messages"][1]["content"].as_str().unwrap_or("{}");
        let prompt: serde_json::Value = serde_json::from_str(user).unwrap_or_default();
        let first = prompt["candidates"][0]["client_order_id"].clone();
        completion(&json!({"chosen": [first], "reasoning": "first is best"}).to_string())
    }
}

fn commander_day(server_uri: &str, dir: &Path) -> (std::process::Output, std::path::PathBuf) {
    let provider = format!(
        "[llm.providers.boss]\nkind = \"openai\"\nmodel = \"boss\"\nbase_url = \"{server_uri}/v1\"\nmax_retries = 0\n\n[commander]\nprovider = \"boss\""
    );
    let cfg = write_config(
        dir,
        &[
            ("[commander]\nprovider = \"rules\"", provider.as_str()),
            ("enabled = true", "enabled = false"),
        ],
    );
    let out = alphahive(&["--config", cfg.to_str().expect("utf8")]);
    (out, cfg)
}

#[tokio::test]
async fn an_llm_commander_only_chooses_among_sized_candidates() {
    // Chooses the first candidate each time: trades happen, sized by code.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(PickFirst)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = server.uri();
    let d = dir.path().to_path_buf();
    let (out, cfg) = tokio::task::spawn_blocking(move || commander_day(&uri, &d))
        .await
        .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db(dir.path());
    assert!(db.int("SELECT count(*) AS n FROM orders WHERE intent = 'OPEN'") >= 1);
    assert!(db.int("SELECT count(*) AS n FROM llm_calls WHERE instance_id = 'commander'") >= 1);
    // Replay applies the recorded choice and reproduces the orders.
    let first = db
        .texts("SELECT CAST(min(cycle_id) AS TEXT) AS s FROM orders WHERE intent = 'OPEN'")[0]
        .clone();
    let cfg2 = cfg.clone();
    let r = tokio::task::spawn_blocking(move || {
        alphahive(&[
            "--config",
            cfg2.to_str().expect("utf8"),
            "replay",
            "--cycle",
            &first,
        ])
    })
    .await
    .expect("join");
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("same orders"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );

    // An answer that invents an order: no new orders at all that day.
    let liar = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(completion(
            &json!({"chosen": ["AH-9999999-99"], "reasoning": "trust me"}).to_string(),
        ))
        .mount(&liar)
        .await;
    let dir2 = tempfile::tempdir().expect("tempdir");
    let uri = liar.uri();
    let d = dir2.path().to_path_buf();
    let (out, _) = tokio::task::spawn_blocking(move || commander_day(&uri, &d))
        .await
        .expect("join");
    assert!(out.status.success());
    let db2 = common::db(dir2.path());
    assert_eq!(
        db2.int("SELECT count(*) AS n FROM orders WHERE intent = 'OPEN'"),
        0
    );
    assert!(!liar.received_requests().await.expect("recorded").is_empty());
}

/// Runs the default day with `[commander]` on an Anthropic fake at `server_uri`.
fn anthropic_commander_day(
    server_uri: &str,
    dir: &Path,
    rounds: u32,
    token_budget: u64,
) -> std::process::Output {
    let provider = format!(
        "[llm.providers.claude]\nkind = \"anthropic\"\nmodel = \"claude-test\"\nbase_url = \"{server_uri}\"\napi_key_env = \"FAKE_CLAUDE_KEY\"\nmax_retries = 0\n\n[commander]\nprovider = \"claude\""
    );
    let cfg = write_config(
        dir,
        &[
            ("[commander]\nprovider = \"rules\"", provider.as_str()),
            (
                "max_tool_rounds = 3",
                &format!("max_tool_rounds = {rounds}"),
            ),
            (
                "budget_tokens_per_run = 0",
                &format!("budget_tokens_per_run = {token_budget}"),
            ),
            ("enabled = true", "enabled = false"),
        ],
    );
    std::process::Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args(["--config", cfg.to_str().expect("utf8")])
        .env("FAKE_CLAUDE_KEY", KEY)
        .output()
        .expect("run")
}

fn anthropic_message(content: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": content, "stop_reason": "end_turn",
        "usage": {"input_tokens": 900, "output_tokens": 60}
    }))
}

/// Prices the first candidate's structure with a skill first, then picks it once the result
/// is back; or (as a model that never stops) calls a tool every time.
struct ToolUser {
    never_stops: bool,
}

impl wiremock::Respond for ToolUser {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let msgs = body["messages"].as_array().cloned().unwrap_or_default();
        let answered = msgs
            .last()
            .map(|m| m["content"][0]["type"] == "tool_result");
        if answered == Some(true) && !self.never_stops {
            let prompt: serde_json::Value =
                serde_json::from_str(msgs[0]["content"].as_str().unwrap_or("{}"))
                    .unwrap_or_default();
            let first = prompt["candidates"][0]["client_order_id"].clone();
            return anthropic_message(json!([{"type": "text", "text":
                json!({"chosen": [first], "reasoning": "the skill says it is priced fairly"}).to_string()}]));
        }
        anthropic_message(
            json!([{"type": "tool_use", "id": format!("toolu_{}", msgs.len()),
            "name": "black_scholes", "input": {"spot": 42, "strike": 40, "rate": 0.1,
            "dividend_yield": 0, "vol": 0.2, "time": 0.5, "right": "call"}}]),
        )
    }
}

/// A day with a fake Anthropic commander answering as `model`: the server (for its requests),
/// the data dir and the run's output.
async fn tool_day(
    model: ToolUser,
    rounds: u32,
    token_budget: u64,
) -> (MockServer, tempfile::TempDir, std::process::Output) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(model)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (uri, d) = (server.uri(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        anthropic_commander_day(&uri, &d, rounds, token_budget)
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (server, dir, out)
}

#[tokio::test]
async fn an_llm_commander_calls_skills_as_tools_in_a_bounded_loop() {
    // A model that asks one skill, then chooses: trades happen and the snapshot keeps the call.
    let (server, dir, _) = tool_day(ToolUser { never_stops: false }, 3, 0).await;
    let db = db(dir.path());
    assert!(db.int("SELECT count(*) AS n FROM orders WHERE intent = 'OPEN'") >= 1);
    let reqs = server.received_requests().await.expect("recorded");
    assert!(reqs.len() >= 2 && reqs.len() % 2 == 0, "{}", reqs.len());
    assert!(reqs
        .iter()
        .all(|r| r.headers.get("x-api-key").is_some_and(|k| k == KEY)));
    assert_eq!(
        db.int("SELECT count(*) AS n FROM llm_calls WHERE instance_id = 'commander'"),
        reqs.len() as i64,
        "one llm_calls row per HTTP call"
    );
    let path = db
        .texts(
            "SELECT snapshot_path AS s FROM cycles WHERE id IN \
             (SELECT cycle_id FROM orders WHERE intent = 'OPEN') ORDER BY id LIMIT 1",
        )
        .pop()
        .expect("a snapshot of a cycle that opened");
    let snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("snapshot")).expect("json");
    let trace = &snap["commander_choice"]["tool_calls"][0];
    assert_eq!(
        trace["name"], "black_scholes",
        "{}",
        snap["commander_choice"]
    );
    assert_eq!(trace["is_error"], false);
    assert!(trace["result"]
        .as_str()
        .unwrap_or("")
        .contains("\"price\":4.759"));

    // A model that never stops calling tools: 3 rounds, then one request that forbids tools,
    // then no new orders (its answer has no choice).
    let (addict, dir2, _) = tool_day(ToolUser { never_stops: true }, 3, 0).await;
    let db2 = common::db(dir2.path());
    assert_eq!(
        db2.int("SELECT count(*) AS n FROM orders WHERE intent = 'OPEN'"),
        0
    );
    let reqs = addict.received_requests().await.expect("recorded");
    assert!(!reqs.is_empty() && reqs.len() % 4 == 0, "{}", reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        let body: serde_json::Value = r.body_json().expect("json");
        let forbidden = body.get("tool_choice") == Some(&json!({"type": "none"}));
        assert_eq!(forbidden, i % 4 == 3, "request {i}");
        assert_eq!(
            body["messages"].as_array().map(Vec::len),
            Some(1 + 2 * (i % 4))
        );
    }

    // The swarm's token budget covers the commander, and it is a hard cap: each call's worst
    // case (input bound + max_tokens) is reserved before it is sent, so what is billed never
    // passes the budget, and the calls stop once the next worst case does not fit.
    let budget = 30_000;
    let (frugal, dir3, out) = tool_day(ToolUser { never_stops: false }, 3, budget).await;
    let sent = frugal.received_requests().await.map_or(0, |r| r.len());
    let db3 = common::db(dir3.path());
    let billed =
        db3.int("SELECT coalesce(sum(input_tokens + output_tokens), 0) AS n FROM llm_calls");
    assert!(sent >= 2, "the first choice fits: {sent} requests");
    assert!(billed <= budget as i64, "billed {billed} > budget {budget}");
    assert_eq!(
        billed,
        960 * sent as i64,
        "every request is billed 960 tokens"
    );
    assert!(db3.int("SELECT count(DISTINCT cycle_id) AS n FROM orders WHERE intent = 'OPEN'") >= 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("LLM budget spent: no new orders"));
}

/// A swarm-only day of `agents` vol_sniper instances against `server`, with `budget` lines
/// replacing the defaults; returns the output and the data dir.
async fn swarm_day(
    server: &MockServer,
    agents: usize,
    budget: &[(&str, &str)],
    cycles: u32,
) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let inst = dir.path().join("instances");
    std::fs::create_dir_all(&inst).expect("mkdir");
    for i in 0..agents {
        instance(&inst, &format!("agent_{i:02}"));
    }
    let provider = format!(
        "[llm.providers.fake]\nkind = \"openai\"\nmodel = \"fake-model\"\nbase_url = \"{}/v1\"\nmax_concurrency = 50\ninput_cost_per_mtok = 3.0\noutput_cost_per_mtok = 15.0\n\n[swarm]\nprovider = \"fake\"",
        server.uri()
    );
    let mut pairs = vec![
        ("[swarm]\nprovider = \"rules\"", provider.as_str()),
        ("enabled = true", "enabled = false"),
        ("max_concurrent = 16", "max_concurrent = 50"),
    ];
    pairs.extend_from_slice(budget);
    let cfg = write_config(dir.path(), &pairs);
    let text = std::fs::read_to_string(&cfg).expect("read");
    let repo_instances = repo()
        .join("swarm_intelligence/active_instances")
        .display()
        .to_string();
    std::fs::write(
        &cfg,
        text.replace(&repo_instances, &inst.display().to_string()),
    )
    .expect("write");
    let cycles = cycles.to_string();
    let out = tokio::task::spawn_blocking(move || {
        alphahive(&["--config", cfg.to_str().expect("utf8"), "--cycles", &cycles])
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, dir)
}

fn billed(input: u64, output: u64) -> ResponseTemplate {
    let answer = json!({"target": "NVDA", "signal": "NO_TRADE", "confidence": 0.0, "params": {"legs": []}, "reasoning": "quiet"}).to_string();
    ResponseTemplate::new(200)
        .set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": input, "completion_tokens": output}
        }))
        .set_delay(Duration::from_millis(50))
}

#[tokio::test]
async fn item7_fifty_concurrent_agents_cannot_bill_past_the_token_budget() {
    let server = MockServer::start().await;
    // 4,000 + 800 = 4,800 tokens a call: 50 agents would bill 240,000.
    Mock::given(method("POST"))
        .respond_with(billed(4_000, 800))
        .mount(&server)
        .await;
    let (out, dir) = swarm_day(
        &server,
        50,
        &[(
            "budget_tokens_per_run = 0",
            "budget_tokens_per_run = 200000",
        )],
        1,
    )
    .await;
    let db = db(dir.path());
    let sent = server.received_requests().await.map_or(0, |r| r.len()) as i64;
    let billed =
        db.int("SELECT coalesce(sum(input_tokens + output_tokens), 0) AS n FROM llm_calls");
    println!("item7: 50 agents, budget 200000 tokens: {sent} calls sent, {billed} tokens billed");
    assert!(
        billed <= 200_000,
        "billed {billed} tokens past the 200,000 budget"
    );
    assert_eq!(billed, sent * 4_800);
    assert!((20..50).contains(&sent), "{sent} calls");
    assert_eq!(
        db.int("SELECT count(*) AS n FROM signals WHERE reason = 'BUDGET_EXHAUSTED'"),
        50 - sent
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("LLM budget spent"));
}

#[tokio::test]
async fn item7_an_absurd_token_count_spends_the_budget_instead_of_bypassing_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(billed(u64::MAX, 10))
        .mount(&server)
        .await;
    let (_, dir) = swarm_day(
        &server,
        1,
        &[(
            "budget_tokens_per_day = 0",
            "budget_tokens_per_day = 1000000",
        )],
        3,
    )
    .await;
    let db = db(dir.path());
    assert_eq!(
        db.int("SELECT max(input_tokens) AS n FROM llm_calls"),
        i64::from(i32::MAX),
        "the count saturates at what a row holds"
    );
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 1);
    let statuses =
        db.texts("SELECT status || ':' || coalesce(reason, '') AS s FROM signals ORDER BY id");
    assert_eq!(
        statuses,
        [
            "ok:",
            "abstain:BUDGET_EXHAUSTED",
            "abstain:BUDGET_EXHAUSTED"
        ]
    );
}

#[tokio::test]
async fn item9_big_answers_are_capped_in_the_store_and_refused_over_the_body_cap() {
    // 900 KB of reasoning: under the 1 MiB body cap, over the 64 KiB stored-text cap.
    let server = MockServer::start().await;
    let big = json!({"target": "NVDA", "signal": "NO_TRADE", "confidence": 0.0,
        "params": {"legs": []}, "reasoning": "z".repeat(900_000)})
    .to_string();
    Mock::given(method("POST"))
        .respond_with(completion(&big))
        .mount(&server)
        .await;
    let (_, dir) = swarm_day(&server, 1, &[], 1).await;
    let db = db(dir.path());
    assert_eq!(db.texts("SELECT status AS s FROM signals"), ["ok"]);
    let stored = db.int("SELECT length(raw) AS n FROM signals");
    assert!(stored < 64 * 1024 + 200, "signals.raw is {stored} bytes");
    assert_eq!(
        db.int("SELECT count(*) AS n FROM llm_cache"),
        0,
        "not cached"
    );
    let path = db
        .texts("SELECT snapshot_path AS s FROM cycles")
        .pop()
        .expect("snapshot");
    let snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(
        snap["agents"][0]["raw"].as_str().map(str::len),
        Some(big.len())
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("item9: 900 KB answer -> signals.raw {stored} bytes, snapshot {size} bytes");

    // 5 MB: over the body cap, refused without being buffered; nothing of it is stored.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(completion(&"y".repeat(5 * 1024 * 1024)))
        .mount(&server)
        .await;
    let (_, dir) = swarm_day(&server, 1, &[], 1).await;
    let db = common::db(dir.path());
    assert_eq!(
        db.texts("SELECT status || ':' || coalesce(reason, '') AS s FROM signals"),
        ["error:LLM_ERROR"]
    );
    let path = db
        .texts("SELECT snapshot_path AS s FROM cycles")
        .pop()
        .expect("snapshot");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("item9: 5 MB answer -> snapshot {size} bytes");
    assert!(size < 1024 * 1024, "snapshot {size} bytes");
}
