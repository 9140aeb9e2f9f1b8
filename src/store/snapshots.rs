//! Cycle snapshots: `<data_dir>/snapshots/<date>/<cycle>.json`, written atomically.

use super::StoreError;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The path of a cycle's snapshot.
pub fn snapshot_path(data_dir: &Path, date: chrono::NaiveDate, cycle_id: i32) -> PathBuf {
    data_dir
        .join("snapshots")
        .join(date.format("%Y-%m-%d").to_string())
        .join(format!("{cycle_id}.json"))
}

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync (fdatasync), rename. A
/// reader sees the old file or the whole new one, never a part. The directory entry is as
/// durable as the store's own commits (`synchronous = NORMAL`): it survives a process crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().ok_or_else(|| {
        StoreError::Corrupt(format!("snapshot path {} has no parent", path.display()))
    })?;
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
    }
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Deletes the temp files (`.<cycle>.json.tmp`) a crash mid-write left under
/// `<data_dir>/snapshots/<date>/`; returns how many. Run at start, before any snapshot is
/// written, so no live write is touched.
pub fn remove_stale_temp_files(data_dir: &Path) -> Result<usize, StoreError> {
    let root = data_dir.join("snapshots");
    if !root.is_dir() {
        return Ok(0);
    }
    let mut removed = 0;
    for day in fs::read_dir(&root)? {
        let day = day?.path();
        if !day.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&day)? {
            let path = entry?.path();
            let stale = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"));
            if stale && path.is_file() {
                fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Reads a snapshot and checks it against its recorded sha256.
pub fn read_verified(path: &Path, sha256: &str) -> Result<Vec<u8>, StoreError> {
    let bytes = fs::read(path)?;
    let actual = sha256_hex(&bytes);
    if actual != sha256 {
        return Err(StoreError::Corrupt(format!(
            "snapshot {} has sha256 {actual}, the store recorded {sha256}",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_round_trips_and_detects_tampering() {
        let dir = tempfile::tempdir().expect("tempdir");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let path = snapshot_path(dir.path(), date, 7);
        write_atomic(&path, b"{\"a\":1}").expect("write");
        let sha = sha256_hex(b"{\"a\":1}");
        assert_eq!(read_verified(&path, &sha).expect("read"), b"{\"a\":1}");
        fs::write(&path, b"{\"a\":2}").expect("tamper");
        assert!(matches!(
            read_verified(&path, &sha),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn item9_stale_temp_snapshots_are_deleted_at_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let path = snapshot_path(dir.path(), date, 7);
        write_atomic(&path, b"{}").expect("write");
        let day = path.parent().expect("day dir");
        fs::write(day.join(".8.json.tmp"), vec![b'x'; 4096]).expect("stale");
        fs::write(day.join(".9.json.tmp"), b"partial").expect("stale");
        assert_eq!(remove_stale_temp_files(dir.path()).expect("clean"), 2);
        let left: Vec<_> = fs::read_dir(day)
            .expect("read")
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("7.json")]);
        assert_eq!(remove_stale_temp_files(dir.path()).expect("again"), 0);
    }
}
