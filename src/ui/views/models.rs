//! The Models view: the model list (filterable), the selected model's versions with alias chips and
//! metrics, and the selected version's details.

use std::collections::BTreeSet;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::domain::{ModelVersion, RegisteredModel, SourceState};
use crate::ui::app::{Action, Loadable, StewardApp};
use crate::ui::widgets;

/// Metrics shown as table columns, in this order when present; others follow alphabetically.
const PREFERRED_METRICS: [&str; 4] = ["accuracy", "precision", "recall", "roc_auc"];
const MAX_METRIC_COLUMNS: usize = 6;

pub fn show(app: &mut StewardApp, ui: &mut Ui, actions: &mut Vec<Action>) {
    let models = match &app.models {
        Loadable::Ready(m) => m.clone(),
        Loadable::Loading => {
            ui.vertical_centered(|ui| {
                ui.add_space(40.0);
                ui.spinner();
                ui.label(format!("Connecting to {}...", app.registry_description));
            });
            return;
        }
        Loadable::Failed(e) => {
            let title = match app.registry_state {
                SourceState::Failed(_) => "No registry connected",
                _ => "Could not list models",
            };
            let detail = format!("{}\n{e}", app.registry_description);
            match widgets::empty_state(ui, title, &detail, &["Retry", "Add MLflow registry...", "Open sample workspace"]) {
                Some(0) => actions.push(Action::Refresh),
                Some(1) => actions.push(Action::AddRegistry),
                Some(2) => actions.push(Action::OpenSample),
                _ => {}
            }
            return;
        }
    };
    if models.is_empty() {
        let detail = format!("{} has no registered models yet.", app.registry_description);
        let buttons: &[&str] = if app.registry_is_local {
            &["Open sample workspace", "Add MLflow registry..."]
        } else {
            &["Add MLflow registry..."]
        };
        match widgets::empty_state(ui, "No models", &detail, buttons) {
            Some(0) if app.registry_is_local => actions.push(Action::OpenSample),
            Some(_) => actions.push(Action::AddRegistry),
            None => {}
        }
        return;
    }

    egui::Panel::left("model_list").resizable(true).default_size(230.0).min_size(160.0).show(ui, |ui| {
        model_list(app, ui, &models, actions);
    });

    egui::CentralPanel::default().show(ui, |ui| {
        let Some(name) = app.persisted.selected_model.clone() else {
            ui.label("Select a model on the left.");
            return;
        };
        let Some(model) = models.iter().find(|m| m.name == name) else {
            ui.label(format!("Model '{name}' is not in this registry."));
            return;
        };
        model_header(ui, model, app.read_only(), actions);
        if let Some(Loadable::Ready(versions)) = app.versions.get(&name) {
            let versions = versions.clone();
            egui::CollapsingHeader::new("Metric across versions").id_salt("metric_chart_section").show(ui, |ui| {
                super::compare::metric_chart(ui, &versions, &mut app.chart_metric);
            });
        }
        ui.separator();
        match app.versions.get(&name) {
            Some(Loadable::Ready(versions)) => {
                let versions = versions.clone();
                versions_table(app, ui, &versions, actions);
            }
            Some(Loadable::Failed(e)) => {
                ui.colored_label(widgets::RED, format!("Could not load versions: {e}"));
                if ui.button("Retry").clicked() {
                    actions.push(Action::Refresh);
                }
            }
            _ => {
                widgets::busy(ui, "Loading versions...");
            }
        }
    });
}

fn model_list(app: &mut StewardApp, ui: &mut Ui, models: &[RegisteredModel], actions: &mut Vec<Action>) {
    ui.add_space(4.0);
    let l = ui.label(RichText::new(format!("Models ({})", models.len())).strong());
    ui.add(
        egui::TextEdit::singleline(&mut app.persisted.model_filter)
            .hint_text("Filter by name, tag or alias")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id);
    let filter = app.persisted.model_filter.to_lowercase();
    let shown: Vec<&RegisteredModel> = models.iter().filter(|m| model_matches(m, &filter)).collect();
    if shown.is_empty() {
        ui.label(RichText::new("No model matches the filter").weak());
    }
    let row_height = ui.spacing().interact_size.y + 4.0;
    egui::ScrollArea::vertical().auto_shrink([false, false]).show_rows(ui, row_height, shown.len(), |ui, range| {
        for m in &shown[range] {
            let selected = app.persisted.selected_model.as_deref() == Some(&m.name);
            let r = ui.add_sized([ui.available_width(), row_height - 4.0], egui::Button::selectable(selected, m.name.as_str()));
            let r = if m.aliases.is_empty() {
                r
            } else {
                r.on_hover_text(m.aliases.iter().map(|(a, v)| format!("{a} -> v{v}")).collect::<Vec<_>>().join("\n"))
            };
            if r.clicked() {
                actions.push(Action::SelectModel(m.name.clone()));
            }
        }
    });
}

