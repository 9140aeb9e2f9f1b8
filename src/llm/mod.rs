//! Agents that answer rendered prompts.
//!
//! [`rules`] is the deterministic baseline: it answers with the same JSON text an LLM would,
//! so its answers go through the same [`crate::swarm::signal::parse_answer`] validation.

pub mod anthropic;
pub mod budget;
pub mod client;
pub mod openai;
pub mod resilience;
pub mod rules;
