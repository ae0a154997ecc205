//! The application: its state and the frame loop (drain backend events, handle shortcuts, draw panels,
//! apply actions). Per-view state types are in state.rs, actions and their dispatch in actions.rs, the
//! backend's events in events.rs.

mod actions;
mod events;
mod state;

pub use actions::Action;
pub use state::{AddRegistryForm, Loadable, Persisted, ThemeChoice, View};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};

use super::dialogs::{self, MoveDialog, Stage};
use super::fairness::FairnessState;
use super::palette::Palette;
use super::views;
use super::widgets::{self, AMBER, GREEN, GREY, RED};
use crate::backend::{self, BackendHandle, Command, Event};
use crate::config::Context;
use crate::config::{Profile, Profiles, RegistrySpec};
use crate::domain::{ModelVersion, RegisteredModel, SourceState, VersionNumber};
use crate::ops::{AliasEvent, Interrupted};

/// Time the UI spends applying backend events per frame.
const EVENT_BUDGET: Duration = Duration::from_millis(8);
const NOTICE_LIFETIME: Duration = Duration::from_secs(8);

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
    /// The versions the selected one is compared with (none: its details are shown).
    pub(crate) compare_with: Vec<u64>,
    /// Compare shows only the rows that differ.
    pub(crate) compare_only_differences: bool,
    /// The version detail panel's share of the height below the versions table (dragged by the user).
    pub(crate) detail_share: Option<f32>,
    pub(crate) chart_metric: String,
    pub(crate) palette: Option<Palette>,
    pub(crate) add_registry: Option<AddRegistryForm>,
    pub move_dialog: Option<MoveDialog>,
    pub(crate) interrupted: Vec<Interrupted>,
    pub(crate) history: BTreeMap<String, Loadable<Vec<AliasEvent>>>,
    /// The last verification's answer and the log's size in bytes when it was asked for (a log that has
    /// grown since makes the answer stale, and the view says so).
    pub(crate) audit_status: Option<(Result<String, String>, Option<u64>)>,
    /// "What did ALIAS point to at TIME": the Audit view's question.
    pub(crate) history_question: (String, String),
    /// The Audit view's filters (actor, alias, period), as `steward history` takes them.
    pub(crate) audit_filter: crate::ops::EventFilter,
    pub(crate) fairness: FairnessState,
    pub(crate) endpoints: super::endpoints::EndpointsState,
    /// Whether the sample log is played back as traffic (None: not decided; the Endpoints view starts it
    /// when nothing is configured).
    pub(crate) endpoints_replay: Option<bool>,
    /// Bumped on every profile change; with the replay flag, what the running monitor was started for.
    profile_generation: u64,
    monitor_key: Option<(u64, bool)>,
    pub(crate) export: Option<super::export::ExportDialog>,
    policy: crate::config::Policy,
    pub(crate) home: crate::config::Home,
    pub(crate) monitoring: crate::ui::monitoring::MonitoringState,
    /// What the backend was last told about live data being on screen.
    live_visible_sent: Option<bool>,
    pub(crate) timeout: Duration,
    /// The answer of an open file dialog (it runs on a thread of its own).
    browse: Option<widgets::FileDialogTask>,
    notices: Vec<(Instant, String, bool)>,
    theme_applied: Option<ThemeChoice>,
    /// The last run's crash report on offer, and the log viewer.
    pub(crate) diagnostics: super::diagnostics::DiagnosticsState,
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
        let registry_is_local = !matches!(ctx.spec, RegistrySpec::Mlflow(..));
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
            compare_with: Vec::new(),
            compare_only_differences: false,
            detail_share: None,
            chart_metric: String::new(),
            palette: None,
            add_registry: None,
            move_dialog: None,
            interrupted: Vec::new(),
            history: BTreeMap::new(),
            audit_status: None,
            history_question: ("champion".into(), chrono::Utc::now().format("%Y-%m-%d").to_string()),
            audit_filter: Default::default(),
            fairness: FairnessState::default(),
            endpoints: Default::default(),
            endpoints_replay: None,
            profile_generation: 0,
            monitor_key: None,
            export: None,
            policy: ctx.policy.clone(),
            monitoring: crate::ui::monitoring::MonitoringState::with_defaults(
                &ctx.home.sample_log(),
                &ctx.home.sample_labels(),
                &ctx.profile.as_ref().map(|p| p.monitoring_alerts.clone()).unwrap_or_default(),
            ),
            live_visible_sent: None,
            home: ctx.home.clone(),
            timeout: ctx.timeout,
            browse: None,
            notices: Vec::new(),
            theme_applied: None,
            diagnostics: super::diagnostics::DiagnosticsState::new(&ctx.home),
        }
    }

    /// Points held in the live series (for tests and the status bar).
    pub fn endpoints_points(&self) -> usize {
        self.endpoints.live.values().map(|s| s.len()).sum()
    }

    /// The latest per-version metrics the Endpoints view shows.
    /// Tasks alive on the backend's runtime (for load runs: they must not grow).
    pub fn backend_tasks(&self) -> Option<usize> {
        self.backend.alive_tasks()
    }

    pub fn metrics_report(&self) -> Option<&crate::serving::metrics::MetricsReport> {
        self.endpoints.report.as_deref()
    }

    /// The end of the chosen absolute range (Unix seconds), if one is chosen.
    pub fn endpoints_range_end(&self) -> Option<f64> {
        self.endpoints.range().end()
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
        let mut p = crate::config::Policy::from_profile(profile, self.policy.forced_read_only, self.policy.endpoint_timeout);
        // --policy stays in force; otherwise the new profile's policy file, else the home's gates.toml.
        p.gates = match &self.policy.gates {
            Some(g) if g.from_flag => Some(g.clone()),
            _ => Some(crate::config::GateSource::select(None, profile, &self.home)),
        };
        self.policy = p.clone();
        self.backend.send(Command::SetPolicy(p));
    }

    /// Whether mutations are refused (the profile's `read_only` or --read-only).
    pub(crate) fn read_only(&self) -> bool {
        self.policy.read_only
    }

    /// The rules in force (for tests and the status bar).
    pub fn policy(&self) -> &crate::config::Policy {
        &self.policy
    }

    /// The open export dialog's (model, file, prediction log), for tests.
    pub fn export_form(&self) -> Option<(String, String, String)> {
        self.export.as_ref().map(|d| (d.model.clone(), d.out.clone(), d.fairness_log.clone()))
    }

    pub(crate) fn notify_error(&mut self, text: String) {
        self.notify(text, true);
    }

    /// The audit log's size in bytes (None: not there yet or unreadable).
    pub(crate) fn audit_size(&self) -> Option<u64> {
        std::fs::metadata(self.home.audit_log()).ok().map(|m| m.len())
    }

    /// The report the Fairness view shows, if one is finished (what its tables and charts draw).
    pub fn fairness_report(&self) -> Option<std::sync::Arc<crate::fairness::Report>> {
        self.fairness.done().map(|d| d.report.clone())
    }

    pub(crate) fn notify(&mut self, text: String, is_error: bool) {
        self.notices.push((Instant::now(), text, is_error));
        if self.notices.len() > 5 {
            self.notices.remove(0);
        }
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.theme_applied != Some(self.persisted.theme) {
            // A steady caret: a blinking one repaints the whole window twice a second while a text box
            // has the focus, which costs a core's fraction on a software renderer for nothing.
            ctx.all_styles_mut(|s| s.visuals.text_cursor.blink = false);
            ctx.set_theme(match self.persisted.theme {
                ThemeChoice::Dark => egui::ThemePreference::Dark,
                ThemeChoice::Light => egui::ThemePreference::Light,
            });
            self.theme_applied = Some(self.persisted.theme);
        }
    }

    /// One frame of the whole window. eframe calls it through `App::ui`; tests call it through kittest.
    pub fn show(&mut self, ui: &mut Ui) {
        if self.repaint_ctx.set(ui.ctx().clone()).is_ok() {
            // Characters the bundled fonts lack (CJK model names, Arabic, Devanagari...) come from the
            // system's fonts through its own fallback (fontconfig, CoreText, DirectWrite), found on first
            // use; the PDF report uses the same lookup (report::fonts).
            ui.ctx().add_font_provider(Arc::new(egui_system_font_provider::SystemFontProvider::new()));
        }
        let mut events = Vec::new();
        self.backend.drain(EVENT_BUDGET, |ev| events.push(ev));
        for ev in events {
            self.apply_event(ev);
        }
        self.apply_theme(&ui.ctx().clone());
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
                    if ui.button("Profile...").on_hover_text("Endpoints, Prometheus, read-only, protected aliases; test the connections").clicked() {
                        actions.push(Action::EditProfile);
                    }
                });
            });
        });

        super::diagnostics::crash_bar(self, ui);
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

        // Live points wake the window only while the Endpoints view shows them.
        let live = self.persisted.view == View::Endpoints;
        if self.live_visible_sent != Some(live) {
            self.backend.send(Command::LiveVisible(live));
            self.live_visible_sent = Some(live);
        }
        egui::CentralPanel::default().show(ui, |ui| match self.persisted.view {
            View::Models => views::models::show(self, ui, &mut actions),
            View::Endpoints => views::endpoints::show(self, ui),
            View::Fairness => views::fairness::show(self, ui, &mut actions),
            View::Audit => views::audit(self, ui, &mut actions),
            View::Monitoring => views::monitoring::show(self, ui),
        });

        if let Some(a) = super::palette::show(self, ui) {
            actions.push(a);
        }
        views::add_registry_dialog(self, ui);
        dialogs::move_dialog(self, ui);
        super::export::show(self, ui);
        dialogs::interrupted_dialog(self, ui);
        super::diagnostics::windows(self, ui);

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
                let (up, degraded) = (count(Health::Up), count(Health::Degraded));
                let down = states.iter().filter(|e| e.health.is_down()).count();
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
