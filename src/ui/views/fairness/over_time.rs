//! The Over time tab: a rate per group by day or ISO week.

use super::*;

fn day_number(date: &str) -> Option<f64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64 / 86_400.0)
}

fn date_of(day: f64) -> String {
    chrono::DateTime::from_timestamp((day * 86_400.0) as i64, 0).map(|t| t.format("%m-%d").to_string()).unwrap_or_default()
}

pub(super) fn over_time_tab(st: &FairnessState, report: &Report, ui: &mut Ui) {
    let windows = match &st.version {
        Some(v) => report.versions.iter().find(|s| &s.version == v).map(|s| s.windows.as_slice()).unwrap_or(&[]),
        None => report.windows.as_slice(),
    };
    if windows.is_empty() {
        ui.label("Map a time column (Column mapping) to see rates per day or week.");
        return;
    }
    let keys: Vec<String> = {
        let mut k: Vec<String> = windows.iter().flat_map(|w| w.section.groups.iter().map(|g| g.key.clone())).collect();
        k.sort();
        k.dedup();
        k
    };
    // Which groups are drawn: the operator picks (default: the four largest), so that ten intersections
    // do not become ten lines in repeated colours.
    let pick_id = egui::Id::unique(("fair_time_groups", keys.join("\u{1f}")));
    let mut picked: Vec<String> = ui.data(|d| d.get_temp(pick_id)).unwrap_or_else(|| {
        let mut by_size: Vec<(&String, u64)> =
            keys.iter().map(|k| (k, windows.iter().filter_map(|w| w.section.group(k)).map(|g| g.count).sum())).collect();
        by_size.sort_by(|a, b| b.1.cmp(&a.1));
        by_size.into_iter().take(4).map(|(k, _)| k.clone()).collect()
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Groups").weak());
        for (i, k) in keys.iter().enumerate() {
            let mut on = picked.contains(k);
            let color = widgets::OKABE_ITO[i % widgets::OKABE_ITO.len()];
            if ui.checkbox(&mut on, RichText::new(k.as_str()).color(color)).changed() {
                if on {
                    picked.push(k.clone());
                } else {
                    picked.retain(|p| p != k);
                }
            }
        }
    });
    ui.data_mut(|d| d.insert_temp(pick_id, picked.clone()));
    ui.label(
        RichText::new(format!(
            "{} windows ({}); the band is the 95% Wilson interval; a hollow point marks a window where the group is too small to judge. Drag to pan, scroll to zoom; the time axes are linked.",
            windows.len(),
            report.window.unwrap_or("1d")
        ))
        .weak(),
    );
    let link = egui::Id::unique("fair_time_link");
    // The three charts share the height (each with its title), at least 170 px each.
    let height = ((ui.available_height() - 16.0) / 3.0 - 34.0).clamp(170.0, 420.0);
    for m in [Metric::SelectionRate, Metric::TruePositiveRate, Metric::FalsePositiveRate] {
        ui.label(RichText::new(metric_title(m)).strong());
        Plot::new(("fair_time", m.name()))
            .height(height)
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .allow_zoom([true, false])
            .include_y(0.0)
            .y_axis_min_width(48.0)
            .y_grid_spacer(crate::ui::chart::nice_spacer)
            .y_axis_formatter(|mark, _| crate::ui::chart::tick_label(mark.value, mark.step_size))
            .x_axis_formatter(|mark, _| date_of(mark.value))
            .label_formatter(|h| match h {
                egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
                    Some(format!("{plot_name}\n{}: {:.3}", date_of(position.x), position.y))
                }
                egui_plot::HoverPosition::Elsewhere { .. } => None,
            })
            .show(ui, |plot| {
                for (i, k) in keys.iter().enumerate().filter(|(_, k)| picked.contains(k)) {
                    let color = widgets::OKABE_ITO[i % widgets::OKABE_ITO.len()];
                    let (mut xs, mut lo, mut hi, mut pts, mut small) = (vec![], vec![], vec![], vec![], vec![]);
                    for w in windows {
                        let (Some(x), Some(g)) = (day_number(&w.window), w.section.group(k)) else { continue };
                        let Some(y) = g.rate(m) else { continue };
                        pts.push([x, y]);
                        if !g.warnings.is_empty() {
                            small.push([x, y]);
                        }
                        if let Some([a, b]) = g.intervals.get(m.name()).copied().flatten() {
                            xs.push(x);
                            lo.push(a);
                            hi.push(b);
                        }
                    }
                    if xs.len() > 1 {
                        plot.add(egui_plot::FilledArea::new(format!("{k} 95% interval"), &xs, &lo, &hi).fill_color(color.gamma_multiply(0.18)).allow_hover(false));
                    }
                    plot.line(Line::new(k.clone(), PlotPoints::from(pts)).color(color).width(1.8));
                    if !small.is_empty() {
                        plot.points(egui_plot::Points::new(format!("{k} (small)"), PlotPoints::from(small)).color(color).filled(false).radius(4.0));
                    }
                }
            });
    }
}
