//! The window at the smallest supported size, 1024x700 (issue 13): no widget drawn over another, no
//! column cut off, compare showing every version side by side, charts with readable scales.

mod common;

use common::ui::*;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};

const W: f32 = 1024.0;
const H: f32 = 700.0;

fn open_compare(ui: &mut Ui, with: &[&str]) {
    for v in with {
        // The compare box shows "none" or the versions chosen so far ("v2", "v2, v1").
        let combo = ui
            .harness
            .query_all_by_role(Role::ComboBox)
            .find(|n| n.accesskit_node().value().is_some_and(|t| t == "none" || t.starts_with('v')))
            .unwrap_or_else(|| panic!("no 'Compare with' box; on screen: {:?}", ui.labels()));
        combo.click();
        ui.settle();
        ui.harness.get_by_role_and_label(Role::CheckBox, v).click();
        ui.settle();
        if ui.harness.query_by_role_and_label(Role::CheckBox, v).is_some() {
            ui.harness.key_press(egui::Key::Escape);
            ui.settle();
        }
    }
}

#[test]
fn the_models_view_holds_at_1024x700_with_the_chart_and_a_version_open() {
    let mut ui = sample_at(W, H);
    ui.click("v3");
    ui.wait_for("income-classifier v3");
    ui.click("Metric across versions");
    ui.settle();
    let all = rects(&ui);
    let find = |label: &str| all.iter().filter(|(l, _)| l == label).map(|(_, r)| *r).collect::<Vec<_>>();
    // Every column header of the versions table is whole inside the central panel (its right edge is the
    // window's less the panel margin), the Description column with at least its least width.
    let right = W - 8.0;
    for h in ["Version", "Aliases", "Created", "Status", "Description"] {
        let r = find(h);
        assert!(!r.is_empty(), "header {h} missing: {:?}", ui.labels());
        assert!(r.iter().all(|r| r.max.x <= right + 0.5), "header {h} cut off at the right ({right}): {r:?}");
    }
    let description = find("Description")[0];
    assert!(right - description.min.x >= 90.0, "the Description column is squeezed: {description:?}");
    // The detail panel starts below the table's rows: no row is drawn under it.
    let panel_top = find("income-classifier v3")[0].min.y;
    let version_header = find("Version")[0];
    assert!(version_header.max.y <= panel_top, "the table header is under the detail panel");
    for v in ["v1", "v2", "v3"] {
        for r in find(v).iter().filter(|r| (r.min.x - version_header.min.x).abs() < 20.0) {
            assert!(r.max.y <= panel_top + 0.5 || r.min.y >= H, "row {v} ({r:?}) is drawn under the detail panel (top {panel_top})");
        }
    }
    // Two aliases on a version are whole (not "cham..."): the chip ends before the Created column.
    let created = find("Created")[0];
    for chip in find("champion").into_iter().chain(find("challenger")).filter(|r| r.min.y > version_header.max.y && r.max.y <= panel_top) {
        assert!(chip.max.x <= created.min.x + 0.5, "alias chip {chip:?} runs into Created at {}", created.min.x);
    }
    // The chart's y axis is labelled with 1-2-5 steps (no 0.2180) and does not start at 0 for accuracy.
    let ticks: Vec<f64> = all.iter().filter_map(|(l, _)| l.parse::<f64>().ok()).collect();
    assert!(!all.iter().any(|(l, _)| l.contains("0.2180") || l.contains("0.4361")), "odd ticks");
    let _ = ticks;
}

