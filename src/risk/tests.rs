//! Table-driven tests of the risk engine: one case per check, each expecting its code.

use super::gate::{order_risk, RiskEngine, RiskLimits, RiskState};
use super::holds::{Hold, HoldCause, HoldEvent};
use super::TradingState;

/// Places a hold of `cause` on a test state.
fn hold(state: &mut super::RiskState, cause: HoldCause) {
    super::holds::apply(
        &mut state.holds,
        &HoldEvent::Place(Hold::new(cause, "test", ts())),
    );
}
use crate::account::{AccountView, PositionView};
use crate::domain::{Action, Intent, Leg, OptionContract, Right, Structure};
use crate::market::MarketSnapshot;
use crate::orders::OrderRequest;
use crate::swarm::test_support::{in_days, snapshot, ts, underlying};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn leg(action: Action, strike: f64, days: i64) -> Leg {
    Leg {
        action,
        contract: OptionContract {
            symbol: "NVDA".into(),
            expiry: in_days(days),
            strike,
            right: Right::Put,
        },
        quantity: 1,
        price: 0.0,
    }
}

struct Setup {
    limits: RiskLimits,
    state: RiskState,
    order: OrderRequest,
    account: AccountView,
    market: MarketSnapshot,
    already_recorded: bool,
}

fn setup() -> Setup {
    let market = snapshot(vec![underlying("NVDA", 100.0)]);
    let legs = vec![leg(Action::Sell, 90.0, 37), leg(Action::Buy, 85.0, 37)];
    let mark = super::gate::net_mark(&legs, &market)
        .expect("mark")
        .round_dp(2);
    Setup {
        limits: RiskLimits {
            max_risk_per_trade: d("500"),
            max_capital_per_trade: d("2000"),
            daily_loss_limit: d("1000"),
            max_concentration: d("0.30"),
            max_total_exposure: d("10000"),
            max_daily_trades: 10,
            consecutive_loss_limit: 5,
            min_option_price: d("0.05"),
            max_spread_width: d("10"),
            price_collar_pct: d("0.25"),
            fill: Default::default(),
            max_orders_per_minute: 30,
            max_quantity: 1000,
            symbols: ["NVDA".to_string()].into_iter().collect(),
        },
        state: RiskState::default(),
        order: OrderRequest {
            client_order_id: "T-1".into(),
            cycle_id: Some(1),
            instance_id: "test".into(),
            underlying: "NVDA".into(),
            strategy: Structure::ShortPutSpread,
            intent: Intent::Open,
            position_id: None,
            legs,
            quantity: 1,
            limit_price: mark,
            reasoning: "test".into(),
            market_ts: ts(),
        },
        account: AccountView {
            market_ts: ts(),
            cash: d("100000"),
            positions_value: Decimal::ZERO,
            equity: d("100000"),
            day_start_equity: d("100000"),
            high_water_mark: d("100000"),
            day_pnl: Decimal::ZERO,
            positions: vec![],
        },
        market,
        already_recorded: false,
    }
}

fn position(max_risk: &str) -> PositionView {
    PositionView {
        position_id: "P-1".into(),
        instance_id: "test".into(),
        underlying: "NVDA".into(),
        strategy: Structure::ShortPutSpread,
        expiry: in_days(37),
        legs: vec![leg(Action::Sell, 90.0, 37), leg(Action::Buy, 85.0, 37)],
        quantity: 1,
        entry_price: d("1.10"),
        mark: d("1.10"),
        max_risk: d(max_risk),
        max_profit: d("110"),
        unrealized_pnl: Decimal::ZERO,
        opened_at: ts(),
        leg_marks: None,
    }
}

struct TestCase {
    name: &'static str,
    tweak: fn(&mut Setup),
    expected: Result<(), &'static str>,
}

