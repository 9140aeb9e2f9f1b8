//! The strategy templates: every shipped template is wired to its rules evaluator, and 20
//! simulated days with the shipped config trade all three strategies with a ledger that
//! reconciles to the cent.

mod common;

use alphahive::domain::Structure;
use alphahive::llm::rules;
use alphahive::swarm::instance::{load_instances, validate_instances, Instance};
use alphahive::swarm::render::{render, sample_snapshot};
use alphahive::swarm::signal::{classify_structure, parse_answer};
use alphahive::swarm::template::{load_templates, Template};
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

/// 20 simulated sessions (78 cycles each) with the shipped config and seed 42.
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

    // Exits happened by rule.
    assert!(
        db.int(
            "SELECT count(*) AS n FROM orders WHERE status = 'FILLED' \
             AND intent IN ('TAKE_PROFIT', 'STOP_LOSS', 'TIME_EXIT')"
        ) >= 1,
        "no rule-based exit in 20 days"
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
