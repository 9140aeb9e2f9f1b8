//! The strategy templates: every shipped template is wired to its rules evaluator and states
//! the same expiry window, and 20 simulated days with the shipped config trade all three
//! strategies, close trades by every exit rule, and (after a restart past the open positions'
//! expiry) by expiry settlement, with a ledger that reconciles to the cent.

mod common;

use alphahive::domain::{Leg, Right, Structure};
use alphahive::llm::rules;
use alphahive::market::synthetic::SyntheticMarket;
use alphahive::market::MarketData;
use alphahive::swarm::instance::{load_instances, validate_instances, DteWindow, Instance};
use alphahive::swarm::render::{render, sample_snapshot, symbol_views};
use alphahive::swarm::signal::{classify_structure, parse_answer};
use alphahive::swarm::template::{load_templates, Template};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use common::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

fn shipped() -> (BTreeMap<String, Template>, Vec<Instance>) {
    let root = repo().join("swarm_intelligence");
    let templates = load_templates(&root.join("templates")).expect("templates");
    let instances = load_instances(&root.join("active_instances")).expect("instances");
    validate_instances(&instances, &templates).expect("instances name loaded templates");
    (templates, instances)
}

#[test]
fn every_template_matches_its_evaluator_and_parameters() {
    let (templates, instances) = shipped();
    let names: BTreeSet<&str> = templates.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["range_condor", "trend_rider", "vol_sniper"])
    );
    for t in templates.values() {
        assert_eq!(
            t.evaluator, t.name,
            "{}: evaluator named after the template",
            t.name
        );
        assert!(
            rules::EVALUATORS.contains(&t.evaluator.as_str()),
            "{}",
            t.name
        );
        assert!(!t.description.is_empty());
        for needle in [
            "{{ market_data|tojson }}",
            "{{ symbol_pool|join(', ') }}",
            "Answer with a single JSON object and nothing else",
            "NO_TRADE",
        ] {
            assert!(t.body.contains(needle), "{}: no {needle}", t.name);
        }
    }
    for inst in &instances {
        let t = &templates[&inst.template];
        for key in inst.parameters.keys() {
            assert!(
                t.body.contains(&format!("{{{{ {key}")),
                "{}: template {} has no placeholder for parameter {key}",
                inst.id,
                t.name
            );
        }
        // The prompt renders and the evaluator's answer on the same data validates.
        let snap = sample_snapshot(&inst.symbol_pool());
        let prompt = render(t, inst, &snap).expect("renders");
        assert!(
            !prompt.text.contains("{{"),
            "{}: unrendered placeholder",
            inst.id
        );
        let raw = rules::evaluate(&t.evaluator, inst, &snap).expect("evaluates");
        let signal = parse_answer(&raw, inst, &t.name, &snap)
            .unwrap_or_else(|a| panic!("{}: {a}\n{raw}", inst.id));
        assert_eq!(
            classify_structure(&signal.params.legs),
            Some(signal.signal),
            "{}",
            inst.id
        );
    }
    let by_template: BTreeSet<&str> = instances
        .iter()
        .filter(|i| i.enabled)
        .map(|i| i.template.as_str())
        .collect();
    assert_eq!(
        by_template.len(),
        3,
        "each template has an enabled instance"
    );
}

/// Every template states the instance's expiry window (its defaults when the instance sets
/// none) exactly as the evaluators apply it, shows only those expiries, and the evaluator trades
/// inside it.
#[test]
fn templates_and_evaluators_agree_on_the_expiry_window() {
    let (templates, instances) = shipped();
    let short = DteWindow {
        min_dte: 14,
        max_dte: 28,
    };
    for inst in &instances {
        let t = &templates[&inst.template];
        let mut variants = vec![(inst.clone(), inst.dte_window().expect("valid window"))];
        let mut default = inst.clone();
        default.parameters.remove("min_dte");
        default.parameters.remove("max_dte");
        variants.push((default, DteWindow::DEFAULT));
        let mut explicit = inst.clone();
        explicit.parameters.insert("min_dte".into(), 14.into());
        explicit.parameters.insert("max_dte".into(), 28.into());
        variants.push((explicit, short));
        for (inst, window) in variants {
            assert_eq!(inst.dte_window().expect("window"), window);
            let (lo, hi, target) = (window.min_dte, window.max_dte, window.target());
            let snap = sample_snapshot(&inst.symbol_pool());
            let text = render(t, &inst, &snap).expect("renders").text;
            for needle in [
                format!("Expiry window: {lo} to {hi} days to expiry, aiming at {target}"),
                format!("the expiries with {lo}–{hi} days"),
                format!("is between {lo} and {hi} and closest\n   to {target} (the earlier one on a tie)"),
            ] {
                assert!(text.contains(&needle), "{} {window:?}: no {needle:?}", inst.id);
            }
            for view in symbol_views(&snap, &inst.symbol_pool(), window).values() {
                assert!(
                    view.chain.iter().all(|e| window.contains(e.dte)),
                    "{view:?}"
                );
            }
            let raw = rules::evaluate(&t.evaluator, &inst, &snap).expect("evaluates");
            let signal = parse_answer(&raw, &inst, &t.name, &snap).expect("valid");
            for leg in &signal.params.legs {
                let dte = (leg.contract.expiry - snap.date()).num_days();
                assert!(
                    window.contains(dte),
                    "{} {window:?}: traded {dte} DTE",
                    inst.id
                );
            }
        }
    }
}