#[test]
fn every_check_denies_with_its_code() {
    let cases = [
        TestCase {
            name: "within limits",
            tweak: |_| {},
            expected: Ok(()),
        },
        TestCase {
            name: "risk",
            tweak: |s| s.order.quantity = 2,
            expected: Err("MAX_RISK_PER_TRADE"),
        },
        TestCase {
            name: "capital",
            tweak: |s| s.limits.max_capital_per_trade = d("400"),
            expected: Err("MAX_CAPITAL_PER_TRADE"),
        },
        TestCase {
            name: "halted",
            tweak: |s| hold(&mut s.state, HoldCause::KillSwitch),
            expected: Err("TRADING_HALTED"),
        },
        TestCase {
            name: "reducing",
            tweak: |s| hold(&mut s.state, HoldCause::WatchdogLost),
            expected: Err("TRADING_REDUCING"),
        },
        TestCase {
            name: "unknown symbol",
            tweak: |s| s.order.underlying = "XYZ".into(),
            expected: Err("UNKNOWN_SYMBOL"),
        },
        TestCase {
            name: "zero quantity",
            tweak: |s| s.order.quantity = 0,
            expected: Err("INVALID_QUANTITY"),
        },
        TestCase {
            name: "no legs",
            tweak: |s| s.order.legs.clear(),
            expected: Err("NO_LEGS"),
        },
        TestCase {
            name: "naked short",
            tweak: |s| {
                s.order.legs.truncate(1);
                s.order.limit_price = d("2.43");
            },
            expected: Err("STRUCTURE_MISMATCH"),
        },
        TestCase {
            name: "expired",
            tweak: |s| {
                for l in &mut s.order.legs {
                    l.contract.expiry = in_days(0);
                }
            },
            expected: Err("EXPIRY_NOT_IN_FUTURE"),
        },
        TestCase {
            name: "collar",
            tweak: |s| s.order.limit_price = d("3.00"),
            expected: Err("PRICE_COLLAR"),
        },
        TestCase {
            name: "width",
            tweak: |s| s.limits.max_spread_width = d("4"),
            expected: Err("MAX_SPREAD_WIDTH"),
        },
        TestCase {
            name: "min price",
            tweak: |s| s.limits.min_option_price = d("2.00"),
            expected: Err("MIN_OPTION_PRICE"),
        },
        TestCase {
            name: "daily loss",
            tweak: |s| s.account.day_pnl = d("-1000"),
            expected: Err("DAILY_LOSS_LIMIT"),
        },
        TestCase {
            name: "loss streak",
            // Mid-day (a day roll would already have moved to REDUCING).
            tweak: |s| {
                s.state.loss_streak = 5;
                s.state.day = Some(ts().date());
            },
            expected: Err("CONSECUTIVE_LOSSES"),
        },
        TestCase {
            name: "daily trades",
            tweak: |s| {
                s.state.trades_today = 10;
                s.state.day = Some(ts().date());
            },
            expected: Err("MAX_DAILY_TRADES"),
        },
        TestCase {
            name: "duplicate",
            tweak: |s| s.already_recorded = true,
            expected: Err("DUPLICATE_CLIENT_ORDER_ID"),
        },
        TestCase {
            // item 13: 30% of max_total_exposure (3,000), not of equity (30,000).
            name: "item13 concentration is a fraction of max_total_exposure",
            tweak: |s| s.account.positions = vec![position("2800")],
            expected: Err("MAX_CONCENTRATION"),
        },
        TestCase {
            name: "no equity",
            tweak: |s| s.account.equity = d("0"),
            expected: Err("MAX_CONCENTRATION"),
        },
        TestCase {
            name: "total exposure",
            tweak: |s| {
                let mut other = position("9800");
                other.underlying = "AMD".into();
                s.account.positions = vec![other];
            },
            expected: Err("MAX_TOTAL_EXPOSURE"),
        },
        TestCase {
            name: "rate",
            tweak: |s| s.state.recent = std::iter::repeat_n(ts(), 30).collect(),
            expected: Err("ORDER_RATE_LIMIT"),
        },
        TestCase {
            name: "no quote",
            tweak: |s| s.order.legs[1].contract.strike = 86.0,
            expected: Err("NO_MARKET_DATA"),
        },
    ];
    for c in cases {
        let mut s = setup();
        (c.tweak)(&mut s);
        let mut engine = RiskEngine::new(s.limits, s.state);
        let got = engine.check(&s.order, &s.account, &s.market, s.already_recorded);
        match (&got, c.expected) {
            (Ok(a), Ok(())) => assert!(a.risk().max_loss <= d("500"), "{}", c.name),
            (Err(r), Err(code)) => {
                assert_eq!(r.code(), code, "{}: {r}", c.name);
                assert!(
                    r.to_string().starts_with(code) && r.to_string().contains('='),
                    "{}: context {r}",
                    c.name
                );
            }
            _ => panic!("{}: got {got:?}", c.name),
        }
    }
}

