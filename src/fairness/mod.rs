//! Fairness engine: prediction logs (CSV plain/gzip/zstd, JSON Lines, Parquet) -> confusion counts by
//! group -> rates with Wilson intervals, Fairlearn-compatible disparities, four-fifths flags, per time
//! window and model version, and a threshold sweep for score logs.
//!
//! Reading is streamed in constant memory on both cores; progress and cancellation go through
//! [`Progress`]. Knows nothing of the window or the network (see docs/architecture.md, "Fairness").

pub(crate) mod blocks;
mod capture;
mod columns;
mod counts;
pub(crate) mod csv;
pub(crate) mod csv_record;
mod guard;
pub mod disparities;
pub mod error;
mod intern;
mod jsonl;
pub mod mapping;
pub mod output;
mod parquet;
pub mod parquet_rows;
mod plan;
mod remote;
pub mod pushdown;
pub mod rates;
pub mod report;
mod source;
pub(crate) mod tally;
mod timeparse;
mod values;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use columns::columns;
pub use counts::{CellKey, Counts, Hist, LabelValues};
pub use error::{ErrorKind, FairnessError, Location};
pub use plan::MAX_GROUP_COLUMNS;
pub use rates::{Confusion, Metric, SmallGroupRule, Z95, wilson};
pub use report::{GroupRates, Report, Section, group_key};
pub use source::{Format, max_record_bytes};
pub use timeparse::Window;
pub(crate) use source::{Input, open};
pub(crate) use timeparse::{date_string, iso_week_label, seconds, window_index, window_start_day};
pub(crate) use values::Field;
pub use values::SWEEP_STEPS;

/// How a row's decision is read.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// A prediction column; values in `positive` are positive decisions (empty: 1/true).
    Prediction { column: String, positive: Vec<String> },
    /// A score column; positive iff score >= threshold (> with `Spec::strict_threshold`).
    Score { column: String, threshold: f64 },
}

/// What to compute from a log.
#[derive(Clone, Debug)]
pub struct Spec {
    /// One or more group columns; several give intersectional groups ('a|b').
    pub group: Vec<String>,
    pub label: String,
    /// The positive label value (default: 1/true, and labels must then be 0/1).
    pub positive_label: Option<String>,
    pub decision: Decision,
    /// Reference group key for the four-fifths comparison (default: the largest group).
    pub reference: Option<String>,
    pub time: Option<String>,
    pub window: Window,
    pub version: Option<String>,
    /// Fairlearn's 0.0 for undefined rates instead of null.
    pub fairlearn_compat: bool,
    /// Skip bad rows (counted and reported) instead of failing on the first one.
    pub skip_bad_rows: bool,
    /// Four-fifths bounds on the ratio to the reference group.
    pub four_fifths: (f64, f64),
    pub small_groups: SmallGroupRule,
    /// With a score: positive iff score > threshold (strictly), as scikit-learn's
    /// `LogisticRegression.predict` and Fairlearn's `ThresholdOptimizer` decide; default false: >=, as
    /// scikit-learn's `roc_curve` counts. The threshold sweep follows the same rule.
    pub strict_threshold: bool,
    /// How text values (group, version, label) are decoded. Default UTF-8: a value that is not valid
    /// UTF-8 is an error naming the line, never a lossy merge; Latin-1 maps each byte to one character.
    pub encoding: Encoding,
}

/// Text encoding of a log's values (CSV and the strings of JSON Lines/Parquet, which are UTF-8 anyway).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    #[default]
    Utf8,
    /// ISO-8859-1: every byte is the character with that code (pandas' `encoding="latin-1"`).
    Latin1,
}

impl Encoding {
    /// `utf-8`/`utf8`, `latin-1`/`latin1`/`iso-8859-1` (any case).
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => Some(Encoding::Latin1),
            _ => None,
        }
    }

    /// Bytes as text: `None` when they are not valid in this encoding (only UTF-8 can refuse).
    pub fn decode(self, b: &[u8]) -> Option<String> {
        match self {
            Encoding::Utf8 => std::str::from_utf8(b).ok().map(str::to_string),
            Encoding::Latin1 => Some(b.iter().map(|&c| c as char).collect()),
        }
    }

    /// Text as the bytes a file in this encoding holds (for matching user-given values); `None` when
    /// a character has no code in it.
    pub fn encode(self, s: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Utf8 => Some(s.as_bytes().to_vec()),
            Encoding::Latin1 => s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect(),
        }
    }
}

