//! Audit reports: one model over a period (identity, versions, alias timeline, serving health, quality
//! and fairness, alerts, the audit-log excerpt with its chain check, how the report was made) gathered
//! into [`ReportData`] and rendered as JSON, HTML, CSV or PDF.
//!
//! `gather` reads (registry, audit log, optional prediction log and Prometheus) and writes nothing;
//! `render` turns the data into files. The JSON carries a SHA-256 digest over its canonical form
//! (see docs/report-schema.md) that `verify_json` recomputes.

pub mod canonical;
mod chart;
mod csv;
mod document;
pub mod fonts;
mod gather;
pub mod monitoring;
mod html;
mod pdf;
mod progress;
mod text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::VersionNumber;

pub use canonical::{VerifyOk, verify_json};
pub use gather::gather;
pub use progress::Progress;

/// The schema name and version written into every JSON report.
pub const SCHEMA: &str = "steward.report/1";

/// What to report on.
#[derive(Debug, Clone)]
pub struct Options {
    pub model: String,
    /// Start of the period (None: from the first record).
    pub since: Option<DateTime<Utc>>,
    /// End of the period (None: now).
    pub until: Option<DateTime<Utc>>,
    /// A prediction log for the fairness tables (and, for a file, quality and drift by week): a file
    /// (CSV, JSON Lines, Parquet) or a log in a SQL engine, counted there.
    pub fairness_log: Option<crate::sources::LogRef>,
    /// The column mapping to use (a profile entry's); None: guessed from the column names.
    pub fairness_mapping: Option<crate::fairness::mapping::Mapping>,
    /// Per-request bound for Prometheus.
    pub timeout: Duration,
    /// Who asks (the OS user), recorded under "how this report was made".
    pub made_by: String,
}

impl Options {
    pub fn new(model: &str) -> Options {
        Options {
            model: model.to_string(),
            since: None,
            until: None,
            fairness_log: None,
            fairness_mapping: None,
            timeout: crate::config::DEFAULT_TIMEOUT,
            made_by: crate::audit::os_user(),
        }
    }
}

/// A period bound: RFC 3339, or a date meaning the start (`end_of_day` false) or end of that day, UTC.
pub fn parse_date(s: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let t = if end_of_day { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
    t.map(|t| t.and_utc())
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Pdf,
    Html,
    Json,
    /// A folder with one CSV file per table.
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Registry(#[from] crate::connect::RegistryError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("prediction log: {0}")]
    Fairness(String),
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: String },
    #[error("{0}")]
    Render(String),
}

impl ReportError {
    pub fn io(path: &Path, e: impl std::fmt::Display) -> ReportError {
        ReportError::Io { path: path.to_path_buf(), cause: e.to_string() }
    }
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Registry(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// `income-classifier-audit-2026-11-23.pdf` (CSV: a folder without extension). Characters outside
/// `[A-Za-z0-9._-]` in the model name become '_'.
pub fn default_file_name(model: &str, date: chrono::NaiveDate, format: Format) -> String {
    let safe: String = model
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let safe = safe.trim_start_matches('.');
    let stem = format!("{}-audit-{}", if safe.is_empty() { "model" } else { safe }, date.format("%Y-%m-%d"));
    match format {
        Format::Csv => format!("{stem}-csv"),
        f => format!("{stem}.{}", f.extension()),
    }
}

/// Writes the report; returns the files written (CSV: one per table inside the folder `out`).
pub fn render(data: &ReportData, format: Format, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    match format {
        Format::Json => canonical::write_json(data, out).map(|()| vec![out.to_path_buf()]),
        Format::Html => write_file(out, html::render(data).as_bytes()),
        Format::Pdf => write_file(out, &pdf::render(data)?),
        Format::Csv => csv::write_dir(data, out),
    }
}

/// Writes through a temporary file and a rename, so a failed run never leaves half a report.
pub(crate) fn write_file(out: &Path, bytes: &[u8]) -> Result<Vec<PathBuf>, ReportError> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    }
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| ReportError::io(&tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| ReportError::io(out, e))?;
    Ok(vec![out.to_path_buf()])
}

/// Everything a report shows. Serialized as the JSON report (schema `steward.report/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub schema: String,
    pub made: Made,
    pub period: Period,
    pub model: ModelCard,
    pub versions: Vec<VersionCard>,
    pub comparison: Option<Comparison>,
    pub timeline: Vec<TimelineEntry>,
    /// Aliases whose registry state differs from the last state in the audit log (moved outside Steward
    /// and not yet noticed; the report does not write to the log).
    pub unrecorded_moves: Vec<UnrecordedMove>,
    pub health: Health,
    pub fairness: Option<FairnessPart>,
    /// Quality and drift by week from the prediction log (absent in reports made before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<monitoring::MonitoringPart>,
    pub alerts: Vec<AlertEntry>,
    pub audit: AuditPart,
    /// Present in written JSON; excluded from the canonical form it digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

/// How the report was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Made {
    /// UTC, RFC 3339 with milliseconds.
    pub at: String,
    /// The OS user who made it.
    pub by: String,
    pub steward_version: String,
    /// Secret-free descriptions of every source read.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub since: Option<String>,
    pub until: String,
}

