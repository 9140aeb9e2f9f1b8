//! Issue 9 item 12: the trading state is the strictest of a set of holds, each cleared only
//! by its own event; every writer goes through one transition; the running gate follows every
//! change; `report` lists the holds.

mod common;

use alphahive::actors::messages::GetRiskStatus;
use alphahive::app::runtime;
use alphahive::config;
use alphahive::risk::{HoldCause, HoldEvent, TradingState};
use common::*;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const OPENS: &str = "SELECT count(*) AS n FROM orders WHERE intent = 'OPEN' AND status = 'FILLED'";

#[test]
fn item12_the_running_gate_follows_a_hold_another_writer_places_and_clears() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config::load(&write_config(
        dir.path(),
        &[("enabled = true", "enabled = false")],
    ))
    .expect("config");
    let sys = actix::System::new();
    sys.block_on(async {
        let mut rt = runtime::start(&cfg).await.expect("start");
        let stop = Arc::new(AtomicBool::new(false));
        runtime::drive(&cfg, &mut rt, Some(20), Arc::clone(&stop))
            .await
            .expect("drive");
        let opened = db(dir.path()).int(OPENS);
        assert!(opened > 0, "the first 20 cycles open positions");

        // The kill switch's halt, written to the store by another writer while this runtime
        // runs (the same call `kill-switch` and the watchdog make).
        rt.store
            .call(|c| alphahive::safety::halt(c, "KILL_SWITCH", "kill-switch", "drill"))
            .await
            .expect("halt");
        runtime::drive(&cfg, &mut rt, Some(20), Arc::clone(&stop))
            .await
            .expect("drive");
        let status = rt.risk.send(GetRiskStatus).await.expect("status");
        assert_eq!(status.trading_state, TradingState::Halted);
        let causes: Vec<HoldCause> = status.holds.iter().map(|h| h.cause).collect();
        assert_eq!(causes, vec![HoldCause::KillSwitch]);
        assert_eq!(
            db(dir.path()).int(OPENS),
            opened,
            "nothing opens while the stored kill switch holds"
        );

        // reset-breaker's event, again from outside: the gate trades again without a restart.
        rt.store
            .call(|c| {
                alphahive::store::holds::record(
                    c,
                    &HoldEvent::ResetBreaker {
                        reason: "drill over".into(),
                    },
                    "operator",
                )
                .map(|_| ())
            })
            .await
            .expect("reset");
        runtime::drive(&cfg, &mut rt, Some(58), Arc::clone(&stop))
            .await
            .expect("drive");
        let status = rt.risk.send(GetRiskStatus).await.expect("status");
        assert_eq!(status.trading_state, TradingState::Active);
        assert!(status.holds.is_empty());
        assert!(
            db(dir.path()).int(OPENS) > opened,
            "positions open again after the reset"
        );
    });
}

fn report_json(cfg: &str) -> serde_json::Value {
    let out = alphahive(&["--config", cfg, "report", "--json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("report json")
}

fn holds_of(r: &serde_json::Value) -> Vec<(String, String, String)> {
    r["holds"]
        .as_array()
        .expect("holds list")
        .iter()
        .map(|h| {
            (
                h["cause"].as_str().unwrap_or_default().to_string(),
                h["level"].as_str().unwrap_or_default().to_string(),
                h["clears_on"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn hold(cause: &str, level: &str, clears_on: &str) -> (String, String, String) {
    (cause.into(), level.into(), clears_on.into())
}

#[test]
fn item12_report_lists_every_hold_and_each_clears_only_on_its_own_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &[
            ("enabled = true", "enabled = false"),
            ("consecutive_loss_limit = 5 ", "consecutive_loss_limit = 1 "),
        ],
    );
    let cfg = cfg.to_str().expect("path");
    // Two and a half sessions: the first losing close holds new risk back.
    assert!(alphahive(&["--config", cfg, "--cycles", "200"])
        .status
        .success());
    let r = report_json(cfg);
    assert_eq!(r["trading_state"], "REDUCING");
    assert_eq!(
        holds_of(&r),
        vec![hold("CONSECUTIVE_LOSSES", "REDUCING", "RESET_BREAKER")]
    );
    assert_eq!(r["holds"][0]["detail"], "streak=1 limit=1");

    // A second cause is kept beside the first, and the strictest sets the state.
    let out = alphahive(&["--config", cfg, "kill-switch", "--reason", "drill"]);
    assert!(out.status.success(), "{out:?}");
    let last = db(dir.path()).texts("SELECT max(market_ts) AS s FROM cycles")[0].clone();
    // A day's loss hold from the last session (as the gate places it).
    db(dir.path()).exec(&format!(
        "INSERT INTO holds (cause, level, since, clears_on, detail, placed_by, created_at) VALUES \
         ('DAILY_LOSS_LIMIT', 'REDUCING', '{last}', 'NEXT_SESSION', 'day_pnl=-1200.00 limit=1000.00', 'RiskGate', '{last}')"
    ));
    let r = report_json(cfg);
    assert_eq!(r["trading_state"], "HALTED");
    assert_eq!(
        holds_of(&r),
        vec![
            hold("DAILY_LOSS_LIMIT", "REDUCING", "NEXT_SESSION"),
            hold("CONSECUTIVE_LOSSES", "REDUCING", "RESET_BREAKER"),
            hold("KILL_SWITCH", "HALTED", "RESET_BREAKER"),
        ]
    );

    // reset-breaker clears its own two and says what still holds.
    let out = alphahive(&["--config", cfg, "reset-breaker", "--reason", "reviewed"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("cleared CONSECUTIVE_LOSSES, KILL_SWITCH; trading REDUCING (still held: DAILY_LOSS_LIMIT"),
        "{said}"
    );
    let r = report_json(cfg);
    assert_eq!(r["trading_state"], "REDUCING");
    assert_eq!(
        holds_of(&r),
        vec![hold("DAILY_LOSS_LIMIT", "REDUCING", "NEXT_SESSION")]
    );

    // The next session clears the day's loss.
    assert!(alphahive(&["--config", cfg, "--cycles", "60"])
        .status
        .success());
    let r = report_json(cfg);
    assert!(holds_of(&r).is_empty(), "{}", r["holds"]);
    assert_eq!(r["trading_state"], "ACTIVE");
    let cleared = db(dir.path()).texts(
        "SELECT detail AS s FROM safety_events WHERE event_type = 'HOLD_CLEARED' AND detail LIKE 'cause=DAILY_LOSS_LIMIT%'",
    );
    assert_eq!(cleared.len(), 1);
    assert!(
        cleared[0].contains("by=\"new trading day"),
        "{}",
        cleared[0]
    );
}
