//! Promote and roll back through the real dialogs (egui_kittest), against the real MLflow. This is the only
//! test binary that moves `champion`; it ends with champion back where it started.

mod common;

use std::time::{Duration, Instant};

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use steward::config::{Home, Origin, Profiles, RegistrySpec};
use steward::ui::StewardApp;

fn mlflow_alias(stack: &Stack, alias: &str) -> Option<u64> {
    let v = http_get_json(&format!("{}/api/2.0/mlflow/registered-models/get?name=income-classifier", stack.mlflow));
    v["registered_model"]["aliases"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["alias"] == alias))
        .map(|x| x["version"].as_str().unwrap().parse().unwrap())
}

fn wait_for(h: &mut Harness<'_, StewardApp>, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.query_all_by_label_contains(label).next().is_none() {
        h.step();
        assert!(Instant::now() < deadline, "'{label}' never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn type_into(h: &mut Harness<'_, StewardApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    h.get_by_label(label).type_text(text);
    h.step();
}

#[test]
fn promote_and_roll_back_champion_through_the_dialogs() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let start = mlflow_alias(&stack, "champion").expect("the stack seeds champion");
    let target = if start == 3 { 1 } else { 3 };
    let ctx = steward::config::Context {
        profiles: Profiles::default(),
        home: home.clone(),
        profile: None,
        spec: RegistrySpec::mlflow(stack.mlflow.clone()),
        origin: Origin::Flag,
        timeout: steward::config::DEFAULT_TIMEOUT,
        policy: Default::default(),
    };
    let app = StewardApp::new(ctx, Default::default());
    let mut h = Harness::builder().with_size(egui::vec2(1280.0, 860.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    wait_for(&mut h, "Registry: connected");
    h.get_by_label("income-classifier").click();
    wait_for(&mut h, "Versions (3)");
    h.get_by_label(&format!("v{target}")).click();
    wait_for(&mut h, &format!("income-classifier v{target}"));
    h.get_by_label("Promote...").click();
    wait_for(&mut h, &format!("champion: v{start} -> v{target}"));
    // Not enabled before a reason and the typed model name.
    type_into(&mut h, "Reason (required, recorded in the audit log)", "kittest: promote through the dialog");
    h.get_by_label("Promote").click();
    h.step();
    assert_eq!(mlflow_alias(&stack, "champion"), Some(start), "acted without the protected-alias confirmation");
    type_into(&mut h, "'champion' is protected. Type the model name (income-classifier) to confirm", "income-classifier");
    h.get_by_label("Promote").click();
    wait_for(&mut h, "Done: income-classifier@champion now points to");
    assert_eq!(mlflow_alias(&stack, "champion"), Some(target));
    h.get_by_label("Close").click();
    wait_for(&mut h, &format!("champion: v{target}"));

    h.get_by_label("Roll back champion...").click();
    wait_for(&mut h, &format!("champion: v{target} -> v{start}"));
    type_into(&mut h, "Reason (required, recorded in the audit log)", "kittest: roll back through the dialog");
    type_into(&mut h, "'champion' is protected. Type the model name (income-classifier) to confirm", "income-classifier");
    h.get_by_label("Roll back").click();
    wait_for(&mut h, "Done: income-classifier@champion now points to");
    assert_eq!(mlflow_alias(&stack, "champion"), Some(start), "rolled back");
    h.get_by_label("Close").click();

    // Both moves are in the audit log with their reasons, and the chain verifies.
    let log = std::fs::read_to_string(home.audit_log()).unwrap();
    assert!(log.contains("kittest: promote through the dialog") && log.contains("kittest: roll back through the dialog"));
    let out = steward(dir.path(), &["audit", "verify"]);
    assert!(out.status.success() && stdout(&out).contains("OK: "), "{}", stderr(&out));
    // The Audit view shows the timeline.
    h.get_by_label("Audit").click();
    wait_for(&mut h, "Alias history of income-classifier");
    wait_for(&mut h, "kittest: roll back through the dialog");
}
