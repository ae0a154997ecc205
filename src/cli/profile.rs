//! `steward profile list|add|bind|unbind|use|test|login|logout|remove` and `steward paths`.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{Failure, Global, Outcome, exit, print_json};
use crate::config::{Home, Profile, Profiles, RegistrySpec};
use crate::connect::credentials;

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
        /// A PEM bundle of CA certificates to trust for the profile's MLflow registry besides the
        /// system's (a private CA). Must exist and hold a certificate; kept as an absolute path.
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// The team's shared audit store, postgres://HOST[:PORT]/DB (no credentials in the URL: PGUSER
        /// and PGPASSWORD, or `steward profile login NAME --audit --user U`).
        #[arg(long, value_name = "URL")]
        audit: Option<String>,
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
    /// Try every connection of profile NAME (registry, endpoints, Prometheus) and say what works and
    /// why the rest does not; exit 5 when any fails. The profile dialog's "Test connection".
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Keep a token, or a user name and password, for profile NAME's MLflow registry in the OS keyring
    /// (Secret Service, Keychain, Credential Manager); never in the profile file. MLflow's variables
    /// (MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD) still win when set.
    Login {
        name: String,
        /// Store a user name and password (default: a token).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Read the token or password from the first line of standard input instead of asking (also
        /// when standard input is not a terminal).
        #[arg(long)]
        stdin: bool,
        /// Store the login to the profile's team audit store (needs --user) instead of the registry's.
        #[arg(long)]
        audit: bool,
    },
    /// Remove profile NAME's credentials from the OS keyring.
    Logout {
        name: String,
        /// Remove the login to the team audit store instead of the registry's.
        #[arg(long)]
        audit: bool,
    },
    /// Remove profile NAME (and its credentials in the OS keyring).
    Remove { name: String },
}

/// `steward paths`: where this home keeps config, data and cache.
pub fn paths(g: &Global) -> Outcome {
    let home = Home::resolve(g.home.as_deref())?;
    println!("config    {}", home.config.display());
    println!("profiles  {}", home.profiles_file().display());
    println!("data      {}", home.data.display());
    println!("registry  {}", home.registry_file().display());
    println!("cache     {}", home.cache.display());
    println!("log       {}", home.log_file().display());
    println!("crashes   {}", home.state.display());
    Ok(())
}

