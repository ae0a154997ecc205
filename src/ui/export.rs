//! "Export audit report...": model, format, period, prediction log and file; the report is gathered and
//! written by the backend (progress shown), then "Open folder". The same code as `steward report`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Id, Modal, RichText, Ui};

use super::app::{Loadable, StewardApp};
use super::widgets::{self, GREEN, RED};
use crate::backend::Command;
use crate::report::{Format, Options, Progress, default_file_name};


pub enum ExportStage {
    Editing,
    Running(Arc<Progress>),
    Done(Vec<PathBuf>),
    Failed(String),
}

pub struct ExportDialog {
    pub model: String,
    pub format: Format,
    pub since: String,
    pub until: String,
    pub fairness_log: String,
    pub out: String,
    pub stage: ExportStage,
    pub error: Option<String>,
    browse: Option<widgets::FileDialogTask>,
    id: Id,
}

/// Where reports go by default: the user's documents folder, else the home directory, else here.
fn default_dir() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| u.document_dir().map(Path::to_path_buf).or_else(|| Some(u.home_dir().to_path_buf())))
        .unwrap_or_else(|| PathBuf::from("."))
}

impl ExportDialog {
    pub fn new(model: &str, fairness_log: Option<String>) -> ExportDialog {
        let format = Format::Pdf;
        let name = default_file_name(model, chrono::Utc::now().date_naive(), format);
        ExportDialog {
            model: model.to_string(),
            format,
            since: String::new(),
            until: String::new(),
            fairness_log: fairness_log.unwrap_or_default(),
            out: default_dir().join(name).display().to_string(),
            stage: ExportStage::Editing,
            error: None,
            browse: None,
            id: widgets::fresh_id("export_dialog"),
        }
    }

    /// Keeps the folder, renames the file for the new format.
    fn set_format(&mut self, format: Format) {
        self.format = format;
        let name = default_file_name(&self.model, chrono::Utc::now().date_naive(), format);
        let dir = Path::new(&self.out).parent().map(Path::to_path_buf).unwrap_or_else(default_dir);
        self.out = dir.join(name).display().to_string();
    }

    /// The options and output, or what is wrong with the form.
    /// `logs`: the active profile's SQL logs, which the fairness log field may name.
    pub fn request(&self, logs: &[crate::config::LogSource]) -> Result<(Options, PathBuf), String> {
        let mut o = Options::new(&self.model);
        let date = |s: &str, end: bool, what: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            crate::report::parse_date(s, end).map(Some).ok_or_else(|| format!("{what}: '{s}' is not a date (2026-11-01 or RFC 3339)"))
        };
        o.since = date(&self.since, false, "From")?;
        o.until = date(&self.until, true, "To")?;
        if let (Some(s), Some(u)) = (o.since, o.until)
            && s > u
        {
            return Err("'From' is after 'To'".into());
        }
        let log = self.fairness_log.trim();
        if !log.is_empty() {
            let (log, mapping) = crate::sources::LogRef::parse_with_mapping(log, logs).map_err(|e| format!("Fairness log: {e}"))?;
            o.fairness_log = Some(log);
            o.fairness_mapping = mapping;
        }
        let out = self.out.trim();
        if out.is_empty() {
            return Err("choose where to save the report".into());
        }
        Ok((o, PathBuf::from(out)))
    }
}

/// Opens the dialog for a model (its `prediction_log` tag, if any, fills the fairness log).
pub fn open(app: &mut StewardApp, model: Option<String>) {
    let model = model.or_else(|| app.persisted.selected_model.clone());
    let Some(model) = model else {
        app.notify_error("Pick a model first: a report is about one model".into());
        return;
    };
    let log = match &app.models {
        Loadable::Ready(ms) => ms.iter().find(|m| m.name == model).and_then(|m| m.tags.get("prediction_log").cloned()),
        _ => None,
    };
    app.export = Some(ExportDialog::new(&model, log.filter(|p| crate::objects::Remote::present(Path::new(p)))));
}

pub fn on_done(app: &mut StewardApp, result: Result<Vec<PathBuf>, String>) {
    if let Some(d) = app.export.as_mut() {
        d.stage = match result {
            Ok(files) => ExportStage::Done(files),
            Err(e) => ExportStage::Failed(e),
        };
    }
}

fn open_folder(path: &Path) -> Result<(), String> {
    let dir = if path.is_dir() { path } else { path.parent().unwrap_or(Path::new(".")) };
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(dir)
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("could not run {opener} {}: {e}", dir.display()))
}

