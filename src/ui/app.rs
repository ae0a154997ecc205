//! The application state and frame loop: drain backend events, handle shortcuts, draw panels, apply actions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};

use super::dialogs::{self, MoveDialog, Stage};
use super::fairness::{FairnessState, Mapping};
use super::palette::Palette;
use super::views;
use super::widgets::{self, AMBER, GREEN, GREY, RED};
use crate::backend::{self, BackendHandle, Command, Event};
use crate::cli::Context;
use crate::config::{Profile, Profiles, RegistrySpec};
use crate::domain::{ModelVersion, RegisteredModel, SourceState, VersionNumber};
use crate::ops::{AliasEvent, Interrupted};

/// Time the UI spends applying backend events per frame.
const EVENT_BUDGET: Duration = Duration::from_millis(8);
const NOTICE_LIFETIME: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum View {
    #[default]
    Models,
    Endpoints,
    Fairness,
    Audit,
}

impl View {
    pub const ALL: [View; 4] = [View::Models, View::Endpoints, View::Fairness, View::Audit];
    pub fn title(self) -> &'static str {
        match self {
            View::Models => "Models",
            View::Endpoints => "Endpoints",
            View::Fairness => "Fairness",
            View::Audit => "Audit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    Dark,
    Light,
}

/// What is remembered between runs (window size and panel widths are kept by eframe/egui themselves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub view: View,
    pub theme: ThemeChoice,
    pub model_filter: String,
    pub selected_model: Option<String>,
    /// The last prediction log opened in the Fairness view, and its column mapping.
    pub fairness_log: Option<String>,
    pub fairness_mapping: Option<Mapping>,
}

/// Everything an operator can do from the palette, a button or a shortcut.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Go(View),
    Refresh,
    ToggleTheme,
    OpenSample,
    AddRegistry,
    UseProfile(String),
    UseHomeRegistry,
    SelectModel(String),
    SelectVersion(Option<u64>),
    /// Open the promote dialog for a version.
    Promote { model: String, version: VersionNumber },
    /// Open the roll-back dialog for an alias.
    Rollback { model: String, alias: String },
    VerifyAudit,
    /// Open a prediction log in the Fairness view.
    OpenLog(PathBuf),
    /// Choose a prediction log with the system's file dialog.
    BrowseLog,
    /// Start or stop playing the sample's prediction log back as live traffic.
    ToggleReplay,
    /// Open "Export audit report..." for a model (None: the selected one).
    ExportReport(Option<String>),
}

impl Action {
    /// The palette's wording; "..." marks actions that open a dialog.
    pub fn label(&self) -> String {
        match self {
            Action::Go(v) => format!("Go to {}", v.title()),
            Action::Refresh => "Refresh models".into(),
            Action::ToggleTheme => "Toggle dark/light theme".into(),
            Action::OpenSample => "Open sample workspace".into(),
            Action::AddRegistry => "Add MLflow registry...".into(),
            Action::UseProfile(p) => format!("Connect to profile: {p}"),
            Action::UseHomeRegistry => "Connect to the local registry in the home".into(),
            Action::SelectModel(m) => format!("Open model: {m}"),
            Action::SelectVersion(_) => "Select version".into(),
            Action::Promote { model, version } => format!("Promote {model} v{version}..."),
            Action::Rollback { model, alias } => format!("Roll back {model}@{alias}..."),
            Action::VerifyAudit => "Verify audit log".into(),
            Action::OpenLog(p) => format!("Open prediction log {}", p.display()),
            Action::BrowseLog => "Open prediction log...".into(),
            Action::ToggleReplay => "Replay the sample log as live traffic (start/stop)".into(),
            Action::ExportReport(m) => match m {
                Some(m) => format!("Export audit report of {m}..."),
                None => "Export audit report...".into(),
            },
        }
    }

