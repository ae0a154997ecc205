//! Small widgets shared by the views.

use std::path::PathBuf;
use std::sync::mpsc;

use egui::{Color32, CornerRadius, Frame, Margin, RichText, Ui};

/// A modal id never used before. A modal that keeps its id between openings also keeps its area's size
/// from the last opening; when that was smaller (a filtered palette), clicks on the lower part of the new
/// content fell on the backdrop. Each opening therefore gets a fresh id.
pub fn fresh_id(what: &str) -> egui::Id {
    static OPENINGS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    egui::Id::unique((what, OPENINGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
}

/// An alias shown as a chip, so that `champion` stands out in a versions table.
pub fn alias_chip(ui: &mut Ui, alias: &str) {
    alias_chip_text(ui, alias, alias);
}

/// A chip coloured by `alias` showing `text` (e.g. "champion → v2").
pub fn alias_chip_text(ui: &mut Ui, alias: &str, text: &str) {
    let (fill, fg) = alias_colors(ui, alias);
    Frame::new()
        .fill(fill)
        .corner_radius(CornerRadius::same(8))
        .inner_margin(Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(fg).small().strong());
        });
}

fn alias_colors(ui: &Ui, alias: &str) -> (Color32, Color32) {
    let dark = ui.visuals().dark_mode;
    let base = alias_color(alias);
    if dark { (base.gamma_multiply(0.85), Color32::WHITE) } else { (base.gamma_multiply(0.22), base) }
}

/// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
pub const OKABE_ITO: [Color32; 7] = [
    Color32::from_rgb(0, 158, 115),   // bluish green
    Color32::from_rgb(0, 114, 178),   // blue
    Color32::from_rgb(230, 159, 0),   // orange
    Color32::from_rgb(204, 121, 167), // reddish purple
    Color32::from_rgb(86, 180, 233),  // sky blue
    Color32::from_rgb(213, 94, 0),    // vermillion
    Color32::from_rgb(150, 150, 150), // grey
];

/// The one colour of an alias in every view (chips, charts, bars): champion bluish green, challenger
/// blue, any other alias grey.
pub fn alias_color(alias: &str) -> Color32 {
    match alias {
        "champion" | "production" | "prod" => OKABE_ITO[0],
        "challenger" | "staging" | "canary" => OKABE_ITO[1],
        _ => Color32::from_rgb(110, 110, 125),
    }
}

/// A fixed colour per version number for versions without a champion/challenger alias (never the
/// two alias colours).
pub fn version_color(version: u64) -> Color32 {
    OKABE_ITO[2 + (version as usize) % 4]
}

/// The colour of a chart series by its name: "v2 (champion)" takes the alias's colour, "v3" its
/// version's, anything else the i-th palette colour.
pub fn series_color(name: &str, i: usize) -> Color32 {
    if let Some((_, rest)) = name.split_once('(') {
        let alias = rest.trim_end_matches(')').split([',', ' ']).next().unwrap_or_default();
        if matches!(alias, "champion" | "production" | "prod" | "challenger" | "staging" | "canary") {
            return alias_color(alias);
        }
    }
    if let Some(v) = name.strip_prefix('v').and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()).and_then(|d| d.parse::<u64>().ok()) {
        return version_color(v);
    }
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// A coloured dot and a text for a connection state.
/// A spinner with what is being waited for, on one line.
pub fn busy(ui: &mut Ui, text: &str) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(text);
    });
}

pub fn status_dot(ui: &mut Ui, color: Color32, text: &str) -> egui::Response {
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().circle_filled(rect.center(), 4.0, color);
        ui.label(text)
    })
    .inner
}

pub const GREEN: Color32 = Color32::from_rgb(67, 160, 71);
pub const AMBER: Color32 = Color32::from_rgb(240, 170, 0);
pub const RED: Color32 = Color32::from_rgb(229, 57, 53);
pub const GREY: Color32 = Color32::from_rgb(140, 140, 140);
/// Information that is neither good nor bad (an alias move observed outside Steward): Okabe-Ito blue,
/// readable on the dark and the light theme.
pub const INFO: Color32 = Color32::from_rgb(0, 114, 178);

/// A centred empty state: what is missing and the buttons that fix it. Returns the clicked button's index.
pub fn empty_state(ui: &mut Ui, title: &str, detail: &str, buttons: &[&str]) -> Option<usize> {
    let mut clicked = None;
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.2);
        ui.heading(title);
        ui.add_space(6.0);
        if !detail.is_empty() {
            ui.label(detail);
            ui.add_space(10.0);
        }
        for (i, b) in buttons.iter().enumerate() {
            if ui.button(*b).clicked() {
                clicked = Some(i);
            }
        }
    });
    clicked
}

/// A native file dialog (rfd) running on a thread of its own, since it blocks its thread until the
/// operator answers; the window polls it every frame.
pub struct FileDialogTask(mpsc::Receiver<Option<PathBuf>>);

impl FileDialogTask {
    /// Runs `dialog` on a new thread and calls `repaint` when it has answered.
    pub fn spawn(
        name: &str,
        dialog: impl FnOnce() -> Option<PathBuf> + Send + 'static,
        repaint: impl FnOnce() + Send + 'static,
    ) -> Result<FileDialogTask, String> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = tx.send(dialog());
                repaint();
            })
            .map(|_| FileDialogTask(rx))
            .map_err(|e| format!("cannot open the file dialog: {e}"))
    }

    /// None while the dialog is open; then the chosen path (None: cancelled), or an error when the dialog
    /// ended without an answer.
    pub fn poll(&self) -> Option<Result<Option<PathBuf>, String>> {
        match self.0.try_recv() {
            Ok(answer) => Some(Ok(answer)),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Some(Err("the file dialog closed without an answer (is a desktop portal or GTK available?)".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_has_one_colour_in_chips_charts_and_bars() {
        // Charts name series "v2 (champion)" or "v3 (challenger, canary)"; chips and bars use the alias.
        assert_eq!(series_color("v2 (champion)", 5), alias_color("champion"));
        assert_eq!(series_color("v3 (challenger, canary)", 0), alias_color("challenger"));
        assert_ne!(alias_color("champion"), alias_color("challenger"));
        // Other versions: a fixed colour per version number, never an alias's.
        for v in 1..20 {
            assert_eq!(series_color(&format!("v{v}"), 3), version_color(v));
            assert!(version_color(v) != alias_color("champion") && version_color(v) != alias_color("challenger"));
        }
    }
}
