//! The Champion vs challenger tab: the same groups for two versions side by side, with the change.

use super::*;

pub(super) fn compare_tab(st: &mut FairnessState, report: &Report, aliases: &[(String, u64)], ui: &mut Ui) {
    if report.versions.len() < 2 {
        ui.label("Map a model version column whose log holds at least two versions to compare them.");
        return;
    }
    ui.horizontal(|ui| {
        for (id, side) in [("fair_left", &mut st.left), ("fair_right", &mut st.right)] {
            let shown = side.as_deref().map(|v| version_label(v, aliases)).unwrap_or_default();
            ComboBox::from_id_salt(id).selected_text(shown).show_ui(ui, |ui| {
                for v in &report.versions {
                    ui.selectable_value(side, Some(v.version.clone()), version_label(&v.version, aliases));
                }
            });
            if id == "fair_left" {
                ui.label("vs");
            }
        }
    });
    let find = |v: &Option<String>| report.versions.iter().find(|s| Some(&s.version) == v.as_ref());
    let (Some(l), Some(r)) = (find(&st.left), find(&st.right)) else { return };
    let (ln, rn) = (version_label(&l.version, aliases), version_label(&r.version, aliases));
    let m = st.metric;
    ui.label(RichText::new(format!("{} per group", metric_title(m))).strong());
    Grid::new("fair_compare").num_columns(5).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
        for h in ["Group", ln.as_str(), rn.as_str(), "Change", "Four-fifths"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        let mut keys: Vec<String> = l.section.groups.iter().chain(&r.section.groups).map(|g| g.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys.push("overall".into());
        for k in &keys {
            let get = |s: &Section| if k == "overall" { Some(s.overall.clone()) } else { s.group(k).cloned() };
            let (a, b) = (get(&l.section).and_then(|g| g.rate(m)), get(&r.section).and_then(|g| g.rate(m)));
            ui.label(if k == "overall" { "Overall" } else { k.as_str() });
            ui.label(num(a));
            ui.label(num(b));
            ui.label(match (a, b) {
                (Some(a), Some(b)) => format!("{:+.3}", b - a),
                _ => "n/a".into(),
            });
            let flag = |s: &Section| s.reference.flagged.contains(k);
            if k == "overall" {
                ui.label("");
            } else {
                // Each side coloured by its own verdict: a FAIL stands out whichever version has it.
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    for (i, s) in [&l.section, &r.section].into_iter().enumerate() {
                        if i == 1 {
                            ui.label("/");
                        }
                        let (word, color) = if flag(s) { ("FAIL", RED) } else { ("pass", GREEN) };
                        ui.colored_label(color, word);
                    }
                });
            }
            ui.end_row();
        }
    });
    ui.add_space(8.0);
    ui.label(RichText::new("Disparities").strong());
    Grid::new("fair_compare_disp").num_columns(4).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
        for h in ["Measure", ln.as_str(), rn.as_str(), "Change"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        let (a, b) = (&l.section.disparities, &r.section.disparities);
        let rows = [
            ("Demographic parity difference", a.demographic_parity_difference, b.demographic_parity_difference),
            ("Demographic parity ratio", a.demographic_parity_ratio, b.demographic_parity_ratio),
            ("Equalized odds difference", a.equalized_odds_difference, b.equalized_odds_difference),
            ("Equal opportunity difference", a.equal_opportunity_difference, b.equal_opportunity_difference),
            ("Accuracy (overall)", l.section.overall.accuracy, r.section.overall.accuracy),
        ];
        for (name, x, y) in rows {
            ui.label(name);
            ui.label(num(x));
            ui.label(num(y));
            ui.label(match (x, y) {
                (Some(x), Some(y)) => format!("{:+.3}", y - x),
                _ => "n/a".into(),
            });
            ui.end_row();
        }
    });
}