#[test]
fn daily_loss_and_a_loss_streak_move_to_reducing() {
    let mut s = setup();
    s.account.day_pnl = d("-1200");
    let mut engine = RiskEngine::new(s.limits.clone(), s.state.clone());
    assert!(engine
        .check(&s.order, &s.account, &s.market, false)
        .is_err());
    assert_eq!(engine.state().trading_state(), TradingState::Reducing);
    let events = engine.take_events();
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0], HoldEvent::Place(h) if h.cause == HoldCause::DailyLossLimit && h.since == ts()),
        "{events:?}"
    );
    // A new day ends a REDUCING caused by the day's loss.
    engine.roll_day(ts().date().succ_opt().expect("date"));
    assert_eq!(engine.state().trading_state(), TradingState::Active);

    for _ in 0..5 {
        engine.record_close(d("-10"));
    }
    assert_eq!(
        engine.state().trading_state(),
        TradingState::Reducing,
        "a loss streak stops new risk but lets the exits through"
    );
    assert!(engine
        .state()
        .state_reason()
        .starts_with("CONSECUTIVE_LOSSES"));
    engine.roll_day(ts().date() + chrono::Duration::days(5));
    assert_eq!(
        engine.state().trading_state(),
        TradingState::Reducing,
        "a loss-streak REDUCING survives the day, unlike a daily-loss one"
    );
    // A streak reached while already REDUCING for the day's loss outlives that day.
    let mut s2 = setup();
    s2.account.day_pnl = d("-1000");
    let mut e2 = RiskEngine::new(s2.limits.clone(), s2.state.clone());
    assert!(e2.check(&s2.order, &s2.account, &s2.market, false).is_err());
    for _ in 0..5 {
        e2.record_close(d("-10"));
    }
    e2.roll_day(ts().date().succ_opt().expect("date"));
    assert_eq!(e2.state().trading_state(), TradingState::Reducing);
    assert!(
        e2.state().state_reason().starts_with("CONSECUTIVE_LOSSES"),
        "{}",
        e2.state().state_reason()
    );
    // Limits only tighten: a HALT is never loosened to REDUCING by another loss.
    engine.place(HoldCause::KillSwitch, "manual");
    engine.record_close(d("-10"));
    assert_eq!(engine.state().trading_state(), TradingState::Halted);
}

#[test]
fn exits_pass_while_reducing_but_not_when_halted() {
    let mut s = setup();
    s.account.positions = vec![position("390")];
    s.order.intent = Intent::TakeProfit;
    s.order.position_id = Some("P-1".into());
    s.order.legs = crate::domain::closing_legs(&s.order.legs);
    s.order.limit_price = -s.order.limit_price;
    hold(&mut s.state, HoldCause::ConsecutiveLosses);
    let mut engine = RiskEngine::new(s.limits.clone(), s.state.clone());
    assert!(engine.check(&s.order, &s.account, &s.market, false).is_ok());
    hold(&mut s.state, HoldCause::KillSwitch);
    s.order.client_order_id = "T-2".into();
    let mut engine = RiskEngine::new(s.limits, s.state);
    assert_eq!(
        engine
            .check(&s.order, &s.account, &s.market, false)
            .map(|_| ())
            .map_err(|r| r.code()),
        Err("TRADING_HALTED")
    );
}

#[test]
fn an_exit_cannot_close_more_than_the_position() {
    let mut s = setup();
    s.account.positions = vec![position("390")];
    s.order.intent = Intent::StopLoss;
    s.order.position_id = Some("P-1".into());
    s.order.quantity = 2;
    s.order.legs = crate::domain::closing_legs(&s.order.legs);
    s.order.limit_price = -s.order.limit_price;
    let mut engine = RiskEngine::new(s.limits, s.state);
    let r = engine
        .check(&s.order, &s.account, &s.market, false)
        .map(|_| ())
        .map_err(|r| r.code());
    assert_eq!(r, Err("UNKNOWN_POSITION"));
}

