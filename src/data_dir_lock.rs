//! One runtime per data_dir: `run` (and `migrate`) hold an exclusive OS lock (flock) on
//! `<data_dir>/alphahive.lock` for their whole life. The file records the holder (its
//! [`ProcessIdentity`] and since when), so a refused start can say who holds it. The lock goes
//! with the process, however it ends; the file stays and is rewritten by the next holder.

use crate::process_identity::ProcessIdentity;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data_dir.
pub const LOCK_FILE: &str = "alphahive.lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("data_dir {data_dir} is in use by alphahive {holder}")]
    InUse {
        /// The data_dir.
        data_dir: PathBuf,
        /// Who holds it, as its lock file says.
        holder: String,
    },
    /// The directory or file could not be created, opened or written.
    #[error("runtime.data_dir: cannot lock {path}: {message}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// What the lock file records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    #[serde(flatten)]
    identity: ProcessIdentity,
    since: String,
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl DataDirLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn holder_text(contents: &str) -> String {
    match serde_json::from_str::<Holder>(contents.trim()) {
        Ok(h) => format!("pid {} since {}", h.identity.pid, h.since),
        Err(_) => "(holder not recorded yet)".to_string(),
    }
}

/// Takes the lock on `<data_dir>/alphahive.lock` without waiting, creating the directory if
/// needed. A held lock is [`LockError::InUse`] and nothing is written.
pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
    let path = data_dir.join(LOCK_FILE);
    let io = |e: &dyn std::fmt::Display| LockError::Io {
        path: path.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(data_dir).map_err(|e| io(&e))?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io(&e))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut contents = String::new();
            let _ = file.read_to_string(&mut contents);
            return Err(LockError::InUse {
                data_dir: data_dir.to_path_buf(),
                holder: holder_text(&contents),
            });
        }
        Err((_, e)) => return Err(io(&e)),
    };
    let holder = Holder {
        identity: ProcessIdentity::current().map_err(|e| io(&e))?,
        since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let text = serde_json::to_string(&holder).map_err(|e| io(&e))?;
    lock.set_len(0).map_err(|e| io(&e))?;
    lock.rewind().map_err(|e| io(&e))?;
    lock.write_all(format!("{text}\n").as_bytes())
        .and_then(|_| lock.sync_data())
        .map_err(|e| io(&e))?;
    Ok(DataDirLock { _lock: lock, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item3_a_second_lock_on_a_data_dir_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let held = acquire(&data).expect("first lock");
        let err = acquire(&data).expect_err("second lock refused");
        let msg = err.to_string();
        let me = std::process::id();
        assert!(
            msg.starts_with(&format!(
                "data_dir {} is in use by alphahive pid {me} since ",
                data.display()
            )),
            "{msg}"
        );
        drop(held);
        let again = acquire(&data).expect("free once released");
        assert!(again.path().ends_with(LOCK_FILE));
    }
}
