//! `steward models`, `steward versions`, `steward registry register` and `steward sample`: the twins of
//! the Models view.

use std::collections::BTreeMap;

use clap::Subcommand;

use super::{Failure, Global, Outcome, context, exit, print_json, runtime};
use crate::config::RegistrySpec;
use crate::config::sample;
use crate::connect::Registry;
use crate::connect::local::LocalRegistry;
use crate::domain::{ModelVersion, NewVersion, RegisteredModel};

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

/// `steward models [--json]`.
pub fn models(g: &Global, json: bool) -> Outcome {
    let ctx = context(g)?;
    let reg = ctx.open()?;
    let models = runtime()?.block_on(reg.list_models())?;
    if json {
        print_json(&serde_json::json!({"registry": reg.describe(), "models": models}))
    } else {
        print_models(&reg.describe(), &models);
        Ok(())
    }
}

/// `steward versions MODEL [--json]`.
pub fn versions(g: &Global, model: &str, json: bool) -> Outcome {
    let ctx = context(g)?;
    let reg = ctx.open()?;
    let versions = runtime()?.block_on(reg.list_versions(model))?;
    if json {
        print_json(&serde_json::json!({"registry": reg.describe(), "model": model, "versions": versions}))
    } else {
        print_versions(&versions);
        Ok(())
    }
}

/// `steward registry register MODEL --source ... [--metric K=V] [--param K=V] [--tag K=V]`.
pub fn run(g: &Global, cmd: RegistryCmd) -> Outcome {
    let RegistryCmd::Register { model, source, metrics, params, tags, description, json } = cmd;
    let ctx = context(g)?;
    let reg = ctx.open()?;
    let mut new = NewVersion { model, source, description, created_by: Some(crate::audit::os_user()), ..Default::default() };
    for m in metrics {
        let (k, v) = key_value(&m, "--metric")?;
        let num: f64 = v
            .parse()
            .map_err(|_| Failure { message: format!("--metric {m}: '{v}' is not a number"), code: exit::USAGE })?;
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

/// `steward sample`: the sample workspace in the selected local registry.
pub fn sample(g: &Global) -> Outcome {
    let ctx = context(g)?;
    let reg = match &ctx.spec {
        RegistrySpec::Mlflow(..) => {
            return Err(Failure::from(
                "the sample workspace lives in a local registry; use --registry local:PATH or the default".to_string(),
            ));
        }
        RegistrySpec::Local(p) => LocalRegistry::open(p)?.0,
        RegistrySpec::HomeLocal => LocalRegistry::open(&ctx.home.registry_file())?.0,
    };
    match sample::create(&reg, &ctx.home)? {
        sample::Outcome::Created { versions } => {
            println!("created {} with {versions} versions in {}", sample::MODEL, reg.describe())
        }
        sample::Outcome::AlreadyPresent => println!("{} is already in {}", sample::MODEL, reg.describe()),
    }
    Ok(())
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
