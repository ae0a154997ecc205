//! The command palette (Ctrl+K): type to filter, arrows to move, Enter to run, Esc to close.

use egui::{Id, Key, Modal, RichText, Ui};

use super::app::{Action, StewardApp};

#[derive(Debug, Clone)]
pub struct Palette {
    pub query: String,
    pub selected: usize,
    /// Fresh per opening (see `widgets::fresh_id`).
    id: Id,
}

impl Palette {
    pub fn open() -> Self {
        Palette { query: String::new(), selected: 0, id: super::widgets::fresh_id("command_palette") }
    }
}

/// Case-insensitive subsequence match, so "gtf" finds "Go to Fairness".
pub fn matches(query: &str, label: &str) -> bool {
    let mut label = label.chars().flat_map(char::to_lowercase);
    query.chars().flat_map(char::to_lowercase).filter(|c| !c.is_whitespace()).all(|q| label.any(|c| c == q))
}

/// Draws the palette when open; returns the action chosen this frame.
pub fn show(app: &mut StewardApp, ui: &mut Ui) -> Option<Action> {
    app.palette.as_ref()?;
    let actions = app.palette_actions();
    let ctx = ui.ctx().clone();
    let palette = app.palette.as_mut()?;
    let shown: Vec<&Action> = actions.iter().filter(|a| matches(&palette.query, &a.label())).collect();
    palette.selected = palette.selected.min(shown.len().saturating_sub(1));
    let mut chosen = None;
    let mut close = false;
    let response = Modal::new(palette.id).show(&ctx, |ui| {
        ui.set_width(460.0);
        let label = ui.label(RichText::new("Command palette").strong());
        let edit = ui.add(
            egui::TextEdit::singleline(&mut palette.query)
                .hint_text("Type a command...")
                .desired_width(f32::INFINITY),
        );
        let edit = edit.labelled_by(label.id);
        edit.request_focus();
        if edit.changed() {
            palette.selected = 0;
        }
        ui.input(|i| {
            if i.key_pressed(Key::ArrowDown) && palette.selected + 1 < shown.len() {
                palette.selected += 1;
            }
            if i.key_pressed(Key::ArrowUp) {
                palette.selected = palette.selected.saturating_sub(1);
            }
            if i.key_pressed(Key::Enter) {
                chosen = shown.get(palette.selected).map(|a| (*a).clone());
            }
            if i.key_pressed(Key::Escape) {
                close = true;
            }
        });
        ui.separator();
        if shown.is_empty() {
            ui.label(RichText::new("No command matches").weak());
        }
        egui::ScrollArea::vertical().max_height(320.0).show(ui, |ui| {
            for (i, a) in shown.iter().enumerate() {
                // The shortcut is placed first, at the right, and the command takes what is left: the
                // hint is never cut to "Ctrl+".
                ui.horizontal(|ui| ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if let Some(s) = a.shortcut() {
                        ui.label(RichText::new(s).weak().small());
                    }
                    let r = ui.add(egui::Button::selectable(i == palette.selected, a.label()).min_size(egui::vec2(ui.available_width(), 0.0)));
                    if r.clicked() {
                        chosen = Some((*a).clone());
                    }
                    if i == palette.selected {
                        r.scroll_to_me(None);
                    }
                }));
            }
        });
    });
    if response.should_close() || close || chosen.is_some() {
        app.palette = None;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn palette_matching_is_a_case_insensitive_subsequence() {
        assert!(matches("gtf", "Go to Fairness"));
        assert!(matches("SAMPLE", "Open sample workspace"));
        assert!(matches("", "anything"));
        assert!(!matches("xyz", "Go to Models"));
        assert!(!matches("modelsz", "Go to Models"));
    }
}