pub fn run(g: &Global, cmd: ProfileCmd) -> Outcome {
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
        ProfileCmd::Add { name, endpoints, prometheus, ca_file, audit, activate } => {
            if let Some(a) = &audit {
                crate::config::check_audit_url(a).map_err(|e| Failure { message: e, code: exit::USAGE })?;
            }
            let ca_file = match ca_file {
                Some(p) => {
                    let p = std::path::absolute(&p).unwrap_or(p);
                    crate::connect::http::check_ca_file(&p, "--ca-file")?;
                    Some(p.display().to_string())
                }
                None => None,
            };
            let profile = Profile {
                name: name.clone(),
                registry: g.registry.clone().unwrap_or_default(),
                endpoints,
                prometheus,
                read_only: g.read_only,
                ca_file,
                audit,
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
        ProfileCmd::Test { name, json } => {
            let profile = all.get(&name).cloned().ok_or_else(|| Failure::from(format!("no profile named '{name}'")))?;
            let timeout = super::serving::timeout(g)?;
            let checks = super::runtime()?.block_on(crate::serving::check::check_profile(&profile, &home, timeout));
            if json {
                print_json(&serde_json::json!({"profile": name, "checks": checks}))?;
            } else {
                for c in &checks {
                    println!("{:<5} {:<10} {}  {}", if c.ok { "ok" } else { "FAIL" }, c.kind, c.target, c.detail);
                }
            }
            let failed = checks.iter().filter(|c| !c.ok).count();
            if failed > 0 {
                return Err(Failure { message: format!("{failed} of {} connection(s) failed", checks.len()), code: super::serving::EXIT_DOWN });
            }
            Ok(())
        }
        ProfileCmd::Login { name, user, stdin, audit } => login(&all, &name, user, stdin, audit),
        ProfileCmd::Logout { name, audit } => {
            let entry = if audit { crate::ops::audit_keyring_entry(&name) } else { name.clone() };
            let removed = credentials::forget(&entry).map_err(|e| Failure::from(format!("profile '{name}': {e}")))?;
            println!("{}", if removed { format!("removed the credentials of profile '{name}' from the OS keyring") } else { format!("the OS keyring held nothing for profile '{name}'") });
            Ok(())
        }
        ProfileCmd::Remove { name } => {
            if !all.remove(&name) {
                return Err(Failure::from(format!("no profile named '{name}'")));
            }
            all.save(&home)?;
            println!("removed profile '{name}'");
            match credentials::forget(&name) {
                Ok(true) => println!("removed its credentials from the OS keyring"),
                Ok(false) | Err(credentials::KeyringError::Unavailable(_)) => {}
                Err(e) => eprintln!("steward: warning: its credentials may still be in the OS keyring: {e}"),
            }
            Ok(())
        }
    }
}

/// `steward profile login`: asks for the secret (no echo) or reads one line of standard input, stores it,
/// reads it back to confirm, and says when the environment would override it.
fn login(all: &Profiles, name: &str, user: Option<String>, stdin: bool, audit: bool) -> Outcome {
    let profile = all.get(name).ok_or_else(|| Failure::from(format!("no profile named '{name}' (see `steward profile list`)")))?;
    if audit {
        if profile.audit.is_none() || user.is_none() {
            return Err(Failure { message: format!("--audit needs a profile with a team audit store (profile '{name}' has none) and --user"), code: exit::USAGE });
        }
    } else {
        match RegistrySpec::select(None, Some(profile), None)? {
            (RegistrySpec::Mlflow(_), _) => {}
            _ => return Err(Failure { message: format!("profile '{name}' uses a local registry, which needs no credentials"), code: exit::USAGE }),
        }
    }
    let entry = if audit { crate::ops::audit_keyring_entry(name) } else { name.to_string() };
    let (what, prompt) = if user.is_some() { ("password", "Password") } else { ("token", "Token") };
    let secret = if stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::from(format!("reading the {what} from standard input: {e}")))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password(format!("{prompt} for profile '{name}' ({}): ", crate::connect::http::redact_url(&profile.registry)))
            .map_err(|e| Failure::from(format!("reading the {what}: {e}")))?
    };
    if secret.is_empty() {
        return Err(Failure { message: format!("an empty {what}; nothing stored"), code: exit::USAGE });
    }
    let credential = match user {
        Some(user) if user.trim().is_empty() => return Err(Failure { message: "--user must not be empty".into(), code: exit::USAGE }),
        Some(user) => credentials::Credential::Password { user, password: secret },
        None => credentials::Credential::Token { token: secret },
    };
    let failed = |e: credentials::KeyringError| Failure::from(format!("profile '{name}': {e}; nothing stored (MLflow's variables can carry the credentials instead)"));
    credentials::store(&entry, &credential).map_err(failed)?;
    match credentials::load(&entry).map_err(failed)? {
        Some(back) if back == credential => {}
        _ => return Err(Failure::from(format!("profile '{name}': the OS keyring did not give back what was stored"))),
    }
    if audit {
        println!("stored the team audit store's login for profile '{name}' in the OS keyring");
        if std::env::var_os("PGPASSWORD").is_some() {
            eprintln!("steward: warning: the environment sets PGPASSWORD, which wins over the keyring");
        }
        return Ok(());
    }
    println!("stored {} for profile '{name}' in the OS keyring", credential.kind());
    if let Some(env) = credentials::from_env() {
        eprintln!("steward: warning: the environment sets {} (MLflow's variables), which wins over the keyring", env.kind());
    }
    Ok(())
}

/// `MODEL@ALIAS` split at the last `@`.
fn model_at_alias(s: &str) -> Result<(String, String), Failure> {
    match s.rsplit_once('@') {
        Some((m, a)) if !m.trim().is_empty() && !a.trim().is_empty() => Ok((m.trim().to_string(), a.trim().to_string())),
        _ => Err(Failure { message: format!("'{s}': expected MODEL@ALIAS"), code: exit::USAGE }),
    }
}
