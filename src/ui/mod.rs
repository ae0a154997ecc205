//! The window. The only module that knows egui/eframe.

mod app;
pub mod chart;
mod diagnostics;
mod dialogs;
mod endpoints;
mod export;
mod fairness;
mod monitoring;
mod palette;
mod views;
mod widgets;

pub use app::{Action, Persisted, StewardApp, ThemeChoice, View};
pub use dialogs::{MoveDialog, Stage};

use crate::config::Context;

pub const APP_ID: &str = "io.github.stewardconsole.Steward";

/// The renderer: `STEWARD_RENDERER=glow` or `wgpu`. Default glow: under Xvfb on Mesa's software
/// renderer a frame of the Models view cost about 26 ms of CPU with glow and 140 ms with wgpu (whose GL
/// backend ran there, no Vulkan driver); BENCHMARKS.md has the method.
fn renderer() -> eframe::Renderer {
    match std::env::var("STEWARD_RENDERER").ok().as_deref().map(str::trim) {
        Some("wgpu") => eframe::Renderer::Wgpu,
        _ => eframe::Renderer::Glow,
    }
}

/// The window's icon: assets/icon/steward-128.png, rendered from assets/icon/steward.svg
/// (`rsvg-convert -w 128 -h 128 assets/icon/steward.svg -o assets/icon/steward-128.png`).
fn window_icon() -> egui::IconData {
    eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon/steward-128.png")).unwrap_or_default()
}

/// Opens the window and blocks until it is closed.
pub fn run(ctx: Context) -> Result<(), String> {
    let persistence = ctx.home.ui_state_file();
    if let Some(dir) = persistence.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Steward")
            .with_app_id(APP_ID)
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_icon(window_icon()),
        persist_window: true,
        persistence_path: Some(persistence),
        renderer: renderer(),
        ..Default::default()
    };
    eframe::run_native(
        "Steward",
        options,
        Box::new(move |cc| {
            let persisted: Persisted =
                cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
            Ok(Box::new(StewardApp::new(ctx, persisted)))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}