impl Spec {
    pub fn new(group: &[&str], label: &str, decision: Decision) -> Spec {
        Spec {
            group: group.iter().map(|s| s.to_string()).collect(),
            label: label.to_string(),
            positive_label: None,
            decision,
            reference: None,
            time: None,
            window: Window::Day,
            version: None,
            fairlearn_compat: false,
            skip_bad_rows: false,
            four_fifths: (0.8, 1.25),
            small_groups: SmallGroupRule::default(),
            strict_threshold: false,
            encoding: Encoding::Utf8,
        }
    }

    pub fn prediction(column: &str) -> Decision {
        Decision::Prediction { column: column.to_string(), positive: Vec::new() }
    }

    pub fn score(column: &str, threshold: f64) -> Decision {
        Decision::Score { column: column.to_string(), threshold }
    }
}

/// Progress of a running analysis, and its cancellation switch (shared with the UI).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of the file read so far (compressed bytes for compressed files).
    pub bytes_read: AtomicU64,
    /// Size of the file in bytes.
    pub total_bytes: AtomicU64,
    /// Set to stop reading; the analysis then returns an error of kind `Cancelled`.
    pub cancel: AtomicBool,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }
    /// 0.0..=1.0 (0 before the size is known).
    pub fn fraction(&self) -> f64 {
        let total = self.total_bytes.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        (self.bytes_read.load(Ordering::Relaxed) as f64 / total as f64).min(1.0)
    }
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Reads the log and counts (the expensive part). `file` is the name used in messages.
pub fn count(path: &Path, spec: &Spec, progress: &Progress) -> Result<(Counts, Format), FairnessError> {
    let file = path.display().to_string();
    if !(spec.four_fifths.0 > 0.0 && spec.four_fifths.0 <= spec.four_fifths.1 && spec.four_fifths.1.is_finite()) {
        return Err(FairnessError::usage("four-fifths bounds must be 0 < LO <= HI"));
    }
    let plan = plan::Plan::new(spec, &file)?;
    let (format, input) = source::open(path, &file, progress)?;
    let counts = match input {
        source::Input::Parquet(files) => guard::parquet(&plan.file, || parquet::count(files, &plan, progress))?,
        source::Input::Stream(reader) => match format {
            Format::JsonLines { .. } => blocks::run(reader, &plan, progress, &jsonl::JsonLines::new(&plan))?,
            _ => csv::count(reader, &plan, progress)?,
        },
    };
    Ok((some_rows(counts, &file)?, format))
}

/// Counts a CSV stream that is not a file (a database's `COPY ... TO STDOUT` output), with the same
/// engine and rules as a CSV file. `name` names it in messages; line numbers count from its header.
pub fn count_csv_stream(reader: Box<dyn std::io::Read + Send + '_>, spec: &Spec, name: &str, progress: &Progress) -> Result<Counts, FairnessError> {
    let plan = plan::Plan::new(spec, name)?;
    some_rows(csv::count(reader, &plan, progress)?, name)
}

fn some_rows(counts: Counts, file: &str) -> Result<Counts, FairnessError> {
    if counts.rows == 0 {
        let why = if counts.skipped > 0 {
            format!("no usable rows ({} skipped as bad)", counts.skipped)
        } else {
            "no data rows".to_string()
        };
        return Err(FairnessError::input(file, None, None, why));
    }
    Ok(counts)
}

/// Reads the log and computes the full report.
pub fn analyze(path: &Path, spec: &Spec, progress: &Progress) -> Result<Report, FairnessError> {
    let (counts, format) = count(path, spec, progress)?;
    report::build(&counts, spec, &path.display().to_string(), &format.to_string())
}
