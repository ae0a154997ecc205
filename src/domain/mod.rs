//! Plain data types shared by every layer. No I/O, no window code.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A model version number. MLflow sends these as strings of digits; the local registry stores integers.
pub type VersionNumber = u64;

/// A registered model as an operator sees it: name, description, tags and where its aliases point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    /// alias -> version
    pub aliases: BTreeMap<String, VersionNumber>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Highest version number, if the registry reports it.
    pub latest_version: Option<VersionNumber>,
}

/// One version of a registered model, with what its training run recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub model: String,
    pub version: VersionNumber,
    pub source: String,
    pub run_id: Option<String>,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    /// Aliases pointing at this version, sorted.
    pub aliases: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    /// Registry status, e.g. READY (MLflow) or READY (local).
    pub status: String,
    /// MLflow's deprecated stage (None, Staging, Production, Archived); shown read-only.
    pub legacy_stage: Option<String>,
}

/// What to register into a registry (the local one; MLflow versions come from MLflow's own clients).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewVersion {
    pub model: String,
    pub source: String,
    pub description: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_by: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// "v3", or "(unset)" for an alias that points nowhere.
pub fn show_version(v: Option<VersionNumber>) -> String {
    v.map(|v| format!("v{v}")).unwrap_or_else(|| "(unset)".into())
}

/// Attach each alias to the versions it points at (aliases come from the model, versions from a search).
pub fn attach_aliases(versions: &mut [ModelVersion], aliases: &BTreeMap<String, VersionNumber>) {
    for v in versions.iter_mut() {
        v.aliases = aliases
            .iter()
            .filter(|(_, ver)| **ver == v.version)
            .map(|(a, _)| a.clone())
            .collect();
    }
}

/// Connection state of one configured source, as shown in the status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceState {
    Connecting,
    Connected,
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: VersionNumber) -> ModelVersion {
        ModelVersion {
            model: "m".into(),
            version: n,
            source: String::new(),
            run_id: None,
            description: String::new(),
            tags: BTreeMap::new(),
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            aliases: vec![],
            created_at: None,
            created_by: None,
            status: "READY".into(),
            legacy_stage: None,
        }
    }

    #[test]
    fn aliases_attach_to_the_version_they_point_at() {
        let mut vs = vec![version(1), version(2), version(3)];
        let aliases = BTreeMap::from([
            ("champion".to_string(), 2),
            ("challenger".to_string(), 3),
            ("canary".to_string(), 3),
        ]);
        attach_aliases(&mut vs, &aliases);
        assert!(vs[0].aliases.is_empty());
        assert_eq!(vs[1].aliases, vec!["champion"]);
        assert_eq!(vs[2].aliases, vec!["canary", "challenger"]);
    }
}

/// 29307 -> "29,307".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A metric for a table: whole numbers (counts) without decimals, others with four.
pub fn format_metric(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x:.4}") }
}

/// Whether a spreadsheet would run `cell` as a formula (it starts with `=`, `+`, `-`, `@`, tab or CR).
pub fn is_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One CSV cell (RFC 4180) that a spreadsheet will not execute: a value starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return is prefixed with `'` (OWASP's advice against CSV injection); cells with a
/// comma, quote, line break or edge spaces are quoted, quotes doubled. Every CSV Steward writes uses it.
pub fn csv_cell(raw: &str) -> String {
    let v = if is_formula(raw) { format!("'{raw}") } else { raw.to_string() };
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// Why a path is not a file Steward will read (see [`regular_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRegular {
    pub path: String,
    /// What is there instead, or why it could not be looked at: "a directory", "not a regular file (a
    /// FIFO, socket or device)", or the system's error.
    pub what: String,
}

impl NotRegular {
    /// The message without the path, for errors that name the file already.
    pub fn reason(&self) -> String {
        if self.what.starts_with("a directory") || self.what.starts_with("not a regular file") {
            format!("{}: Steward reads only regular files", self.what)
        } else {
            self.what.clone()
        }
    }
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.what.starts_with("a directory") || self.what.starts_with("not a regular file") {
            write!(f, "{} is {}", self.path, self.reason())
        } else {
            write!(f, "{}: {}", self.path, self.what)
        }
    }
}

impl From<NotRegular> for String {
    fn from(e: NotRegular) -> String {
        e.to_string()
    }
}

/// `text` followed by each cause in `e`'s source chain whose text it does not already hold, joined by
/// ": ". Client errors often say "error sending request" and keep what an operator acts on ("Connection
/// refused") at the bottom of the chain.
pub fn with_causes(text: String, e: &dyn std::error::Error) -> String {
    let mut out = text;
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cause = c.source();
    }
    out
}

/// Whether `path` is a regular file: `Ok(false)` when nothing is there, [`NotRegular`] when something
/// else is (a FIFO, socket, device or directory), because opening or reading those can block forever
/// (a FIFO without a writer) or never end (a device). Every reader of a user's file asks this first.
/// Symbolic links are followed (a link to a regular file is fine).
pub fn regular_file(path: &std::path::Path) -> Result<bool, NotRegular> {
    let not = |what: String| NotRegular { path: path.display().to_string(), what };
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(true),
        Ok(m) => Err(not(if m.is_dir() { "a directory" } else { "not a regular file (a FIFO, socket or device)" }.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(not(e.to_string())),
    }
}
