//! The promote and roll-back dialogs: what will change, the checks, a reason, confirmation for protected
//! aliases, then the act and its outcome. And the dialog for operations interrupted in an earlier run.

use egui::{Id, Modal, RichText, Ui};

mod checks;

use checks::{checks, rollback_picker};

use super::app::StewardApp;
use super::widgets::{self, AMBER, GREEN, RED};
use crate::backend::Command;
use crate::domain::{VersionNumber, show_version};
use crate::ops::{Interrupted, MoveKind, MovePlan, RollbackChoices};

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Planning,
    Editing,
    Running,
    Done(String),
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct MoveDialog {
    pub kind: MoveKind,
    pub model: String,
    pub alias: String,
    /// Promote: the version to promote. Rollback: the operator's choice (None = Steward's proposal).
    pub version: Option<VersionNumber>,
    pub plan: Option<MovePlan>,
    pub plan_error: Option<String>,
    pub reason: String,
    pub confirmation: String,
    pub stage: Stage,
    /// Progress of the running move, one entry per step (the latest state of each).
    pub steps: Vec<crate::ops::StepEvent>,
    /// Rollback: the versions it may go to and Steward's proposal (asked for first).
    pub choices: Option<RollbackChoices>,
    /// "Override..." was pressed: required gates that did not pass may be overridden with a reason.
    pub overriding: bool,
    pub override_reason: String,
    id: Id,
}

impl MoveDialog {
    pub fn promote(model: &str, version: VersionNumber, alias: &str) -> Self {
        Self::new(MoveKind::Promote, model, alias, Some(version))
    }

    pub fn rollback(model: &str, alias: &str) -> Self {
        Self::new(MoveKind::Rollback, model, alias, None)
    }

    fn new(kind: MoveKind, model: &str, alias: &str, version: Option<VersionNumber>) -> Self {
        MoveDialog {
            kind,
            model: model.into(),
            alias: alias.into(),
            version,
            plan: None,
            plan_error: None,
            reason: String::new(),
            confirmation: String::new(),
            stage: Stage::Planning,
            steps: Vec::new(),
            choices: None,
            overriding: false,
            override_reason: String::new(),
            id: widgets::fresh_id("move_dialog"),
        }
    }

    /// What the dialog asks for when it opens: a promote's plan; a rollback's choices (then its plan).
    pub fn open_command(&self) -> Command {
        match self.kind {
            MoveKind::Promote => self.plan_command(),
            MoveKind::Rollback => Command::RollbackChoices { model: self.model.clone(), alias: self.alias.clone() },
        }
    }

    /// Takes a rollback's choices. Returns the plan to ask for: Steward's proposal (or the version
    /// already picked); None when there is no proposal, so the operator picks from the list first.
    pub fn accept_choices(&mut self, result: Result<RollbackChoices, String>) -> Option<Command> {
        match result {
            Ok(c) if c.model == self.model && c.alias == self.alias => {
                let ask = c.proposal.is_some() || self.version.is_some();
                self.choices = Some(c);
                if ask {
                    return Some(self.plan_command());
                }
                self.plan = None;
                self.plan_error = None;
                self.stage = Stage::Editing;
                None
            }
            Ok(_) => None,
            Err(e) => {
                self.plan_error = Some(e);
                self.stage = Stage::Editing;
                None
            }
        }
    }

    /// The command that (re)computes the plan for the dialog's current choices.
    pub fn plan_command(&self) -> Command {
        match self.kind {
            MoveKind::Promote => Command::PlanPromote {
                model: self.model.clone(),
                version: self.version.unwrap_or_default(),
                alias: self.alias.trim().to_string(),
            },
            MoveKind::Rollback => {
                Command::PlanRollback { model: self.model.clone(), alias: self.alias.clone(), to: self.version }
            }
        }
    }

    /// Accepts a plan only if it answers the dialog's current choices.
    pub fn accept_plan(&mut self, result: Result<MovePlan, String>) {
        match result {
            Ok(p) if p.model == self.model && p.alias == self.alias.trim() && self.version.is_none_or(|v| v == p.to) => {
                self.plan = Some(p);
                self.plan_error = None;
                self.stage = Stage::Editing;
            }
            Ok(_) => {}
            Err(e) => {
                self.plan = None;
                self.plan_error = Some(e);
                self.stage = Stage::Editing;
            }
        }
    }

    pub fn can_act(&self) -> bool {
        let Some(plan) = &self.plan else { return false };
        self.stage == Stage::Editing
            && !self.reason.trim().is_empty()
            && (!plan.protected || self.confirmation.trim() == self.model)
            && self.gates_allow(plan)
    }