#[test]
fn compare_shows_every_chosen_version_side_by_side_at_1024_px() {
    let mut ui = sample_at(W, H);
    ui.click("v3");
    ui.wait_for("income-classifier v3");
    open_compare(&mut ui, &["v2", "v1"]);
    ui.wait_for("rows differ");
    let all = rects(&ui);
    // Every widget of the comparison is inside the window, long values included (cut with "...", whole on hover).
    let long = all.iter().find(|(l, _)| l.len() > 100).unwrap_or_else(|| panic!("no long value shown: {all:?}"));
    assert!(long.1.max.x <= W + 0.5, "a long value runs off the window: {:?}", long.1);
    for (l, r) in all.iter().filter(|(l, _)| l.starts_with("≠ ") || l.as_str() == "Key") {
        assert!(r.max.x <= W + 0.5, "{l} cut off: {r:?}");
    }
    // Three version columns, each with its header inside the window.
    let headers: Vec<egui::Rect> = all.iter().filter(|(l, r)| ["v1", "v2", "v3"].contains(&l.as_str()) && r.min.x > 300.0).map(|(_, r)| *r).collect();
    assert!(headers.iter().all(|r| r.max.x <= W + 0.5), "{headers:?}");
    // Differences come first and are marked.
    assert!(ui.has("≠ algorithm"), "{:?}", ui.labels());
    // Two versions: a delta column for numbers.
    let mut ui = sample_at(W, H);
    ui.click("v3");
    ui.wait_for("income-classifier v3");
    open_compare(&mut ui, &["v2"]);
    ui.wait_for("Δ v2 − v3");
    let d = rects(&ui).into_iter().find(|(l, _)| l == "Δ v2 − v3").unwrap().1;
    assert!(d.max.x <= W + 0.5, "the delta column is cut off: {d:?}");
    // "Only differences" hides the equal rows: every key shown is marked as differing.
    let summary = ui.labels().into_iter().find(|l| l.contains("rows differ")).expect("summary");
    let nums: Vec<usize> = summary.split(|c: char| !c.is_ascii_digit()).filter_map(|t| t.parse().ok()).collect();
    assert!(nums.len() >= 4 && nums[nums.len() - 2] < nums[nums.len() - 1], "some rows are equal: {summary}");
    ui.click("Only differences");
    let all = rects(&ui);
    let key = all.iter().find(|(l, _)| l == "Key").expect("Key header").1;
    let keys: Vec<&String> =
        all.iter().filter(|(l, r)| (r.min.x - key.min.x).abs() < 4.0 && r.min.y > key.max.y && !l.is_empty()).map(|(l, _)| l).collect();
    assert!(!keys.is_empty() && keys.iter().all(|l| l.starts_with("≠ ")), "{keys:?}");
}

