//! What the move dialogs show of the gates: the Checks section of a plan (with Override...), and the
//! rollback picker's versions with the gates of moving to each.

use egui::{RichText, Ui};

use super::{AMBER, GREEN, MoveDialog, RED};
use crate::domain::{VersionNumber, show_version};
use crate::ops::{MoveKind, MovePlan};

/// The "Checks" section: each gate with the current and target values (95% intervals), the change, the
/// bound and the verdict; why the action is disabled, and "Override..." for overridable gates.
pub(super) fn checks(ui: &mut Ui, d: &mut MoveDialog, plan: &MovePlan) {
    use crate::ops::Verdict;
    if plan.gates.results.is_empty() {
        ui.label(RichText::new("Checks: no gates apply to this move (see the home's gates.toml or --policy).").weak());
        return;
    }
    ui.add_space(4.0);
    ui.strong("Checks");
    egui::Grid::new(("gates", plan.to, plan.alias.as_str())).num_columns(5).striped(true).spacing([10.0, 3.0]).show(ui, |ui| {
        for h in ["gate", "current", "target", "bound", "verdict"] {
            ui.strong(h);
        }
        ui.end_row();
        for g in &plan.gates.results {
            let show = |e: &Option<crate::ops::Estimate>| e.map(|e| e.show()).unwrap_or_else(|| "-".into());
            ui.label(&g.name).on_hover_text(g.inputs.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"));
            ui.label(show(&g.current));
            ui.label(show(&g.target));
            let change = g.change.map(|c| format!("change {}", c.show())).unwrap_or_default();
            ui.label(&g.bound).on_hover_text(change);
            let color = match g.verdict {
                Verdict::Pass => GREEN,
                Verdict::Fail => RED,
                Verdict::Inconclusive => AMBER,
            };
            let word = if g.required { g.verdict.word().to_string() } else { format!("{} (advisory)", g.verdict.word()) };
            ui.colored_label(color, word).on_hover_text(&g.detail);
            ui.end_row();
        }
    });
    let blocking = d.blocking_gates(plan);
    if let Some(first) = blocking.first() {
        ui.colored_label(
            if first.verdict == Verdict::Fail { RED } else { AMBER },
            format!("{} is disabled: {} {}: {}", d.act_label(), first.name, first.verdict.phrase(), first.detail),
        );
    }
    if d.kind == MoveKind::Rollback && blocking.is_empty() && !plan.gates.blocking().is_empty() {
        ui.label(
            RichText::new("A rollback does not wait on metric or fairness gates (shown for information); only a dead bound endpoint stops it.")
                .weak(),
        );
    }
    let overridable = plan.gates_overridable();
    if overridable && !d.overriding && ui.button("Override...").on_hover_text("Act although required gates did not pass; the reason is recorded with the gate results").clicked() {
        d.overriding = true;
    }
    if d.overriding {
        let l = ui.label("Override reason (required, recorded with the gate results)");
        ui.add(egui::TextEdit::singleline(&mut d.override_reason).desired_width(f32::INFINITY)).labelled_by(l.id);
    }
}

/// The versions a rollback may go to (aliases, created, key metrics), the proposal pre-selected; without
/// a proposal it says why and asks the operator to pick. Returns the version newly picked.
pub(super) fn rollback_picker(ui: &mut Ui, d: &MoveDialog) -> Option<VersionNumber> {
    let c = d.choices.as_ref()?;
    let selected = d.version.or(d.plan.as_ref().map(|p| p.to)).or(c.proposal);
    match c.proposal {
        Some(p) if d.version.is_none_or(|v| v == p) => {
            ui.label(RichText::new(format!("Proposed: v{p}, where {} pointed before its most recent move.", c.alias)).weak());
        }
        Some(_) => {}
        None => {
            ui.colored_label(
                AMBER,
                format!(
                    "Steward has no record of where {} pointed before {} (no move of it is in this home's audit log: a \
                     fresh install, or moves made by CI or the MLflow UI). Pick the version to move it to:",
                    c.alias,
                    show_version(c.current)
                ),
            );
        }
    }
    if c.versions.is_empty() {
        ui.label(format!("{} has no other version to roll back to.", c.model));
        return None;
    }
    let mut picked = None;
    egui::ScrollArea::vertical().id_salt("rollback_versions").max_height(240.0).show(ui, |ui| {
        egui::Grid::new("rollback_versions_grid").num_columns(5).striped(true).spacing([10.0, 4.0]).show(ui, |ui| {
            for h in ["version", "aliases", "created", "metrics", "gates"] {
                ui.strong(h);
            }
            ui.end_row();
            for v in &c.versions {
                let is = selected == Some(v.version);
                let r = ui.radio(is, format!("v{}", v.version));
                // Screen readers (and tests) hear what the radio does, not only "v1" as in the table behind.
                let name = format!("{} to v{}", d.act_label(), v.version);
                r.widget_info(|| egui::WidgetInfo::selected(egui::Role::RadioButton, true, is, &name));
                if r.clicked() && !is {
                    picked = Some(v.version);
                }
                ui.label(if v.aliases.is_empty() { "-".to_string() } else { v.aliases.join(", ") });
                ui.label(v.created_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into()));
                let metrics: Vec<String> = v
                    .metrics
                    .iter()
                    .filter(|(k, _)| !k.starts_with("n_"))
                    .take(3)
                    .map(|(k, x)| format!("{k} {}", crate::ui::views::models::format_metric(*x)))
                    .collect();
                let all: Vec<String> =
                    v.metrics.iter().map(|(k, x)| format!("{k} {}", crate::ui::views::models::format_metric(*x))).collect();
                ui.label(if metrics.is_empty() { "-".to_string() } else { metrics.join(", ") }).on_hover_text(all.join("\n"));
                gates_cell(ui, c.gates.get(&v.version));
                ui.end_row();
            }
        });
    });
    picked
}

/// One version's gate results in the rollback picker: the worst verdict and which gates gave it.
fn gates_cell(ui: &mut Ui, report: Option<&crate::ops::GateReport>) {
    use crate::ops::Verdict;
    let Some(r) = report.filter(|r| !r.results.is_empty()) else {
        ui.label("-");
        return;
    };
    let worst = r.results.iter().map(|g| g.verdict).max_by_key(|v| match v {
        Verdict::Pass => 0,
        Verdict::Inconclusive => 1,
        Verdict::Fail => 2,
    });
    let (color, word) = match worst {
        Some(Verdict::Fail) => (RED, "fail"),
        Some(Verdict::Inconclusive) => (AMBER, "inconclusive"),
        _ => (GREEN, "pass"),
    };
    let which: Vec<&str> = r.results.iter().filter(|g| g.verdict != Verdict::Pass).map(|g| g.name.as_str()).collect();
    let text = match which.as_slice() {
        [] => word.to_string(),
        [one] => format!("{word}: {one}"),
        [first, rest @ ..] => format!("{word}: {first} +{}", rest.len()),
    };
    let lines: Vec<String> = r.results.iter().map(|g| g.line()).collect();
    ui.colored_label(color, text).on_hover_text(lines.join("\n"));
}
