//! Connections: `busy_timeout` first, then WAL, on every connection; embedded migrations.

use super::StoreError;
use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::path::Path;

/// The migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Opens a connection and applies the pragmas every AlphaHive connection uses.
pub fn connect(path: &Path) -> Result<SqliteConnection, StoreError> {
    let url = path.to_string_lossy().to_string();
    let mut conn = SqliteConnection::establish(&url).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    conn.batch_execute(
        "PRAGMA busy_timeout = 5000;\
         PRAGMA journal_mode = WAL;\
         PRAGMA synchronous = NORMAL;\
         PRAGMA foreign_keys = ON;",
    )
    .map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(conn)
}

/// Runs every pending embedded migration; returns how many ran.
pub fn run_migrations(conn: &mut SqliteConnection) -> Result<usize, StoreError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| StoreError::Migration(e.to_string()))
}
