//! The supervised actors: Commander, SwarmPool, RiskGate, Broker, Recorder, Monitor.

pub mod broker;
pub mod commander;
pub mod messages;
pub mod metrics;
pub mod monitor;
pub mod recorder;
pub mod risk_gate;
pub mod supervision;
pub mod swarm_pool;
#[cfg(feature = "test-faults")]
pub mod test_faults;
