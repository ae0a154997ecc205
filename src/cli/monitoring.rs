//! `steward drift CURRENT ...`: drift of a log's columns against a reference (the monitoring room's
//! engine; the window's Monitoring view is to use the same).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::fairness::OutputFormat;
use super::{Failure, exit};
use crate::fairness::{Progress, Window};
use crate::monitoring::drift::{DriftReport, DriftSpec, format_stat};
use crate::sources::LogRef;
use crate::monitoring::quality::QualityReport;
use crate::monitoring::rules::Rule;

/// Exit code when a column has drifted (for CI), as `steward alerts` when a rule fires.
pub const EXIT_DRIFT: u8 = 3;

/// Recording the rules' alerts in the audit log, as the window's alerts are.
#[derive(Args, Debug, Default)]
pub struct AlertArgs {
    /// Write each --rule firing at the newest window to the audit log as an alert (alert_fired, the
    /// record the window's serving and monitoring alerts write).
    #[arg(long, requires = "rules")]
    pub record_alerts: bool,
    /// The model the log belongs to, naming the alert's series (default: the log's file name).
    #[arg(long, value_name = "NAME", requires = "record_alerts")]
    pub model: Option<String>,
}

impl AlertArgs {
    /// Records the rules firing at the newest window (`ops::monitoring_alerts`); says how many on stderr.
    fn record(&self, g: &super::Global, rules: &[String], quality: Option<&QualityReport>, drift: Option<&DriftReport>, log: &std::path::Path) -> Result<(), Failure> {
        if !self.record_alerts {
            return Ok(());
        }
        use crate::ops::monitoring_alerts::{Tracker, evaluate, record};
        let name = log.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (statuses, _) = evaluate(rules, quality, drift, self.model.as_deref().unwrap_or(&name), &name);
        let fired = Tracker::default().update(&statuses, &name);
        let ctx = super::context(g)?;
        record(&crate::ops::open_audit(&ctx.home, &ctx.policy), &fired).map_err(|e| Failure::from(format!("cannot record the alerts: {e}")))?;
        eprintln!("recorded {} alert(s) in {}", fired.len(), ctx.home.audit_log().display());
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// The current log: CSV (optionally .gz / .zst), JSON Lines or Parquet; a path, or an s3://, gs://,
    /// az:// or https:// URL (an object, or a prefix of several), credentials from the cloud's usual
    /// environment variables and files. Or a log in a SQL engine, counted there: a
    /// `postgres://HOST[:PORT]/DB?table=NAME` or `sc://HOST[:PORT]?table=NAME` URL, or the name of one of
    /// the profile's `[[profile.log]]` entries.
    pub current: PathBuf,
    /// Reference log (same columns), e.g. the training or evaluation data (a path, a URL, or a SQL log as
    /// for the current one).
    #[arg(long, value_name = "FILE", required_unless_present = "reference_days", conflicts_with = "reference_days")]
    pub reference: Option<PathBuf>,
    /// Print the query each SQL log would run, and run nothing.
    #[arg(long)]
    pub show_sql: bool,
    /// Instead of a file: the first N days (UTC) of the current log are the reference (needs --time).
    #[arg(long, value_name = "N", requires = "time")]
    pub reference_days: Option<u32>,
    /// Timestamp column (ISO 8601 or epoch seconds).
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// Current windows: 1d (UTC days) or 1w (ISO weeks); default: one window.
    #[arg(long, value_name = "W", requires = "time")]
    pub window: Option<String>,
    /// Columns to analyse (default: all but --exclude and the time column).
    #[arg(long, value_delimiter = ',', value_name = "COL[,COL]")]
    pub columns: Vec<String>,
    /// Columns to leave out (ids, labels, versions).
    #[arg(long, value_delimiter = ',', value_name = "COL[,COL]")]
    pub exclude: Vec<String>,
    /// Columns to treat as categorical even when their values are numbers (codes).
    #[arg(long, value_delimiter = ',', value_name = "COL[,COL]")]
    pub categorical: Vec<String>,
    /// A rule checked on every window, e.g. 'psi(age) > 0.2' or 'ks_p(score) < 0.01' (repeatable). With
    /// rules, exit 3 means a rule fired; without, that the default verdict found drift.
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    #[command(flatten)]
    pub alerts: AlertArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

pub fn drift_command(g: &super::Global, a: &DriftArgs) -> Result<(), Failure> {
    let window = match a.window.as_deref() {
        None => None,
        Some(w) => Some(Window::parse(w).ok_or_else(|| Failure { message: format!("--window '{w}': give 1d or 1w"), code: exit::USAGE })?),
    };
    let spec = DriftSpec {
        columns: a.columns.clone(),
        exclude: a.exclude.clone(),
        categorical: a.categorical.clone(),
        time: a.time.clone(),
        window,
        reference_days: a.reference_days,
    };
    let rules = parse_rules(&a.rules, |r| r.check_drift())?;
    let progress = Progress::new();
    let current = log_ref(g, &a.current)?;
    let reference = a.reference.as_deref().map(|r| log_ref(g, r)).transpose()?;
    let timeout = std::time::Duration::from_secs_f64(g.timeout.clamp(0.001, 1e6));
    if a.show_sql {
        let queries = crate::sources::drift_queries(reference.as_ref(), &current, &spec, timeout)?;
        if queries.is_empty() {
            return Err(Failure { message: "--show-sql: neither log is in a SQL engine".into(), code: exit::USAGE });
        }
        for q in queries {
            println!("-- {} ({}), {:?}\n{};", q.side, q.engine, q.query.dialect, q.query.sql);
        }
        return Ok(());
    }
    let (report, moved) = crate::sources::drift(reference.as_ref(), &current, &spec, timeout, &progress)?;
    if !report.queries.is_empty() {
        eprintln!("steward: {} result rows (counts), {} bytes received", moved.rows, moved.bytes);
    }
    let fired = crate::monitoring::rules::fire_drift(&rules, &report).map_err(|m| Failure { message: m, code: exit::USAGE })?;
    let text = match a.format {
        OutputFormat::Json => serde_json::to_string_pretty(&report).map_err(|e| Failure::from(e.to_string()))? + "\n",
        OutputFormat::Csv => csv(&report),
        OutputFormat::Table => table(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(|e| Failure::from(format!("cannot write the output: {e}")))?;
    a.alerts.record(g, &a.rules, None, Some(&report), Path::new(&current.short()))?;
    if !rules.is_empty() {
        return rules_outcome(&fired);
    }
    if report.any_drift() {
        return Err(Failure { message: format!("drift in {} window(s); see above", report.windows.iter().filter(|w| w.drifted_columns > 0).count()), code: EXIT_DRIFT });
    }
    Ok(())
}

/// A log as the operator named it: a SQL log (a `postgres://` or `sc://` URL, or a profile entry's
/// name, looked up only when no such file exists), else a file or object URL.
fn log_ref(g: &super::Global, named: &Path) -> Result<LogRef, Failure> {
    let text = named.to_string_lossy();
    let logs = if crate::sources::Engine::of_url(&text).is_some() || named.exists() || text.contains("://") {
        Vec::new()
    } else {
        super::context(g).ok().and_then(|c| c.profile).map(|p| p.logs).unwrap_or_default()
    };
    LogRef::parse(&text, &logs).map_err(|m| Failure { message: m, code: exit::USAGE })
}

fn parse_rules(texts: &[String], check: impl Fn(&Rule) -> Result<(), String>) -> Result<Vec<Rule>, Failure> {
    texts.iter().map(|t| Rule::parse(t).and_then(|r| check(&r).map(|()| r))).collect::<Result<_, _>>().map_err(|m| Failure { message: m, code: exit::USAGE })
}

/// Exit 3 naming each rule that fired (on stderr, after the report), or 0.
fn rules_outcome(fired: &[crate::monitoring::rules::Fired]) -> Result<(), Failure> {
    if fired.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = fired
        .iter()
        .map(|(rule, version, window, v)| if version.is_empty() { format!("{rule} in {window} ({v:.4})") } else { format!("{rule} for v{version} in {window} ({v:.4})") })
        .collect();
    Err(Failure { message: format!("{} rule firing(s): {}", fired.len(), lines.join("; ")), code: EXIT_DRIFT })
}

fn table(r: &DriftReport) -> String {
    let mut s = format!("reference: {} ({} rows)\ncurrent: {}\nrule: {}\n", r.reference, r.reference_rows, r.current, r.rule);
    if r.rows_without_time > 0 {
        s += &format!("rows without a time (not in any window): {}\n", r.rows_without_time);
    }
    for w in &r.windows {
        s += &format!("\nwindow {} ({} rows): {} of {} columns drifted\n", w.label, w.rows, w.drifted_columns, w.columns.len());
        s += &format!("{:<24} {:<12} {:<8} {:<20} {:>10} {:>10} {:>10} {:>9}  notes\n", "column", "kind", "verdict", "effect", "p-value", "PSI", "KS D", "missing");
        for c in &w.columns {
            let effect = c.effect.map(|e| format!("{} {}", format_stat(Some(e)), if c.effect_measure == "jensen_shannon" { "JS" } else { "W/sd" })).unwrap_or_else(|| "-".into());
            let missing = format!("{}/{}", c.reference_missing, c.current_missing);
            s += &format!(
                "{:<24} {:<12} {:<8} {:<20} {:>10} {:>10} {:>10} {:>9}  {}\n",
                c.column,
                c.kind,
                c.verdict_word(),
                effect,
                format_stat(c.p_value),
                format_stat(c.psi),
                format_stat(c.ks_statistic),
                missing,
                c.notes().join("; ")
            );
        }
    }
    for q in &r.queries {
        s += &format!("\n{} counted in {} by this query:\n{}\n", q.side, q.engine, q.query.sql);
    }
    s
}

fn csv(r: &DriftReport) -> String {
    let mut s = String::from("window,rows,column,kind,drifted,effect_measure,effect,p_value,ks_statistic,ks_p_value,wasserstein,wasserstein_normed,chi_square,chi_square_p_value,jensen_shannon,psi,reference_rows,current_rows,reference_missing,current_missing,new_categories\n");
    let f = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for w in &r.windows {
        for c in &w.columns {
            let new: Vec<String> = c.new_categories.iter().map(|(k, n)| format!("{k}={n}")).collect();
            let row = [
                w.label.clone(),
                w.rows.to_string(),
                c.column.clone(),
                c.kind.to_string(),
                c.drifted.to_string(),
                c.effect_measure.to_string(),
                f(c.effect),
                f(c.p_value),
                f(c.ks_statistic),
                f(c.ks_p_value),
                f(c.wasserstein),
                f(c.wasserstein_normed),
                f(c.chi_square.map(|x| x.statistic)),
                f(c.chi_square.map(|x| x.p_value)),
                f(c.jensen_shannon),
                f(c.psi),
                c.reference_rows.to_string(),
                c.current_rows.to_string(),
                c.reference_missing.to_string(),
                c.current_missing.to_string(),
                new.join(";"),
            ];
            let cells: Vec<String> = row.iter().map(|c| crate::domain::csv_cell(c)).collect();
            s += &cells.join(",");
            s.push('\n');
        }
    }
    s
}

#[derive(Args, Debug)]
pub struct QualityArgs {
    /// The prediction log: CSV (optionally .gz / .zst), JSON Lines or Parquet; a path, or an s3://, gs://,
    /// az:// or https:// URL (an object, or a prefix of several).
    pub predictions: PathBuf,
    /// Label column: in the prediction log, or in --labels FILE when given.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// A separate label log (id, label, labelled-at), joined by id (a path or a URL).
    #[arg(long, value_name = "FILE", requires = "id")]
    pub labels: Option<PathBuf>,
    /// Request id column of the prediction log (and of the label log unless --label-id).
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Id column of the label log, when named differently.
    #[arg(long, value_name = "COL", requires = "labels")]
    pub label_id: Option<String>,
    /// When each label was given (the latest wins for an id labelled twice).
    #[arg(long, value_name = "COL", requires = "labels")]
    pub labelled_at: Option<String>,
    /// Decision column.
    #[arg(long, value_name = "COL", required_unless_present = "threshold")]
    pub prediction: Option<String>,
    /// Score column (ROC AUC; with --threshold and no --prediction, the decision).
    #[arg(long, value_name = "COL")]
    pub score: Option<String>,
    #[arg(long, value_name = "T", requires = "score")]
    pub threshold: Option<f64>,
    /// The positive class as written (1 also matches 1.0 and true).
    #[arg(long, value_name = "V", default_value = "1", allow_hyphen_values = true)]
    pub positive: String,
    /// Prediction time column (ISO 8601 or epoch seconds): windows are by prediction time.
    #[arg(long, value_name = "COL")]
    pub time: String,
    /// 1d (UTC days) or 1w (ISO weeks).
    #[arg(long, value_name = "W", default_value = "1d")]
    pub window: String,
    /// Model version column.
    #[arg(long, value_name = "COL")]
    pub version: Option<String>,
    /// A rule checked on every version and window, e.g. 'accuracy < 0.8' or 'roc_auc < 0.75'
    /// (repeatable); exit 3 when one fires.
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    #[command(flatten)]
    pub alerts: AlertArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

pub fn quality_command(g: &super::Global, a: &QualityArgs) -> Result<(), Failure> {
    use crate::monitoring::quality::{Estimate, Labels, QualitySpec, quality};
    let window = Window::parse(&a.window).ok_or_else(|| Failure { message: format!("--window '{}': give 1d or 1w", a.window), code: exit::USAGE })?;
    let labels = match (&a.labels, &a.id) {
        (Some(path), Some(id)) => Labels::Join {
            path: path.clone(),
            id: id.clone(),
            label_id: a.label_id.clone().unwrap_or_else(|| id.clone()),
            label: a.label.clone(),
            labelled_at: a.labelled_at.clone(),
        },
        _ => Labels::InLog { label: a.label.clone() },
    };
    let spec = QualitySpec {
        labels,
        prediction: a.prediction.clone(),
        score: a.score.clone(),
        threshold: a.threshold,
        positive: a.positive.clone(),
        time: a.time.clone(),
        window,
        version: a.version.clone(),
    };
    let rules = parse_rules(&a.rules, |r| r.check_quality())?;
    let report = quality(&a.predictions, &spec, &Progress::new())?;
    let e = |x: &Option<Estimate>| x.map(|v| format!("{:.4} [{:.4}, {:.4}]", v.value, v.low, v.high)).unwrap_or_else(|| "-".into());
    let text = match a.format {
        OutputFormat::Json => serde_json::to_string_pretty(&report).map_err(|e| Failure::from(e.to_string()))? + "\n",
        OutputFormat::Csv => {
            let mut s = String::from("version,window,rows,labelled,tp,fp,fn,tn,accuracy,accuracy_low,accuracy_high,precision,precision_low,precision_high,recall,recall_low,recall_high,f1,f1_low,f1_high,roc_auc,roc_auc_low,roc_auc_high\n");
            let f = |x: &Option<Estimate>| x.map(|v| format!("{},{},{}", v.value, v.low, v.high)).unwrap_or_else(|| ",,".into());
            for w in &report.windows {
                s += &format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    crate::domain::csv_cell(w.version.as_deref().unwrap_or("")),
                    w.window,
                    w.rows,
                    w.labelled,
                    w.true_positives,
                    w.false_positives,
                    w.false_negatives,
                    w.true_negatives,
                    f(&w.accuracy),
                    f(&w.precision),
                    f(&w.recall),
                    f(&w.f1),
                    f(&w.roc_auc)
                );
            }
            s
        }
        OutputFormat::Table => {
            let mut s = format!("predictions: {}\n", report.predictions);
            if let (Some(l), Some(j)) = (&report.labels, &report.join) {
                s += &format!(
                    "labels: {l} ({} rows; {} duplicate ids, latest kept; {} for ids no prediction has; {} rows without id); predictions without a label: {}\n",
                    j.label_rows, j.duplicate_label_ids, j.labels_for_unknown_ids, j.label_rows_without_id, j.predictions_without_label
                );
            }
            s += &format!("intervals: {}\n\n", report.method);
            s += &format!("{:<10} {:<10} {:>7} {:>8}  {:<26} {:<26} {:<26} {:<26} {:<26}\n", "version", "window", "rows", "labelled", "accuracy", "precision", "recall", "F1", "ROC AUC");
            for w in &report.windows {
                s += &format!(
                    "{:<10} {:<10} {:>7} {:>8}  {:<26} {:<26} {:<26} {:<26} {:<26}\n",
                    w.version.as_deref().unwrap_or("-"),
                    w.window,
                    w.rows,
                    w.labelled,
                    e(&w.accuracy),
                    e(&w.precision),
                    e(&w.recall),
                    e(&w.f1),
                    e(&w.roc_auc)
                );
            }
            s
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| Failure::from(format!("cannot write the output: {e}")))?;
    a.alerts.record(g, &a.rules, Some(&report), None, &a.predictions)?;
    rules_outcome(&crate::monitoring::rules::fire_quality(&rules, &report))
}