    /// The gates that stop this move now (`MovePlan::blocking_gates`), with the override as typed so far.
    pub fn blocking_gates<'p>(&self, plan: &'p MovePlan) -> Vec<&'p crate::ops::GateResult> {
        plan.blocking_gates(self.overriding && !self.override_reason.trim().is_empty())
    }

    fn gates_allow(&self, plan: &MovePlan) -> bool {
        self.blocking_gates(plan).is_empty()
    }

    /// The plan to execute: with the override's reason when the operator overrides gates.
    fn plan_to_execute(&self) -> Option<MovePlan> {
        let mut plan = self.plan.clone()?;
        if self.overriding && !self.override_reason.trim().is_empty() {
            plan.override_gates = Some(self.override_reason.trim().to_string());
        }
        Some(plan)
    }

    fn title(&self) -> String {
        match self.kind {
            MoveKind::Promote => format!("Promote {} v{}", self.model, self.version.unwrap_or_default()),
            MoveKind::Rollback => format!("Roll back {}@{}", self.model, self.alias),
        }
    }

    fn act_label(&self) -> &'static str {
        match self.kind {
            MoveKind::Promote => "Promote",
            MoveKind::Rollback => "Roll back",
        }
    }
}

/// Draws the open move dialog, if any, and sends what it asks for.
pub fn move_dialog(app: &mut StewardApp, ui: &mut Ui) {
    let bindings = app.active_profile.as_ref().map(|p| p.bindings.clone()).unwrap_or_default();
    let Some(d) = app.move_dialog.as_mut() else { return };
    let mut commands = Vec::new();
    let mut close = false;
    let response = Modal::new(d.id).show(ui.ctx(), |ui| {
        ui.set_width(660.0);
        ui.heading(d.title());
        ui.add_space(4.0);
        if d.kind == MoveKind::Promote {
            ui.horizontal(|ui| {
                let l = ui.label("Alias");
                let r = ui.add(egui::TextEdit::singleline(&mut d.alias).desired_width(160.0)).labelled_by(l.id);
                if r.lost_focus() && d.plan.as_ref().is_none_or(|p| p.alias != d.alias.trim()) {
                    d.stage = Stage::Planning;
                    commands.push(d.plan_command());
                }
            });
        }
        // The versions to pick from come first, so the plan below them never moves the row just clicked.
        if d.kind == MoveKind::Rollback
            && matches!(d.stage, Stage::Planning | Stage::Editing)
            && let Some(v) = rollback_picker(ui, d)
        {
            d.version = Some(v);
            d.stage = Stage::Planning;
            commands.push(d.plan_command());
        }
        match (&d.stage, &d.plan, &d.plan_error) {
            (Stage::Planning, _, _) => {
                widgets::busy(ui, "Checking the registry...");
            }
            (_, _, Some(e)) => {
                ui.colored_label(RED, e);
            }
            (_, Some(plan), _) => {
                let plan = plan.clone();
                plan_summary(ui, &plan);
                checks(ui, d, &plan);
                if let Some(b) = bindings.iter().find(|b| b.model == plan.model && b.alias == plan.alias) {
                    ui.label(format!(
                        "Also moves the endpoint: {} on {} will serve v{} (settings, load, ready check{}) before the alias \
                         moves. If a step fails, the endpoint is put back and the alias is not touched.",
                        b.served_model,
                        crate::connect::http::redact_url(&b.endpoint),
                        plan.to,
                        if b.example.is_some() { ", smoke inference" } else { "" }
                    ));
                }
            }
            _ => {}
        }
        ui.add_space(6.0);
        let l = ui.label("Reason (required, recorded in the audit log)");
        ui.add(egui::TextEdit::multiline(&mut d.reason).desired_rows(2).desired_width(f32::INFINITY)).labelled_by(l.id);
        if let Some(plan) = &d.plan
            && plan.protected
        {
            let l = ui.label(format!("'{}' is protected. Type the model name ({}) to confirm", plan.alias, plan.model));
            ui.add(egui::TextEdit::singleline(&mut d.confirmation).desired_width(f32::INFINITY)).labelled_by(l.id);
        }
        ui.add_space(6.0);
        if !d.steps.is_empty() {
            steps_list(ui, &d.steps);
        }
        match &d.stage {
            Stage::Running => {
                widgets::busy(ui, "Re-reading the alias, moving it, reading it back...");
            }
            Stage::Done(msg) => {
                ui.colored_label(GREEN, msg);
            }
            Stage::Failed(msg) => {
                ui.colored_label(RED, msg);
            }
            _ => {}
        }
        ui.horizontal(|ui| {
            let done = matches!(d.stage, Stage::Done(_));
            let label = if d.overriding { format!("{} (override)", d.act_label()) } else { d.act_label().to_string() };
            if !done && ui.add_enabled(d.can_act(), egui::Button::new(label)).clicked()
                && let Some(plan) = d.plan_to_execute()
            {
                d.stage = Stage::Running;
                d.steps.clear();
                commands.push(Command::Execute {
                    plan,
                    reason: d.reason.trim().to_string(),
                    confirmation: Some(d.confirmation.trim().to_string()).filter(|c| !c.is_empty()),
                });
            }
            if matches!(d.stage, Stage::Failed(_)) && ui.button("Check again").clicked() {
                d.stage = Stage::Planning;
                commands.push(d.open_command());
            }
            if ui.button(if done { "Close" } else { "Cancel" }).clicked() {
                close = true;
            }
        });
    });
    let running = matches!(d.stage, Stage::Running);
    if close || (response.should_close() && !running) {
        app.move_dialog = None;
    }
    for c in commands {
        app.backend.send(c);
    }
}

