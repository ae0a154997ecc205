//! The Fairness view's state: which log is open, its column mapping, the analyses in flight (with
//! progress and cancel) and their results. Counting runs in the backend; nothing here reads a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::app::{Loadable, StewardApp};
use crate::backend::Command;
use crate::fairness::report::Section;
pub use crate::fairness::mapping::Mapping;
use crate::fairness::{Metric, Progress, Report, Spec};
use crate::sources::LogRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Groups,
    OverTime,
    Compare,
    Threshold,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Groups, Tab::OverTime, Tab::Compare, Tab::Threshold];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Groups => "Groups",
            Tab::OverTime => "Over time",
            Tab::Compare => "Champion vs challenger",
            Tab::Threshold => "Threshold explorer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Main,
    /// The sweep for the given rows (None: all versions).
    Sweep,
}

pub struct Running {
    pub run: u64,
    pub purpose: Purpose,
    pub progress: Arc<Progress>,
    pub started: Instant,
    pub file: String,
    /// The mapping and log the analysis was started with.
    pub mapping: Mapping,
    pub log: LogRef,
}

/// A finished analysis.
pub struct Done {
    pub report: Arc<Report>,
    pub elapsed: Duration,
    /// For sweeps: the version the curves were computed for.
    pub version: Option<String>,
    /// What the results were computed from: when the operator changes either, they are marked stale.
    pub mapping: Mapping,
    pub log: LogRef,
}

impl Done {
    /// Why these results no longer match what the view is set to (None: they do).
    pub fn stale(&self, mapping: &Mapping, log: Option<&LogRef>) -> Option<String> {
        if log != Some(&self.log) {
            return Some("another log is open".into());
        }
        if &self.mapping == mapping {
            return None;
        }
        let mut what = Vec::new();
        if self.mapping.group != mapping.group {
            what.push(format!("groups were {}", self.mapping.group.join(" x ")));
        }
        if self.mapping.label != mapping.label || self.mapping.positive_label != mapping.positive_label {
            what.push("the label changed".into());
        }
        if self.mapping.use_score != mapping.use_score
            || self.mapping.prediction != mapping.prediction
            || self.mapping.score != mapping.score
            || self.mapping.threshold != mapping.threshold
            || self.mapping.strict_threshold != mapping.strict_threshold
            || self.mapping.positive_prediction != mapping.positive_prediction
        {
            what.push("the decision changed".into());
        }
        if what.is_empty() {
            what.push("the mapping changed".into());
        }
        Some(what.join("; "))
    }
}

pub struct FairnessState {
    pub path_input: String,
    pub log: Option<LogRef>,
    pub columns: Option<Loadable<Vec<String>>>,
    pub mapping: Mapping,
    pub show_mapping: bool,
    pub running: Vec<Running>,
    pub report: Option<Loadable<Done>>,
    pub sweep: Option<Loadable<Done>>,
    pub tab: Tab,
    pub metric: Metric,
    /// Rows shown: one model version's, or all (None).
    pub version: Option<String>,
    /// Group columns shown: the intersection (None) or one column's marginals.
    pub marginal: Option<String>,
    pub left: Option<String>,
    pub right: Option<String>,
    pub threshold: f64,
    /// Set once the view has opened a log by itself (remembered or the sample's).
    pub auto_opened: bool,
    pub cancelled: bool,
    next_run: u64,
    sweep_version: Option<Option<String>>,
}

impl Default for FairnessState {
    fn default() -> Self {
        FairnessState {
            path_input: String::new(),
            log: None,
            columns: None,
            mapping: Mapping::default(),
            show_mapping: false,
            running: Vec::new(),
            report: None,
            sweep: None,
            tab: Tab::Groups,
            metric: Metric::SelectionRate,
            version: None,
            marginal: None,
            left: None,
            right: None,
            threshold: 0.5,
            auto_opened: false,
            cancelled: false,
            next_run: 1,
            sweep_version: None,
        }
    }
}

impl FairnessState {
    pub fn done(&self) -> Option<&Done> {
        match &self.report {
            Some(Loadable::Ready(d)) => Some(d),
            _ => None,
        }
    }

    /// The section drawn: the chosen version's rows or all rows, intersection or one column.
    pub fn section(&self) -> Option<&Section> {
        let d = self.done()?;
        if let Some(v) = &self.version {
            return d.report.versions.iter().find(|s| &s.version == v).map(|s| &s.section);
        }
        match &self.marginal {
            Some(col) => d.report.marginals.get(col),
            None => Some(&d.report.main),
        }
    }

    /// Forgets the sweep so that the explorer computes it again.
    pub fn retry_sweep(&mut self) {
        self.sweep = None;
        self.sweep_version = None;
    }

    pub fn cancel(&mut self) {
        for r in &self.running {
            r.progress.cancel();
        }
        self.cancelled = !self.running.is_empty();
    }
}