#[test]
fn results_say_when_they_no_longer_match_what_they_were_computed_from() {
    // Fairness: ticking another group column marks the shown results stale until analysed again.
    let mut ui = sample_at(1280.0, 800.0);
    ui.click("Fairness");
    ui.wait_for("Group sizes");
    assert!(!ui.has("Stale:"));
    ui.click("Column mapping");
    ui.harness.get_by_role_and_label(Role::CheckBox, "race").click();
    ui.settle();
    assert!(ui.has("Stale: these results no longer match the mapping (groups were sex)"), "{:?}", ui.labels());
    ui.click("Analyze again");
    ui.wait_for("Groups by sex x race");
    assert!(!ui.has("Stale:"), "{:?}", ui.labels());

    // Audit: a verification answer goes stale when the log grows (here: a move recorded by the CLI).
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num4);
    ui.settle();
    ui.click("Verify audit log");
    ui.wait_for("OK:");
    assert!(!ui.has("Stale: OK"));
    let home = ui._home.path().to_path_buf();
    let out = common::steward(&home, &["promote", "income-classifier", "1", "--alias", "staging", "--reason", "try v1", "--yes"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    ui.settle();
    assert!(ui.has("Stale: OK"), "{:?}", ui.labels());
}

#[test]
fn the_profile_dialog_adds_endpoints_and_prometheus_and_tests_each_connection() {
    let mut ui = sample_at(W, H);
    let button = rects(&ui).into_iter().find(|(l, _)| l == "Profile...").expect("Profile... button").1;
    assert!(button.max.x <= W + 0.5, "the top bar's Profile... button is cut off: {button:?}");
    ui.click("Profile...");
    ui.wait_for("Edit connection profile");
    // A dead endpoint (nothing listens on port 9) and a Prometheus that is not there either.
    ui.type_into("Serving endpoints", "http://127.0.0.1:9");
    ui.type_into("Prometheus URL", "http://127.0.0.1:9");
    ui.click("Test connection");
    ui.wait_for("FAIL");
    let labels = ui.labels();
    assert!(labels.iter().any(|l| l == "ok"), "the home's local registry answers: {labels:?}");
    assert_eq!(labels.iter().filter(|l| l.as_str() == "FAIL").count(), 2, "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("endpoint http://127.0.0.1:9")), "{labels:?}");
    ui.click("Save and connect");
    ui.settle();
    // Saved as `steward profile list` reads it: the same code path as `steward profile add`.
    let home = ui._home.path().to_path_buf();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        ui.settle();
        let out = common::json(&common::steward(&home, &["profile", "list", "--json"]));
        let p = out["profile"].as_array().and_then(|a| a.iter().find(|p| p["name"] == "default").cloned());
        if let Some(p) = p {
            assert_eq!(p["endpoints"], serde_json::json!(["http://127.0.0.1:9"]));
            assert_eq!(p["prometheus"], "http://127.0.0.1:9");
            assert_eq!(out["active"], "default");
            // The CLI twin says the same, and exits 5.
            let t = common::steward(&home, &["profile", "test", "default", "--timeout", "3"]);
            assert_eq!(t.status.code(), Some(5), "{}", common::stdout(&t));
            let text = common::stdout(&t);
            assert!(text.contains("ok    registry") && text.contains("FAIL  endpoint") && text.contains("FAIL  prometheus"), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the profile was not saved: {out}");
    }
}

#[test]
fn palette_shortcuts_and_the_audit_head_are_whole_at_1024_px() {
    let mut ui = sample_at(W, H);
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    ui.settle();
    let all = rects(&ui);
    for (cmd, key) in [("Go to Models", "Ctrl+1"), ("Go to Audit", "Ctrl+4")] {
        let c = all.iter().find(|(l, _)| l == cmd).unwrap_or_else(|| panic!("{cmd} missing")).1;
        let k = all.iter().find(|(l, _)| l == key).unwrap_or_else(|| panic!("{key} missing: {:?}", ui.labels())).1;
        assert!(!c.intersects(k.shrink(0.5)), "{cmd} {c:?} covers {key} {k:?}");
        assert!(k.width() >= 24.0 && (k.center().y - c.center().y).abs() < 4.0, "{key} cut or misplaced: {k:?} vs {c:?}");
    }
    ui.harness.key_press(egui::Key::Escape);
    ui.settle();
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num4);
    ui.settle();
    ui.click("Verify audit log");
    ui.wait_for("OK:");
    let (_, r) = rects(&ui).into_iter().find(|(l, _)| l.starts_with("OK:")).unwrap();
    assert!(r.max.x <= W + 0.5, "the verification line with the head hash runs off the window: {r:?}");
}

#[test]
fn over_time_draws_the_groups_picked_with_their_intervals() {
    // sex x race: ten intersections. Four are drawn by default (the largest), each with its interval.
    let mut ui = sample_at(1280.0, 800.0);
    ui.click("Fairness");
    ui.wait_for("Group sizes");
    ui.click("Column mapping");
    ui.harness.get_by_role_and_label(Role::CheckBox, "race").click();
    ui.settle();
    ui.click("Analyze again");
    ui.wait_for("Groups by sex x race");
    ui.click("Over time");
    ui.wait_for("95% Wilson interval");
    let boxes: Vec<bool> = ui
        .harness
        .query_all_by_role(Role::CheckBox)
        .filter(|n| n.accesskit_node().label().is_some_and(|l| l.contains('|')))
        .map(|n| n.accesskit_node().toggled() == Some(egui::accesskit::Toggled::True))
        .collect();
    assert!(boxes.len() >= 6, "one box per intersection: {:?}", ui.labels());
    assert_eq!(boxes.iter().filter(|b| **b).count(), 4, "{boxes:?}");
}

#[test]
fn live_charts_put_legends_above_the_data_and_read_out_every_series_at_the_cursor() {
    let mut ui = sample_at(1280.0, 800.0);
    ui.click("Endpoints");
    ui.wait_for("Request rate");
    ui.wait_for("v2 (champion)");
    ui.settle();
    // The legend is a row above the plot; hovering the plot under it lists every series at that time.
    let legend = rects(&ui).into_iter().find(|(l, _)| l == "v2 (champion)").expect("legend").1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // Near the right end, where the newest points are (the axis spans the whole live range).
        // Near the plot's right edge, where the newest points are (the plot's edge is a few pixels left
        // of the window's: panel margin, scroll bar).
        let mut labels = Vec::new();
        for dx in (3..=40).rev().step_by(3).map(|d| d as f32) {
            ui.harness.hover_at(egui::pos2(1280.0 - dx, legend.max.y + 70.0));
            ui.settle();
            labels = ui.labels();
            if labels.iter().any(|l| l.contains("v2 (champion): ") && !l.contains("no data")) {
                break;
            }
        }
        if let Some(readout) = labels.iter().find(|l| {
            l.contains("v2 (champion): ") && l.contains("v3 (challenger): ") && !l.contains("v2 (champion): no data")
        }) {
            assert!(readout.lines().count() >= 3, "time and both series: {readout}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no read-out with both series: {labels:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn cjk_model_names_are_drawn_with_a_system_font_not_boxes() {
    // The harness panics on a character no font can draw (egui's MissingGlyphPolicy), so a CJK name in
    // the models list and the detail heading fails this test unless the window finds a system font.
    let dir = tempfile::tempdir().unwrap();
    let model = "收入分类器";
    let o = common::steward(dir.path(), &["registry", "register", model, "--source", "s3://b/m", "--description", "日本語 / 한국어", "--metric", "accuracy=0.8"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let app = steward::ui::StewardApp::new(context(dir.path(), steward::config::RegistrySpec::HomeLocal), Default::default());
    let harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(W, H))
        .build_ui_state(|ui, app: &mut steward::ui::StewardApp| app.show(ui), app);
    let mut ui = Ui { harness, _home: dir };
    ui.wait_for(model);
    ui.click(model);
    ui.wait_for("日本語 / 한국어");
    let font = egui::FontId::proportional(14.0);
    assert!(ui.harness.ctx.fonts_mut(|f| f.has_glyphs(&font, "收入分类器日本語한국어")), "no font draws the CJK name");
}

#[test]
fn endpoint_charts_share_the_height_of_the_window() {
    let titles = ["Request rate", "Accuracy (replayed rows)", "Selection rate (replayed rows)"];
    let tops = |w: f32, h: f32| {
        let mut ui = sample_at(w, h);
        ui.click("Endpoints");
        for t in titles {
            ui.wait_for(t);
        }
        ui.settle();
        let all = rects(&ui);
        titles.map(|t| all.iter().find(|(l, _)| l == t).map(|(_, r)| r.min.y).expect("chart title"))
    };
    let small = tops(1024.0, 700.0);
    let large = tops(1920.0, 1080.0);
    let gap = |t: [f32; 3]| t[1] - t[0];
    // At 1024x700 the charts keep their least height (150 px) and scroll; at 1920x1080 they grow into
    // the space, and all three fit on the screen.
    assert!(gap(small) >= 150.0, "charts squeezed below 150 px at 1024x700: {small:?}");
    assert!(gap(large) > gap(small) + 40.0, "charts do not grow with the window: 700 px {small:?}, 1080 px {large:?}");
    assert!(large[2] + gap(large) <= 1080.0, "the last chart runs off a 1080 px screen: {large:?}");
}

#[test]
fn the_version_details_take_the_room_the_table_leaves_and_give_it_back() {
    let top = |ui: &Ui, label: &str| rects(ui).into_iter().filter(|(l, _)| l == label).map(|(_, r)| r).min_by(|a, b| a.min.y.total_cmp(&b.min.y));
    let mut ui = sample_at(1920.0, 1080.0);
    ui.click("v3");
    ui.wait_for("income-classifier v3");
    ui.settle();
    // At 1920x1080 the three rows leave most of the height to the details: no strip of empty space
    // between the table's last row and the panel.
    let panel = top(&ui, "income-classifier v3").expect("detail heading").min.y;
    let last_row = rects(&ui).into_iter().filter(|(l, r)| l == "v1" && r.max.y <= panel).map(|(_, r)| r.max.y).fold(0.0, f32::max);
    assert!(panel - last_row < 90.0, "{} px of empty space between the table (ends {last_row}) and the details (start {panel})", panel - last_row);
    // Opening the metric chart takes room from both; closing it gives it back.
    ui.click("Metric across versions");
    ui.settle();
    let with_chart = top(&ui, "income-classifier v3").unwrap().min.y;
    ui.click("Metric across versions");
    ui.settle();
    let after = top(&ui, "income-classifier v3").unwrap().min.y;
    assert!((after - panel).abs() < 45.0, "details started at {panel}, at {with_chart} with the chart, at {after} after closing it");
    // Made smaller, the window keeps the details inside it and below the table.
    ui.harness.set_size(egui::vec2(W, H));
    ui.settle();
    let small = top(&ui, "income-classifier v3").unwrap();
    assert!(small.max.y <= H && small.min.y > 100.0, "{small:?}");
}

/// The profile dialog's CA bundle (the twin of `steward profile add --ca-file`): a file that is not
/// there is refused at Save with one line naming it, and the dialog stays open with what was typed.
#[test]
fn the_profile_dialogs_ca_bundle_is_checked_when_saved() {
    let mut ui = sample_at(W, H);
    ui.click("Profile...");
    ui.wait_for("Edit connection profile");
    let missing = ui._home.path().join("no-such-ca.pem");
    ui.type_into("CA bundle (PEM)", missing.to_str().unwrap());
    ui.click("Save and connect");
    ui.settle();
    let labels = ui.labels();
    let err = labels.iter().find(|l| l.contains("no-such-ca.pem")).unwrap_or_else(|| panic!("no error naming the file: {labels:?}"));
    assert!(err.contains("no such file") && err.contains("CA bundle field"), "{err}");
    assert!(labels.iter().any(|l| l == "Edit connection profile"), "the dialog stays open: {labels:?}");
    let all = rects(&ui);
    let field = all.iter().find(|(l, _)| l == "CA bundle (PEM)").expect("the field's label").1;
    assert!(field.max.x <= W + 0.5 && field.max.y <= H + 0.5, "inside the window: {field:?}");
}