/// The model as the registry describes it (Model Card Toolkit: model details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub registry: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub aliases: BTreeMap<String, VersionNumber>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// Considerations (Model Card Toolkit): from tags and what the data shows.
    pub considerations: Vec<String>,
}

/// One version (Model Card Toolkit: parameters and its own quantitative numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionCard {
    pub version: VersionNumber,
    pub created_at: Option<String>,
    pub created_by: Option<String>,
    pub created_in_period: bool,
    pub status: String,
    pub stage: Option<String>,
    pub description: String,
    pub source: String,
    pub run_id: Option<String>,
    pub aliases: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
}

/// Champion against challenger on the registry's metrics (and the prediction log's accuracy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub champion: VersionNumber,
    pub challenger: VersionNumber,
    pub rows: Vec<CompareRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub metric: String,
    pub champion: Option<f64>,
    pub challenger: Option<f64>,
    pub difference: Option<f64>,
}

/// One alias event of the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub seq: u64,
    pub time: String,
    /// "action" (moved by Steward), "observed" (moved outside Steward), "resolution".
    pub kind: String,
    pub action: String,
    pub alias: String,
    pub from: Option<VersionNumber>,
    pub to: Option<VersionNumber>,
    pub actor: String,
    pub registry_identity: Option<String>,
    pub reason: String,
    pub outcome: Option<String>,
    /// Checks and endpoint steps: refusals and errors, then one line per endpoint step.
    pub gates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnrecordedMove {
    pub alias: String,
    pub last_recorded: Option<VersionNumber>,
    pub now: Option<VersionNumber>,
}

/// Serving health from Prometheus over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// "ok", "not_configured", "no_data" or "error".
    pub status: String,
    pub note: String,
    pub source: Option<String>,
    pub series: Vec<HealthSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthSeries {
    pub served_model: String,
    pub version: String,
    /// request_rate (1/s), error_rate (fraction), latency_avg (s).
    pub metric: String,
    /// [unix seconds, value]
    pub points: Vec<[f64; 2]>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

/// Quality and fairness from a prediction log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessPart {
    pub file: String,
    /// For a log in a SQL engine: the query that computed the counts, to be run again by a reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<FairnessQuery>,
    pub rows: u64,
    pub group_columns: Vec<String>,
    pub label: String,
    pub decision: String,
    pub version_column: Option<String>,
    pub four_fifths: [f64; 2],
    pub sections: Vec<FairnessSection>,
}

/// The query an engine ran for a report's fairness counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessQuery {
    /// "postgres" or "spark" (the dialect).
    pub engine: String,
    pub sql: String,
    /// Bound parameters in order ($1, ... in PostgreSQL; each ? in Spark).
    pub params: Vec<f64>,
}

/// All rows, or one version's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessSection {
    /// "all rows" or "v2".
    pub scope: String,
    pub version: Option<String>,
    /// "champion", "challenger" or null.
    pub role: Option<String>,
    pub rows: u64,
    pub accuracy: Option<f64>,
    pub accuracy_interval: Option<[f64; 2]>,
    pub reference: Option<String>,
    pub demographic_parity_difference: Option<f64>,
    pub demographic_parity_ratio: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    pub equal_opportunity_difference: Option<f64>,
    /// Groups whose selection-rate ratio to the reference is outside the four-fifths bounds.
    pub flagged: Vec<String>,
    pub groups: Vec<GroupRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub key: String,
    pub count: u64,
    pub selection_rate: Option<f64>,
    pub selection_rate_interval: Option<[f64; 2]>,
    pub true_positive_rate: Option<f64>,
    pub true_positive_rate_interval: Option<[f64; 2]>,
    pub false_positive_rate: Option<f64>,
    pub false_positive_rate_interval: Option<[f64; 2]>,
    pub accuracy: Option<f64>,
    pub accuracy_interval: Option<[f64; 2]>,
    pub selection_ratio_to_reference: Option<f64>,
    pub flagged: bool,
    /// Small-group warnings.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEntry {
    pub seq: u64,
    pub time: String,
    /// alert_fired or alert_resolved.
    pub action: String,
    pub text: String,
}

/// The audit log's part: the whole log's verification and the excerpt covering the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPart {
    pub log: String,
    pub verification: ChainCheck,
    pub excerpt: Excerpt,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainCheck {
    pub ok: bool,
    pub records: u64,
    /// SHA-256 of the last line of the log (the head).
    pub head: Option<String>,
    pub error: Option<String>,
}

/// Consecutive records of the log covering the period. Records about this model carry their line
/// verbatim; others only their line's SHA-256, so the chain can be re-verified without them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excerpt {
    pub first_seq: Option<u64>,
    /// The `prev` of the first record: the hash of the record before the excerpt (64 zeros at the start).
    pub prev_of_first: Option<String>,
    /// The hash of the excerpt's last line.
    pub last_hash: Option<String>,
    /// Whether the excerpt ends with the log's last record (then `last_hash` equals the head).
    pub ends_at_head: bool,
    pub entries: Vec<ExcerptEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExcerptEntry {
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_sha256: Option<String>,
}

/// The digest block of a written JSON report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub algorithm: String,
    pub canonical_form: String,
    /// SHA-256 (hex) of the canonical form of the whole report without `digest`.
    pub value: String,
    /// SHA-256 of each top-level field's canonical form, so a failed check can name what changed.
    pub sections: BTreeMap<String, String>,
}
