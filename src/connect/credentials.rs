//! A registry's credentials: MLflow's environment variables first (as MLflow's own clients read them),
//! then the OS keyring entry of the profile in use (the `keyring` crate: Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows). Never in the profile file.
//!
//! One keyring entry per profile: service [`SERVICE`], user name the profile's name, and as secret a
//! small JSON object, `{"token": T}` or `{"user": U, "password": P}`.
//!
//! Every keyring call runs on its own thread and is given [`KEYRING_WAIT`]: a Secret Service that never
//! answers (a prompt nobody sees, a stuck D-Bus activation) is "no answer", not a hang.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::Auth;

/// The keyring service name of Steward's entries (the application id).
pub const SERVICE: &str = "io.github.stewardconsole.Steward";

/// How long one keyring call may take before it is given up as unanswered.
pub const KEYRING_WAIT: Duration = Duration::from_secs(5);

/// The variables MLflow's clients read credentials from, in the order they are tried.
pub const ENV_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
pub const ENV_USER: &str = "MLFLOW_TRACKING_USERNAME";
pub const ENV_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";

/// A credential as stored in the keyring.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Credential {
    Token { token: String },
    Password { user: String, password: String },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind())
    }
}

impl Credential {
    pub fn auth(&self) -> Auth {
        match self {
            Credential::Token { token } => Auth::Bearer(token.clone()),
            Credential::Password { user, password } => Auth::Basic { user: user.clone(), password: password.clone() },
        }
    }

    /// "a token" or "user NAME and a password" (no secret).
    pub fn kind(&self) -> String {
        match self {
            Credential::Token { .. } => "a token".into(),
            Credential::Password { user, .. } => format!("user {user} and a password"),
        }
    }
}

/// Where a connection's credentials came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// MLflow's variables (they win over the keyring).
    Environment,
    /// The keyring entry of this profile.
    Keyring(String),
    /// Passed in by the caller (a test, the URL's userinfo).
    Given,
    /// None found: requests go without credentials.
    None,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Environment => write!(f, "credentials from the environment ({ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD})"),
            Source::Keyring(p) => write!(f, "credentials from the OS keyring (profile {p})"),
            Source::Given => write!(f, "credentials given by the caller"),
            Source::None => write!(f, "no credentials"),
        }
    }
}

/// Why the keyring could not be used. `Display` is one sentence for an operator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyringError {
    #[error("no keyring service is available ({0})")]
    Unavailable(String),
    #[error("the keyring did not answer within {} s", KEYRING_WAIT.as_secs())]
    NoAnswer,
    #[error("the keyring refused: {0}")]
    Refused(String),
    #[error("the keyring entry of profile {profile} is not a Steward credential ({cause})")]
    Damaged { profile: String, cause: String },
}

/// The credential in MLflow's variables, if any: the token first, then user and password together.
pub fn from_env() -> Option<Credential> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(token) = var(ENV_TOKEN) {
        Some(Credential::Token { token })
    } else if let (Some(user), Some(password)) = (var(ENV_USER), var(ENV_PASSWORD)) {
        Some(Credential::Password { user, password })
    } else {
        None
    }
}

/// Stores `credential` as profile `profile`'s (replacing any). Errors: [`KeyringError`].
pub fn store(profile: &str, credential: &Credential) -> Result<(), KeyringError> {
    let secret = serde_json::to_string(credential).map_err(|e| KeyringError::Refused(e.to_string()))?;
    let profile = profile.to_string();
    bounded(move || entry(&profile)?.set_password(&secret).map_err(refused))
}

/// The credential stored for `profile`, `None` when there is none.
pub fn load(profile: &str) -> Result<Option<Credential>, KeyringError> {
    let name = profile.to_string();
    let secret = bounded(move || match entry(&name)?.get_password() {
        Ok(s) => Ok(Some(s)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(refused(e)),
    })?;
    let Some(secret) = secret else { return Ok(None) };
    let credential: Credential = serde_json::from_str(&secret)
        .map_err(|e| KeyringError::Damaged { profile: profile.to_string(), cause: e.to_string() })?;
    remember(&credential.auth());
    Ok(Some(credential))
}

/// Removes `profile`'s entry; `Ok(false)` when there was none.
pub fn forget(profile: &str) -> Result<bool, KeyringError> {
    let profile = profile.to_string();
    bounded(move || match entry(&profile)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(refused(e)),
    })
}

