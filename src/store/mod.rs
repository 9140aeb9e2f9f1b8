//! The store: SQLite through Diesel, owned by one dedicated writer thread.
//!
//! Actors never run a blocking Diesel call on their arbiter: they send a closure to the
//! writer thread through [`Store::call`] and await the answer. A panic inside a closure is
//! caught, the connection is reopened (it may have been left mid-transaction) and the writer
//! goes on serving; the caller gets [`StoreError::JobPanicked`].

pub mod holds;
pub mod models;
pub mod pool;
pub mod risk_state;
pub mod schema;
pub mod snapshots;

use diesel::sqlite::SqliteConnection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening or configuring the database failed.
    #[error("cannot open store {path}: {message}")]
    Open {
        /// The database path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A migration failed.
    #[error("store migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("store query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A value in the store could not be decoded.
    #[error("corrupt value in store: {0}")]
    Corrupt(String),
    /// An order event its status does not accept (the transition table said no).
    #[error("invalid order transition: {0}")]
    Transition(String),
    /// File I/O (snapshots) failed.
    #[error("store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The job panicked; the writer reopened its connection and goes on.
    #[error("store job panicked: {0}")]
    JobPanicked(String),
    /// The writer thread is gone (the process is shutting down).
    #[error("store writer thread is gone")]
    WriterGone,
    /// A read-only open found no store.
    #[error("runtime.data_dir: no store at {0} (is data_dir right? `alphahive migrate` or `run` creates it)")]
    Missing(PathBuf),
    /// A read-only open found a store that needs migrations.
    #[error("store {path} needs {count} migration(s): run `alphahive migrate` (or `run`) first")]
    NeedsMigration {
        /// The database path.
        path: PathBuf,
        /// How many are pending.
        count: usize,
    },
}

type Job = Box<dyn FnOnce(&mut SqliteConnection) + Send>;

/// A cloneable handle to the store's writer thread.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    db_path: PathBuf,
    data_dir: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db_path", &self.db_path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/trades.db`, runs pending migrations and starts
    /// the writer thread.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: data_dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let db_path = data_dir.join("trades.db");
        let mut conn = pool::connect(&db_path)?;
        pool::run_migrations(&mut conn)?;
        Self::serve(conn, db_path, data_dir, false)
    }

    /// Opens an existing, fully migrated `<data_dir>/trades.db` read-only, for `report`,
    /// `replay` and `check`: a missing store is [`StoreError::Missing`] (nothing is created),
    /// one that needs migrations is [`StoreError::NeedsMigration`].
    pub fn open_read_only(data_dir: &Path) -> Result<Store, StoreError> {
        let db_path = data_dir.join("trades.db");
        if !db_path.is_file() {
            return Err(StoreError::Missing(db_path));
        }
        let mut conn = pool::connect_read_only(&db_path)?;
        let pending = pool::pending_migrations(&mut conn)?;
        if !pending.is_empty() {
            return Err(StoreError::NeedsMigration {
                path: db_path,
                count: pending.len(),
            });
        }
        Self::serve(conn, db_path, data_dir, true)
    }

    fn serve(
        conn: SqliteConnection,
        db_path: PathBuf,
        data_dir: &Path,
        read_only: bool,
    ) -> Result<Store, StoreError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let path = db_path.clone();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, &path, read_only, rx))
            .map_err(|e| StoreError::Open {
                path: db_path.clone(),
                message: format!("cannot start writer thread: {e}"),
            })?;
        Ok(Store {
            tx,
            db_path,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The data directory (snapshots live below it).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `f` on the writer thread and awaits its result.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await
            .map_err(|_| StoreError::JobPanicked(panic_note()))?
    }

    /// Runs `f` on the writer thread and blocks the calling (non-async) thread for the result.
    pub fn call_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.submit(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv()
            .map_err(|_| StoreError::JobPanicked(panic_note()))?
    }

    /// Queues `f` on the writer thread without waiting; its error is logged. Jobs run in the
    /// order they are queued, so a later `call` sees its effect.
    pub fn call_detached<F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&mut SqliteConnection) -> Result<(), StoreError> + Send + 'static,
    {
        let queued = self.submit(f, move |r| {
            if let Err(e) = r {
                tracing::warn!(target: "alphahive::store", error = %e, what, "detached store job failed");
            }
        });
        if let Err(e) = queued {
            tracing::warn!(target: "alphahive::store", error = %e, what, "detached store job not queued");
        }
    }

    fn submit<R, F, D>(&self, f: F, deliver: D) -> Result<(), StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<R, StoreError> + Send + 'static,
        D: FnOnce(Result<R, StoreError>) + Send + 'static,
    {
        let job: Job = Box::new(move |conn| deliver(f(conn)));
        self.tx.send(job).map_err(|_| StoreError::WriterGone)
    }
}

fn panic_note() -> String {
    "see the log line `store job panicked` for the message".to_string()
}

fn writer_loop(mut conn: SqliteConnection, path: &Path, read_only: bool, rx: mpsc::Receiver<Job>) {
    while let Ok(job) = rx.recv() {
        let outcome = catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
        if let Err(panic) = outcome {
            let message = panic_message(&panic);
            tracing::error!(target: "alphahive::store", %message, "store job panicked; reopening the connection");
            let fresh = if read_only {
                pool::connect_read_only(path)
            } else {
                pool::connect(path)
            };
            match fresh {
                Ok(fresh) => conn = fresh,
                Err(e) => {
                    tracing::error!(target: "alphahive::store", error = %e, "cannot reopen the store; the writer stops");
                    return;
                }
            }
        }
    }
}

/// Extracts a readable message from a panic payload.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Writes a consistent copy of the store at `db` to `to` with `VACUUM INTO` (a read
/// transaction: safe while a runtime writes). `to` must not exist; `db` must.
pub fn backup(db: &Path, to: &Path) -> Result<(), StoreError> {
    use diesel::prelude::*;
    let fail = |message: String| StoreError::Open {
        path: db.to_path_buf(),
        message,
    };
    if !db.is_file() {
        return Err(fail("no store here: check runtime.data_dir".into()));
    }
    if to.exists() {
        return Err(fail(format!(
            "the backup target {} exists; choose a new file",
            to.display()
        )));
    }
    let mut conn = pool::connect(db)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(to.to_string_lossy().to_string())
        .execute(&mut conn)
        .map_err(|e| fail(format!("backup to {} failed: {e}", to.display())))?;
    Ok(())
}
