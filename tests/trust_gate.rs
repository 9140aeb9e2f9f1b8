//! Issue 9, the paths around the risk gate: the emergency flatten books the last marks (item 1),
//! a limit never fills worse than its limit and every exit the policy decides fills (item 2),
//! and the trading day starts from the previous session's close (item 6). Each runs the real
//! binary on a fresh store with the shipped config.

mod common;

use alphahive::broker::paper;
use alphahive::broker::PositionView;
use alphahive::domain::Leg;
use alphahive::orders::OrderRequest;
use alphahive::store::models::dec;
use common::*;
use diesel::prelude::*;
use rust_decimal::Decimal;
use std::path::Path;

/// Runs `alphahive run --cycles N` with the watchdog off and `replace` applied to the config.
fn run(dir: &Path, cycles: u32, replace: &[(&str, &str)]) -> std::path::PathBuf {
    let mut pairs = vec![("enabled = true", "enabled = false")];
    pairs.extend_from_slice(replace);
    let cfg = write_config(dir, &pairs);
    let cycles = cycles.to_string();
    let out = alphahive(&[
        "--config",
        cfg.to_str().expect("path"),
        "run",
        "--cycles",
        &cycles,
    ]);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    cfg
}

fn conn(dir: &Path) -> SqliteConnection {
    let path = dir.join("data").join("trades.db");
    SqliteConnection::establish(&path.to_string_lossy()).expect("open store")
}

fn cash(c: &mut SqliteConnection) -> Decimal {
    use alphahive::store::schema::paper_account;
    let s: String = paper_account::table
        .find(1)
        .select(paper_account::cash)
        .first(c)
        .expect("cash");
    dec(&s).expect("decimal")
}

/// What closing every leg of `p` costs against its recorded marks, computed here from the
/// fill model's definition: commission per contract, plus per share the slippage and `fill_k`
/// of the half-spread (half_spread model, listed quotes).
fn flatten_costs(p: &PositionView, commission: Decimal, slippage: Decimal, k: Decimal) -> Decimal {
    let marks = p
        .leg_marks
        .as_ref()
        .expect("every open position has leg marks");
    assert_eq!(marks.len(), p.legs.len());
    let mut cost = Decimal::ZERO;
    for (leg, q) in p.legs.iter().zip(marks) {
        let contracts = Decimal::from(leg.quantity * p.quantity);
        let half = match (q.bid, q.ask) {
            (Some(b), Some(a)) => (a - b) / Decimal::TWO * k,
            _ => Decimal::ZERO,
        };
        // Closing a bought leg sells it (never below zero); closing a sold leg buys it.
        let per_share = match leg.action {
            alphahive::domain::Action::Buy => {
                q.mid - (q.mid - half - slippage).max(Decimal::ZERO).round_dp(4)
            }
            alphahive::domain::Action::Sell => (q.mid + half + slippage).round_dp(4) - q.mid,
        };
        cost += contracts * (commission + Decimal::ONE_HUNDRED * per_share);
    }
    cost
}