pub fn model_matches(m: &RegisteredModel, filter: &str) -> bool {
    filter.is_empty()
        || m.name.to_lowercase().contains(filter)
        || m.aliases.keys().any(|a| a.to_lowercase().contains(filter))
        || m.tags.iter().any(|(k, v)| k.to_lowercase().contains(filter) || v.to_lowercase().contains(filter))
}

fn model_header(ui: &mut Ui, m: &RegisteredModel, read_only: bool, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        ui.heading(RichText::new(&m.name).strong());
        for (alias, v) in &m.aliases {
            widgets::alias_chip_text(ui, alias, &format!("{alias}: v{v}"));
            if !read_only
                && ui
                    .small_button(format!("Roll back {alias}..."))
                    .on_hover_text(format!("Move {alias} back, by default to where it pointed before its last move"))
                    .clicked()
            {
                actions.push(Action::Rollback { model: m.name.clone(), alias: alias.clone() });
            }
        }
        if ui.small_button("Export audit report...").on_hover_text("PDF, HTML, JSON or CSV for a reviewer").clicked() {
            actions.push(Action::ExportReport(Some(m.name.clone())));
        }
    });
    if !m.description.is_empty() {
        ui.label(&m.description);
    }
    if !m.tags.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Tags").weak());
            for (k, v) in &m.tags {
                ui.label(RichText::new(format!("{k}={v}")).monospace().small());
            }
        });
    }
}

fn metric_columns(versions: &[ModelVersion]) -> Vec<String> {
    let all: BTreeSet<&String> = versions.iter().flat_map(|v| v.metrics.keys()).collect();
    let mut cols: Vec<String> =
        PREFERRED_METRICS.iter().filter(|p| all.iter().any(|k| k.as_str() == **p)).map(|s| s.to_string()).collect();
    cols.extend(all.iter().filter(|k| !PREFERRED_METRICS.contains(&k.as_str())).map(|k| k.to_string()));
    cols.truncate(MAX_METRIC_COLUMNS);
    cols
}

/// The least height kept for the versions table (header and about three rows) when the detail panel
/// below it is opened or dragged taller: the panel never covers the table.
const TABLE_MIN_HEIGHT: f32 = 100.0;

/// Fixed columns of the versions table besides metrics: version, created, status, description (least).
const FIXED_COLUMNS_WIDTH: f32 = 56.0 + 112.0 + 60.0 + 100.0;
const METRIC_COLUMN_WIDTH: f32 = 66.0;

/// The width the alias chips of the busiest version need (two aliases on one version must not show as
/// "cham...").
fn aliases_width(ui: &Ui, versions: &[ModelVersion]) -> f32 {
    let font = egui::TextStyle::Small.resolve(ui.style());
    versions
        .iter()
        .map(|v| {
            v.aliases
                .iter()
                .map(|a| ui.fonts_mut(|f| f.layout_no_wrap(a.clone(), font.clone(), egui::Color32::WHITE).size().x) + 12.0 + ui.spacing().item_spacing.x)
                .sum::<f32>()
        })
        .fold(70.0, f32::max)
        + 8.0
}

