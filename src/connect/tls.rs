//! Certificates for HTTP connections: which CAs a connection trusts and the client identity it shows
//! (MLflow's `MLFLOW_TRACKING_SERVER_CERT_PATH` / `MLFLOW_TRACKING_CLIENT_CERT_PATH`, a profile's
//! `ca_file`), read and checked before the first request.

use super::{RegistryError, Result};

/// How a connection checks the server's certificate and proves its own.
///
/// - `ca_file`: a PEM bundle of CA certificates. With [`CaUse::Only`] it replaces the system's trust
///   store (as requests' `verify=PATH`, which MLflow's clients set from `MLFLOW_TRACKING_SERVER_CERT_PATH`);
///   with [`CaUse::Added`] it is trusted besides the system's store (a profile's `ca_file`).
/// - `client_cert`: a PEM file holding the client certificate (chain) and its private key, as requests'
///   `cert=PATH` (MLflow's `MLFLOW_TRACKING_CLIENT_CERT_PATH`).
/// - `insecure`: no certificate check at all (`MLFLOW_TRACKING_INSECURE_TLS=true`); refused together
///   with a CA file, as MLflow refuses it.
///
/// Each path is named with where it came from (`source`, e.g. the variable's name) in every error: a
/// missing, unreadable or special file, or one without a certificate (or key), is an error before any
/// request, never a silent fallback to the system store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    pub insecure: bool,
    pub ca_file: Option<TlsFile>,
    pub ca_use: CaUse,
    pub client_cert: Option<TlsFile>,
}

/// A PEM file and where its path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFile {
    pub path: std::path::PathBuf,
    pub source: String,
}

/// Whether a CA bundle replaces or extends the system's trust store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaUse {
    #[default]
    Only,
    Added,
}

/// The largest PEM file read (bytes): CA bundles are a few hundred KiB.
const MAX_PEM: u64 = 4 << 20;

impl TlsFile {
    fn read(&self, what: &str) -> Result<Vec<u8>> {
        let fail = |m: String| RegistryError::Unsupported(format!("{what} {} ({}): {m}", self.path.display(), self.source));
        match crate::domain::regular_file(&self.path) {
            Ok(true) => {}
            Ok(false) => return Err(fail("no such file".into())),
            Err(e) => return Err(fail(e.reason())),
        }
        let f = std::fs::File::open(&self.path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_PEM + 1), &mut bytes).map_err(|e| fail(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_PEM {
            return Err(fail(format!("larger than {} MiB; not a PEM bundle", MAX_PEM >> 20)));
        }
        Ok(bytes)
    }
}

/// Reads a CA bundle as a connection would (regular file, at most 4 MiB, at least one PEM
/// certificate): the error names the path and `source`.
pub fn check_ca_file(path: &std::path::Path, source: &str) -> std::result::Result<(), String> {
    let f = TlsFile { path: path.to_path_buf(), source: source.to_string() };
    ca_certificates(&f).map(|_| ()).map_err(|e| e.to_string())
}

fn ca_certificates(ca: &TlsFile) -> Result<Vec<reqwest::Certificate>> {
    let pem = ca.read("CA bundle")?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| RegistryError::Unsupported(format!("CA bundle {} ({}): not PEM certificates: {e}", ca.path.display(), ca.source)))?;
    if certs.is_empty() {
        return Err(RegistryError::Unsupported(format!("CA bundle {} ({}): no PEM certificate in it", ca.path.display(), ca.source)));
    }
    Ok(certs)
}

impl Tls {
    /// Applies the settings to a client builder (reads the files).
    pub(super) fn apply(&self, mut b: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        if self.insecure {
            if let Some(ca) = &self.ca_file {
                return Err(RegistryError::Unsupported(format!(
                    "certificate checks are off (MLFLOW_TRACKING_INSECURE_TLS=true) and a CA bundle is given ({}): set only one, as MLflow requires",
                    ca.source
                )));
            }
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &self.ca_file {
            let certs = ca_certificates(ca)?;
            b = match self.ca_use {
                CaUse::Only => b.tls_certs_only(certs),
                CaUse::Added => b.tls_certs_merge(certs),
            };
        }
        if let Some(c) = &self.client_cert {
            let pem = c.read("client certificate")?;
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                RegistryError::Unsupported(format!(
                    "client certificate {} ({}): needs the certificate and its private key in one PEM file: {e}",
                    c.path.display(),
                    c.source
                ))
            })?;
            b = b.identity(id);
        }
        Ok(b)
    }
}