fn item1_case(fill: &[(&str, &str)], k: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = run(dir.path(), 30, fill);
    let mut c = conn(dir.path());
    let open = paper::open_positions(&mut c).expect("positions");
    assert!(
        open.len() >= 2,
        "the test needs open positions, got {}",
        open.len()
    );
    let before = cash(&mut c);
    let marked_value: Decimal = open
        .iter()
        .map(|p| -p.mark * Decimal::ONE_HUNDRED * Decimal::from(p.quantity))
        .sum();
    let equity_at_mark = before + marked_value;
    let costs: Decimal = open
        .iter()
        .map(|p| {
            flatten_costs(
                p,
                "0.65".parse().expect("d"),
                "0.01".parse().expect("d"),
                k.parse().expect("d"),
            )
        })
        .sum();
    // The positions' marks are the sums of their recorded leg mids.
    for p in &open {
        let mids: Vec<Decimal> = p
            .leg_marks
            .as_ref()
            .expect("marks")
            .iter()
            .map(|q| q.mid)
            .collect();
        assert_eq!(
            p.mark,
            alphahive::pricing::net_of(&p.legs, &mids),
            "{}",
            p.position_id
        );
    }
    drop(c);
    let out = alphahive(&[
        "--config",
        cfg.to_str().expect("path"),
        "kill-switch",
        "--reason",
        "item1 test",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = conn(dir.path());
    assert!(paper::open_positions(&mut c).expect("positions").is_empty());
    let after = cash(&mut c);
    println!(
        "item1 {fill:?}: {} positions, equity at the last mark {equity_at_mark}, costs {costs}, cash after the kill switch {after}",
        open.len()
    );
    assert_eq!(
        after,
        equity_at_mark - costs,
        "cash = equity at the last mark - costs, to the cent"
    );
}

#[test]
fn item1_kill_switch_flattens_at_the_last_marks() {
    item1_case(&[], "0");
}

#[test]
fn item1_kill_switch_flattens_at_the_last_marks_half_spread() {
    item1_case(
        &[
            ("fill_model = \"mid\"", "fill_model = \"half_spread\""),
            ("fill_k = 0.5", "fill_k = 1.0"),
        ],
        "1.0",
    );
}

#[derive(QueryableByName)]
struct OrderRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    client_order_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    intent: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    limit_price: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    max_risk: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    legs_json: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    quantity: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    deny_reason: Option<String>,
}

/// Net fill per share of an order (credit positive), from its fills.
fn fill_net(c: &mut SqliteConnection, coid: &str, quantity: i32) -> Decimal {
    use alphahive::store::schema::fills;
    let rows: Vec<(String, i32, String)> = fills::table
        .filter(fills::client_order_id.eq(coid))
        .select((fills::action, fills::quantity, fills::price))
        .load(c)
        .expect("fills");
    assert!(!rows.is_empty(), "{coid} has fills");
    rows.iter()
        .map(|(a, n, p)| {
            let sign = if a == "SELL" {
                Decimal::ONE
            } else {
                -Decimal::ONE
            };
            sign * dec(p).expect("price") * Decimal::from(*n)
        })
        .sum::<Decimal>()
        / Decimal::from(quantity)
}

fn item2_case(fill: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tmp");
    run(dir.path(), 1560, fill);
    let mut c = conn(dir.path());
    let orders: Vec<OrderRow> = diesel::sql_query(
        "SELECT client_order_id, intent, status, limit_price, max_risk, legs_json, quantity, deny_reason FROM orders WHERE instance_id <> 'paper-venue'",
    )
    .load(&mut c)
    .expect("orders");
    let mut worst_risk = Decimal::ZERO;
    let mut exits = std::collections::BTreeMap::<String, u32>::new();
    for o in &orders {
        if o.intent != "OPEN" {
            assert_eq!(
                o.status, "FILLED",
                "every exit the policy decides fills: {} {} {:?}",
                o.client_order_id, o.intent, o.deny_reason
            );
            *exits.entry(o.intent.clone()).or_default() += 1;
        }
        if o.status != "FILLED" {
            continue;
        }
        let limit = dec(&o.limit_price).expect("limit");
        let net = fill_net(&mut c, &o.client_order_id, o.quantity);
        assert!(
            net >= limit,
            "{} {} filled at {net}, worse than its limit {limit}",
            o.client_order_id,
            o.intent
        );
        if o.intent == "OPEN" {
            let legs: Vec<Leg> = serde_json::from_str(&o.legs_json).expect("legs");
            let realized = alphahive::risk::gate::order_risk(&legs, net, o.quantity as u32)
                .expect("risk")
                .max_loss;
            let approved = dec(&o.max_risk).expect("max risk");
            assert!(
                realized <= approved && approved <= Decimal::from(500),
                "{}: realized max risk {realized} > approved {approved} or the limit 500",
                o.client_order_id
            );
            worst_risk = worst_risk.max(realized);
        }
    }
    println!("item2 {fill:?}: highest realized max risk {worst_risk}, exits {exits:?}");
    for intent in ["TAKE_PROFIT", "STOP_LOSS", "TIME_EXIT"] {
        assert!(
            exits.get(intent).copied().unwrap_or(0) > 0,
            "no {intent} in 20 days: {exits:?}"
        );
    }
}

#[test]
fn item2_limits_are_never_filled_worse_over_twenty_days_mid() {
    item2_case(&[]);
}

#[test]
fn item2_limits_are_never_filled_worse_over_twenty_days_half_spread() {
    item2_case(&[
        ("fill_model = \"mid\"", "fill_model = \"half_spread\""),
        ("fill_k = 0.5", "fill_k = 1.0"),
    ]);
}

fn order(limit: &str) -> OrderRequest {
    let leg = |action, strike| Leg {
        action,
        contract: alphahive::domain::OptionContract {
            symbol: "NVDA".into(),
            expiry: chrono::NaiveDate::from_ymd_opt(2026, 6, 19).expect("date"),
            strike,
            right: alphahive::domain::Right::Put,
        },
        quantity: 1,
        price: 0.0,
    };
    OrderRequest {
        client_order_id: "T-1".into(),
        cycle_id: None,
        instance_id: "test".into(),
        underlying: "NVDA".into(),
        strategy: alphahive::domain::Structure::ShortPutSpread,
        intent: alphahive::domain::Intent::Open,
        position_id: None,
        legs: vec![
            leg(alphahive::domain::Action::Sell, 100.0),
            leg(alphahive::domain::Action::Buy, 95.0),
        ],
        quantity: 1,
        limit_price: limit.parse().expect("limit"),
        reasoning: "test".into(),
        market_ts: chrono::NaiveDate::from_ymd_opt(2026, 5, 1)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("ts"),
    }
}

#[test]
fn item2_a_limit_fills_at_its_limit_or_better_or_not_at_all() {
    use alphahive::pricing::{net_of, FillParams, LegQuote};
    let q = |bid: &str, ask: &str| LegQuote {
        contract: "X".into(),
        bid: Some(bid.parse().expect("bid")),
        ask: Some(ask.parse().expect("ask")),
        mid: (bid.parse::<Decimal>().expect("b") + ask.parse::<Decimal>().expect("a"))
            / Decimal::TWO,
    };
    // Sell the 100 put (2.00/2.20), buy the 95 (0.80/0.90): mid credit 1.25.
    let quotes = vec![q("2.00", "2.20"), q("0.80", "0.90")];
    let fill = FillParams {
        model: alphahive::config::FillModel::HalfSpread,
        fill_k: Decimal::ONE,
        slippage_per_share: "0.01".parse().expect("d"),
    };
    let d = |s: &str| s.parse::<Decimal>().expect("d");
    let o = order("1.25");
    // The model fills at 1.99 - 0.91 = 1.08: a 1.25 limit would rest.
    let model_net = d("1.08");
    // With p = 0 it does not fill (before: it filled at 1.08, under its limit).
    assert!(paper::limit_fill(&o, &quotes, &fill, 0.0).is_err());
    // With p = 1 it fills at exactly its limit.
    let at = paper::limit_fill(&o, &quotes, &fill, 1.0).expect("fills");
    assert_eq!(net_of(&o.legs, &at), d("1.25"));
    // A marketable limit (at or under the model's price) fills at the model's price.
    let o = order("1.08");
    let at = paper::limit_fill(&o, &quotes, &fill, 0.0).expect("fills");
    assert_eq!(net_of(&o.legs, &at), model_net);
    assert_eq!(at, vec![d("1.99"), d("0.91")]);
}

#[test]
fn item6_the_day_starts_from_the_previous_sessions_close() {
    let dir = tempfile::tempdir().expect("tmp");
    run(dir.path(), 156, &[]);
    let db = db(dir.path());
    let days =
        db.texts("SELECT DISTINCT trading_day AS s FROM account_snapshots ORDER BY trading_day");
    assert_eq!(days.len(), 2, "two sessions: {days:?}");
    let close = db.texts(&format!(
        "SELECT equity AS s FROM account_snapshots WHERE trading_day = '{}' ORDER BY id DESC LIMIT 1",
        days[0]
    ));
    let next: Vec<String> = db.texts(&format!(
        "SELECT day_start_equity || ' ' || equity || ' ' || day_pnl || ' ' || high_water_mark AS s FROM account_snapshots WHERE trading_day = '{}' ORDER BY id LIMIT 1",
        days[1]
    ));
    let f: Vec<Decimal> = next[0].split(' ').map(|x| dec(x).expect("d")).collect();
    let prev_close = dec(&close[0]).expect("close");
    println!(
        "item6: previous close {prev_close}, next open equity {}, day_start {}, day_pnl {}",
        f[1], f[0], f[2]
    );
    assert_ne!(
        f[1], prev_close,
        "the overnight gap is not zero, so the test can tell"
    );
    assert_eq!(
        f[0], prev_close,
        "day_start_equity is the previous session's close"
    );
    assert_eq!(f[2], f[1] - prev_close, "the gap counts in the day's P&L");
    assert_eq!(
        f[3],
        prev_close.max(f[1]),
        "the high-water mark starts at the previous close"
    );
}

fn report_json(cfg: &Path) -> serde_json::Value {
    let out = alphahive(&["--config", cfg.to_str().expect("path"), "report", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

#[test]
fn item13_report_reads_the_account_as_it_is_now() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = run(dir.path(), 30, &[]);
    let before = report_json(&cfg);
    assert!(before["open_positions"].as_i64().expect("n") > 0);
    let out = alphahive(&["--config", cfg.to_str().expect("path"), "kill-switch"]);
    assert!(out.status.success());
    let r = report_json(&cfg);
    let cash = cash(&mut conn(dir.path()));
    let d = |k: &str| dec(r[k].as_str().unwrap_or_else(|| panic!("{k} in {r}"))).expect("d");
    println!(
        "item13 report after a flatten: equity {} cash {} (paper cash {cash})",
        d("equity"),
        d("cash")
    );
    assert_eq!(r["open_positions"], 0);
    assert_eq!(d("cash"), cash);
    assert_eq!(d("equity"), cash, "no positions: equity is the cash");
    assert_eq!(d("positions_value"), Decimal::ZERO);
}

#[test]
fn item13_cycles_zero_runs_until_stopped() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), &[("enabled = true", "enabled = false")]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args([
            "--config",
            cfg.to_str().expect("path"),
            "run",
            "--cycles",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // max_cycles is 78 in the shipped config: going past it shows 0 means "until stopped".
    wait_until(
        dir.path(),
        "cycles",
        "SELECT count(*) AS n FROM cycles WHERE status = 'done'",
        100,
        "100 cycles",
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .lines()
        .find(|l| l.starts_with("summary:"))
        .expect("summary line");
    println!("item13 --cycles 0: {summary}");
    let cycles: u64 = summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cycles="))
        .and_then(|n| n.parse().ok())
        .expect("cycles=");
    assert!(cycles >= 100, "{summary}");
    assert!(
        !summary.contains("equity=0.00") && !summary.contains("state= "),
        "{summary}"
    );
}

#[test]
fn item13_a_clean_exit_leaves_trades_db_complete_and_backup_copies_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = run(dir.path(), 12, &[]);
    let data = dir.path().join("data");
    let wal = data.join("trades.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).expect("wal").len() == 0,
        "the WAL was checkpointed at exit"
    );
    // trades.db alone holds every cycle.
    let alone = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(alone.path().join("data")).expect("dir");
    std::fs::copy(data.join("trades.db"), alone.path().join("data/trades.db")).expect("copy");
    assert_eq!(db(alone.path()).int("SELECT count(*) AS n FROM cycles"), 12);
    // backup --to writes a consistent copy, and refuses to overwrite.
    let to = dir.path().join("copy.db");
    let args = [
        "--config",
        cfg.to_str().expect("path"),
        "backup",
        "--to",
        to.to_str().expect("path"),
    ];
    let out = alphahive(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = rusqlite_free::Db(to.clone());
    assert_eq!(copy.int("SELECT count(*) AS n FROM cycles"), 12);
    assert_eq!(
        copy.int("SELECT count(*) AS n FROM fills"),
        db(dir.path()).int("SELECT count(*) AS n FROM fills")
    );
    let again = alphahive(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}

#[test]
fn item13_a_closed_stdout_ends_quietly() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args(["skill", "--list"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
