//! The move dialogs of the real window (egui_kittest) on the sample workspace: a rollback with no
//! history offers the versions and moves to the one picked. The oracle is the registry's own state,
//! read with the CLI's `versions --json` (the same local registry file).

mod common;

use common::ui::*;
use common::*;
use egui_kittest::kittest::{NodeT, Queryable};

/// Where `alias` points in the home's local registry, as `steward versions --json` reads it.
fn alias_in_registry(home: &std::path::Path, alias: &str) -> Option<u64> {
    let v = json(&steward(home, &["versions", "income-classifier", "--json"]));
    v["versions"].as_array()?.iter().find(|x| x["aliases"].as_array().is_some_and(|a| a.iter().any(|s| s == alias)))?["version"].as_u64()
}

#[test]
fn a_rollback_with_no_history_offers_the_versions_and_moves_to_the_one_picked() {
    let mut ui = sample();
    let home = ui._home.path().to_path_buf();
    assert_eq!(alias_in_registry(&home, "champion"), Some(2));
    ui.click("Roll back champion...");
    // No move of champion is in this fresh home's log: the dialog says so and lists the other versions.
    ui.wait_for("Steward has no record of where champion pointed before v2");
    for v in ["Roll back to v1", "Roll back to v3"] {
        assert!(ui.has_exact(v), "{v} is not offered: {:?}", ui.labels());
    }
    assert!(!ui.has_exact("Roll back to v2"), "the current version is not a choice");
    assert!(!ui.has("choose one with --to"), "no command-line flag in the window");
    assert!(ui.has("challenger"), "each version shows its aliases");
    // Each choice shows the gates of moving champion there (for information: a rollback does not wait on them).
    assert!(ui.has("inconclusive: demographic_parity_difference by sex"), "v3's gates: {:?}", ui.labels());
    assert!(ui.has("fail: accuracy (registry metric)"), "v1's gates: {:?}", ui.labels());
    assert!(ui.harness.get_by_label("Roll back").accesskit_node().is_disabled(), "nothing to act on before a pick");
    ui.click("Roll back to v1");
    ui.wait_for("champion: v2 -> v1");
    ui.type_into("Reason (required, recorded in the audit log)", "kittest: v2 regressed, back to v1");
    ui.type_into("'champion' is protected. Type the model name (income-classifier) to confirm", "income-classifier");
    ui.click("Roll back");
    ui.wait_for("Done: income-classifier@champion now points to v1");
    assert_eq!(alias_in_registry(&home, "champion"), Some(1), "the registry moved to the version picked");
    let log = std::fs::read_to_string(home.join("data/audit.jsonl")).unwrap();
    let outcome: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!((outcome["action"].as_str(), outcome["outcome"].as_str()), (Some("rollback"), Some("succeeded")));
    assert_eq!((outcome["from"].as_u64(), outcome["to"].as_u64()), (Some(2), Some(1)));

    // Now there is history: the next rollback proposes v2 and pre-selects it.
    ui.click("Close");
    ui.wait_for("champion: v1");
    ui.click("Roll back champion...");
    ui.wait_for("Proposed: v2");
    ui.wait_for("champion: v1 -> v2");
}

/// The command-line twin: with no history, `rollback` lists the versions and refuses without a pick
/// (no terminal here); `--to` moves to the one named.
#[test]
fn the_cli_rollback_with_no_history_lists_the_versions_and_moves_with_to() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let args = ["rollback", "income-classifier", "--alias", "champion", "--reason", "v2 regressed", "--confirm", "income-classifier"];
    let out = steward(home, &args);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(listed.contains("no record of where income-classifier@champion pointed before v2"), "{listed}");
    for v in ["v3", "v1"] {
        assert!(listed.lines().any(|l| l.trim_start().starts_with(v)), "{v} not listed:\n{listed}");
    }
    assert!(!listed.lines().any(|l| l.trim_start().starts_with("v2 ")), "the current version is not a choice:\n{listed}");
    assert!(stderr(&out).contains("--to VERSION"), "{}", stderr(&out));
    assert_eq!(alias_in_registry(home, "champion"), Some(2), "nothing moved");
    let mut with_to = args.to_vec();
    with_to.extend(["--to", "1", "--yes"]);
    let out = steward(home, &with_to);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(alias_in_registry(home, "champion"), Some(1));
}

/// The sample's Promote v3 -> champion: the fairness gate is inconclusive (both values with intervals),
/// Promote is disabled and says why; Override with a reason promotes, and the intent record holds the
/// gate results and the override.
#[test]
fn the_promote_dialog_shows_the_gates_and_an_override_with_a_reason_promotes() {
    let mut ui = sample();
    let home = ui._home.path().to_path_buf();
    ui.click("v3");
    ui.wait_for("income-classifier v3");
    ui.click("Promote...");
    ui.wait_for("champion: v2 -> v3");
    ui.wait_for("Checks");
    assert!(ui.has_exact("demographic_parity_difference by sex"), "{:?}", ui.labels());
    assert!(ui.has_exact("0.1780 [0.1639, 0.1916]") && ui.has_exact("0.1875 [0.1731, 0.2015]"), "{:?}", ui.labels());
    assert!(ui.has_exact("inconclusive") && ui.has_exact("pass"), "{:?}", ui.labels());
    assert!(ui.has("Promote is disabled: demographic_parity_difference by sex is inconclusive"), "{:?}", ui.labels());
    ui.type_into("Reason (required, recorded in the audit log)", "kittest: v3 wins offline");
    ui.type_into("'champion' is protected. Type the model name (income-classifier) to confirm", "income-classifier");
    assert!(ui.harness.get_by_label("Promote").accesskit_node().is_disabled(), "a gate that did not pass disables Promote");
    ui.click("Override...");
    ui.wait_for("Override reason (required, recorded with the gate results)");
    assert!(ui.harness.get_by_label("Promote (override)").accesskit_node().is_disabled(), "no override without its reason");
    ui.type_into("Override reason (required, recorded with the gate results)", "accepted by the review board");
    ui.click("Promote (override)");
    ui.wait_for("Done: income-classifier@champion now points to v3");
    assert_eq!(alias_in_registry(&home, "champion"), Some(3));
    let log = std::fs::read_to_string(home.join("data/audit.jsonl")).unwrap();
    let intent: serde_json::Value =
        log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).rfind(|r| r["phase"] == "intent").unwrap();
    assert_eq!(intent["gates"]["override_reason"], "accepted by the review board");
    let results = intent["gates"]["report"]["results"].as_array().unwrap();
    assert_eq!(results.iter().map(|r| r["verdict"].as_str().unwrap()).collect::<Vec<_>>(), vec!["pass", "inconclusive", "pass"]);
}