/// Opens what the operator typed: a file path, a profile's SQL log by name, or a postgres:// URL with
/// `?table=` (a profile entry's column mapping is taken as the first guess).
pub fn open_input(app: &mut StewardApp, input: String) {
    let logs = app.active_profile.as_ref().map(|p| p.logs.clone()).unwrap_or_default();
    match LogRef::parse_with_mapping(&input, &logs) {
        Ok((log @ LogRef::Sql(_), mapping)) => {
            if let Some(m) = mapping {
                app.fairness.mapping = m;
            }
            app.fairness.path_input = input.trim().to_string();
            open(app, log);
            app.persisted.fairness_log = Some(input.trim().to_string());
        }
        Ok((file, _)) => open(app, file),
        Err(e) => app.notify(format!("Cannot open the log: {e}"), true),
    }
}

/// Opens a log: reads its columns first (the mapping is then checked or guessed, and the analysis runs).
pub fn open(app: &mut StewardApp, log: LogRef) {
    let st = &mut app.fairness;
    st.cancel();
    if let LogRef::File(path) = &log {
        st.path_input = path.display().to_string();
        app.persisted.fairness_log = Some(path.display().to_string());
    }
    st.log = Some(log.clone());
    st.columns = Some(Loadable::Loading);
    st.report = None;
    st.sweep = None;
    st.sweep_version = None;
    st.version = None;
    st.marginal = None;
    st.left = None;
    st.right = None;
    st.cancelled = false;
    app.backend.send(Command::FairnessColumns { log });
}

pub fn on_columns(app: &mut StewardApp, log: LogRef, result: Result<Vec<String>, String>) {
    if app.fairness.log.as_ref() != Some(&log) {
        return;
    }
    match result {
        Ok(cols) => {
            let st = &mut app.fairness;
            if !st.mapping.fits(&cols) {
                st.mapping = Mapping::guess(&cols);
            }
            let ok = st.mapping.fits(&cols);
            st.columns = Some(Loadable::Ready(cols));
            if ok {
                analyze(app);
            } else {
                app.fairness.show_mapping = true;
            }
        }
        Err(e) => app.fairness.columns = Some(Loadable::Failed(e)),
    }
}

fn start(app: &mut StewardApp, purpose: Purpose, spec: Spec) {
    let Some(log) = app.fairness.log.clone() else { return };
    let st = &mut app.fairness;
    st.running.retain(|r| {
        let same = r.purpose == purpose;
        if same {
            r.progress.cancel();
        }
        !same
    });
    let run = st.next_run;
    st.next_run += 1;
    let progress = Arc::new(Progress::new());
    let file = log.short();
    let mapping = st.mapping.clone();
    st.running.push(Running { run, purpose, progress: progress.clone(), started: Instant::now(), file, mapping, log: log.clone() });
    st.cancelled = false;
    app.backend.send(Command::Fairness { run, log, spec: Box::new(spec), progress });
}

/// Runs the main analysis with the current mapping.
pub fn analyze(app: &mut StewardApp) {
    match app.fairness.mapping.spec() {
        Ok(spec) => {
            app.persisted.fairness_mapping = Some(app.fairness.mapping.clone());
            // A finished report stays on screen (under the progress bar) until the new one replaces it.
            if !matches!(app.fairness.report, Some(Loadable::Ready(_))) {
                app.fairness.report = Some(Loadable::Loading);
            }
            app.fairness.sweep = None;
            app.fairness.sweep_version = None;
            start(app, Purpose::Main, spec);
        }
        Err(e) => {
            app.fairness.report = Some(Loadable::Failed(e));
            app.fairness.show_mapping = true;
        }
    }
}

/// Starts the threshold sweep for the rows shown, unless it is already there or running.
pub fn ensure_sweep(app: &mut StewardApp) {
    let st = &app.fairness;
    let wanted = st.version.clone();
    if st.sweep_version.as_ref() == Some(&wanted) || st.done().is_none() {
        return;
    }
    match st.mapping.sweep_spec(wanted.is_some()) {
        Ok(spec) => {
            app.fairness.sweep_version = Some(wanted);
            app.fairness.sweep = Some(Loadable::Loading);
            start(app, Purpose::Sweep, spec);
        }
        Err(e) => {
            app.fairness.sweep_version = Some(wanted);
            app.fairness.sweep = Some(Loadable::Failed(e));
        }
    }
}