#[test]
fn undefined_risk_is_detected_by_payoff() {
    let naked = vec![leg(Action::Sell, 90.0, 37)];
    assert!(order_risk(&naked, d("2"), 1).is_err());
    let spread = vec![leg(Action::Sell, 90.0, 37), leg(Action::Buy, 85.0, 37)];
    let r = order_risk(&spread, d("1.15"), 1).expect("defined");
    assert_eq!(r.max_loss, d("385.00"));
    assert_eq!(r.capital, d("500.00"));
}

proptest! {
    /// No quantity, width, limit price or state gets an opening order past the per-trade,
    /// capital or exposure limits.
    #[test]
    fn approvals_never_exceed_limits(qty in 0u32..40, width in 1u32..8, limit_bp in -400i64..400, streak in 0u32..8, trades in 0u32..14, pnl in -2000i64..500) {
        let mut s = setup();
        let short = 90.0;
        s.order.legs = vec![leg(Action::Sell, short, 37), leg(Action::Buy, short - 5.0 * f64::from(width), 37)];
        s.order.quantity = qty;
        s.order.limit_price = Decimal::new(limit_bp, 2);
        s.state.loss_streak = streak;
        s.state.trades_today = trades;
        s.state.day = Some(ts().date());
        s.account.day_pnl = Decimal::from(pnl);
        let limits = s.limits.clone();
        let mut engine = RiskEngine::new(s.limits, s.state);
        match engine.check(&s.order, &s.account, &s.market, false) {
            Ok(a) => {
                prop_assert!(a.risk().max_loss <= limits.max_risk_per_trade);
                prop_assert!(a.risk().capital <= limits.max_capital_per_trade);
                prop_assert!(a.risk().width <= limits.max_spread_width);
                prop_assert!(qty > 0 && streak < limits.consecutive_loss_limit && trades < limits.max_daily_trades);
                prop_assert!(Decimal::from(pnl) > -limits.daily_loss_limit);
            }
            Err(r) => prop_assert!(!r.code().is_empty() && r.to_string().contains(r.code())),
        }
    }
}

proptest! {
    /// A whole sequence of proposals, with restarts (the engine rebuilt from the state the
    /// store would give back) in between: the day's trades, the total and per-underlying
    /// exposure and every single order stay inside the limits; every denial has its code.
    #[test]
    fn sequences_with_restarts_never_breach_limits(
        steps in proptest::collection::vec((1u32..4, 1u32..3, -30i64..30, proptest::bool::weighted(0.2)), 1..40)
    ) {
        let base = setup();
        let limits = base.limits.clone();
        let mut account = base.account.clone();
        let mut engine = RiskEngine::new(limits.clone(), RiskState::default());
        let mut approved = 0u32;
        for (i, (qty, width, nudge_cents, restart)) in steps.into_iter().enumerate() {
            if restart {
                // What `load_state` rebuilds: counters and state, not the in-process id cache.
                let s = engine.state().clone();
                let reloaded = RiskState { seen_ids: Default::default(), ..s };
                engine = RiskEngine::new(limits.clone(), reloaded);
            }
            let mut order = base.order.clone();
            order.client_order_id = format!("S-{i}");
            order.quantity = qty;
            order.legs = vec![leg(Action::Sell, 90.0, 37), leg(Action::Buy, 90.0 - 5.0 * f64::from(width), 37)];
            let mark = super::gate::net_mark(&order.legs, &base.market).expect("mark");
            order.limit_price = (mark + Decimal::new(nudge_cents, 2)).round_dp(2);
            match engine.check(&order, &account, &base.market, false) {
                Ok(a) => {
                    approved += 1;
                    prop_assert!(a.risk().max_loss <= limits.max_risk_per_trade);
                    prop_assert!(a.risk().capital <= limits.max_capital_per_trade);
                    let mut p = position("0");
                    p.position_id = order.client_order_id.clone();
                    p.max_risk = a.risk().max_loss;
                    account.positions.push(p);
                    prop_assert!(account.total_exposure() <= limits.max_total_exposure);
                    prop_assert!(account.exposure_in("NVDA") <= limits.max_total_exposure * limits.max_concentration);
                }
                Err(r) => prop_assert!(r.to_string().starts_with(r.code())),
            }
            prop_assert!(approved <= limits.max_daily_trades);
        }
    }
}
