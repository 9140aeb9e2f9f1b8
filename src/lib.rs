//! AlphaHive: an LLM-driven options paper-trading runtime whose deterministic risk gate
//! decides what reaches the broker, with every decision recorded for audit and replay.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod actors;
pub mod app;
pub mod bounded_set;
pub mod broker;
pub mod clock;
pub mod config;
pub mod console;
pub mod data_dir_lock;
pub mod domain;
pub mod llm;
pub mod market;
pub mod money;
pub mod orders;
pub mod policy;
pub mod pricing;
pub mod process_identity;
pub mod risk;
pub mod safety;
pub mod skills;
pub mod store;
pub mod swarm;
pub mod validate;
pub mod watchdog;
