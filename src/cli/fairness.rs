//! `steward fairness FILE ...`: the headless twin of the fairness view.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::fairness::pushdown::SqlSource;
use crate::fairness::{Decision, Encoding, ErrorKind, FairnessError, Progress, SmallGroupRule, Spec, Window};
use crate::config::LogSource;
use crate::sources::SqlLog;
use super::{Failure, Global, exit};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct FairnessArgs {
    /// Prediction log: CSV (optionally .gz / .zst), JSON Lines (.jsonl/.ndjson) or Parquet; a path, or an
    /// s3://, gs://, az:// or https:// URL (one object, or a prefix of several read as one log; credentials
    /// from AWS_* / GOOGLE_* / AZURE_* variables and ~/.aws/credentials, never stored).
    #[arg(required_unless_present = "source", conflicts_with = "source")]
    pub file: Option<PathBuf>,
    /// A log in a SQL engine: the name of a `[[profile.log]]` entry of the profile, or
    /// `postgres://HOST[:PORT]/DB` with --table or --query (or `?table=NAME`). The engine computes the
    /// counts (one query; login from PGUSER / PGPASSWORD) and Steward the rest. An entry's column
    /// mapping fills the flags not given.
    #[arg(long, value_name = "NAME|URL")]
    pub source: Option<String>,
    /// The source's table (`NAME` or `SCHEMA.NAME`; quoted, so any characters are safe).
    #[arg(long, value_name = "NAME", requires = "source", conflicts_with = "query")]
    pub table: Option<String>,
    /// The source's rows as the operator's own SELECT (used as a sub-query).
    #[arg(long, value_name = "SQL", requires = "source")]
    pub query: Option<String>,
    /// Print the query the engine would run (with its parameters) and stop.
    #[arg(long, requires = "source")]
    pub show_sql: bool,
    /// Do not push the group-by down: fetch every row (COPY ... TO STDOUT as CSV) and count here.
    #[arg(long, requires = "source", conflicts_with = "show_sql")]
    pub fetch: bool,
    /// Group column(s); several give intersectional groups (key 'a|b').
    #[arg(long, value_delimiter = ',', required_unless_present = "source", value_name = "COL[,COL]")]
    pub group: Vec<String>,
    /// Label (actual outcome) column.
    #[arg(long, value_name = "COL", required_unless_present = "source")]
    pub label: Option<String>,
    /// Label value meaning the positive outcome (default: 1/true, labels must then be 0/1). Negative
    /// values are fine as typed (`--positive-label -1`).
    #[arg(long, value_name = "V", allow_hyphen_values = true)]
    pub positive_label: Option<String>,
    /// Prediction (decision) column.
    #[arg(long, value_name = "COL", conflicts_with = "score")]
    pub prediction: Option<String>,
    /// Prediction value(s) meaning a positive decision (default: 1/true).
    #[arg(long, value_delimiter = ',', value_name = "V[,V]", requires = "prediction", allow_hyphen_values = true)]
    pub positive_prediction: Vec<String>,
    /// Score column; positive iff score >= --threshold. Adds a threshold sweep.
    #[arg(long, value_name = "COL", requires = "threshold")]
    pub score: Option<String>,
    /// A score >= T is a positive decision (as scikit-learn's roc_curve counts it; note that
    /// LogisticRegression.predict and Fairlearn's ThresholdOptimizer use >: give --strict for that).
    #[arg(long, value_name = "T", requires = "score", allow_hyphen_values = true)]
    pub threshold: Option<f64>,
    /// A score > T (strictly) is positive, as LogisticRegression.predict and ThresholdOptimizer decide;
    /// the threshold sweep then uses > too.
    #[arg(long, requires = "score")]
    pub strict: bool,
    /// Encoding of the file's text values: utf-8 (default; other bytes are an error naming the line)
    /// or latin-1 (ISO-8859-1, as pandas' encoding="latin-1").
    #[arg(long, value_name = "ENC", default_value = "utf-8")]
    pub encoding: String,
    /// Reference group key for the four-fifths comparison ('Female', or 'Female|White'); default: the largest.
    #[arg(long, value_name = "GROUP", allow_hyphen_values = true)]
    pub reference: Option<String>,
    /// Timestamp column (ISO 8601 or epoch seconds), for per-window results.
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// Window width: 1d (UTC days) or 1w (ISO weeks).
    #[arg(long, value_name = "1d|1w", default_value = "1d", requires = "time")]
    pub window: String,
    /// Model version column, for per-version results.
    #[arg(long = "version", value_name = "COL")]
    pub version_column: Option<String>,
    /// Undefined rates as Fairlearn reports them (0.0) instead of null.
    #[arg(long)]
    pub fairlearn_compat: bool,
    /// Skip bad rows (counted and reported) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Four-fifths rule bounds on the ratio to the reference group.
    #[arg(long, value_name = "LO,HI", default_value = "0.8,1.25")]
    pub four_fifths: String,
    /// Groups smaller than this are flagged as too small to judge.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub min_group_size: u64,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

fn usage(message: String) -> Failure {
    Failure { message, code: exit::USAGE }
}

impl FairnessArgs {
    /// The request; a profile's log entry fills what the flags leave out.
    pub fn spec(&self, entry: Option<&LogSource>) -> Result<Spec, Failure> {
        let e = entry.cloned().unwrap_or_default();
        let flags_decide = self.prediction.is_some() || self.score.is_some();
        let (prediction, score, threshold, positive) = if flags_decide {
            (self.prediction.clone(), self.score.clone(), self.threshold, self.positive_prediction.clone())
        } else if e.prediction.is_some() {
            (e.prediction.clone(), None, None, e.positive_prediction.clone())
        } else {
            (None, e.score.clone(), self.threshold.or(e.threshold), Vec::new())
        };
        let decision = match (prediction, score, threshold) {
            (Some(p), None, _) => Decision::Prediction { column: p, positive },
            (None, Some(s), Some(t)) => Decision::Score { column: s, threshold: t },
            _ => return Err(usage("give --prediction COL, or --score COL with --threshold T".into())),
        };
        let group: Vec<String> = if self.group.is_empty() { e.group.clone() } else { self.group.clone() };
        if group.is_empty() {
            return Err(usage("give --group COL[,COL]".into()));
        }
        let label = self.label.clone().or(e.label.clone()).ok_or_else(|| usage("give --label COL".into()))?;
        let window = Window::parse(&self.window).ok_or_else(|| usage(format!("--window '{}': use 1d or 1w", self.window)))?;
        let bounds = self
            .four_fifths
            .split_once(',')
            .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
            .ok_or_else(|| usage(format!("--four-fifths '{}': expected LO,HI (e.g. 0.8,1.25)", self.four_fifths)))?;
        Ok(Spec {
            group: group.iter().map(|g| g.trim().to_string()).collect(),
            label,
            positive_label: self.positive_label.clone().or(e.positive_label.clone()),
            decision,
            reference: self.reference.clone(),
            time: self.time.clone().or(e.time.clone()),
            window,
            version: self.version_column.clone().or(e.version.clone()),
            fairlearn_compat: self.fairlearn_compat,
            skip_bad_rows: self.skip_bad_rows,
            four_fifths: bounds,
            small_groups: SmallGroupRule { min_group_size: self.min_group_size, ..SmallGroupRule::default() },
            strict_threshold: self.strict,
            encoding: Encoding::parse(&self.encoding)
                .ok_or_else(|| usage(format!("--encoding '{}': use utf-8 or latin-1", self.encoding)))?,
        })
    }
}

impl From<FairnessError> for Failure {
    fn from(e: FairnessError) -> Self {
        let code = match e.kind {
            ErrorKind::Usage => exit::USAGE,
            _ => exit::ERROR,
        };
        Failure { message: e.to_string(), code }
    }
}

/// The SQL log named by --source (a profile entry, or a URL with --table / --query), and its entry.
fn sql_log(g: &Global, args: &FairnessArgs, named: &str) -> Result<(SqlLog, Option<LogSource>), Failure> {
    let source = match (&args.table, &args.query) {
        (Some(t), None) => Some(SqlSource::Table(t.clone())),
        (None, Some(q)) => Some(SqlSource::Query(q.clone())),
        _ => None,
    };
    let looks_like_url = named.contains("://");
    let logs = if looks_like_url { Vec::new() } else { super::context(g)?.profile.map(|p| p.logs).unwrap_or_default() };
    match SqlLog::resolve(named, &logs, source) {
        Some(Ok((log, entry))) => Ok((log, entry.cloned())),
        Some(Err(e)) => Err(usage(e)),
        None if looks_like_url => Err(usage(format!("'{named}': a SQL log's URL is postgres://HOST[:PORT]/DB"))),
        None => {
            let names: Vec<&str> = logs.iter().map(|l| l.name.as_str()).collect();
            Err(usage(format!(
                "no log named '{named}' in the profile's [[profile.log]] entries ({}), and not a postgres:// URL",
                if names.is_empty() { "it has none".to_string() } else { names.join(", ") }
            )))
        }
    }
}

pub fn run(g: &Global, args: &FairnessArgs) -> Result<(), Failure> {
    let progress = Progress::new();
    let timeout = Duration::from_secs_f64(g.timeout.clamp(0.001, 1e6));
    let report = match (&args.file, &args.source) {
        (Some(file), _) => crate::fairness::analyze(file, &args.spec(None)?, &progress)?,
        (None, Some(named)) => {
            let (log, entry) = sql_log(g, args, named)?;
            let spec = args.spec(entry.as_ref())?;
            if args.show_sql {
                let q = crate::sources::fairness_query(&log, &spec, timeout)?;
                let params: Vec<String> = q.params.iter().map(|p| p.to_string()).collect();
                println!("-- {} ({:?}); parameters: [{}]\n{};", log.name, q.dialect, params.join(", "), q.sql);
                return Ok(());
            }
            let (report, moved) = if args.fetch {
                crate::sources::fairness_fetched(&log, &spec, timeout, &progress)?
            } else {
                crate::sources::fairness(&log, &spec, timeout, &progress)?
            };
            let what = if args.fetch { "rows" } else { "result rows (counts)" };
            eprintln!("steward: {}: {} {what}, {} bytes received", log.name, moved.rows, moved.bytes);
            report
        }
        (None, None) => return Err(usage("give a log FILE or --source URL".into())),
    };
    let text = match args.format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).map_err(|e| Failure::from(e.to_string()))?;
            s.push('\n');
            s
        }
        OutputFormat::Csv => crate::fairness::output::csv(&report),
        OutputFormat::Table => crate::fairness::output::table(&report),
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (steward ... | head) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(())
}
