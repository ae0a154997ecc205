//! Everything an operator can do (`Action`), from the palette, a button or a shortcut, and the one place
//! that carries actions out (`StewardApp::apply`, after drawing, as in the egui demo app).

use super::*;

/// Everything an operator can do from the palette, a button or a shortcut.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Go(View),
    Refresh,
    ToggleTheme,
    OpenSample,
    AddRegistry,
    /// The active profile in the profile dialog (endpoints, Prometheus, read-only, protected aliases).
    EditProfile,
    UseProfile(String),
    UseHomeRegistry,
    SelectModel(String),
    /// The Audit view's model filter: selects the model without leaving the view.
    AuditModel(String),
    SelectVersion(Option<u64>),
    /// Open the promote dialog for a version.
    Promote { model: String, version: VersionNumber },
    /// Open the roll-back dialog for an alias.
    Rollback { model: String, alias: String },
    VerifyAudit,
    /// Open a prediction log in the Fairness view.
    OpenLog(PathBuf),
    /// What the operator typed in the Fairness view: a path, a profile's SQL log, or a postgres:// URL.
    OpenLogInput(String),
    /// Choose a prediction log with the system's file dialog.
    BrowseLog,
    /// Start or stop playing the sample's prediction log back as live traffic.
    ToggleReplay,
    /// Open "Export audit report..." for a model (None: the selected one).
    ExportReport(Option<String>),
    /// Show the last lines of Steward's own log.
    ShowLogs,
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
            Action::EditProfile => "Edit connection profile (endpoints, Prometheus)...".into(),
            Action::UseProfile(p) => format!("Connect to profile: {p}"),
            Action::UseHomeRegistry => "Connect to the local registry in the home".into(),
            Action::SelectModel(m) => format!("Open model: {m}"),
            Action::AuditModel(m) => format!("Audit history of {m}"),
            Action::SelectVersion(_) => "Select version".into(),
            Action::Promote { model, version } => format!("Promote {model} v{version}..."),
            Action::Rollback { model, alias } => format!("Roll back {model}@{alias}..."),
            Action::VerifyAudit => "Verify audit log".into(),
            Action::OpenLog(p) => format!("Open prediction log {}", p.display()),
            Action::OpenLogInput(s) => format!("Open prediction log {s}"),
            Action::BrowseLog => "Open prediction log...".into(),
            Action::ToggleReplay => "Replay the sample log as live traffic (start/stop)".into(),
            Action::ExportReport(m) => match m {
                Some(m) => format!("Export audit report of {m}..."),
                None => "Export audit report...".into(),
            },
            Action::ShowLogs => "Show logs...".into(),
        }
    }

    pub fn shortcut(&self) -> Option<&'static str> {
        match self {
            Action::Go(View::Models) => Some("Ctrl+1"),
            Action::Go(View::Endpoints) => Some("Ctrl+2"),
            Action::Go(View::Fairness) => Some("Ctrl+3"),
            Action::Go(View::Audit) => Some("Ctrl+4"),
            Action::Go(View::Monitoring) => Some("Ctrl+5"),
            Action::Refresh => Some("F5"),
            _ => None,
        }
    }
}

impl StewardApp {
    /// The system's file dialog blocks its thread, so it gets one; the answer is picked up by `show`.
    pub(super) fn browse_log(&mut self) {
        let start = self.fairness.log.as_ref().and_then(|l| l.file()).and_then(|p| p.parent().map(|d| d.to_path_buf()));
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
    pub(super) fn watch_endpoints(&mut self) {
        if self.endpoints_replay.is_none() && self.persisted.view == View::Endpoints {
            let nothing = self.active_profile.as_ref().is_none_or(|p| p.endpoints.is_empty() && p.prometheus.is_none() && p.scrape.is_empty());
            if nothing {
                // Decided once: replay if the sample's log is there.
                self.endpoints_replay = Some(self.home.sample_log().exists());
            }
        }
        // The replay plays only while its view is shown: elsewhere it would only cost repaints.
        let key = (self.profile_generation, self.endpoints_replay == Some(true) && self.persisted.view == View::Endpoints);
        if self.monitor_key != Some(key) {
            self.monitor_key = Some(key);
            crate::ui::endpoints::start(self, key.1);
        }
    }

    pub(super) fn poll_browse(&mut self) {
        let Some(answer) = self.browse.as_ref().and_then(|t| t.poll()) else { return };
        self.browse = None;
        match answer {
            Ok(Some(p)) => self.apply(Action::OpenLog(p)),
            Ok(None) => {}
            Err(e) => self.notify(e, true),
        }
    }

    pub(super) fn select_model(&mut self, name: String) {
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
                self.persisted.selected_model = Some(crate::config::sample::MODEL.to_string());
                self.backend.send(Command::OpenSample);
            }
            Action::AddRegistry => {
                self.add_registry = Some(AddRegistryForm { protected: "champion".into(), ..AddRegistryForm::default() })
            }
            Action::EditProfile => {
                let form = match &self.active_profile {
                    Some(p) => AddRegistryForm::from_profile(p),
                    None => AddRegistryForm::from_profile(&crate::config::Profile {
                        name: "default".into(),
                        protected_aliases: vec!["champion".into()],
                        ..Default::default()
                    }),
                };
                self.add_registry = Some(form);
            }
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
            Action::AuditModel(m) => self.select_model(m),
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
                self.backend.send(d.open_command());
                self.move_dialog = Some(d);
            }
            Action::VerifyAudit => {
                self.audit_status = None;
                self.backend.send(Command::VerifyAudit);
            }
            Action::OpenLog(p) => {
                self.persisted.view = View::Fairness;
                self.fairness.auto_opened = true;
                crate::ui::fairness::open(self, crate::sources::LogRef::File(p));
            }
            Action::OpenLogInput(s) => {
                self.persisted.view = View::Fairness;
                self.fairness.auto_opened = true;
                crate::ui::fairness::open_input(self, s);
            }
            Action::BrowseLog => self.browse_log(),
            Action::ToggleReplay => {
                self.endpoints_replay = Some(!self.endpoints.replaying());
                self.persisted.view = View::Endpoints;
            }
            Action::ExportReport(m) => crate::ui::export::open(self, m),
            Action::ShowLogs => crate::ui::diagnostics::open_logs(self),
        }
    }

    /// The actions the palette offers right now.
    pub fn palette_actions(&self) -> Vec<Action> {
        let mut actions: Vec<Action> = View::ALL.iter().map(|v| Action::Go(*v)).collect();
        actions.extend([Action::Refresh, Action::ToggleTheme, Action::OpenSample, Action::AddRegistry, Action::EditProfile]);
        actions.push(Action::UseHomeRegistry);
        actions.extend(self.profiles.profiles.iter().map(|p| Action::UseProfile(p.name.clone())));
        actions.push(Action::VerifyAudit);
        actions.push(Action::BrowseLog);
        actions.push(Action::ToggleReplay);
        actions.push(Action::ShowLogs);
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

    pub(super) fn shortcuts(&mut self, ui: &mut Ui) -> Vec<Action> {
        let mut out = Vec::new();
        let cmd = |k| KeyboardShortcut::new(Modifiers::COMMAND, k);
        ui.input_mut(|i| {
            if i.consume_shortcut(&cmd(Key::K)) {
                out.push(None);
            }
            for (k, v) in [(Key::Num1, View::Models), (Key::Num2, View::Endpoints), (Key::Num3, View::Fairness), (Key::Num4, View::Audit), (Key::Num5, View::Monitoring)] {
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
}
