//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The shipped config.toml with its paths pointed at `data_dir` and the repo's templates,
/// plus `replace` (pairs of text to swap), written into `dir/config.toml`.
pub fn write_config(dir: &Path, replace: &[(&str, &str)]) -> PathBuf {
    let repo = repo();
    let mut text = std::fs::read_to_string(repo.join("config.toml")).expect("read config.toml");
    let data = dir.join("data");
    let pairs = [
        (
            "data_dir = \"data_lake\"".to_string(),
            format!("data_dir = {:?}", data.display().to_string()),
        ),
        (
            "templates_dir = \"swarm_intelligence/templates\"".to_string(),
            format!(
                "templates_dir = {:?}",
                repo.join("swarm_intelligence/templates")
                    .display()
                    .to_string()
            ),
        ),
        (
            "instances_dir = \"swarm_intelligence/active_instances\"".to_string(),
            format!(
                "instances_dir = {:?}",
                repo.join("swarm_intelligence/active_instances")
                    .display()
                    .to_string()
            ),
        ),
        (
            "prompt = \"prompts/commander_system.md\"".to_string(),
            format!(
                "prompt = {:?}",
                repo.join("prompts/commander_system.md")
                    .display()
                    .to_string()
            ),
        ),
    ];
    for (from, to) in pairs.iter() {
        assert!(
            text.contains(from.as_str()),
            "config.toml no longer has {from}"
        );
        text = text.replace(from.as_str(), to);
    }
    for (from, to) in replace {
        assert!(text.contains(from), "config.toml has no {from}");
        text = text.replace(from, to);
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs the binary with arguments.
pub fn alphahive(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alphahive"))
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .expect("run alphahive")
}

/// Polls until `table` exists in the store under `dir` and `count_sql` (aliased `n`) reaches
/// `min`; panics with `what` after 60 s.
pub fn wait_until(dir: &Path, table: &str, count_sql: &str, min: i64, what: &str) {
    let db_path = dir.join("data").join("trades.db");
    let db = db(dir);
    let exists = format!("SELECT count(*) AS n FROM sqlite_master WHERE name = '{table}'");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "{what}");
        if db_path.exists() && db.int(&exists) == 1 && db.int(count_sql) >= min {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Opens the store read-only-ish for assertions.
pub fn db(dir: &Path) -> rusqlite_free::Db {
    rusqlite_free::Db(dir.join("data").join("trades.db"))
}

/// A tiny sqlite3-free query helper over Diesel.
pub mod rusqlite_free {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    use std::path::PathBuf;

    /// A database path.
    pub struct Db(pub PathBuf);

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = Text)]
        s: String,
    }

    impl Db {
        fn conn(&self) -> SqliteConnection {
            let mut c = SqliteConnection::establish(&self.0.to_string_lossy()).expect("open db");
            c.batch_execute("PRAGMA busy_timeout = 5000;")
                .expect("pragma");
            c
        }

        /// Runs statements (test set-up).
        pub fn exec(&self, sql: &str) {
            self.conn().batch_execute(sql).expect(sql);
        }

        /// A single integer (alias the column `n`).
        pub fn int(&self, sql: &str) -> i64 {
            diesel::sql_query(sql)
                .get_result::<N>(&mut self.conn())
                .expect(sql)
                .n
        }

        /// A column of text (alias the column `s`).
        pub fn texts(&self, sql: &str) -> Vec<String> {
            diesel::sql_query(sql)
                .load::<S>(&mut self.conn())
                .expect(sql)
                .into_iter()
                .map(|r| r.s)
                .collect()
        }
    }
}
