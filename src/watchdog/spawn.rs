//! Starting the watchdog from `run`: when none answers on the socket, spawn
//! `alphahive watchdog --config FILE` detached in its own process group.

use anyhow::{bail, Context};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// True when something accepts connections on the socket.
pub fn answers(socket: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}

/// Makes sure a watchdog answers on `socket`, spawning one if needed.
pub fn ensure_watchdog(config_path: &Path, socket: &Path, log_dir: &Path) -> anyhow::Result<()> {
    if answers(socket) {
        tracing::info!(target: "alphahive::watchdog", socket = %socket.display(), "a watchdog already answers");
        return Ok(());
    }
    std::fs::create_dir_all(log_dir)
        .with_context(|| format!("cannot create {}", log_dir.display()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_dir.join("watchdog.log"))
        .with_context(|| format!("cannot open {}/watchdog.log", log_dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the alphahive executable")?;
    let child = Command::new(exe)
        .arg("--config")
        .arg(config_path)
        .arg("watchdog")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot spawn the watchdog")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if answers(socket) {
            tracing::info!(target: "alphahive::watchdog", pid = child.id(), socket = %socket.display(), "watchdog started");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "watchdog.socket: the spawned watchdog (pid {}) does not answer on {}; see {}/watchdog.log",
        child.id(),
        socket.display(),
        log_dir.display()
    )
}
