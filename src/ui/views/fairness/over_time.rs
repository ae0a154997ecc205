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
    ui.label(RichText::new(format!("{} windows ({}); drag to pan, scroll to zoom; the time axes are linked.", windows.len(), report.window.unwrap_or("1d"))).weak());
    let link = egui::Id::unique("fair_time_link");
    for m in [Metric::SelectionRate, Metric::TruePositiveRate, Metric::FalsePositiveRate] {
        ui.label(RichText::new(metric_title(m)).strong());
        Plot::new(("fair_time", m.name()))
            .height(170.0)
            .legend(Legend::default())
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .include_y(0.0)
            .x_axis_formatter(|mark, _| date_of(mark.value))
            .label_formatter(|h| match h {
                egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
                    Some(format!("{plot_name}\n{}: {:.3}", date_of(position.x), position.y))
                }
                egui_plot::HoverPosition::Elsewhere { .. } => None,
            })
            .show(ui, |plot| {
                for k in &keys {
                    let pts: Vec<[f64; 2]> = windows
                        .iter()
                        .filter_map(|w| Some([day_number(&w.window)?, w.section.group(k)?.rate(m)?]))
                        .collect();
                    plot.line(Line::new(k.clone(), PlotPoints::from(pts)));
                }
            });
    }
}
