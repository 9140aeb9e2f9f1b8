//! The Commander's policy on hand-built market data: sizing against the exposure room and the
//! exit rules, table-driven.

use super::*;
use crate::swarm::test_support::{self as ts, instance};
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn params() -> PolicyParams {
    PolicyParams::from_config(&crate::config::Config::default())
}

/// Per-trade caps wide enough that Kelly sizes several lots.
fn wide() -> PolicyParams {
    PolicyParams {
        max_risk_per_trade: d("5000"),
        max_capital_per_trade: d("20000"),
        ..params()
    }
}

/// NVDA at 100 with realized vol under implied, so a short put spread has an edge.
fn market() -> MarketSnapshot {
    let mut u = ts::underlying("NVDA", 100.0);
    u.realized_vol = 0.25;
    ts::snapshot(vec![u])
}

fn vol_sniper_outcome(m: &MarketSnapshot) -> AgentOutcome {
    let inst = instance("tech", &["NVDA"], 80.0, 0.30);
    let raw = crate::llm::rules::evaluate("vol_sniper", &inst, m).expect("evaluates");
    let signal =
        crate::swarm::signal::parse_answer(&raw, &inst, "vol_sniper", m).expect("valid signal");
    AgentOutcome {
        instance_id: inst.id.clone(),
        template: "vol_sniper".into(),
        provider: "rules".into(),
        status: "ok".into(),
        signal: Some(signal),
        reason: None,
        detail: None,
        raw: Some(raw),
        prompt_sha256: None,
        latency_ms: 0.0,
    }
}

fn position(underlying: &str, max_risk: &str) -> PositionView {
    PositionView {
        position_id: format!("P-{underlying}-{max_risk}"),
        instance_id: "x".into(),
        underlying: underlying.into(),
        strategy: Structure::ShortPutSpread,
        expiry: ts::in_days(30),
        legs: vec![],
        quantity: 1,
        entry_price: d("1"),
        mark: d("1"),
        max_risk: d(max_risk),
        max_profit: d("100"),
        unrealized_pnl: Decimal::ZERO,
        opened_at: ts::ts() - chrono::Duration::days(3),
        leg_marks: None,
    }
}

fn account(equity: &str, positions: Vec<PositionView>) -> AccountView {
    AccountView {
        market_ts: ts::ts(),
        cash: d(equity),
        positions_value: Decimal::ZERO,
        equity: d(equity),
        day_start_equity: d(equity),
        high_water_mark: d(equity),
        day_pnl: Decimal::ZERO,
        positions,
    }
}

/// The entry `plan` proposes (its quantity and max loss), or the reason of its skip.
fn planned_entry(m: &MarketSnapshot, acct: &AccountView) -> Result<(u32, Decimal), String> {
    let (_, decisions) = plan(7, m, acct, &[vol_sniper_outcome(m)], &wide());
    let d = decisions
        .into_iter()
        .find(|d| d.target == "NVDA")
        .expect("a decision on NVDA");
    match d.order {
        Some(o) => {
            let risk = order_risk(&o.legs, o.limit_price, o.quantity).expect("risk");
            Ok((o.quantity, risk.max_loss))
        }
        None => Err(d.reasoning),
    }
}

#[test]
fn entries_are_sized_into_the_room_left_under_the_exposure_limits() {
    let m = market();
    // Unconstrained size first: the per-trade limits bind.
    let (free_qty, free_risk) =
        planned_entry(&m, &account("100000", vec![])).expect("an entry with no positions");
    assert!(free_qty >= 2, "need room to shrink: {free_qty}");
    assert!(free_risk <= wide().max_risk_per_trade);
    let unit = free_risk / Decimal::from(free_qty);

    struct TestCase {
        name: &'static str,
        positions: Vec<PositionView>,
        /// Some(lots) expected, or None for a skip.
        expected: Option<u32>,
    }
    let full = wide().max_total_exposure;
    let cases = [
        TestCase {
            name: "room for one lot under max_total_exposure",
            positions: vec![position(
                "AMD",
                &(full - unit - d("0.01")).round_dp(2).to_string(),
            )],
            expected: Some(1),
        },
        TestCase {
            name: "total exposure full",
            positions: vec![position("AMD", &full.to_string())],
            expected: None,
        },
        TestCase {
            name: "NVDA at its 30% concentration of 100k equity",
            positions: vec![position("NVDA", "30000")],
            expected: None,
        },
        TestCase {
            name: "plenty of room",
            positions: vec![position("AMD", "1000")],
            expected: Some(free_qty),
        },
    ];
    for case in cases {
        let got = planned_entry(&m, &account("100000", case.positions));
        match (case.expected, got) {
            (Some(qty), Ok((got, _))) => assert_eq!(got, qty, "{}", case.name),
            (None, Err(why)) => assert!(
                why.contains("no room under the exposure limits"),
                "{}: {why}",
                case.name
            ),
            (want, got) => panic!("{}: expected {want:?}, got {got:?}", case.name),
        }
    }
}

