//! Command-line parsing and the commands.

use crate::config::{self, Config};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// AlphaHive: LLM-driven options paper trading behind a deterministic risk gate.
#[derive(Debug, Parser)]
#[command(name = "alphahive", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, default_value = "config.toml")]
    pub config: PathBuf,
    /// Run this many cycles instead of `runtime.max_cycles` (0, like `max_cycles = 0`, runs
    /// until stopped).
    #[arg(long, global = true)]
    pub cycles: Option<u64>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The command (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trade: run cycles until max_cycles, Ctrl-C or SIGTERM.
    Run,
    /// Validate the config, templates (rendered with sample data) and instances.
    Check,
    /// Summarise the store.
    Report {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run an options skill with JSON arguments, or list the skills.
    Skill {
        /// Skill name.
        name: Option<String>,
        /// Arguments as a JSON object.
        #[arg(long)]
        args: Option<String>,
        /// List every skill with its input schema.
        #[arg(long)]
        list: bool,
    },
    /// Re-run a recorded cycle from its snapshot.
    Replay {
        /// The cycle id.
        #[arg(long)]
        cycle: i32,
    },
    /// The external watchdog process.
    Watchdog,
    /// Halt and flatten now, whether or not the runtime is up.
    KillSwitch {
        /// Why.
        #[arg(long, default_value = "manual kill switch")]
        reason: String,
    },
    /// Write a consistent copy of the store to FILE (safe while the runtime runs).
    Backup {
        /// The copy to write; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
    /// Create the store or apply its pending migrations (under the data_dir lock).
    Migrate,
    /// Clear a persisted breaker so the runtime may trade again.
    ResetBreaker {
        /// Why it is safe to trade again.
        #[arg(long)]
        reason: String,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs the parsed command; returns the exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command.as_ref().unwrap_or(&Command::Run) {
        Command::Skill { name, args, list } => skill(name.as_deref(), args.as_deref(), *list),
        Command::Run => {
            let cfg = config::load(&cli.config)?;
            init_logging(cli.log_format);
            run(cfg, cli.config.clone(), cli.cycles, cli.log_format)
        }
        Command::Check => {
            let cfg = config::load(&cli.config)?;
            check(&cfg, &cli.config)
        }
        Command::Report { json } => {
            let cfg = config::load(&cli.config)?;
            crate::app::report::print(&cfg, *json)
        }
        Command::Replay { cycle } => {
            let cfg = config::load(&cli.config)?;
            crate::app::replay::print(&cfg, *cycle)
        }
        Command::Backup { to } => {
            let cfg = config::load(&cli.config)?;
            let db = cfg.runtime.data_dir.join("trades.db");
            crate::store::backup(&db, to)?;
            crate::say!("backup of {} written to {}", db.display(), to.display());
            Ok(0)
        }
        Command::Watchdog => {
            let cfg = config::load(&cli.config)?;
            init_logging(cli.log_format);
            crate::watchdog::server::run(&cfg)
        }
        Command::KillSwitch { reason } => {
            let cfg = config::load(&cli.config)?;
            init_logging(cli.log_format);
            crate::safety::kill_switch(&cfg, reason)
        }
        Command::Migrate => {
            let cfg = config::load(&cli.config)?;
            migrate(&cfg)
        }
        Command::ResetBreaker { reason } => {
            let cfg = config::load(&cli.config)?;
            init_logging(cli.log_format);
            crate::safety::reset_breaker(&cfg, reason)
        }
    }
}

fn skill(name: Option<&str>, args: Option<&str>, list: bool) -> anyhow::Result<i32> {
    if list || name.is_none() {
        crate::say!(
            "{}",
            serde_json::to_string_pretty(&crate::skills::registry::list())?
        );
        return Ok(0);
    }
    let name = name.unwrap_or_default();
    let args: serde_json::Value =
        serde_json::from_str(args.unwrap_or("{}")).context("--args: expected a JSON object")?;
    let out = crate::skills::registry::call(name, &args)
        .map_err(|e| anyhow::anyhow!("skill {name}: {e}"))?;
    crate::say!("{}", serde_json::to_string(&out)?);
    Ok(0)
}

fn run(
    cfg: Config,
    config_path: PathBuf,
    cycles: Option<u64>,
    format: LogFormat,
) -> anyhow::Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    let system = actix::System::new();
    let result = system.block_on(async {
        let stop2 = Arc::clone(&stop);
        actix_rt::spawn(async move {
            wait_for_signal().await;
            tracing::warn!(target: "alphahive::runtime", "signal received: finishing the cycle in flight");
            stop2.store(true, Ordering::SeqCst);
        });
        crate::app::runtime::run(&cfg, Some(&config_path), cycles, Arc::clone(&stop)).await
    });
    let summary = result?;
    match format {
        LogFormat::Json => crate::say!(
            "{}",
            serde_json::to_string(&serde_json::json!({"summary": summary}))?
        ),
        LogFormat::Text => crate::say!("summary: {summary}"),
    }
    Ok(0)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn migrate(cfg: &Config) -> anyhow::Result<i32> {
    let dir = &cfg.runtime.data_dir;
    let _lock = crate::data_dir_lock::acquire(dir)?;
    let db = dir.join("trades.db");
    let mut conn = crate::store::pool::connect(&db)?;
    let n = crate::store::pool::run_migrations(&mut conn)?;
    crate::say!(
        "migrated: {n} migration(s) applied; store {} is up to date",
        db.display()
    );
    Ok(0)
}

/// The store's state for `check`: read-only, never created.
fn check_store(cfg: &Config) -> anyhow::Result<String> {
    match crate::store::Store::open_read_only(&cfg.runtime.data_dir) {
        Ok(_) => Ok(format!(
            "store {} up to date",
            cfg.runtime.data_dir.join("trades.db").display()
        )),
        Err(crate::store::StoreError::Missing(path)) => Ok(format!(
            "no store yet at {} (`run` or `migrate` creates it)",
            path.display()
        )),
        Err(e) => Err(e.into()),
    }
}

fn check(cfg: &Config, config_path: &std::path::Path) -> anyhow::Result<i32> {
    // The validation `run` starts with: what one refuses, the other refuses alike.
    let valid = crate::validate::validate(cfg, config_path)?;
    let (templates, instances) = (&valid.templates, &valid.instances);
    let store = check_store(cfg)?;
    crate::say!(
        "ok: config valid; {} template(s), {} instance(s) render with sample data; {store}",
        templates.len(),
        instances.len()
    );
    Ok(0)
}
