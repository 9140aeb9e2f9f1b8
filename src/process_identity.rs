//! Who a process is, beyond its pid: a pid is reused after a process exits, so AlphaHive records
//! pid + start time (field 22 of `/proc/PID/stat`, clock ticks since boot) + executable, and
//! verifies all three before it signals anything.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A process as recorded: pid, start time and executable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    /// The pid.
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_ticks: u64,
    /// The executable (`/proc/PID/exe`).
    pub exe: PathBuf,
}

/// Why a process's identity cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// No such process (or a zombie: it has exited).
    #[error("no live process with pid {0}")]
    Gone(i32),
    /// `/proc` would not say (another user's process, or a malformed stat line).
    #[error("cannot read the identity of pid {pid}: {detail}")]
    Unreadable {
        /// The pid.
        pid: i32,
        /// What failed.
        detail: String,
    },
    /// A recorded identity that does not parse (e.g. a bare pid from an older build).
    #[error("unreadable process record {0:?}")]
    BadRecord(String),
}

/// What became of a recorded process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The same process is running.
    Running,
    /// It has exited.
    Gone,
    /// Its pid now belongs to another process (or cannot be verified): never signal it.
    Stale(String),
}

/// `(state, start_ticks)` from a `/proc/PID/stat` line. The command name is in parentheses
/// and may hold spaces or parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command (field 2): field 3 is the state, field 22 the start time.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

/// The executable path without the ` (deleted)` the kernel appends once the file is replaced
/// (a rebuilt binary is still the same running process).
fn normalized(exe: &Path) -> PathBuf {
    let s = exe.to_string_lossy();
    PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s).to_string())
}

impl ProcessIdentity {
    /// This process.
    pub fn current() -> Result<ProcessIdentity, IdentityError> {
        Self::of(std::process::id() as i32)
    }

    /// The process running as `pid` now.
    pub fn of(pid: i32) -> Result<ProcessIdentity, IdentityError> {
        if pid <= 0 {
            return Err(IdentityError::Gone(pid));
        }
        let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IdentityError::Gone(pid))
            }
            Err(e) => {
                return Err(IdentityError::Unreadable {
                    pid,
                    detail: e.to_string(),
                })
            }
        };
        let (state, start_ticks) = parse_stat(&stat).ok_or_else(|| IdentityError::Unreadable {
            pid,
            detail: "malformed /proc stat line".into(),
        })?;
        if state == 'Z' || state == 'X' {
            return Err(IdentityError::Gone(pid));
        }
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| {
            IdentityError::Unreadable {
                pid,
                detail: format!("/proc/{pid}/exe: {e}"),
            }
        })?;
        Ok(ProcessIdentity {
            pid,
            start_ticks,
            exe: normalized(&exe),
        })
    }

    /// The record stored for it (one line of JSON).
    pub fn record(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a stored record.
    pub fn parse(record: &str) -> Result<ProcessIdentity, IdentityError> {
        serde_json::from_str(record).map_err(|_| IdentityError::BadRecord(record.to_string()))
    }

    /// Whether this very process is still running: pid, start time and executable all match.
    pub fn liveness(&self) -> Liveness {
        match Self::of(self.pid) {
            Ok(now) if now.start_ticks == self.start_ticks && now.exe == normalized(&self.exe) => {
                Liveness::Running
            }
            Ok(now) => Liveness::Stale(format!(
                "pid {} is now another process (start {} exe {}; recorded start {} exe {})",
                self.pid,
                now.start_ticks,
                now.exe.display(),
                self.start_ticks,
                self.exe.display()
            )),
            Err(IdentityError::Gone(_)) => Liveness::Gone,
            Err(e) => Liveness::Stale(e.to_string()),
        }
    }
}

impl std::fmt::Display for ProcessIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (start {}, {})",
            self.pid,
            self.start_ticks,
            self.exe.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let mut line = String::from("4242 (a) b (c)) S");
        for i in 4..=21 {
            line.push_str(&format!(" {i}"));
        }
        line.push_str(" 987654 23 24");
        assert_eq!(parse_stat(&line), Some(('S', 987654)));
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
    }

    #[test]
    fn our_identity_is_running_and_a_changed_one_is_stale() {
        let me = ProcessIdentity::current().expect("own identity");
        assert_eq!(me.pid, std::process::id() as i32);
        assert_eq!(me.liveness(), Liveness::Running);
        assert_eq!(ProcessIdentity::parse(&me.record()), Ok(me.clone()));
        let earlier = ProcessIdentity {
            start_ticks: me.start_ticks.wrapping_sub(1),
            ..me.clone()
        };
        assert!(matches!(earlier.liveness(), Liveness::Stale(_)));
        let other_exe = ProcessIdentity {
            exe: PathBuf::from("/bin/true"),
            ..me.clone()
        };
        assert!(matches!(other_exe.liveness(), Liveness::Stale(_)));
        assert!(
            ProcessIdentity::parse("4242").is_err(),
            "a bare pid is not an identity"
        );
    }

    #[test]
    fn an_exited_process_is_gone() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id() as i32;
        let _ = child.wait();
        let id = ProcessIdentity {
            pid,
            start_ticks: 1,
            exe: PathBuf::from("/bin/true"),
        };
        // The pid may in principle be reused at once; then it is another process.
        assert_ne!(id.liveness(), Liveness::Running);
    }
}
