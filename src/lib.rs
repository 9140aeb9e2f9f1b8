//! AlphaHive: an LLM-driven options paper-trading runtime whose deterministic risk gate
//! decides what reaches the broker, with every decision recorded for audit and replay.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actors;
pub mod bounded_set;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod config;
pub mod data_dir_lock;
pub mod domain;
pub mod llm;
pub mod market;
pub mod orders;
pub mod policy;
pub mod pricing;
pub mod process_identity;
pub mod replay;
pub mod report;
pub mod risk;
pub mod runtime;
pub mod safety;
pub mod skills;
pub mod store;
pub mod swarm;
#[cfg(feature = "test-faults")]
pub mod test_faults;
pub mod validate;
pub mod watchdog;