#[test]
fn evaluators_emit_only_their_structures() {
    let (templates, instances) = shipped();
    let allowed = |template: &str| -> Vec<Structure> {
        match template {
            "vol_sniper" => vec![Structure::ShortPutSpread, Structure::ShortCallSpread],
            "trend_rider" => vec![Structure::LongCallSpread, Structure::LongPutSpread],
            "range_condor" => vec![Structure::IronCondor],
            other => panic!("unexpected template {other}"),
        }
    };
    for inst in &instances {
        let t = &templates[&inst.template];
        let snap = sample_snapshot(&inst.symbol_pool());
        let raw = rules::evaluate(&t.evaluator, inst, &snap).expect("evaluates");
        let signal = parse_answer(&raw, inst, &t.name, &snap).expect("valid");
        assert!(
            signal.signal == Structure::NoTrade || allowed(&t.name).contains(&signal.signal),
            "{}: {}",
            inst.id,
            signal.signal
        );
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("not a decimal {s:?}: {e}"))
}

/// 20 simulated sessions (78 cycles each) with the shipped config and seed 42, then a restart
/// of 3 cycles after the open positions' expiry.
#[test]
fn twenty_days_trade_every_strategy_and_reconcile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &[("snapshots = true", "snapshots = false")]);
    let out = alphahive(&["--config", cfg.to_str().expect("utf8"), "--cycles", "1560"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("summary: cycles=1560 failed=0"), "{stdout}");
    let db = db(dir.path());
    assert_eq!(
        db.int("SELECT count(*) AS n FROM cycles WHERE status = 'done'"),
        1560
    );

    // The orders of the 20 days, field by field, are the golden record the architecture
    // refactor must keep (issue 10): a change here is a behaviour change to explain.
    assert_golden("twenty_days_orders.txt", &orders_fingerprint(&db));

    // Openings by all three templates.
    let (_, instances) = shipped();
    let template_of: BTreeMap<&str, &str> = instances
        .iter()
        .map(|i| (i.id.as_str(), i.template.as_str()))
        .collect();
    let opened = db.texts(
        "SELECT DISTINCT instance_id AS s FROM orders WHERE intent = 'OPEN' AND status = 'FILLED'",
    );
    let templates: BTreeSet<&str> = opened
        .iter()
        .map(|id| {
            *template_of
                .get(id.as_str())
                .unwrap_or_else(|| panic!("order from unknown instance {id}"))
        })
        .collect();
    assert_eq!(
        templates,
        BTreeSet::from(["range_condor", "trend_rider", "vol_sniper"]),
        "instances that opened trades: {opened:?}"
    );

    // Exits happened by rule, by each rule.
    assert!(
        db.int(
            "SELECT count(*) AS n FROM orders WHERE status = 'FILLED' \
             AND intent IN ('TAKE_PROFIT', 'STOP_LOSS', 'TIME_EXIT')"
        ) >= 1,
        "no rule-based exit in 20 days"
    );
    let filled = |intent: &str| {
        db.int(&format!(
            "SELECT count(*) AS n FROM orders WHERE status = 'FILLED' AND intent = '{intent}'"
        ))
    };
    for intent in ["TAKE_PROFIT", "STOP_LOSS", "TIME_EXIT"] {
        assert!(filled(intent) >= 1, "no FILLED {intent} order in 20 days");
    }

    // Stage 2. While the runtime runs, the exit rules close every position before its expiry
    // (at the latest at 5 days to expiry), so expiry settlement is for positions it could not
    // close: here, ones it was not running for. The run ended with positions open; start it
    // again with `sim_start` after their last expiry: the simulated calendar skips ahead, and
    // the first cycle settles every one of them at intrinsic against its expiry-day close.
    let open: Vec<(String, NaiveDate)> = db
        .texts("SELECT position_id || '|' || expiry AS s FROM positions WHERE closed_at IS NULL")
        .iter()
        .map(|r| {
            let (id, expiry) = r.split_once('|').expect("id|expiry");
            let expiry = NaiveDate::parse_from_str(expiry, "%Y-%m-%d").expect("expiry date");
            (id.to_string(), expiry)
        })
        .collect();
    let last_expiry = open
        .iter()
        .map(|(_, e)| *e)
        .max()
        .expect("the 20 days end with open positions");
    let restart = alphahive::clock::session_day_on_or_after(last_expiry + Duration::days(1));
    let restart_sim = format!("sim_start = \"{restart}\"");
    let cfg = write_config(
        dir.path(),
        &[
            ("snapshots = true", "snapshots = false"),
            ("sim_start = \"2026-03-23\"", &restart_sim),
        ],
    );
    let out = alphahive(&["--config", cfg.to_str().expect("utf8"), "--cycles", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "restart failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("summary: cycles=3 failed=0"), "{stdout}");
    let opening = restart.and_hms_opt(9, 30, 0).expect("open");
    assert_eq!(
        db.texts("SELECT market_ts AS s FROM cycles ORDER BY id LIMIT 1 OFFSET 1560"),
        [opening.format("%Y-%m-%d %H:%M:%S").to_string()],
        "the restart resumes at the later sim_start"
    );
    let symbols = ["NVDA", "AMD", "TSLA", "JPM", "BAC", "GS"].map(String::from);
    let mut market = SyntheticMarket::new(&symbols, 42, 0.04);
    for (id, expiry) in &open {
        assert!(*expiry < restart, "{id} expired before the restart");
        let closed = db.texts(&format!(
            "SELECT close_intent || '|' || legs_json AS s FROM positions WHERE position_id = '{id}'"
        ));
        let (intent, legs) = closed
            .first()
            .and_then(|r| r.split_once('|'))
            .unwrap_or_else(|| panic!("{id}: not closed: {closed:?}"));
        assert_eq!(intent, "EXPIRY", "{id}");
        let legs: Vec<Leg> = serde_json::from_str(legs).expect("legs_json");
        let order = db.texts(&format!(
            "SELECT status || '|' || market_ts AS s FROM orders \
             WHERE intent = 'EXPIRY' AND position_id = '{id}'"
        ));
        let [order] = order.as_slice() else {
            panic!("{id}: one EXPIRY order expected: {order:?}");
        };
        let (status, ts) = order.split_once('|').expect("status|ts");
        assert_eq!(status, "FILLED", "{id}");
        let ts = NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S").expect("market_ts");
        assert_eq!(
            ts, opening,
            "{id}: settled by the first cycle after its expiry"
        );
        // Intrinsic value against the underlying's close on the expiry date, not the spot of
        // the (much later) cycle that settled it.
        let fills = db.texts(&format!(
            "SELECT leg_index || '|' || price || '|' || commission AS s FROM fills \
             WHERE client_order_id = 'EXP-{id}' ORDER BY leg_index"
        ));
        assert_eq!(fills.len(), legs.len(), "{id}: one fill per leg");
        for fill in &fills {
            let mut parts = fill.split('|');
            let (Some(index), Some(price), Some(commission)) =
                (parts.next(), parts.next(), parts.next())
            else {
                panic!("{id}: bad fill row {fill}");
            };
            let leg = &legs[index.parse::<usize>().expect("leg index")];
            let spot = market
                .close(&leg.contract.symbol, *expiry)
                .expect("expiry close");
            let intrinsic = match leg.contract.right {
                Right::Call => (spot - leg.contract.strike).max(0.0),
                Right::Put => (leg.contract.strike - spot).max(0.0),
            };
            let price: f64 = price.parse().expect("price");
            assert!(
                (price - intrinsic).abs() < 1e-4,
                "{id}: leg {index} settled at {price}, intrinsic {intrinsic:.4} (spot {spot})"
            );
            assert_eq!(
                dec(commission),
                Decimal::ZERO,
                "{id}: no commission at expiry"
            );
        }
    }
    assert!(filled("EXPIRY") >= 1, "no FILLED EXPIRY order");
    let settled_legs = db.int("SELECT count(*) AS n FROM fills WHERE client_order_id LIKE 'EXP-%'");
    assert!(
        stdout.contains(&format!(" fills={settled_legs} ")),
        "the summary counts the settlement fills ({settled_legs}): {stdout}"
    );

    // Cash: starting cash plus every fill's cash delta, exactly.
    let account = db.texts("SELECT cash || '|' || starting_cash AS s FROM paper_account");
    let [row] = account.as_slice() else {
        panic!("one paper account row expected: {account:?}");
    };
    let (cash, starting) = row.split_once('|').expect("cash|starting_cash");
    let (cash, starting) = (dec(cash), dec(starting));
    assert_eq!(starting, Decimal::from(100_000));
    let fills: Decimal = db
        .texts("SELECT cash_delta AS s FROM fills")
        .iter()
        .map(|s| dec(s))
        .sum();
    assert_eq!(cash, starting + fills, "cash = starting cash + fills");

    // Equity: the last snapshot's cash plus the open positions at their recorded marks.
    let last = db
        .texts("SELECT cash || '|' || equity AS s FROM account_snapshots ORDER BY id DESC LIMIT 1");
    let (snap_cash, equity) = last
        .first()
        .and_then(|r| r.split_once('|'))
        .expect("an account snapshot");
    assert_eq!(dec(snap_cash), cash, "last snapshot cash");
    let open_value: Decimal = db
        .texts("SELECT mark || '|' || quantity AS s FROM positions WHERE closed_at IS NULL")
        .iter()
        .map(|r| {
            let (mark, qty) = r.split_once('|').expect("mark|quantity");
            -dec(mark) * Decimal::ONE_HUNDRED * dec(qty)
        })
        .sum();
    assert_eq!(
        dec(equity),
        cash + open_value,
        "equity = cash + open positions"
    );
}

/// One line per order: client id, cycle, instance, underlying, structure, intent, position,
/// quantity, limit, max risk, capital, verdict (status, code, reason), market time and the
/// legs, with strikes and prices as 6-place decimals whether stored as numbers or strings.
fn orders_fingerprint(db: &rusqlite_free::Db) -> String {
    let rows = db.texts(
        "SELECT client_order_id || char(9) || ifnull(cycle_id, '') || char(9) || instance_id \
         || char(9) || underlying || char(9) || strategy || char(9) || intent || char(9) \
         || ifnull(position_id, '') || char(9) || quantity || char(9) || limit_price || char(9) \
         || max_risk || char(9) || capital_required || char(9) || status || char(9) \
         || ifnull(deny_code, '') || char(9) || ifnull(deny_reason, '') || char(9) || market_ts \
         || char(9) || legs_json AS s FROM orders ORDER BY id",
    );
    let mut out = String::new();
    for row in rows {
        let (head, legs) = row.rsplit_once('\t').expect("legs column");
        let legs: serde_json::Value = serde_json::from_str(legs).expect("legs_json");
        out.push_str(head);
        out.push('\t');
        out.push_str(&normalized_legs(&legs));
        out.push('\n');
    }
    out
}

fn normalized_legs(legs: &serde_json::Value) -> String {
    let six = |v: &serde_json::Value| -> String {
        let x = match v {
            serde_json::Value::Number(n) => n.as_f64().expect("f64"),
            serde_json::Value::String(s) => s.parse::<f64>().expect("decimal string"),
            other => panic!("not a number: {other}"),
        };
        format!("{x:.6}")
    };
    let legs = legs.as_array().expect("legs array");
    legs.iter()
        .map(|l| {
            let c = &l["contract"];
            format!(
                "{} {} {} {} {} {} @{}",
                l["action"].as_str().expect("action"),
                l["quantity"],
                c["symbol"].as_str().expect("symbol"),
                c["expiry"].as_str().expect("expiry"),
                six(&c["strike"]),
                c["right"].as_str().expect("right"),
                six(&l["price"]),
            )
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// Compares `actual` with `tests/golden/NAME`; `ALPHAHIVE_BLESS=1` writes it instead. On a
/// difference the actual text is left beside it as `NAME.actual` and the first differing
/// line is shown.
fn assert_golden(name: &str, actual: &str) {
    let path = repo().join("tests").join("golden").join(name);
    if std::env::var("ALPHAHIVE_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("golden dir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (ALPHAHIVE_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let actual_path = path.with_extension("txt.actual");
        std::fs::write(&actual_path, actual).expect("write actual");
        let (n, (e, a)) = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .map(|(n, p)| (n + 1, p))
            .unwrap_or((
                expected.lines().count().min(actual.lines().count()) + 1,
                ("<end>", "<end>"),
            ));
        panic!(
            "{} differs at line {n} ({} vs {} lines)\nexpected: {e}\nactual:   {a}\nactual text in {}",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            actual_path.display()
        );
    }
}