pub fn on_report(app: &mut StewardApp, run: u64, result: Result<Arc<Report>, String>, elapsed: Duration) {
    let st = &mut app.fairness;
    let Some(i) = st.running.iter().position(|r| r.run == run) else {
        return; // superseded or cancelled and replaced
    };
    let r = st.running.remove(i);
    if result.is_err() && r.progress.cancelled() {
        // Cancelled: whatever was shown before stays.
        if matches!(st.report, Some(Loadable::Loading)) && r.purpose == Purpose::Main {
            st.report = None;
        }
        if r.purpose == Purpose::Sweep {
            st.sweep = Some(Loadable::Failed("The threshold sweep was cancelled.".into()));
        }
        return;
    }
    let value = match result {
        Ok(report) => Loadable::Ready(Done { report, elapsed, version: st.sweep_version.clone().flatten(), mapping: r.mapping, log: r.log }),
        Err(e) => Loadable::Failed(e),
    };
    match r.purpose {
        Purpose::Main => {
            if let Loadable::Ready(d) = &value {
                choose_versions(st, &d.report, &app.models);
            }
            st.report = Some(value);
        }
        Purpose::Sweep => st.sweep = Some(value),
    }
}

/// Picks champion and challenger (from the registry's aliases of the model that names this log) for the
/// comparison, else the two highest versions; and shows the champion's rows first.
fn choose_versions(st: &mut FairnessState, report: &Report, models: &Loadable<Vec<crate::domain::RegisteredModel>>) {
    let versions: Vec<&String> = report.versions.iter().map(|v| &v.version).collect();
    if versions.is_empty() {
        st.version = None;
        return;
    }
    let aliases = aliases_for(st, models);
    let alias_version = |a: &str| aliases.iter().find(|(n, _)| n == a).map(|(_, v)| v.to_string()).filter(|v| versions.contains(&v));
    let mut sorted: Vec<&String> = versions.clone();
    sorted.sort_by_key(|v| (v.parse::<u64>().unwrap_or(u64::MAX), (*v).clone()));
    let last = sorted.last().map(|v| (*v).clone());
    let before_last = sorted.len().checked_sub(2).and_then(|i| sorted.get(i)).map(|v| (*v).clone());
    st.left = alias_version("champion").or(before_last).or(last.clone());
    st.right = alias_version("challenger").or(last).filter(|r| Some(r) != st.left.as_ref()).or_else(|| sorted.first().map(|v| (*v).clone()));
    if st.version.as_ref().is_none_or(|v| !versions.contains(&v)) {
        st.version = st.left.clone();
    }
}

/// Aliases (name, version) of the model whose `prediction_log` tag names the open log.
pub fn aliases_for(st: &FairnessState, models: &Loadable<Vec<crate::domain::RegisteredModel>>) -> Vec<(String, u64)> {
    st.log.as_ref().and_then(LogRef::file).map(|log| aliases_for_log(log, models)).unwrap_or_default()
}

/// The aliases of the model whose `prediction_log` tag names `log`, as (alias, version).
pub fn aliases_for_log(log: &std::path::Path, models: &Loadable<Vec<crate::domain::RegisteredModel>>) -> Vec<(String, u64)> {
    model_for_log(log, models).map(|m| m.aliases.iter().map(|(a, v)| (a.clone(), *v)).collect()).unwrap_or_default()
}

/// The model whose `prediction_log` tag names `log`.
pub fn model_for_log<'a>(log: &std::path::Path, models: &'a Loadable<Vec<crate::domain::RegisteredModel>>) -> Option<&'a crate::domain::RegisteredModel> {
    let Loadable::Ready(models) = models else { return None };
    models.iter().find(|m| m.tags.get("prediction_log").is_some_and(|p| std::path::Path::new(p) == log))
}

/// When the view is first shown: reopen the remembered log, else the log a model names (the sample's).
pub fn auto_open(app: &mut StewardApp) {
    if app.fairness.auto_opened || app.fairness.log.is_some() {
        return;
    }
    let logs = app.active_profile.as_ref().map(|p| p.logs.clone()).unwrap_or_default();
    let remembered = app.persisted.fairness_log.clone().filter(|s| match LogRef::parse(s, &logs) {
        Ok(LogRef::File(p)) => crate::objects::Remote::present(&p),
        Ok(LogRef::Sql(_)) => true,
        Err(_) => false,
    });
    let named = match &app.models {
        Loadable::Ready(models) => {
            let selected = app.persisted.selected_model.as_ref();
            let pick = models.iter().find(|m| Some(&m.name) == selected && m.tags.contains_key("prediction_log"));
            pick.or_else(|| models.iter().find(|m| m.tags.contains_key("prediction_log")))
                .and_then(|m| m.tags.get("prediction_log"))
                .map(PathBuf::from)
                .filter(|p| crate::objects::Remote::present(p))
        }
        Loadable::Loading => return, // wait for the models before deciding
        Loadable::Failed(_) => None,
    };
    app.fairness.auto_opened = true;
    if let Some(m) = app.persisted.fairness_mapping.clone() {
        app.fairness.mapping = m;
    }
    match (remembered, named) {
        (Some(input), _) => open_input(app, input),
        (None, Some(p)) => open(app, LogRef::File(p)),
        (None, None) => {}
    }
}
