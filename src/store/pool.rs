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

/// Opens an existing database read-only (it is never created): `busy_timeout` and
/// `query_only`, no journal-mode change.
pub fn connect_read_only(path: &Path) -> Result<SqliteConnection, StoreError> {
    let open = |message: String| StoreError::Open {
        path: path.to_path_buf(),
        message,
    };
    // A URI filename: `?`, `#` and `%` in the path are escaped.
    let escaped = path
        .to_string_lossy()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    let url = format!("file:{escaped}?mode=ro");
    let mut conn = SqliteConnection::establish(&url).map_err(|e| open(e.to_string()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
        .map_err(|e| open(e.to_string()))?;
    Ok(conn)
}

/// The embedded migrations the database has not applied (their versions), read without
/// writing anything.
pub fn pending_migrations(conn: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    use diesel::migration::MigrationSource;
    use diesel::sql_types::{BigInt, Text};
    use diesel::sqlite::Sqlite;
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let table: N = diesel::sql_query(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'",
    )
    .get_result(conn)?;
    let applied: Vec<String> = if table.n == 0 {
        Vec::new()
    } else {
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<V>(conn)?
            .into_iter()
            .map(|v| v.version)
            .collect()
    };
    let known = MigrationSource::<Sqlite>::migrations(&MIGRATIONS)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(known
        .iter()
        .map(|m| m.name().version().to_string())
        .filter(|v| !applied.contains(v))
        .collect())
}