fn versions_table(app: &mut StewardApp, ui: &mut Ui, versions: &[ModelVersion], actions: &mut Vec<Action>) {
    let all_metrics = metric_columns(versions);
    let aliases_col = aliases_width(ui, versions);
    // As many metric columns as fit the width (each column also takes the item spacing); the others are
    // in the version's details and Compare.
    let gap = ui.spacing().item_spacing.x;
    let fixed = FIXED_COLUMNS_WIDTH + aliases_col + 6.0 * gap + 8.0;
    let fit = ((ui.available_width() - fixed) / (METRIC_COLUMN_WIDTH + gap)).floor().max(1.0) as usize;
    let metrics: Vec<String> = all_metrics.iter().take(fit).cloned().collect();
    let row_height = 24.0;
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Versions ({})", versions.len())).strong());
        if metrics.len() < all_metrics.len() {
            ui.label(RichText::new(format!("{} more metric(s) in the details and Compare", all_metrics.len() - metrics.len())).weak().small())
                .on_hover_text(all_metrics[metrics.len()..].join(", "));
        }
    });
    // The selected version's details sit in a resizable panel below the table, never taller than what
    // leaves the table its least height (a remembered size is clamped to the window as it is now).
    if let Some(sel) = app.selected_version
        && let Some(v) = versions.iter().find(|v| v.version == sel)
    {
        let read_only = app.read_only();
        let mut compare_with: Vec<u64> = app.compare_with.iter().copied().filter(|c| *c != sel && versions.iter().any(|x| x.version == *c)).collect();
        let mut only_differences = app.compare_only_differences;
        let room = (ui.available_height() - TABLE_MIN_HEIGHT).max(40.0);
        // The panel keeps its share of the room, not its pixels: a window made larger (or the metric
        // chart closed) grows it, a drag sets the share. egui remembers a panel's size by id, so the id
        // changes with the room (in 40 px steps) and the new panel starts at the remembered share.
        // Until the user drags it, the panel takes what the table's rows leave (the table needs its
        // header and rows, at least TABLE_MIN_HEIGHT), and at least 55%.
        let table_needs = (26.0 + versions.len() as f32 * 24.0 + 16.0).max(TABLE_MIN_HEIGHT);
        let share = app.detail_share.unwrap_or_else(|| ((ui.available_height() - table_needs) / room).max(0.55));
        let panel = egui::Panel::bottom(("version_detail_panel", (room / 40.0).round() as i64))
            .resizable(true)
            .default_size((room * share).clamp(120f32.min(room), room))
            .min_size(120f32.min(room))
            .max_size(room)
            .show(ui, |ui| {
                // The panel is as tall as chosen, not as tall as its content.
                ui.set_min_height(ui.available_height());
                version_detail(ui, v, read_only, actions);
                ui.horizontal(|ui| {
                    ui.label("Compare with");
                    let shown = if compare_with.is_empty() {
                        "none".to_string()
                    } else {
                        compare_with.iter().map(|c| format!("v{c}")).collect::<Vec<_>>().join(", ")
                    };
                    egui::ComboBox::from_id_salt("compare_with").selected_text(shown).show_ui(ui, |ui| {
                        if ui.selectable_label(compare_with.is_empty(), "none").clicked() {
                            compare_with.clear();
                        }
                        let others: Vec<u64> = versions.iter().map(|x| x.version).filter(|x| *x != sel).collect();
                        if others.len() > 1 && ui.selectable_label(compare_with.len() == others.len(), "all versions").clicked() {
                            compare_with = others.clone();
                        }
                        for x in others {
                            let mut on = compare_with.contains(&x);
                            if ui.checkbox(&mut on, format!("v{x}")).changed() {
                                if on {
                                    compare_with.push(x);
                                } else {
                                    compare_with.retain(|c| *c != x);
                                }
                            }
                        }
                    });
                });
                if compare_with.is_empty() {
                    egui::ScrollArea::vertical().id_salt("version_detail").show(ui, |ui| version_fields(ui, v));
                } else {
                    compare_with.sort_unstable_by(|a, b| b.cmp(a));
                    let mut shown: Vec<&ModelVersion> = vec![v];
                    shown.extend(compare_with.iter().filter_map(|c| versions.iter().find(|x| x.version == *c)));
                    super::compare::compare(ui, &shown, &mut only_differences);
                }
            });
        let height = panel.response.rect.height();
        if room > 120.0 && (height - room * share).abs() > 2.0 {
            app.detail_share = Some((height / room).clamp(0.2, 1.0));
        }
        app.compare_with = compare_with;
        app.compare_only_differences = only_differences;
    }
    let table_height = ui.available_height().max(0.0);
    // Selectable labels would take the click meant for the row; rows are what the operator clicks.
    let selectable = ui.style().interaction.selectable_labels;
    ui.style_mut().interaction.selectable_labels = false;
    let mut table = TableBuilder::new(ui)
        .id_salt("versions_table")
        .striped(true)
        .sense(egui::Sense::click())
        .max_scroll_height(table_height)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(56.0))
        .column(Column::initial(aliases_col).at_least(70.0).clip(true))
        .column(Column::initial(112.0));
    for _ in &metrics {
        table = table.column(Column::initial(66.0).at_least(50.0));
    }
    table = table.column(Column::initial(60.0)).column(Column::remainder().at_least(100.0).clip(true));
    table
        .header(22.0, |mut h| {
            h.col(|ui| {
                ui.strong("Version");
            });
            h.col(|ui| {
                ui.strong("Aliases");
            });
            h.col(|ui| {
                ui.strong("Created");
            });
            for m in &metrics {
                h.col(|ui| {
                    ui.strong(m.as_str());
                });
            }
            h.col(|ui| {
                ui.strong("Status");
            });
            h.col(|ui| {
                ui.strong("Description");
            });
        })
        .body(|body| {
            body.rows(row_height, versions.len(), |mut row| {
                let v = &versions[row.index()];
                row.set_selected(app.selected_version == Some(v.version));
                row.col(|ui| {
                    ui.label(format!("v{}", v.version));
                });
                row.col(|ui| {
                    for a in &v.aliases {
                        widgets::alias_chip(ui, a);
                    }
                });
                row.col(|ui| {
                    ui.label(v.created_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default());
                });
                for m in &metrics {
                    row.col(|ui| {
                        ui.label(v.metrics.get(m).map(|x| format_metric(*x)).unwrap_or_else(|| "-".into()));
                    });
                }
                row.col(|ui| {
                    ui.label(&v.status);
                });
                row.col(|ui| {
                    ui.label(first_line(&v.description));
                });
                if row.response().clicked() {
                    let next = if app.selected_version == Some(v.version) { None } else { Some(v.version) };
                    actions.push(Action::SelectVersion(next));
                }
            });
        });
    ui.style_mut().interaction.selectable_labels = selectable;
}