    pub fn shortcut(&self) -> Option<&'static str> {
        match self {
            Action::Go(View::Models) => Some("Ctrl+1"),
            Action::Go(View::Endpoints) => Some("Ctrl+2"),
            Action::Go(View::Fairness) => Some("Ctrl+3"),
            Action::Go(View::Audit) => Some("Ctrl+4"),
            Action::Refresh => Some("F5"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The "Add MLflow registry..." dialog's fields.
#[derive(Debug, Clone, Default)]
pub struct AddRegistryForm {
    pub name: String,
    pub url: String,
    pub error: Option<String>,
}

pub struct StewardApp {
    pub(crate) backend: BackendHandle,
    repaint_ctx: Arc<OnceLock<egui::Context>>,
    pub persisted: Persisted,
    pub(crate) profiles: Profiles,
    pub(crate) active_profile: Option<Profile>,
    pub(crate) registry_generation: u64,
    pub(crate) registry_description: String,
    pub(crate) registry_state: SourceState,
    pub(crate) registry_is_local: bool,
    pub(crate) models: Loadable<Vec<RegisteredModel>>,
    pub(crate) versions: BTreeMap<String, Loadable<Vec<ModelVersion>>>,
    pub(crate) selected_version: Option<u64>,
    /// The version the selected one is compared with, if any.
    pub(crate) compare_with: Option<u64>,
    pub(crate) chart_metric: String,
    pub(crate) palette: Option<Palette>,
    pub(crate) add_registry: Option<AddRegistryForm>,
    pub move_dialog: Option<MoveDialog>,
    pub(crate) interrupted: Vec<Interrupted>,
    pub(crate) history: BTreeMap<String, Loadable<Vec<AliasEvent>>>,
    pub(crate) audit_status: Option<Result<String, String>>,
    /// "What did ALIAS point to at TIME": the Audit view's question.
    pub(crate) history_question: (String, String),
    pub(crate) fairness: FairnessState,
    pub(crate) endpoints: super::endpoints::EndpointsState,
    /// Whether the sample log is played back as traffic (None: not decided; the Endpoints view starts it
    /// when nothing is configured).
    pub(crate) endpoints_replay: Option<bool>,
    /// Bumped on every profile change; with the replay flag, what the running monitor was started for.
    profile_generation: u64,
    monitor_key: Option<(u64, bool)>,
    pub(crate) export: Option<super::export::ExportDialog>,
    policy: crate::ops::Policy,
    pub(crate) home: crate::config::Home,
    pub(crate) timeout: Duration,
    /// The answer of an open file dialog (it runs on a thread of its own).
    browse: Option<widgets::FileDialogTask>,
    last_poll: Instant,
    notices: Vec<(Instant, String, bool)>,
    theme_applied: Option<ThemeChoice>,
}

impl StewardApp {
    pub fn new(ctx: Context, persisted: Persisted) -> Self {
        let repaint_ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let for_backend = repaint_ctx.clone();
        let handle = backend::start(
            ctx.home.clone(),
            ctx.timeout,
            ctx.policy.clone(),
            Arc::new(move || {
                if let Some(c) = for_backend.get() {
                    c.request_repaint();
                }
            }),
        );
        let registry_description = ctx.spec.display(&ctx.home);
        let registry_is_local = !matches!(ctx.spec, RegistrySpec::Mlflow(_));
        handle.send(Command::Connect(ctx.spec.clone()));
        StewardApp {
            backend: handle,
            repaint_ctx,
            persisted,
            profiles: ctx.profiles.clone(),
            active_profile: ctx.profile.clone(),
            registry_generation: 0,
            registry_description,
            registry_state: SourceState::Connecting,
            registry_is_local,
            models: Loadable::Loading,
            versions: BTreeMap::new(),
            selected_version: None,
            compare_with: None,
            chart_metric: String::new(),
            palette: None,
            add_registry: None,
            move_dialog: None,
            interrupted: Vec::new(),
            history: BTreeMap::new(),
            audit_status: None,
            history_question: ("champion".into(), chrono::Utc::now().format("%Y-%m-%d").to_string()),
            fairness: FairnessState::default(),
            endpoints: Default::default(),
            endpoints_replay: None,
            profile_generation: 0,
            monitor_key: None,
            export: None,
            policy: ctx.policy.clone(),
            home: ctx.home.clone(),
            timeout: ctx.timeout,
            browse: None,
            last_poll: Instant::now(),
            notices: Vec::new(),
            theme_applied: None,
        }
    }

    /// Points held in the live series (for tests and the status bar).
    pub fn endpoints_points(&self) -> usize {
        self.endpoints.live.values().map(|s| s.len()).sum()
    }

    /// The latest per-version metrics the Endpoints view shows.
    pub fn metrics_report(&self) -> Option<&crate::serving::metrics::MetricsReport> {
        self.endpoints.report.as_deref()
    }

    /// The loaded history of one series, if any.
    pub fn history_points(&self, model: &str, version: &str, metric: &str) -> Option<Vec<(f64, f64)>> {
        match &self.endpoints.history {
            Some((_, Loadable::Ready(h))) => {
                h.get(&(model.to_string(), version.to_string(), metric.to_string())).map(|s| s.points().collect())
            }
            _ => None,
        }
    }

    /// Makes `profile` the active one: saved as default, connected, and its rules (read-only, protected
    /// aliases, endpoint bindings, endpoints and Prometheus) in force in the window and the backend.
    pub(crate) fn activate_profile(&mut self, profile: Profile) {
        self.set_policy(Some(&profile));
        self.active_profile = Some(profile.clone());
        self.backend.send(Command::SaveProfile { profile, activate: true });
    }

    fn set_policy(&mut self, profile: Option<&Profile>) {
        self.profile_generation += 1;
        let p = crate::ops::Policy::from_profile(profile, self.policy.forced_read_only, self.policy.endpoint_timeout);
        self.policy = p.clone();
        self.backend.send(Command::SetPolicy(p));
    }

    /// Whether mutations are refused (the profile's `read_only` or --read-only).
    pub(crate) fn read_only(&self) -> bool {
        self.policy.read_only
    }

    /// The rules in force (for tests and the status bar).
    pub fn policy(&self) -> &crate::ops::Policy {
        &self.policy
    }

    /// The open export dialog's (model, file, prediction log), for tests.
    pub fn export_form(&self) -> Option<(String, String, String)> {
        self.export.as_ref().map(|d| (d.model.clone(), d.out.clone(), d.fairness_log.clone()))
    }

    pub(crate) fn notify_error(&mut self, text: String) {
        self.notify(text, true);
    }

    fn notify(&mut self, text: String, is_error: bool) {
        self.notices.push((Instant::now(), text, is_error));
        if self.notices.len() > 5 {
            self.notices.remove(0);
        }
    }

    fn apply_event(&mut self, ev: Event) {
        match ev {
            Event::Registry { generation, description, state } => {
                if generation < self.registry_generation {
                    return;
                }
                if generation > self.registry_generation {
                    self.versions.clear();
                    self.models = Loadable::Loading;
                }
                self.registry_generation = generation;
                self.registry_is_local = description.starts_with("local registry");
                self.registry_description = description;
                if let SourceState::Failed(e) = &state {
                    self.models = Loadable::Failed(e.clone());
                }
                self.registry_state = state;
            }
            Event::Models { generation, result } => {
                if generation != self.registry_generation {
                    return;
                }
                match result {
                    Ok(models) => {
                        let selected = self.persisted.selected_model.clone();
                        let keep = selected.filter(|s| models.iter().any(|m| &m.name == s));
                        let pick = keep.or_else(|| models.first().map(|m| m.name.clone()));
                        self.models = Loadable::Ready(models);
                        super::endpoints::refresh_aliases(self);
                        self.versions.clear();
                        if let Some(name) = pick {
                            self.select_model(name);
                        }
                    }
                    Err(e) => self.models = Loadable::Failed(e),
                }
            }
            Event::Versions { generation, model, result } => {
                if generation != self.registry_generation {
                    return;
                }
                let value = match result {
                    Ok(v) => Loadable::Ready(v),
                    Err(e) => Loadable::Failed(e),
                };
                self.versions.insert(model, value);
            }
            Event::Plan(result) => {
                if let Some(d) = self.move_dialog.as_mut() {
                    d.accept_plan(result);
                }
            }
            Event::Executed(result) => {
                let model = self.move_dialog.as_ref().map(|d| d.model.clone());
                if let Some(d) = self.move_dialog.as_mut() {
                    d.stage = match &result {
                        Ok(r) => Stage::Done(format!(
                            "Done: {}@{} now points to v{} (verified; audit record {})",
                            r.entry.model,
                            r.entry.alias,
                            r.entry.to.unwrap_or_default(),
                            r.seq
                        )),
                        Err(e) => Stage::Failed(e.clone()),
                    };
                }
                if let Err(e) = &result {
                    self.notify(e.clone(), true);
                }
                self.backend.send(Command::RefreshModels);
                if let Some(m) = model {
                    self.backend.send(Command::LoadHistory { model: m });
                }
            }
            Event::History { generation, model, result, notice } => {
                if let Some(n) = notice {
                    self.notify(n, false);
                }
                if generation == self.registry_generation {
                    self.history.insert(model, match result {
                        Ok(h) => Loadable::Ready(h),
                        Err(e) => Loadable::Failed(e),
                    });
                }
            }
            Event::AuditVerified(r) => self.audit_status = Some(r),
            Event::Interrupted(list) => self.interrupted = list,
            Event::Profiles(p) => self.profiles = p,
            Event::Notice(n) => self.notify(n, false),
            Event::Error(e) => self.notify(e, true),
            Event::Monitor(ev) => {
                super::endpoints::on_monitor(self, ev);
                super::endpoints::refresh_aliases(self);
            }
            Event::MetricsHistory { range, result } => super::endpoints::on_history(self, range, result),
            Event::FairnessColumns { path, result } => super::fairness::on_columns(self, path, result),
            Event::Fairness { run, result, elapsed } => super::fairness::on_report(self, run, result, elapsed),
            // Endpoint-step progress of an executing move: not drawn yet (the dialog work shows it).
            Event::ReportDone(r) => super::export::on_done(self, r),
            Event::Step(e) => {
                if let Some(d) = self.move_dialog.as_mut() {
                    d.step(e);
                }
            }
        }
    }

    /// The system's file dialog blocks its thread, so it gets one; the answer is picked up by `show`.
    fn browse_log(&mut self) {
        let start = self.fairness.log.as_ref().and_then(|p| p.parent().map(|d| d.to_path_buf()));
        let repaint = self.repaint_ctx.clone();
        let dialog = move || {
            let mut d = rfd::FileDialog::new()
                .set_title("Open prediction log")
                .add_filter("Prediction logs", &["csv", "gz", "zst", "jsonl", "ndjson", "json", "parquet", "pq"])
                .add_filter("All files", &["*"]);
            if let Some(dir) = start {
                d = d.set_directory(dir);
            }
            d.pick_file()
        };
        let repaint = move || {
            if let Some(c) = repaint.get() {
                c.request_repaint();
            }
        };
        match widgets::FileDialogTask::spawn("file-dialog", dialog, repaint) {
            Ok(t) => self.browse = Some(t),
            Err(e) => self.notify(e, true),
        }
    }

    /// Keeps the monitor in line with the active profile and the replay choice.
    /// Runs every frame, so it only compares two numbers unless the profile or the replay changed.
    fn watch_endpoints(&mut self) {
        if self.endpoints_replay.is_none() && self.persisted.view == View::Endpoints {
            let nothing = self.active_profile.as_ref().is_none_or(|p| p.endpoints.is_empty() && p.prometheus.is_none() && p.scrape.is_empty());
            if nothing {
                // Decided once: replay if the sample's log is there.
                self.endpoints_replay = Some(self.home.sample_log().exists());
            }
        }
        let key = (self.profile_generation, self.endpoints_replay == Some(true));
        if self.monitor_key != Some(key) {
            self.monitor_key = Some(key);
            super::endpoints::start(self, key.1);
        }
    }

    fn poll_browse(&mut self) {
        let Some(answer) = self.browse.as_ref().and_then(|t| t.poll()) else { return };
        self.browse = None;
        match answer {
            Ok(Some(p)) => self.apply(Action::OpenLog(p)),
            Ok(None) => {}
            Err(e) => self.notify(e, true),
        }
    }

    fn select_model(&mut self, name: String) {
        if self.persisted.selected_model.as_deref() != Some(&name) {
            self.selected_version = None;
        }
        if !matches!(self.versions.get(&name), Some(Loadable::Loading | Loadable::Ready(_))) {
            self.versions.insert(name.clone(), Loadable::Loading);
            self.backend.send(Command::LoadVersions { model: name.clone() });
        }
        if !self.history.contains_key(&name) {
            self.history.insert(name.clone(), Loadable::Loading);
            self.backend.send(Command::LoadHistory { model: name.clone() });
        }
        self.persisted.selected_model = Some(name);
    }

    /// Re-reads the registry now and then, so moves made outside Steward are noticed and recorded.
    fn poll(&mut self, ctx: &egui::Context) {
        if self.registry_state == SourceState::Connected && self.last_poll.elapsed() >= backend::POLL_INTERVAL {
            self.last_poll = Instant::now();
            self.backend.send(Command::RefreshModels);
            if let Some(m) = &self.persisted.selected_model {
                self.backend.send(Command::LoadHistory { model: m.clone() });
            }
        }
        ctx.request_repaint_after(backend::POLL_INTERVAL);
    }

    /// Every action goes through here, whoever triggered it.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Go(v) => self.persisted.view = v,
            Action::Refresh => {
                self.versions.clear();
                self.backend.send(Command::RefreshModels);
                if let Some(m) = &self.persisted.selected_model {
                    self.backend.send(Command::LoadHistory { model: m.clone() });
                }
            }
            Action::ToggleTheme => {
                self.persisted.theme = match self.persisted.theme {
                    ThemeChoice::Dark => ThemeChoice::Light,
                    ThemeChoice::Light => ThemeChoice::Dark,
                }
            }
            Action::OpenSample => {
                self.persisted.view = View::Models;
                self.persisted.selected_model = Some(crate::sample::MODEL.to_string());
                self.backend.send(Command::OpenSample);
            }
            Action::AddRegistry => self.add_registry = Some(AddRegistryForm::default()),
            Action::UseProfile(name) => match self.profiles.get(&name).cloned() {
                Some(p) => self.activate_profile(p),
                None => self.notify(format!("no profile named '{name}'"), true),
            },
            Action::UseHomeRegistry => {
                self.set_policy(None);
                self.active_profile = None;
                self.backend.send(Command::Connect(RegistrySpec::HomeLocal));
            }
            Action::SelectModel(m) => {
                self.persisted.view = View::Models;
                self.select_model(m);
            }
            Action::SelectVersion(v) => self.selected_version = v,
            Action::Promote { model, version } => {
                if self.read_only() {
                    self.notify("read-only mode: promotion is disabled".into(), true);
                    return;
                }
                let d = MoveDialog::promote(&model, version, "champion");
                self.backend.send(d.plan_command());
                self.move_dialog = Some(d);
            }
            Action::Rollback { model, alias } => {
                if self.read_only() {
                    self.notify("read-only mode: rollback is disabled".into(), true);
                    return;
                }
                let d = MoveDialog::rollback(&model, &alias);
                self.backend.send(d.plan_command());
                self.move_dialog = Some(d);
            }
            Action::VerifyAudit => {
                self.audit_status = None;
                self.backend.send(Command::VerifyAudit);
            }
            Action::OpenLog(p) => {
                self.persisted.view = View::Fairness;
                self.fairness.auto_opened = true;
                super::fairness::open(self, p);
            }
            Action::BrowseLog => self.browse_log(),
            Action::ToggleReplay => {
                self.endpoints_replay = Some(!self.endpoints.replaying());
                self.persisted.view = View::Endpoints;
            }
            Action::ExportReport(m) => super::export::open(self, m),
        }
    }

    /// The actions the palette offers right now.
    pub fn palette_actions(&self) -> Vec<Action> {
        let mut actions: Vec<Action> = View::ALL.iter().map(|v| Action::Go(*v)).collect();
        actions.extend([Action::Refresh, Action::ToggleTheme, Action::OpenSample, Action::AddRegistry]);
        actions.push(Action::UseHomeRegistry);
        actions.extend(self.profiles.profiles.iter().map(|p| Action::UseProfile(p.name.clone())));
        actions.push(Action::VerifyAudit);
        actions.push(Action::BrowseLog);
        actions.push(Action::ToggleReplay);
        if self.persisted.selected_model.is_some() {
            actions.push(Action::ExportReport(None));
        }
        if !self.read_only()
            && let (Some(m), Some(v)) = (&self.persisted.selected_model, self.selected_version)
        {
            actions.push(Action::Promote { model: m.clone(), version: v });
        }
        if let Loadable::Ready(models) = &self.models {
            if !self.read_only()
                && let Some(m) = models.iter().find(|m| Some(&m.name) == self.persisted.selected_model.as_ref())
            {
                actions.extend(m.aliases.keys().map(|a| Action::Rollback { model: m.name.clone(), alias: a.clone() }));
            }
            actions.extend(models.iter().take(200).map(|m| Action::SelectModel(m.name.clone())));
        }
        actions
    }

    fn shortcuts(&mut self, ui: &mut Ui) -> Vec<Action> {
        let mut out = Vec::new();
        let cmd = |k| KeyboardShortcut::new(Modifiers::COMMAND, k);
        ui.input_mut(|i| {
            if i.consume_shortcut(&cmd(Key::K)) {
                out.push(None);
            }
            for (k, v) in [(Key::Num1, View::Models), (Key::Num2, View::Endpoints), (Key::Num3, View::Fairness), (Key::Num4, View::Audit)] {
                if i.consume_shortcut(&cmd(k)) {
                    out.push(Some(Action::Go(v)));
                }
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::NONE, Key::F5)) {
                out.push(Some(Action::Refresh));
            }
        });
        let mut actions = Vec::new();
        for a in out {
            match a {
                None => {
                    self.palette = match self.palette {
                        Some(_) => None,
                        None => Some(Palette::open()),
                    }
                }
                Some(a) => actions.push(a),
            }
        }
        actions
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.theme_applied != Some(self.persisted.theme) {
            ctx.set_theme(match self.persisted.theme {
                ThemeChoice::Dark => egui::ThemePreference::Dark,
                ThemeChoice::Light => egui::ThemePreference::Light,
            });
            self.theme_applied = Some(self.persisted.theme);
        }
    }