/// Each step of the move with its state: running, ok or failed (with the reason).
fn steps_list(ui: &mut Ui, steps: &[crate::ops::StepEvent]) {
    use crate::ops::StepState;
    egui::Grid::new("move_steps").num_columns(3).spacing([8.0, 2.0]).show(ui, |ui| {
        for s in steps {
            let (color, state) = match s.state {
                StepState::Running => (AMBER, "running"),
                StepState::Ok => (GREEN, "ok"),
                StepState::Failed => (RED, "FAILED"),
            };
            ui.colored_label(color, state);
            ui.label(s.step.label());
            ui.label(RichText::new(&s.message).weak());
            ui.end_row();
        }
    });
}

impl MoveDialog {
    /// Records a step event: a later state of a step replaces the earlier one.
    pub fn step(&mut self, e: crate::ops::StepEvent) {
        match self.steps.iter_mut().find(|s| s.step == e.step) {
            Some(s) => *s = e,
            None => self.steps.push(e),
        }
    }
}

fn plan_summary(ui: &mut Ui, plan: &MovePlan) {
    ui.label(RichText::new(format!("{}: {} -> v{}", plan.alias, show_version(plan.from), plan.to)).strong().size(16.0));
    ui.label(RichText::new(&plan.registry).weak().small());
    if plan.metrics.is_empty() {
        return;
    }
    egui::Grid::new(("plan_metrics", plan.to)).num_columns(4).striped(true).show(ui, |ui| {
        for h in ["metric", "current", "target", "change"] {
            ui.strong(h);
        }
        ui.end_row();
        for m in &plan.metrics {
            let f = |v: Option<f64>| v.map(super::views::models::format_metric).unwrap_or_else(|| "-".into());
            ui.label(&m.key);
            ui.label(f(m.from));
            ui.label(f(m.to));
            // Green when the change goes the metric's good way (loss down, accuracy up), red otherwise.
            let up_is_good = crate::config::Direction::guess(&m.key) == crate::config::Direction::Higher;
            match (m.from, m.to) {
                (Some(a), Some(b)) if b != a && ((b > a) == up_is_good) => ui.colored_label(GREEN, format!("{:+.4}", b - a)),
                (Some(a), Some(b)) if b != a => ui.colored_label(RED, format!("{:+.4}", b - a)),
                (Some(_), Some(_)) => ui.label("0"),
                _ => ui.label("-"),
            };
            ui.end_row();
        }
    });
}

/// Operations interrupted in an earlier run: what happened, and a button to record the resolution.
pub fn interrupted_dialog(app: &mut StewardApp, ui: &mut Ui) {
    if app.interrupted.is_empty() {
        return;
    }
    let mut resolve: Option<u64> = None;
    Modal::new(Id::unique("interrupted_ops")).show(ui.ctx(), |ui| {
        ui.set_width(560.0);
        if app.interrupted.iter().all(|i| i.unknown.is_none()) {
            ui.heading("An operation was interrupted");
            ui.label("Steward stopped between recording an action and recording its outcome. The registry now shows:");
        } else {
            ui.heading("An operation's outcome is not known");
            ui.label(
                "Steward could not confirm what the registry did. No move can run until the registry's state is \
                 recorded. The registry now shows:",
            );
        }
        ui.add_space(6.0);
        for item in &app.interrupted {
            show_interrupted(ui, item);
            if ui.button(format!("Record resolution of record {}", item.intent.seq)).clicked() {
                resolve = Some(item.intent.seq);
            }
            ui.separator();
        }
    });
    if let Some(seq) = resolve {
        app.interrupted.retain(|i| i.intent.seq != seq);
        app.backend.send(Command::Resolve { intent_seq: seq });
    }
}

fn show_interrupted(ui: &mut Ui, item: &Interrupted) {
    let color = if item.took_effect() { GREEN } else { AMBER };
    ui.colored_label(color, item.explain());
}
