//! The command line: no subcommand opens the window; every window action has a subcommand twin that
//! calls the same code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{DEFAULT_TIMEOUT, Home, Origin, Profile, Profiles, RegistrySpec};
use crate::connect::{AnyRegistry, Registry, RegistryError};
use crate::domain::{ModelVersion, NewVersion, RegisteredModel};

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
    /// Seconds to wait for an outside system before giving up.
    #[arg(long, global = true, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT.as_secs_f64())]
    pub timeout: f64,
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
    Registry(RegistryCmd),
    /// Create the sample workspace (income-classifier on UCI Adult) in the local registry.
    Sample,
    /// Manage connection profiles (no secrets are stored).
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Show where Steward keeps its config, data and cache.
    Paths,
    /// Point an alias (default: champion) at VERSION, with a reason; recorded in the audit log.
    Promote(crate::cli_ops::PromoteArgs),
    /// Move an alias back (default: to the version before its last move), with a reason.
    Rollback(crate::cli_ops::RollbackArgs),
    /// The timeline of alias moves of MODEL: who, when, from -> to, why, outcome.
    History(crate::cli_ops::HistoryArgs),
    /// Verify the audit log's hash chain; resolve interrupted operations.
    #[command(subcommand)]
    Audit(crate::cli_ops::AuditCmd),
    /// Fairness metrics by group from a prediction log (CSV, JSON Lines, Parquet).
    Fairness(crate::fairness::cli::FairnessArgs),
    /// Probe serving endpoints (Open Inference Protocol v2): up/degraded/down, served versions.
    Endpoints(crate::serving::cli::EndpointsArgs),
    /// Query Prometheus with PromQL, at one time or over a range.
    Metrics(crate::serving::cli::MetricsArgs),
    /// Send inference requests at a bounded rate to a loopback endpoint.
    Load(crate::serving::cli::LoadArgs),
    /// Evaluate alert rules (the window's) against Prometheus now; exit 3 when one fires.
    Alerts(crate::serving::cli::AlertsArgs),
    /// Audit report of MODEL over a period as PDF, HTML, JSON or CSV; `report verify FILE.json` checks one.
    Report(crate::report::cli::ReportArgs),
}