    /// One frame of the whole window. eframe calls it through `App::ui`; tests call it through kittest.
    pub fn show(&mut self, ui: &mut Ui) {
        let _ = self.repaint_ctx.set(ui.ctx().clone());
        let mut events = Vec::new();
        self.backend.drain(EVENT_BUDGET, |ev| events.push(ev));
        for ev in events {
            self.apply_event(ev);
        }
        self.apply_theme(&ui.ctx().clone());
        self.poll(&ui.ctx().clone());
        self.poll_browse();
        self.watch_endpoints();
        let mut actions = self.shortcuts(ui);

        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading(RichText::new("Steward").strong());
                ui.separator();
                ui.label(RichText::new(&self.registry_description).weak());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let theme = match self.persisted.theme {
                        ThemeChoice::Dark => "Light theme",
                        ThemeChoice::Light => "Dark theme",
                    };
                    if ui.button(theme).on_hover_text("Toggle dark/light theme").clicked() {
                        actions.push(Action::ToggleTheme);
                    }
                    if ui.button("Commands (Ctrl+K)").clicked() {
                        self.palette = Some(Palette::open());
                    }
                    if ui.button("Refresh").on_hover_text("F5").clicked() {
                        actions.push(Action::Refresh);
                    }
                });
            });
        });

        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar(ui));

        egui::Panel::left("navigation").resizable(true).default_size(150.0).min_size(110.0).show(ui, |ui| {
            ui.add_space(6.0);
            for v in View::ALL {
                let selected = self.persisted.view == v;
                if ui
                    .add_sized([ui.available_width(), 28.0], egui::Button::selectable(selected, v.title()))
                    .clicked()
                {
                    actions.push(Action::Go(v));
                }
            }
        });

        egui::CentralPanel::default().show(ui, |ui| match self.persisted.view {
            View::Models => views::models::show(self, ui, &mut actions),
            View::Endpoints => views::endpoints::show(self, ui),
            View::Fairness => views::fairness::show(self, ui, &mut actions),
            View::Audit => views::audit(self, ui, &mut actions),
        });

        if let Some(a) = super::palette::show(self, ui) {
            actions.push(a);
        }
        views::add_registry_dialog(self, ui);
        dialogs::move_dialog(self, ui);
        super::export::show(self, ui);
        dialogs::interrupted_dialog(self, ui);

        for a in actions {
            self.apply(a);
        }
    }

    fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let (color, text) = match &self.registry_state {
                SourceState::Connecting => (AMBER, "connecting".to_string()),
                SourceState::Connected => {
                    let n = match &self.models {
                        Loadable::Ready(m) => format!(" ({} model{})", m.len(), if m.len() == 1 { "" } else { "s" }),
                        _ => String::new(),
                    };
                    (GREEN, format!("connected{n}"))
                }
                SourceState::Failed(_) => (RED, "unreachable".to_string()),
            };
            widgets::status_dot(ui, color, &format!("Registry: {text}"))
                .on_hover_text(match &self.registry_state {
                    SourceState::Failed(e) => format!("{}\n{e}", self.registry_description),
                    _ => self.registry_description.clone(),
                });
            ui.separator();
            if self.read_only() {
                widgets::status_dot(ui, AMBER, "Read-only");
                ui.separator();
            }
            let endpoints = self.active_profile.as_ref().map(|p| p.endpoints.len()).unwrap_or(0);
            let states = &self.endpoints.endpoints;
            if endpoints == 0 {
                widgets::status_dot(ui, GREY, "Endpoints: none configured");
            } else if states.is_empty() {
                widgets::status_dot(ui, GREY, &format!("Endpoints: {endpoints} configured, probing"));
            } else {
                use crate::serving::oip::Health;
                let count = |h: Health| states.iter().filter(|e| e.health == h).count();
                let (up, degraded, down) = (count(Health::Up), count(Health::Degraded), count(Health::Down));
                let color = if down > 0 { RED } else if degraded > 0 { AMBER } else { GREEN };
                widgets::status_dot(ui, color, &format!("Endpoints: {up} up, {degraded} degraded, {down} down"));
            }
            ui.separator();
            match self.active_profile.as_ref().and_then(|p| p.prometheus.clone()) {
                Some(url) => match (&self.endpoints.metrics_error, &self.endpoints.report) {
                    (Some(e), _) => widgets::status_dot(ui, RED, "Prometheus: error").on_hover_text(format!("{url}: {e}")),
                    (None, Some(_)) => widgets::status_dot(ui, GREEN, "Prometheus: answering").on_hover_text(url),
                    (None, None) => widgets::status_dot(ui, GREY, "Prometheus: configured, waiting").on_hover_text(url),
                },
                None => widgets::status_dot(ui, GREY, "Prometheus: not configured"),
            };
            if !self.endpoints.firing.is_empty() {
                ui.separator();
                widgets::status_dot(ui, RED, &format!("{} alert(s) firing", self.endpoints.firing.len()));
            }
            self.notices.retain(|(t, _, _)| t.elapsed() < NOTICE_LIFETIME);
            if let Some((_, text, is_error)) = self.notices.last() {
                ui.separator();
                let t = RichText::new(text.as_str());
                ui.label(if *is_error { t.color(RED) } else { t });
                ui.ctx().request_repaint_after(NOTICE_LIFETIME);
            }
        });
    }
}

impl eframe::App for StewardApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }

    /// eframe saves on a clean exit and at this interval (during a frame); keep the loss after a crash small.
    fn auto_save_interval(&self) -> Duration {
        Duration::from_secs(5)
    }
}