/// The credentials a connection made for `profile` uses: MLflow's variables when set, else the
/// profile's keyring entry. A keyring that cannot be read leaves the connection without credentials and
/// is said once per process ([`take_notice`]).
pub fn resolve(profile: Option<&str>) -> (Auth, Source) {
    if let Some(c) = from_env() {
        return (c.auth(), Source::Environment);
    }
    let Some(name) = profile else { return (Auth::None, Source::None) };
    match load(name) {
        Ok(Some(c)) => (c.auth(), Source::Keyring(name.to_string())),
        Ok(None) => (Auth::None, Source::None),
        Err(e) => {
            note(format!(
                "{e}; credentials for profile {name} come from the environment only ({ENV_TOKEN}, or {ENV_USER} and {ENV_PASSWORD})"
            ));
            (Auth::None, Source::None)
        }
    }
}

/// What the keyring has for `profile` and whether the environment overrides it, in one line for the
/// profile dialog (no secret).
pub fn describe(profile: &str) -> String {
    let env = from_env().map(|c| format!("; the environment sets {} and wins", c.kind())).unwrap_or_default();
    match load(profile) {
        Ok(Some(c)) => format!("The OS keyring holds {} for profile {profile}{env}.", c.kind()),
        Ok(None) => format!("The OS keyring holds nothing for profile {profile}{env}."),
        Err(e) => format!("{}{env}.", capitalize(&e.to_string())),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Credential values loaded from the keyring in this process, for blanking from crash reports.
static LOADED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remember(auth: &Auth) {
    if let Ok(mut l) = LOADED.lock() {
        for s in auth.secrets() {
            if !l.contains(&s) {
                l.push(s);
            }
        }
    }
}

/// Every credential value this process knows: MLflow's variables and what it read from the keyring
/// (each as [`Auth::secrets`] gives it).
pub fn known_secrets() -> Vec<String> {
    let mut out = from_env().map(|c| c.auth().secrets()).unwrap_or_default();
    if let Ok(l) = LOADED.lock() {
        out.extend(l.iter().cloned());
    }
    out
}

/// The keyring notice not yet said (`Some` once per process at most).
static NOTICE: Mutex<(bool, Option<String>)> = Mutex::new((false, None));

fn note(text: String) {
    tracing::warn!(target: "steward::keyring", "{text}");
    if let Ok(mut n) = NOTICE.lock()
        && !n.0
        && n.1.is_none()
    {
        n.1 = Some(text);
    }
}

/// The keyring problem met by [`resolve`], the first time it is asked for; then `None` for good.
pub fn take_notice() -> Option<String> {
    let mut n = NOTICE.lock().ok()?;
    let text = n.1.take();
    if text.is_some() {
        n.0 = true;
    }
    text
}

fn entry(profile: &str) -> Result<keyring::Entry, KeyringError> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(KeyringError::Unavailable(e.to_string()));
    }
    keyring::Entry::new(SERVICE, profile).map_err(|e| KeyringError::Unavailable(e.to_string()))
}

fn refused(e: keyring::Error) -> KeyringError {
    match e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => KeyringError::Unavailable(inner.to_string()),
        other => KeyringError::Refused(other.to_string()),
    }
}

/// Runs `f` on its own thread and waits at most [`KEYRING_WAIT`] for it.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static) -> Result<T, KeyringError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| KeyringError::Unavailable(e.to_string()))?;
    rx.recv_timeout(KEYRING_WAIT).unwrap_or(Err(KeyringError::NoAnswer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_is_stored_as_a_small_json_object_and_read_back() {
        let t = Credential::Token { token: "tok-123".into() };
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"token":"tok-123"}"#);
        let p = Credential::Password { user: "ann".into(), password: "pw".into() };
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"user":"ann","password":"pw"}"#);
        assert_eq!(serde_json::from_str::<Credential>(r#"{"user":"ann","password":"pw"}"#).unwrap(), p);
        assert!(serde_json::from_str::<Credential>(r#"{"tok":"x"}"#).is_err());
        assert_eq!(format!("{p:?}"), "user ann and a password");
    }

    #[test]
    fn the_notice_is_given_once() {
        note("no keyring service is available (x)".into());
        note("something else".into());
        assert_eq!(take_notice().as_deref(), Some("no keyring service is available (x)"));
        note("again".into());
        assert_eq!(take_notice(), None);
    }
}
