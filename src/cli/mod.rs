//! The command line, one face of Steward (the window is the other): the clap tree, `Context` from the
//! global flags, exit codes, JSON printing, and one file per area (registry, profile, ops, fairness,
//! serving, report). No subcommand opens the window through the function main.rs passes in; every window
//! action has a subcommand twin calling the same core code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Context, DEFAULT_TIMEOUT, Selection};
use crate::connect::RegistryError;

pub mod audit;
pub mod fairness;
pub mod monitoring;
pub mod ops;
pub mod profile;
pub mod registry;
pub mod report;
pub mod serving;
pub mod shell;

/// Exit codes (also in the README).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
}

#[derive(Parser, Debug)]
#[command(name = "steward", version, about = "A console for model operations: registries, endpoints, fairness, audited promotion.", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Keep config, data and cache under DIR (default: $STEWARD_HOME, else the platform folders).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Registry for this run: http(s)://... (MLflow) or local:PATH (embedded registry).
    #[arg(long, global = true, value_name = "URI")]
    pub registry: Option<String>,
    /// Use this connection profile (default: the active one).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Refuse every mutation (promote, rollback, ...) for this run; also set per profile.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Promotion gates from this TOML file (default: the profile's `policy`, else the home's gates.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Seconds to wait for an outside system before giving up.
    #[arg(long, global = true, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT.as_secs_f64())]
    pub timeout: f64,
    /// Also print Steward's log events (debug and above) on stderr; the log file is `steward paths`'s
    /// `log` (its level: RUST_LOG, default info).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Panic on purpose after starting, to test crash reports.
    #[arg(long, global = true, hide = true)]
    pub panic_for_test: bool,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List registered models with their latest version and aliases.
    Models {
        #[arg(long)]
        json: bool,
    },
    /// List a model's versions with aliases, metrics, params and tags.
    Versions {
        model: String,
        #[arg(long)]
        json: bool,
    },
    /// Write to the embedded local registry.
    #[command(subcommand)]
    Registry(registry::RegistryCmd),
    /// Create the sample workspace (income-classifier on UCI Adult) in the local registry.
    Sample,
    /// Manage connection profiles (no secrets are stored).
    #[command(subcommand)]
    Profile(profile::ProfileCmd),
    /// Show where Steward keeps its config, data and cache.
    Paths,
    /// Point an alias (default: champion) at VERSION, with a reason; recorded in the audit log.
    Promote(ops::PromoteArgs),
    /// Evaluate the promotion gates for moving MODEL@ALIAS to VERSION, without acting (exit 0 pass,
    /// 3 fail, 8 inconclusive).
    Gates(ops::GatesArgs),
    /// Move an alias back (default: to the version before its last move), with a reason.
    Rollback(ops::RollbackArgs),
    /// The timeline of alias moves of MODEL: who, when, from -> to, why, outcome.
    History(ops::HistoryArgs),
    /// Verify the audit log's hash chain; resolve interrupted operations.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Fairness metrics by group from a prediction log (CSV, JSON Lines, Parquet).
    Fairness(fairness::FairnessArgs),
    /// Drift of a log's columns against a reference (PSI, KS, Wasserstein, chi-square, Jensen-Shannon);
    /// exit 3 when a column has drifted.
    Drift(monitoring::DriftArgs),
    /// Model quality per version and window (accuracy, precision, recall, F1, ROC AUC with 95%
    /// intervals), with labels in the log or in a label log joined by request id.
    Quality(monitoring::QualityArgs),
    /// Probe serving endpoints (Open Inference Protocol v2): up/degraded/down, served versions.
    Endpoints(serving::EndpointsArgs),
    /// Query Prometheus with PromQL, at one time or over a range.
    Metrics(serving::MetricsArgs),
    /// Send inference requests at a bounded rate to a loopback endpoint.
    Load(serving::LoadArgs),
    /// Evaluate alert rules (the window's) against Prometheus now; exit 3 when one fires.
    Alerts(serving::AlertsArgs),
    /// Audit report of MODEL over a period as PDF, HTML, JSON or CSV; `report verify FILE.json` checks one.
    Report(report::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(shell::CompletionsArgs),
    /// Write the man pages into DIR (used by scripts/package).
    #[command(hide = true)]
    ManPages(shell::ManPagesArgs),
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        Failure { code: e.exit_code(), message: e.to_string() }
    }
}

impl From<crate::ops::OpError> for Failure {
    fn from(e: crate::ops::OpError) -> Self {
        Failure { code: e.exit_code(), message: e.to_string() }
    }
}