#[test]
fn exit_rules_fire_in_order() {
    struct TestCase {
        name: &'static str,
        entry: &'static str,
        mark: &'static str,
        dte: i64,
        expected: Option<Intent>,
    }
    // A 1-lot credit spread with max profit $100 (1.00/share) and a debit one: entry -2.00.
    let cases = [
        TestCase {
            name: "credit at half its max profit",
            entry: "1.00",
            mark: "0.50",
            dte: 20,
            expected: Some(Intent::TakeProfit),
        },
        TestCase {
            name: "credit short of the target",
            entry: "1.00",
            mark: "0.60",
            dte: 20,
            expected: None,
        },
        TestCase {
            name: "credit lost 2x",
            entry: "1.00",
            mark: "3.00",
            dte: 20,
            expected: Some(Intent::StopLoss),
        },
        TestCase {
            name: "debit lost half",
            entry: "-2.00",
            mark: "-1.00",
            dte: 20,
            expected: Some(Intent::StopLoss),
        },
        TestCase {
            name: "5 days left beats a profit",
            entry: "1.00",
            mark: "0.10",
            dte: 5,
            expected: Some(Intent::TimeExit),
        },
        TestCase {
            name: "6 days left, nothing to do",
            entry: "1.00",
            mark: "0.90",
            dte: 6,
            expected: None,
        },
    ];
    let m = market();
    for case in cases {
        let mut pos = position("NVDA", "400");
        pos.entry_price = d(case.entry);
        pos.mark = d(case.mark);
        pos.expiry = ts::in_days(case.dte);
        let got = exit_rule(&pos, &m, &params()).map(|(intent, _)| intent);
        assert_eq!(got, case.expected, "{}", case.name);
    }
}

#[test]
fn the_trading_state_holds_back_what_the_gate_would_deny() {
    use crate::risk::TradingState;
    let m = market();
    let mut losing = position("NVDA", "400");
    losing.mark = d("3.00"); // a credit of 1.00 lost 2x: a stop
    let acct = account("100000", vec![losing]);
    let (_, decisions) = plan(7, &m, &acct, &[vol_sniper_outcome(&m)], &wide());
    let kinds = |ds: &[Decision]| -> Vec<String> { ds.iter().map(|d| d.kind.clone()).collect() };
    assert_eq!(
        kinds(&decisions),
        ["EXIT", "ENTRY"],
        "an exit and an entry to hold"
    );

    struct TestCase {
        state: TradingState,
        expected: [&'static str; 2],
    }
    for case in [
        TestCase {
            state: TradingState::Active,
            expected: ["EXIT", "ENTRY"],
        },
        TestCase {
            state: TradingState::Reducing,
            expected: ["EXIT", "SKIP"],
        },
        TestCase {
            state: TradingState::Halted,
            expected: ["SKIP", "SKIP"],
        },
    ] {
        let held = hold_for_state(decisions.clone(), case.state, "TEST: why");
        assert_eq!(kinds(&held), case.expected, "{}", case.state);
        for d in held.iter().filter(|d| d.kind == "SKIP") {
            assert!(d.order.is_none());
            assert!(
                d.reasoning
                    .contains(&format!("held: trading {} (TEST: why)", case.state)),
                "{}",
                d.reasoning
            );
        }
    }
}

/// `n` copies of the vol_sniper signal on NVDA, one per instance, at `confidence`, with the
/// structure overridden.
fn votes(m: &MarketSnapshot, structure: Structure, confidences: &[f64]) -> Vec<AgentOutcome> {
    confidences
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut o = vol_sniper_outcome(m);
            o.instance_id = format!("{structure}-{i}");
            if let Some(s) = o.signal.as_mut() {
                s.instance_id = o.instance_id.clone();
                s.signal = structure;
                s.confidence = *c;
            }
            o
        })
        .collect()
}

#[test]
fn item10_a_weak_dissent_does_not_veto_a_unanimous_consensus() {
    let m = market();
    let mut outcomes = votes(&m, Structure::ShortPutSpread, &[0.9, 0.9, 0.9, 0.9]);
    outcomes.extend(votes(&m, Structure::ShortCallSpread, &[0.01]));
    let (kept, skipped) = aggregate(&outcomes, &params());
    assert_eq!(kept.len(), 1, "{skipped:?}");
    assert_eq!(kept[0].structure, Structure::ShortPutSpread);
    assert_eq!(kept[0].votes, 4);
    // 3.6 bullish less 0.01 bearish: each bull keeps 3.59 / 3.6 of its confidence.
    assert!(
        (kept[0].confidence - 0.8975).abs() < 1e-9,
        "{}",
        kept[0].confidence
    );
    assert!(
        (kept[0].consensus - 3.59 / 5.0).abs() < 1e-9,
        "{}",
        kept[0].consensus
    );
    assert!(skipped
        .iter()
        .any(|d| d.reasoning.starts_with("SHORT_CALL_SPREAD: outweighed")));

    // Close convictions still cancel: 0.8 against 0.75 nets 0.05, under min_confidence.
    let mut close = votes(&m, Structure::ShortPutSpread, &[0.8]);
    close.extend(votes(&m, Structure::ShortCallSpread, &[0.75]));
    let (kept, skipped) = aggregate(&close, &params());
    assert!(kept.is_empty(), "{kept:?}");
    assert!(
        skipped
            .iter()
            .any(|d| d.reasoning.contains("confidence 0.05")),
        "{skipped:?}"
    );

    // Equal convictions cancel fully.
    let mut tie = votes(&m, Structure::ShortPutSpread, &[0.8]);
    tie.extend(votes(&m, Structure::ShortCallSpread, &[0.8]));
    let (kept, skipped) = aggregate(&tie, &params());
    assert!(kept.is_empty());
    assert_eq!(
        skipped
            .iter()
            .filter(|d| d.reasoning.contains("opposing views cancel out"))
            .count(),
        2
    );
}
