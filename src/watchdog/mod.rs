//! The external watchdog (DESIGN §6): the heartbeat protocol, the runtime's link to it, the
//! watchdog process's loop, and the peer check on its socket.

pub mod conn;
pub mod link;
pub mod peer;
pub mod protocol;
pub mod server;
pub mod spawn;