#[derive(Subcommand, Debug)]
pub enum RegistryCmd {
    /// Register a new version of MODEL (the model is created if needed).
    Register {
        model: String,
        #[arg(long)]
        source: String,
        #[arg(long = "metric", value_name = "KEY=NUMBER")]
        metrics: Vec<String>,
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// List profiles; the active one is marked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add or replace a profile.
    Add {
        /// The registry comes from the global --registry (http(s)://... or local:PATH); without it the
        /// profile uses the home's local registry.
        name: String,
        #[arg(long = "endpoint", value_name = "URL")]
        endpoints: Vec<String>,
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
        /// Make it the default profile. (--read-only marks the profile read-only.)
        #[arg(long)]
        activate: bool,
    },
    /// Bind MODEL@ALIAS in profile NAME to a served model: promote and rollback then move the endpoint too.
    Bind {
        name: String,
        /// The registry side, MODEL@ALIAS.
        #[arg(value_name = "MODEL@ALIAS")]
        target: String,
        /// The Open Inference Protocol endpoint (e.g. MLServer's HTTP URL).
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// The model's name on the server (default: MODEL).
        #[arg(long, value_name = "NAME")]
        served: Option<String>,
        /// The served model's folder in the server's model repository (its model-settings.json is rewritten).
        #[arg(long, value_name = "DIR")]
        settings_dir: PathBuf,
        /// One version's folder, with {version}, holding that version's model-settings.json.
        #[arg(long, value_name = "TEMPLATE")]
        version_dir: String,
        /// An OIP request body file (may contain {version}) sent as a smoke inference after loading.
        #[arg(long, value_name = "FILE")]
        example: Option<String>,
        /// Seconds to wait for the loaded version to be ready (default 30).
        #[arg(long, value_name = "SECONDS")]
        ready_timeout: Option<f64>,
    },
    /// Remove the binding of MODEL@ALIAS from profile NAME.
    Unbind {
        name: String,
        #[arg(value_name = "MODEL@ALIAS")]
        target: String,
    },
    /// Make NAME the default profile.
    Use { name: String },
    Remove { name: String },
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

/// Everything a command needs to reach the selected registry.
pub struct Context {
    pub home: Home,
    pub profiles: Profiles,
    pub profile: Option<Profile>,
    pub spec: RegistrySpec,
    pub origin: Origin,
    pub timeout: Duration,
    /// Read-only mode and protected aliases, from --read-only and the profile.
    pub policy: crate::ops::Policy,
}

impl Context {
    pub fn from_global(g: &Global) -> Result<Context, Failure> {
        let home = Home::resolve(g.home.as_deref())?;
        let profiles = Profiles::load(&home)?;
        let name = g.profile.clone().or_else(|| profiles.active.clone());
        let profile = match &name {
            Some(n) => Some(profiles.get(n).cloned().ok_or_else(|| {
                Failure::from(format!("no profile named '{n}' (see `steward profile list`)"))
            })?),
            None => None,
        };
        let env_uri = std::env::var("MLFLOW_TRACKING_URI").ok();
        let (spec, origin) = RegistrySpec::select(g.registry.as_deref(), profile.as_ref(), env_uri.as_deref())?;
        if !(g.timeout.is_finite() && g.timeout > 0.0) {
            return Err(Failure { message: "--timeout must be a positive number of seconds".into(), code: exit::USAGE });
        }
        let timeout = Duration::from_secs_f64(g.timeout);
        let policy = crate::ops::Policy::from_profile(profile.as_ref(), g.read_only, timeout);
        Ok(Context { home, profiles, profile, spec, origin, timeout, policy })
    }

    pub fn open(&self) -> Result<AnyRegistry, Failure> {
        Ok(self.spec.open(&self.home, self.timeout)?)
    }

}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        None => run_window(&cli.global),
        Some(cmd) => run_command(&cli.global, cmd),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("steward: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run_window(g: &Global) -> Outcome {
    let ctx = Context::from_global(g)?;
    crate::ui::run(ctx).map_err(Failure::from)
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
        Cmd::Fairness(args) => crate::fairness::cli::run(&args),
        Cmd::Endpoints(a) => crate::serving::cli::endpoints(g, &a),
        Cmd::Metrics(a) => crate::serving::cli::metrics(g, &a),
        Cmd::Load(a) => crate::serving::cli::load(g, &a),
        Cmd::Alerts(a) => crate::serving::cli::alerts(g, &a),
        Cmd::Report(a) => crate::report::cli::run(g, a),
        Cmd::Paths => {
            let home = Home::resolve(g.home.as_deref())?;
            println!("config    {}", home.config.display());
            println!("profiles  {}", home.profiles_file().display());
            println!("data      {}", home.data.display());
            println!("registry  {}", home.registry_file().display());
            println!("cache     {}", home.cache.display());
            Ok(())
        }
        Cmd::Profile(p) => profile_command(g, p),
        Cmd::Promote(a) => crate::cli_ops::promote(g, a),
        Cmd::Rollback(a) => crate::cli_ops::rollback(g, a),
        Cmd::History(a) => crate::cli_ops::history(g, a),
        Cmd::Audit(a) => crate::cli_ops::audit(g, a),
        Cmd::Models { json } => {
            let ctx = Context::from_global(g)?;
            let reg = ctx.open()?;
            let models = runtime()?.block_on(reg.list_models())?;
            if json {
                print_json(&serde_json::json!({"registry": reg.describe(), "models": models}))
            } else {
                print_models(&reg.describe(), &models);
                Ok(())
            }
        }
        Cmd::Versions { model, json } => {
            let ctx = Context::from_global(g)?;
            let reg = ctx.open()?;
            let versions = runtime()?.block_on(reg.list_versions(&model))?;
            if json {
                print_json(&serde_json::json!({"registry": reg.describe(), "model": model, "versions": versions}))
            } else {
                print_versions(&versions);
                Ok(())
            }
        }
        Cmd::Registry(RegistryCmd::Register { model, source, metrics, params, tags, description, json }) => {
            let ctx = Context::from_global(g)?;
            let reg = ctx.open()?;
            let mut new = NewVersion {
                model,
                source,
                description,
                created_by: Some(os_user()),
                ..Default::default()
            };
            for m in metrics {
                let (k, v) = key_value(&m, "--metric")?;
                let num: f64 = v.parse().map_err(|_| Failure {
                    message: format!("--metric {m}: '{v}' is not a number"),
                    code: exit::USAGE,
                })?;
                new.metrics.insert(k, num);
            }
            new.params = pairs(&params, "--param")?;
            new.tags = pairs(&tags, "--tag")?;
            let v = runtime()?.block_on(reg.register_version(new))?;
            if json {
                print_json(&v)
            } else {
                println!("registered {} version {} in {}", v.model, v.version, reg.describe());
                Ok(())
            }
        }
        Cmd::Sample => {
            let ctx = Context::from_global(g)?;
            let reg = match &ctx.spec {
                RegistrySpec::Mlflow(_) => {
                    return Err(Failure::from(
                        "the sample workspace lives in a local registry; use --registry local:PATH or the default".to_string(),
                    ));
                }
                RegistrySpec::Local(p) => crate::connect::local::LocalRegistry::open(p)?.0,
                RegistrySpec::HomeLocal => crate::connect::local::LocalRegistry::open(&ctx.home.registry_file())?.0,
            };
            match crate::sample::create(&reg, &ctx.home)? {
                crate::sample::Outcome::Created { versions } => {
                    println!("created {} with {versions} versions in {}", crate::sample::MODEL, reg.describe())
                }
                crate::sample::Outcome::AlreadyPresent => {
                    println!("{} is already in {}", crate::sample::MODEL, reg.describe())
                }
            }
            Ok(())
        }
    }
}

fn profile_command(g: &Global, cmd: ProfileCmd) -> Outcome {
    let home = Home::resolve(g.home.as_deref())?;
    let mut all = Profiles::load(&home)?;
    match cmd {
        ProfileCmd::List { json } => {
            if json {
                return print_json(&all);
            }
            if all.profiles.is_empty() {
                println!("no profiles; the default is the local registry at {}", home.registry_file().display());
            }
            for p in &all.profiles {
                let mark = if all.active.as_deref() == Some(&p.name) { "*" } else { " " };
                let reg = if p.registry.is_empty() { "(home local registry)" } else { &p.registry };
                println!("{mark} {:<16} {reg}{}", p.name, if p.read_only { "  [read-only]" } else { "" });
            }
            Ok(())
        }
        ProfileCmd::Add { name, endpoints, prometheus, activate } => {
            let profile = Profile {
                name: name.clone(),
                registry: g.registry.clone().unwrap_or_default(),
                endpoints,
                prometheus,
                read_only: g.read_only,
                ..Default::default()
            };
            all.upsert(profile)?;
            if activate {
                all.active = Some(name.clone());
            }
            all.save(&home)?;
            println!("saved profile '{name}' in {}", home.profiles_file().display());
            Ok(())
        }
        ProfileCmd::Bind { name, target, endpoint, served, settings_dir, version_dir, example, ready_timeout } => {
            let (model, alias) = model_at_alias(&target)?;
            let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            let binding = crate::config::Binding {
                served_model: served.unwrap_or_else(|| model.clone()),
                model,
                alias,
                endpoint,
                mode: Default::default(),
                settings_dir: abs(&settings_dir),
                version_dir: abs(Path::new(&version_dir)).to_string_lossy().into_owned(),
                example: example.map(|e| abs(Path::new(&e)).to_string_lossy().into_owned()),
                ready_timeout_secs: ready_timeout,
            };
            all.bind(&name, binding.clone()).map_err(|e| Failure { message: e, code: exit::USAGE })?;
            all.save(&home)?;
            println!("profile '{name}': {target} moves {} on {}", binding.served_model, binding.endpoint);
            Ok(())
        }
        ProfileCmd::Unbind { name, target } => {
            let (model, alias) = model_at_alias(&target)?;
            let p = all.profiles.iter_mut().find(|p| p.name == name).ok_or_else(|| Failure::from(format!("no profile named '{name}'")))?;
            let before = p.bindings.len();
            p.bindings.retain(|b| !(b.model == model && b.alias == alias));
            if p.bindings.len() == before {
                return Err(Failure::from(format!("profile '{name}' has no binding for {target}")));
            }
            all.save(&home)?;
            println!("profile '{name}': {target} no longer moves an endpoint");
            Ok(())
        }
        ProfileCmd::Use { name } => {
            if all.get(&name).is_none() {
                return Err(Failure::from(format!("no profile named '{name}'")));
            }
            all.active = Some(name.clone());
            all.save(&home)?;
            println!("'{name}' is now the default profile");
            Ok(())
        }
        ProfileCmd::Remove { name } => {
            if !all.remove(&name) {
                return Err(Failure::from(format!("no profile named '{name}'")));
            }
            all.save(&home)?;
            println!("removed profile '{name}'");
            Ok(())
        }
    }
}

/// `MODEL@ALIAS` split at the last `@`.
fn model_at_alias(s: &str) -> Result<(String, String), Failure> {
    match s.rsplit_once('@') {
        Some((m, a)) if !m.trim().is_empty() && !a.trim().is_empty() => Ok((m.trim().to_string(), a.trim().to_string())),
        _ => Err(Failure { message: format!("'{s}': expected MODEL@ALIAS"), code: exit::USAGE }),
    }
}

fn key_value(s: &str, flag: &str) -> Result<(String, String), Failure> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Failure { message: format!("{flag} {s}: expected KEY=VALUE"), code: exit::USAGE }),
    }
}