fn browse(d: &mut ExportDialog, repaint: egui::Context) {
    let (format, out) = (d.format, PathBuf::from(&d.out));
    let dialog = move || {
        let dir = out.parent().map(Path::to_path_buf).unwrap_or_else(default_dir);
        let dialog = rfd::FileDialog::new().set_title("Export audit report").set_directory(&dir);
        match format {
            Format::Csv => dialog.pick_folder().map(|p| p.join(out.file_name().unwrap_or_default())),
            _ => dialog
                .set_file_name(out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
                .add_filter(format.extension(), &[format.extension()])
                .save_file(),
        }
    };
    match widgets::FileDialogTask::spawn("save-dialog", dialog, move || repaint.request_repaint()) {
        Ok(t) => d.browse = Some(t),
        Err(e) => d.error = Some(e),
    }
}

/// Draws the dialog, if open, and sends what it asks for.
pub fn show(app: &mut StewardApp, ui: &mut Ui) {
    let profile = app.active_profile.clone().map(Box::new);
    let Some(d) = app.export.as_mut() else { return };
    if let Some(answer) = d.browse.as_ref().and_then(|t| t.poll()) {
        d.browse = None;
        match answer {
            Ok(Some(p)) => d.out = p.display().to_string(),
            Ok(None) => {}
            Err(e) => d.error = Some(e),
        }
    }
    let mut command = None;
    let mut close = false;
    let running = matches!(d.stage, ExportStage::Running(_));
    let response = Modal::new(d.id).show(ui.ctx(), |ui| {
        ui.set_width(560.0);
        ui.heading(format!("Export audit report: {}", d.model));
        ui.label(
            RichText::new("Identity, versions, alias timeline, serving health, quality and fairness, alerts, and the audit records of the period with their hash-chain check.")
                .weak(),
        );
        ui.add_enabled_ui(!running, |ui| {
            egui::Grid::new("export_form").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
                ui.label("Format");
                ui.horizontal(|ui| {
                    for f in [Format::Pdf, Format::Html, Format::Json, Format::Csv] {
                        if ui.radio(d.format == f, f.extension().to_uppercase()).clicked() && d.format != f {
                            d.set_format(f);
                        }
                    }
                });
                ui.end_row();
                let l = ui.label("From");
                ui.add(egui::TextEdit::singleline(&mut d.since).hint_text("first record (or 2026-11-01)").desired_width(200.0))
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label("To");
                ui.add(egui::TextEdit::singleline(&mut d.until).hint_text("now (or 2026-11-30)").desired_width(200.0)).labelled_by(l.id);
                ui.end_row();
                let l = ui.label("Prediction log");
                ui.add(egui::TextEdit::singleline(&mut d.fairness_log).hint_text("none: no fairness tables").desired_width(380.0))
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label("Save to");
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(&mut d.out).desired_width(380.0)).labelled_by(l.id);
                    if ui.button("Choose...").clicked() {
                        browse(d, ui.ctx().clone());
                    }
                });
                ui.end_row();
            });
        });
        if let Some(e) = &d.error {
            ui.colored_label(RED, e);
        }
        match &d.stage {
            ExportStage::Running(p) => {
                let (f, step) = p.get();
                ui.add(egui::ProgressBar::new(f).text(format!("{:.0}% {step}", f * 100.0)));
                ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
            }
            ExportStage::Done(files) => {
                let what = if files.len() > 1 { format!("{} files in {}", files.len(), d.out) } else { d.out.clone() };
                ui.colored_label(GREEN, format!("Saved: {what}"));
            }
            ExportStage::Failed(e) => {
                ui.colored_label(RED, format!("Export failed: {e}"));
            }
            ExportStage::Editing => {}
        }
        ui.horizontal(|ui| {
            let done = matches!(d.stage, ExportStage::Done(_));
            if !done && ui.add_enabled(!running, egui::Button::new("Export")).clicked() {
                let logs = profile.as_ref().map(|p| p.logs.clone()).unwrap_or_default();
                match d.request(&logs) {
                    Ok((opts, out)) => {
                        d.error = None;
                        let progress = Arc::new(Progress::new());
                        d.stage = ExportStage::Running(progress.clone());
                        command = Some(Command::ExportReport { opts: Box::new(opts), format: d.format, out, profile: profile.clone(), progress });
                    }
                    Err(e) => d.error = Some(e),
                }
            }
            if done && ui.button("Open folder").clicked() {
                if let Err(e) = open_folder(Path::new(&d.out)) {
                    d.error = Some(e);
                }
            }
            if ui.add_enabled(!running, egui::Button::new(if done { "Close" } else { "Cancel" })).clicked() {
                close = true;
            }
        });
    });
    if close || (response.should_close() && !running) {
        app.export = None;
    }
    if let Some(c) = command {
        app.backend.send(c);
    }
}