impl From<crate::audit::AuditError> for Failure {
    fn from(e: crate::audit::AuditError) -> Self {
        Failure { code: exit::ERROR, message: e.to_string() }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { message, code: exit::ERROR }
    }
}

pub(crate) type Outcome = Result<(), Failure>;

/// Resolves the global flags into the core's [`Context`] (a bad `--timeout` is a usage error).
pub fn context(g: &Global) -> Result<Context, Failure> {
    if !(g.timeout.is_finite() && g.timeout > 0.0) {
        return Err(Failure { message: "--timeout must be a positive number of seconds".into(), code: exit::USAGE });
    }
    let selection = Selection {
        home: g.home.clone(),
        registry: g.registry.clone(),
        profile: g.profile.clone(),
        read_only: g.read_only,
        timeout: Duration::from_secs_f64(g.timeout),
        policy: g.policy.clone(),
    };
    Ok(Context::resolve(&selection)?)
}

/// The command line's entry point. `window` opens the window (no subcommand); main.rs passes the `ui`
/// face's, so the command line knows no window code.
pub fn main(window: fn(Context) -> Result<(), String>) -> ExitCode {
    let parsed = Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    start_diagnostics(&cli.global);
    // The subcommand's name only (its arguments may hold anything the user typed).
    let name = matches.subcommand_name().unwrap_or("window").to_string();
    tracing::info!(target: "steward::cli", command = %name, version = env!("CARGO_PKG_VERSION"), "start");
    let started = std::time::Instant::now();
    let result = match cli.command {
        None => context(&cli.global).and_then(|ctx| window(ctx).map_err(Failure::from)),
        Some(cmd) => run_command(&cli.global, cmd),
    };
    let ms = started.elapsed().as_millis() as u64;
    if let Some(notice) = crate::connect::credentials::take_notice() {
        eprintln!("steward: note: {notice}");
    }
    for w in crate::audit::take_warnings() {
        eprintln!("steward: warning: {w}");
    }
    match result {
        Ok(()) => {
            tracing::info!(target: "steward::cli", command = %name, ms, code = exit::OK, "done");
            ExitCode::from(exit::OK)
        }
        Err(f) => {
            tracing::warn!(target: "steward::cli", command = %name, ms, code = f.code, error = %f.message, "failed");
            eprintln!("steward: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// The log file and the crash-report hook, in the home's state folder (diag); a home that cannot be
/// found or written leaves the run without a log file, said once.
fn start_diagnostics(g: &Global) {
    let dir = crate::config::Home::resolve(g.home.as_deref()).ok().map(|h| h.state);
    if let Some(warning) = crate::diag::log::init(dir.as_deref(), g.verbose) {
        eprintln!("steward: warning: {warning}");
    }
    if let Some(d) = dir {
        crate::diag::crash::install(d);
    }
    if g.panic_for_test {
        panic!("forced panic for testing (--panic-for-test)");
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::from(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Outcome {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::from(e.to_string()))?;
    println!("{text}");
    Ok(())
}

pub fn run_command(g: &Global, cmd: Cmd) -> Outcome {
    match cmd {
        Cmd::Fairness(args) => fairness::run(g, &args),
        Cmd::Drift(a) => monitoring::drift_command(g, &a),
        Cmd::Quality(a) => monitoring::quality_command(g, &a),
        Cmd::Endpoints(a) => serving::endpoints(g, &a),
        Cmd::Metrics(a) => serving::metrics(g, &a),
        Cmd::Load(a) => serving::load(g, &a),
        Cmd::Alerts(a) => serving::alerts(g, &a),
        Cmd::Report(a) => report::run(g, a),
        Cmd::Paths => profile::paths(g),
        Cmd::Profile(p) => profile::run(g, p),
        Cmd::Promote(a) => ops::promote(g, a),
        Cmd::Gates(a) => ops::gates(g, a),
        Cmd::Rollback(a) => ops::rollback(g, a),
        Cmd::History(a) => ops::history(g, a),
        Cmd::Audit(a) => audit::audit(g, a),
        Cmd::Models { json } => registry::models(g, json),
        Cmd::Versions { model, json } => registry::versions(g, &model, json),
        Cmd::Registry(c) => registry::run(g, c),
        Cmd::Sample => registry::sample(g),
        Cmd::Completions(a) => shell::completions(&a),
        Cmd::ManPages(a) => shell::man_pages(&a),
    }
}