fn pairs(items: &[String], flag: &str) -> Result<BTreeMap<String, String>, Failure> {
    items.iter().map(|s| key_value(s, flag)).collect()
}

/// The operating-system user running Steward (for created-by fields and audit records).
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into())
}

/// The name of this process's real user from /etc/passwd (Unix, when no USER variable is set: services,
/// `setsid`, some CI runners).
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
    })
}

fn print_models(registry: &str, models: &[RegisteredModel]) {
    println!("{registry}");
    if models.is_empty() {
        println!("no models");
        return;
    }
    println!("{:<28} {:>7}  {:<30} DESCRIPTION", "NAME", "LATEST", "ALIASES");
    for m in models {
        let aliases = m.aliases.iter().map(|(a, v)| format!("{a}->{v}")).collect::<Vec<_>>().join(", ");
        let latest = m.latest_version.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        println!("{:<28} {:>7}  {:<30} {}", m.name, latest, aliases, one_line(&m.description, 60));
    }
}

fn print_versions(versions: &[ModelVersion]) {
    let mut keys: Vec<&String> = versions.iter().flat_map(|v| v.metrics.keys()).collect();
    keys.sort();
    keys.dedup();
    print!("{:>7}  {:<22} {:<20}", "VERSION", "ALIASES", "CREATED");
    for k in &keys {
        print!(" {:>10}", one_line(k, 10));
    }
    println!();
    for v in versions {
        let created = v.created_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
        print!("{:>7}  {:<22} {:<20}", v.version, v.aliases.join(", "), created);
        for k in &keys {
            match v.metrics.get(*k) {
                Some(x) => print!(" {:>10}", crate::domain::format_metric(*x)),
                None => print!(" {:>10}", "-"),
            }
        }
        println!();
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max.saturating_sub(3)).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod os_user_tests {
    #[test]
    fn the_passwd_lookup_finds_this_processes_user() {
        // Whatever the environment says, /etc/passwd must know the user this test runs as.
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().next()).map(str::to_string));
        if let Some(uid) = uid {
            let name = super::user_from_passwd().expect("a passwd entry for this uid");
            assert!(!name.is_empty() && name != "unknown", "uid {uid} -> {name}");
        }
    }
}