/// Counts print as integers, rates with four decimals.
pub use crate::domain::format_metric;

fn format_detail_metric(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x:.6}") }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 120 { format!("{}...", line.chars().take(117).collect::<String>()) } else { line.into() }
}

fn version_detail(ui: &mut Ui, v: &ModelVersion, read_only: bool, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        ui.heading(format!("{} v{}", v.model, v.version));
        if !read_only && ui.button("Promote...").on_hover_text("Point an alias (default: champion) at this version").clicked() {
            actions.push(Action::Promote { model: v.model.clone(), version: v.version });
        }
        for a in &v.aliases {
            widgets::alias_chip(ui, a);
        }
        if let Some(stage) = &v.legacy_stage {
            ui.label(RichText::new(format!("legacy stage: {stage} (read-only)")).weak());
        }
    });
}

fn version_fields(ui: &mut Ui, v: &ModelVersion) {
    {
        ui.horizontal_wrapped(|ui| {
            super::caption(ui, "Source", &v.source);
            ui.add_space(12.0);
            if let Some(run) = &v.run_id {
                super::caption(ui, "Run", run);
                ui.add_space(12.0);
            }
            super::caption(ui, "Created by", v.created_by.as_deref().unwrap_or("-"));
        });
        if !v.description.is_empty() {
            ui.label(&v.description);
        }
        ui.columns(3, |cols| {
            key_values(&mut cols[0], "Metrics", v.metrics.iter().map(|(k, x)| (k.clone(), format_detail_metric(*x))));
            key_values(&mut cols[1], "Params", v.params.iter().map(|(k, x)| (k.clone(), x.clone())));
            key_values(&mut cols[2], "Tags", v.tags.iter().map(|(k, x)| (k.clone(), x.clone())));
        });
    }
}

fn key_values(ui: &mut Ui, title: &str, items: impl Iterator<Item = (String, String)>) {
    ui.label(RichText::new(title).strong());
    let items: Vec<_> = items.collect();
    if items.is_empty() {
        ui.label(RichText::new("none").weak());
        return;
    }
    let width = ui.available_width();
    egui::Grid::new(("kv", title)).num_columns(2).striped(true).spacing([12.0, 4.0]).max_col_width(width * 0.6).show(ui, |ui| {
        for (k, v) in items {
            // One line each, cut with "..." and whole on hover (wrapping broke values mid-word).
            ui.add(egui::Label::new(RichText::new(k.as_str()).monospace()).truncate()).on_hover_text(k.as_str());
            ui.add(egui::Label::new(v.as_str()).truncate()).on_hover_text(v.as_str());
            ui.end_row();
        }
    });
}
