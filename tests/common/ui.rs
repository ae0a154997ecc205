//! The real window driven headless with egui_kittest (shared by the UI test files).

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use steward::config::Context;
use steward::config::{Origin, RegistrySpec, Selection};
use steward::ui::{Persisted, StewardApp};

pub struct Ui {
    pub harness: Harness<'static, StewardApp>,
    pub _home: tempfile::TempDir,
}

/// The context the window starts with for a home (resolved as `steward` resolves it: profiles, the
/// home's gate policy), on `spec`.
pub fn context(home: &std::path::Path, spec: RegistrySpec) -> Context {
    let selection = Selection { home: Some(home.to_path_buf()), ..Selection::default() };
    let mut ctx = Context::resolve(&selection).expect("a usable home");
    ctx.spec = spec;
    ctx.origin = Origin::Default;
    ctx
}

pub fn open(spec: Option<RegistrySpec>, persisted: Persisted) -> Ui {
    let dir = tempfile::tempdir().unwrap();
    let app = StewardApp::new(context(dir.path(), spec.unwrap_or(RegistrySpec::HomeLocal)), persisted);
    let harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    Ui { harness, _home: dir }
}

/// The window on a fresh home's sample workspace, its versions listed.
pub fn sample() -> Ui {
    let mut ui = open(None, Persisted::default());
    ui.wait_for("income-classifier");
    ui.wait_for("Versions (3)");
    ui
}

impl Ui {
    /// Steps frames until `label` is on screen (the backend answers asynchronously).
    pub fn wait_for(&mut self, label: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.harness.step();
            if self.harness.query_all_by_label_contains(label).next().is_some() {
                return;
            }
            if Instant::now() >= deadline {
                panic!("'{label}' never appeared; on screen: {:?}", self.labels());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every label on screen (for failure messages).
    pub fn labels(&self) -> Vec<String> {
        self.harness.query_all_by_label_contains("").filter_map(|n| n.accesskit_node().label().or_else(|| n.accesskit_node().value())).collect()
    }

    pub fn settle(&mut self) {
        for _ in 0..4 {
            self.harness.step();
        }
    }

    pub fn has(&self, label: &str) -> bool {
        self.harness.query_all_by_label_contains(label).next().is_some()
    }

    pub fn has_exact(&self, label: &str) -> bool {
        self.harness.query_all_by_label(label).next().is_some()
    }

    /// Clicks the widget labelled `label` once the layout has settled (grids and modals size themselves
    /// over the first frames; a click at a position from an earlier frame can miss).
    pub fn click(&mut self, label: &str) {
        self.settle();
        self.harness.get_by_label(label).click();
        self.settle();
    }

    /// Focuses the text field labelled `label` and types `text` into it.
    pub fn type_into(&mut self, label: &str, text: &str) {
        self.harness.get_by_label(label).focus();
        self.harness.get_by_label(label).type_text(text);
        self.settle();
    }
}


/// The window on a fresh home's sample workspace at `width` x `height` logical pixels.
pub fn sample_at(width: f32, height: f32) -> Ui {
    let mut ui = sample();
    ui.harness.set_size(egui::vec2(width, height));
    ui.settle();
    ui
}

/// Every labelled widget on screen with its rectangle (logical pixels).
pub fn rects(ui: &Ui) -> Vec<(String, egui::Rect)> {
    ui.harness
        .query_all_by_label_contains("")
        .filter_map(|n| {
            let label = n.accesskit_node().label().or_else(|| n.accesskit_node().value())?;
            n.accesskit_node().bounding_box()?;
            Some((label, n.rect()))
        })
        .collect()
}
