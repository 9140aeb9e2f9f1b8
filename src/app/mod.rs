//! The application: the command line, the wiring and run loop of a runtime, and the commands
//! that read the store (`report`, `replay`). The only place, with `actors/`, that knows the
//! actors.

pub mod cli;
pub mod replay;
pub mod report;
pub mod runtime;
