//! Frame time of the real window (its UI code, headless through egui_kittest, no GPU) with a registry of
//! 1,000 models and one model with 500 versions. Run: `cargo bench --bench ui_frames`.
//!
//! Reports p50/p95/p99/max CPU time per frame while the versions table scrolls and the model list is
//! filtered, against the 16 ms budget of a 60 Hz display.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use steward::config::{Home, Origin, Profiles, RegistrySpec};
use steward::connect::local::LocalRegistry;
use steward::domain::NewVersion;
use steward::ui::{Persisted, StewardApp};

const MODELS: usize = 1000;
const VERSIONS: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.sqlite");
    let (reg, _) = LocalRegistry::open(&path).expect("registry");
    let t0 = Instant::now();
    for i in 0..MODELS {
        let mut n = NewVersion { model: format!("model-{i:04}"), source: format!("s3://models/{i}"), ..Default::default() };
        n.metrics.insert("auc".into(), 0.5 + (i % 50) as f64 / 100.0);
        reg.register_blocking(&n).expect("register");
    }
    for v in 0..VERSIONS {
        let mut n = NewVersion { model: "big-model".into(), source: format!("s3://big/{v}"), ..Default::default() };
        for k in ["accuracy", "precision", "recall", "roc_auc"] {
            n.metrics.insert(k.into(), 0.7 + (v % 30) as f64 / 100.0);
        }
        n.params.insert("depth".into(), (v % 12).to_string());
        n.tags.insert("team".into(), "risk".into());
        reg.register_blocking(&n).expect("register");
    }
    reg.set_alias_blocking("big-model", "champion", 250).expect("alias");
    println!("registry: {MODELS} models + big-model with {VERSIONS} versions, built in {:.1} s", t0.elapsed().as_secs_f64());

    let home = Home::under(dir.path());
    let ctx = steward::config::Context {
        profiles: Profiles::default(),
        home,
        profile: None,
        spec: RegistrySpec::Local(path),
        origin: Origin::Flag,
        timeout: steward::config::DEFAULT_TIMEOUT,
        policy: Default::default(),
    };
    let persisted = Persisted { selected_model: Some("big-model".into()), ..Default::default() };
    let app = StewardApp::new(ctx, persisted);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(10_000)
        .build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.query_all_by_label_contains(&format!("Versions ({VERSIONS})")).next().is_none() {
        h.step();
        assert!(Instant::now() < deadline, "the big model never loaded");
        std::thread::sleep(Duration::from_millis(5));
    }
    for _ in 0..20 {
        h.step(); // warm up: fonts, layout caches
    }

    let mut frames = Vec::new();
    // Scroll the versions table down and back up, one wheel event per frame.
    let table_pos = h.get_by_label("v500").rect().center();
    for i in 0..300 {
        h.hover_at(table_pos);
        let dy = if i < 150 { -60.0 } else { 60.0 };
        h.event(egui::Event::MouseWheel { unit: egui::MouseWheelUnit::Point, delta: egui::vec2(0.0, dy), modifiers: Default::default(), phase: egui::TouchPhase::Move, source: egui::MouseWheelSource::Wheel });
        let t = Instant::now();
        h.step();
        frames.push(t.elapsed());
    }
    // Filter the 1,000-model list, one keystroke per frame.
    h.get_by_label("Models (1001)").hover();
    for (i, ch) in "model-09".chars().enumerate() {
        if i == 0 {
            h.get_all_by_role(egui::accesskit::Role::TextInput).next().expect("filter box").focus();
        }
        h.event(egui::Event::Text(ch.to_string()));
        let t = Instant::now();
        h.step();
        frames.push(t.elapsed());
    }
    // Idle frames with everything loaded.
    for _ in 0..100 {
        let t = Instant::now();
        h.step();
        frames.push(t.elapsed());
    }
    frames.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "frames: {}  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (budget 16 ms; build profile: {})",
        frames.len(),
        ms(percentile(&frames, 0.50)),
        ms(percentile(&frames, 0.95)),
        ms(percentile(&frames, 0.99)),
        ms(*frames.last().expect("frames")),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
}
