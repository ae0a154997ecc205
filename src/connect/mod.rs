//! Connectors to the outside world. Only this module speaks HTTP or opens registry files.

pub mod credentials;
pub mod http;
pub mod local;
pub mod mlflow;
pub mod redact;
pub mod tls;

use std::future::Future;
use std::path::PathBuf;

use crate::domain::{ModelVersion, NewVersion, RegisteredModel, VersionNumber};

/// Why a registry call failed, worded for an operator. `Display` is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("{url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("authentication failed at {url}: {detail}")]
    AuthenticationFailed { url: String, detail: String },
    #[error("permission denied at {url}: {detail}")]
    PermissionDenied { url: String, detail: String },
    #[error("not found: {what}")]
    NotFound { what: String },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("unexpected answer from {url} (HTTP {status}): {detail}")]
    BadResponse { url: String, status: u16, detail: String },
    #[error("{url} reported a server error (HTTP {status}): {detail}")]
    Server { url: String, status: u16, detail: String },
    /// The server answered (status line and headers came) but its body is larger than the cap: for a
    /// write, whether it took effect is not known from this answer.
    #[error("answer from {url}: {size}: larger than Steward reads ({cap_mib} MiB); not read further")]
    TooLarge { url: String, status: u16, size: String, cap_mib: usize },
    /// The server answered but the connection broke while its body was read (reset, truncated): it was
    /// reached; for a write, whether it took effect is not known from this answer.
    #[error("{url} answered (HTTP {status}) but the connection broke while reading the answer: {cause}")]
    BrokenAnswer { url: String, status: u16, cause: String },
    #[error("the registry file {path} is damaged or not a Steward registry ({cause}); it was left untouched")]
    Corrupt { path: PathBuf, cause: String },
    #[error("registry file {path}: {cause}")]
    Storage { path: PathBuf, cause: String },
    #[error("{0}")]
    Unsupported(String),
}

impl RegistryError {
    /// Exit code of the command line for this error (documented in the README).
    pub fn exit_code(&self) -> u8 {
        match self {
            RegistryError::AuthenticationFailed { .. } | RegistryError::PermissionDenied { .. } => 4,
            // The outside system failed: not reached, too slow, broke off, a server error (5xx), or an
            // answer that is not its protocol (HTML, invalid JSON: not a 4xx refusal) or too large.
            RegistryError::Unreachable { .. }
            | RegistryError::Timeout { .. }
            | RegistryError::BrokenAnswer { .. }
            | RegistryError::Server { .. }
            | RegistryError::TooLarge { .. } => 5,
            RegistryError::BadResponse { status, .. } if !(400..500).contains(status) => 5,
            RegistryError::NotFound { .. } => 6,
            _ => 1,
        }
    }
}

pub type Result<T> = std::result::Result<T, RegistryError>;

/// What every model registry offers Steward. One implementation per registry kind.
pub trait Registry: Send + Sync {
    /// A short, secret-free description: "MLflow at http://...", "local registry at /path".
    fn describe(&self) -> String;
    fn list_models(&self) -> impl Future<Output = Result<Vec<RegisteredModel>>> + Send;
    fn get_model(&self, name: &str) -> impl Future<Output = Result<RegisteredModel>> + Send;
    /// All versions of a model, newest first, with aliases, params, metrics and tags.
    fn list_versions(&self, model: &str) -> impl Future<Output = Result<Vec<ModelVersion>>> + Send;
    fn register_version(&self, new: NewVersion) -> impl Future<Output = Result<ModelVersion>> + Send;
    fn set_alias(
        &self,
        model: &str,
        alias: &str,
        version: VersionNumber,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Where an alias points now; `None` when the alias does not exist.
    fn get_alias(&self, model: &str, alias: &str) -> impl Future<Output = Result<Option<VersionNumber>>> + Send;
    fn delete_alias(&self, model: &str, alias: &str) -> impl Future<Output = Result<()>> + Send;
    /// Who the registry sees us as (user name from the credentials), for audit records; never a secret.
    fn identity(&self) -> Option<String>;
}

/// The registry selected for this run.
#[derive(Clone)]
pub enum AnyRegistry {
    Local(local::LocalRegistry),
    Mlflow(mlflow::MlflowRegistry),
}

macro_rules! delegate {
    ($self:ident, $r:ident => $e:expr) => {
        match $self {
            AnyRegistry::Local($r) => $e,
            AnyRegistry::Mlflow($r) => $e,
        }
    };
}

impl Registry for AnyRegistry {
    fn describe(&self) -> String {
        delegate!(self, r => r.describe())
    }
    async fn list_models(&self) -> Result<Vec<RegisteredModel>> {
        delegate!(self, r => r.list_models().await)
    }
    async fn get_model(&self, name: &str) -> Result<RegisteredModel> {
        delegate!(self, r => r.get_model(name).await)
    }
    async fn list_versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        delegate!(self, r => r.list_versions(model).await)
    }
    async fn register_version(&self, new: NewVersion) -> Result<ModelVersion> {
        delegate!(self, r => r.register_version(new).await)
    }
    async fn set_alias(&self, model: &str, alias: &str, version: VersionNumber) -> Result<()> {
        delegate!(self, r => r.set_alias(model, alias, version).await)
    }
    async fn get_alias(&self, model: &str, alias: &str) -> Result<Option<VersionNumber>> {
        delegate!(self, r => r.get_alias(model, alias).await)
    }
    async fn delete_alias(&self, model: &str, alias: &str) -> Result<()> {
        delegate!(self, r => r.delete_alias(model, alias).await)
    }
    fn identity(&self) -> Option<String> {
        delegate!(self, r => r.identity())
    }
}

/// Checks an alias name the way MLflow does, so a name valid here is valid there.
pub fn validate_alias(alias: &str) -> Result<()> {
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && (alias.starts_with('v') || alias.starts_with('V'))
            && alias[1..].chars().all(|c| c.is_ascii_digit()));
    let well_formed = !alias.is_empty()
        && alias.len() <= 255
        && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if reserved {
        return Err(RegistryError::Invalid {
            what: format!("alias '{alias}'"),
            message: "'latest' and 'v<number>' are reserved".into(),
        });
    }
    if !well_formed {
        return Err(RegistryError::Invalid {
            what: format!("alias '{alias}'"),
            message: "use 1-255 letters, digits, '_' or '-'".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_malformed_aliases_are_refused() {
        assert!(validate_alias("champion").is_ok());
        assert!(validate_alias("canary-eu_1").is_ok());
        assert!(validate_alias("latest").is_err());
        assert!(validate_alias("v12").is_err());
        assert!(validate_alias("").is_err());
        assert!(validate_alias("has space").is_err());
        assert!(validate_alias("vip").is_ok());
    }
}
