//! Steward's own diagnostics in the window: the offer of the last crash report ("Steward closed
//! unexpectedly last time: Show report / Dismiss", a bar under the top bar until dismissed) and the
//! log viewer ("Show logs" in the command palette: the last lines of the log file and its path).

use std::path::PathBuf;

use egui::{Id, Modal, RichText, Ui};

use super::app::StewardApp;
use crate::diag;

/// Lines the log viewer shows.
const LOG_LINES: usize = 200;

#[derive(Default)]
pub struct DiagnosticsState {
    /// A crash report not yet dismissed: its path and text.
    pub crash: Option<(PathBuf, String)>,
    pub crash_open: bool,
    /// The log viewer, when open: the lines read when it was opened (or refreshed).
    pub logs: Option<Vec<String>>,
}

impl DiagnosticsState {
    /// Looks for a crash report left by the last run.
    pub fn new(home: &crate::config::Home) -> Self {
        DiagnosticsState { crash: diag::crash::pending(&home.state), ..Default::default() }
    }
}

/// The crash bar (drawn as a top panel, under the top bar) when a report is pending.
pub fn crash_bar(app: &mut StewardApp, ui: &mut Ui) {
    if app.diagnostics.crash.is_none() {
        return;
    }
    egui::Panel::top("crash_bar").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Steward closed unexpectedly last time.").color(super::widgets::AMBER));
            if ui.button("Show report").clicked() {
                app.diagnostics.crash_open = true;
            }
            if ui.button("Dismiss").on_hover_text("Do not offer this report again").clicked() {
                dismiss(app);
            }
        });
    });
}

fn dismiss(app: &mut StewardApp) {
    if let Some((path, _)) = app.diagnostics.crash.take()
        && let Err(e) = diag::crash::dismiss(&path)
    {
        app.notify(format!("cannot mark {} as seen: {e}", path.display()), true);
    }
    app.diagnostics.crash_open = false;
}

/// The crash report and log windows, when open.
pub fn windows(app: &mut StewardApp, ui: &mut Ui) {
    let ctx = ui.ctx().clone();
    if app.diagnostics.crash_open
        && let Some((path, text)) = app.diagnostics.crash.clone()
    {
        let mut close = false;
        let mut dismissed = false;
        Modal::new(Id::unique("crash_report")).show(&ctx, |ui| {
            ui.set_width(720.0f32.min(ctx.content_rect().width() - 60.0));
            ui.label(RichText::new("Crash report").strong());
            ui.label(RichText::new(path.display().to_string()).weak().small());
            egui::ScrollArea::both().max_height(ctx.content_rect().height() * 0.6).show(ui, |ui| {
                ui.label(RichText::new(&text).monospace().small());
            });
            ui.horizontal(|ui| {
                if ui.button("Copy").on_hover_text("Copy the report to the clipboard, to send it").clicked() {
                    ui.ctx().copy_text(text.clone());
                }
                if ui.button("Dismiss").clicked() {
                    dismissed = true;
                }
                if ui.button("Close").clicked() {
                    close = true;
                }
            });
        });
        if dismissed {
            dismiss(app);
        } else if close {
            app.diagnostics.crash_open = false;
        }
    }
    if let Some(lines) = app.diagnostics.logs.clone() {
        let file = app.home.log_file();
        let mut close = false;
        let mut refresh = false;
        Modal::new(Id::unique("log_viewer")).show(&ctx, |ui| {
            ui.set_width(900.0f32.min(ctx.content_rect().width() - 60.0));
            ui.label(RichText::new("Steward's log").strong());
            ui.label(RichText::new(format!("{} (the last {} lines; RUST_LOG sets the level)", file.display(), LOG_LINES)).weak().small());
            egui::ScrollArea::both().max_height(ctx.content_rect().height() * 0.6).stick_to_bottom(true).show(ui, |ui| {
                if lines.is_empty() {
                    ui.label(RichText::new("The log is empty.").weak());
                }
                for l in &lines {
                    ui.label(RichText::new(l).monospace().small());
                }
            });
            ui.horizontal(|ui| {
                if ui.button("Refresh").clicked() {
                    refresh = true;
                }
                if ui.button("Copy path").clicked() {
                    ui.ctx().copy_text(file.display().to_string());
                }
                if ui.button("Close").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    close = true;
                }
            });
        });
        if close {
            app.diagnostics.logs = None;
        } else if refresh {
            open_logs(app);
        }
    }
}

/// Opens (or refreshes) the log viewer.
pub fn open_logs(app: &mut StewardApp) {
    app.diagnostics.logs = Some(diag::log::tail(&app.home.state, LOG_LINES));
}
