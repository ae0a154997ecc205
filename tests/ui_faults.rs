//! The window under faults (issue 15): the Endpoints view with the real MLServer and Prometheus of the
//! test stack behind the fault proxy (tests/common/read_faults.rs). When both start black-holing, the
//! window keeps drawing (every frame measured), the endpoint shows down and Prometheus an error within
//! the timeout plus one polling round; when the fault clears, both recover by themselves, no click.

mod common;

use std::time::{Duration, Instant};

use common::read_faults::{Fault, start};
use common::ui::Ui;
use common::*;
use egui_kittest::Harness;
use steward::config::{Context, Home, Origin, Profile, Profiles, RegistrySpec};
use steward::ui::{Persisted, StewardApp, View};

const TIMEOUT: Duration = Duration::from_secs(3);

fn open_with(profile: Profile) -> Ui {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context {
        profiles: Profiles::default(),
        home: Home::under(dir.path()),
        profile: Some(profile),
        spec: RegistrySpec::HomeLocal,
        origin: Origin::Default,
        timeout: TIMEOUT,
        policy: Default::default(),
    };
    let app = StewardApp::new(ctx, Persisted { view: View::Endpoints, ..Default::default() });
    let harness = Harness::builder().with_size(egui::vec2(1024.0, 700.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    Ui { harness, _home: dir }
}

/// Steps frames until `done` holds or `limit` passes; returns the time taken and the slowest frame.
fn until(ui: &mut Ui, limit: Duration, what: &str, done: impl Fn(&Ui) -> bool) -> (Duration, Duration) {
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    while !done(ui) {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}; on screen: {:?}", ui.labels());
        let t = Instant::now();
        ui.harness.step();
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    (start.elapsed(), slowest)
}

#[test]
fn the_window_keeps_drawing_shows_the_faults_and_recovers_by_itself() {
    let stack = stack();
    let certs = tempfile::tempdir().unwrap();
    let (oip, prom) = (start(&stack.mlserver, Fault::None, certs.path()), start(&stack.prometheus, Fault::None, certs.path()));
    let profile = Profile { name: "faults".into(), endpoints: vec![oip.url.clone()], prometheus: Some(prom.url.clone()), ..Default::default() };
    let mut ui = open_with(profile);
    let healthy = |ui: &Ui| ui.has_exact("up") && ui.has("v1 ready") && ui.has("Prometheus: answering");
    until(&mut ui, Duration::from_secs(30), "healthy at the start", healthy);

    // One fault at a time, both servers at once. The endpoint is probed every PROBE_INTERVAL (5 s) and
    // Prometheus sampled every 2 s, each call bounded by the timeout (3 s): a fault must show within
    // 5 + 3 s plus slack for the debug build, the window drawing every frame meanwhile. A down endpoint is
    // re-probed after a backoff (10 s after one failure, 20 s after two): recovery within that plus the
    // probe.
    let probe = steward::serving::monitor::PROBE_INTERVAL + TIMEOUT;
    for (fault, says) in [(Fault::BlackHole, "did not answer"), (Fault::Status502, "HTTP 502")] {
        oip.set(fault);
        prom.set(fault);
        let (oip_took, slow1) = until(&mut ui, probe + Duration::from_secs(3), &format!("{fault:?}: the endpoint down"), |ui| ui.has_exact("down") && ui.has(says));
        let (prom_took, slow2) = until(&mut ui, probe + Duration::from_secs(3), &format!("{fault:?}: Prometheus's error"), |ui| ui.has("Prometheus: error"));
        let slowest = slow1.max(slow2);
        assert!(slowest < Duration::from_millis(500), "{fault:?}: a frame took {slowest:?}");
        println!("{fault:?}: endpoint down after {oip_took:?}, Prometheus error {prom_took:?} later; slowest frame {slowest:?}");
        oip.set(Fault::None);
        prom.set(Fault::None);
        let limit = steward::serving::monitor::backoff(2) + TIMEOUT + Duration::from_secs(5);
        let (took, slowest) = until(&mut ui, limit, &format!("{fault:?}: recovered"), |ui| healthy(ui) && !ui.has_exact("down") && !ui.has("Prometheus: error"));
        assert!(slowest < Duration::from_millis(500), "{fault:?}: a frame took {slowest:?} while recovering");
        println!("{fault:?}: recovered after {took:?}; slowest frame {slowest:?}");
    }
}
