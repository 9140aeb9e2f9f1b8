//! Who may talk to the watchdog: only processes of the watchdog's own uid (SO_PEERCRED).

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use std::os::fd::AsFd;

/// A refused peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The peer runs as another user.
    #[error("peer pid={pid} uid={uid} refused: only uid {own} may send heartbeats")]
    OtherUid {
        /// Peer pid.
        pid: i32,
        /// Peer uid.
        uid: u32,
        /// Our uid.
        own: u32,
    },
    /// The kernel would not say who the peer is.
    #[error("cannot read peer credentials: {0}")]
    Unknown(String),
}

/// The decision on a peer's credentials.
pub fn authorize(pid: i32, peer_uid: u32, own_uid: u32) -> Result<(), PeerError> {
    if peer_uid == own_uid {
        Ok(())
    } else {
        Err(PeerError::OtherUid {
            pid,
            uid: peer_uid,
            own: own_uid,
        })
    }
}

/// Reads the peer's credentials from a connected Unix socket and authorizes them; returns the
/// peer's pid.
pub fn check_peer<F: AsFd>(sock: &F) -> Result<i32, PeerError> {
    let creds = getsockopt(sock, PeerCredentials).map_err(|e| PeerError::Unknown(e.to_string()))?;
    authorize(creds.pid(), creds.uid(), nix::unistd::geteuid().as_raw())?;
    Ok(creds.pid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_uid_is_refused_and_the_same_uid_allowed() {
        assert_eq!(authorize(10, 1000, 1000), Ok(()));
        assert_eq!(
            authorize(10, 0, 1000),
            Err(PeerError::OtherUid {
                pid: 10,
                uid: 0,
                own: 1000
            })
        );
        assert!(authorize(10, 1001, 1000).is_err());
    }

    #[test]
    fn a_real_socket_pair_of_our_uid_is_allowed() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        assert_eq!(check_peer(&a), Ok(std::process::id() as i32));
    }
}
