//! Fault hooks for tests, compiled only with the `test-faults` cargo feature: a plain
//! `cargo build --release` has none of them, so nothing outside a test can wedge or panic an
//! actor of a product binary.
//!
//! - [`InjectPanic`]: any actor panics in its handler (supervision tests);
//! - [`InjectWedge`]: the risk gate blocks its thread (a wedged actor in a live process);
//! - `ALPHAHIVE_TEST_FAULT=wedge:RiskGate:N` ([`TestFault`]): the run loop wedges the risk
//!   gate after cycle N, for process tests of the watchdog.

use crate::actors::broker::Broker;
use crate::actors::commander::Commander;
use crate::actors::monitor::Monitor;
use crate::actors::recorder::Recorder;
use crate::actors::risk_gate::RiskGate;
use crate::actors::supervision::Handle;
use crate::actors::swarm_pool::SwarmPool;
use actix::prelude::*;

/// Test hook: the actor panics in its handler.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// Test hook: the actor blocks its thread (a wedged actor in a live process).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct InjectWedge;

macro_rules! panics {
    ($($actor:ident),+) => {
        $(
            impl Handler<InjectPanic> for $actor {
                type Result = ();
                fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
                    panic!(concat!("injected fault: ", stringify!($actor)));
                }
            }
            crate::enveloped!($actor: InjectPanic);
        )+
    };
}

panics!(Recorder, Monitor, Commander, Broker, SwarmPool, RiskGate);

impl Handler<InjectWedge> for RiskGate {
    type Result = ();
    fn handle(&mut self, _: InjectWedge, _: &mut Context<Self>) {
        tracing::warn!(target: "alphahive::risk", "injected fault: RiskGate wedges its thread");
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

crate::enveloped!(RiskGate: InjectWedge);

/// `ALPHAHIVE_TEST_FAULT=wedge:RiskGate:N` wedges the risk gate's thread after cycle N, so a
/// live process has an unresponsive actor.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFault {
    /// The actor to wedge (only `RiskGate` is supported).
    pub actor: String,
    /// After this cycle.
    pub after_cycle: u32,
}

impl TestFault {
    /// Reads the hook from the environment; malformed values are ignored with a warning.
    pub fn from_env() -> Option<TestFault> {
        let v = std::env::var("ALPHAHIVE_TEST_FAULT").ok()?;
        let parsed = Self::parse(&v);
        if parsed.is_none() {
            tracing::warn!(target: "alphahive::runtime", value = %v, "ALPHAHIVE_TEST_FAULT ignored: expected wedge:RiskGate:N");
        }
        parsed
    }

    /// Parses `wedge:RiskGate:N`.
    pub fn parse(v: &str) -> Option<TestFault> {
        match v.split(':').collect::<Vec<_>>().as_slice() {
            ["wedge", actor @ "RiskGate", n] => n.parse().ok().map(|after_cycle| TestFault {
                actor: actor.to_string(),
                after_cycle,
            }),
            _ => None,
        }
    }

    /// Called by the run loop after cycle `seq`: wedges the risk gate when it is time.
    pub fn after_cycle(&self, seq: u32, risk: &Handle<RiskGate>) {
        if self.after_cycle == seq {
            tracing::warn!(target: "alphahive::runtime", actor = %self.actor, "test fault: wedging an actor");
            let risk = risk.clone();
            actix_rt::spawn(async move {
                let _ = risk.send(InjectWedge).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fault_spec_parses_only_the_supported_form() {
        assert_eq!(
            TestFault::parse("wedge:RiskGate:40"),
            Some(TestFault {
                actor: "RiskGate".into(),
                after_cycle: 40
            })
        );
        assert_eq!(TestFault::parse("wedge:Broker:40"), None);
        assert_eq!(TestFault::parse("wedge:RiskGate:x"), None);
    }
}
