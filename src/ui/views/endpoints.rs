//! The Endpoints view: each configured endpoint's state and what it serves (mapped to registry
//! versions), per-version request rate, errors and latency, live and historical charts with champion and
//! challenger overlaid, alerts.

use egui::{ComboBox, Grid, RichText, Ui};

use crate::serving::oip::Health;
use crate::ui::app::{Loadable, StewardApp};
use crate::ui::chart::{ChartLine, Unit, time_chart};
use crate::ui::endpoints::{self as state, Range, SeriesKey};
use crate::ui::widgets::{self, AMBER, GREEN, GREY, RED};

fn opt(v: Option<f64>, unit: Unit) -> String {
    v.map(|x| unit.format(x)).unwrap_or_else(|| "n/a".into())
}

pub fn show(app: &mut StewardApp, ui: &mut Ui) {
    let configured = app.endpoints.config.as_ref().is_some_and(|c| !c.endpoints.is_empty() || c.prometheus.is_some() || !c.scrape.is_empty());
    let replaying = app.endpoints.replaying();
    ui.horizontal(|ui| {
        ui.heading("Endpoints");
        if replaying {
            ui.label(RichText::new(" REPLAY ").strong().background_color(AMBER).color(egui::Color32::BLACK))
                .on_hover_text("Traffic played back from the sample's prediction log: not a live server");
        }
        if !app.endpoints.source.is_empty() {
            ui.label(RichText::new(format!("metrics: {}", app.endpoints.source)).weak());
        }
        let label = if replaying { "Stop replay" } else { "Replay the sample log" };
        if (configured || replaying) && ui.button(label).on_hover_text("Play the sample's prediction log back as live traffic").clicked() {
            app.endpoints_replay = Some(!replaying);
        }
        let l = ui.label("Range");
        let current = app.endpoints.range();
        let mut chosen = current;
        ComboBox::from_id_salt("ep_range")
            .selected_text(current.title())
            .show_ui(ui, |ui| {
                for r in Range::ALL {
                    ui.selectable_value(&mut chosen, r, r.title());
                }
                if ui.selectable_label(matches!(current, Range::Between { .. }), "Absolute range...").clicked() {
                    let (from, to) = match current {
                        Range::Between { .. } => {
                            let t = current.title();
                            let mut parts = t.trim_end_matches(" UTC").splitn(2, " to ");
                            let from = parts.next().unwrap_or_default().to_string();
                            let to = parts.next().unwrap_or_default().to_string();
                            let to = if to.len() == 5 { format!("{} {to}", &from[..from.len().min(10)]) } else { to };
                            (from, to)
                        }
                        _ => {
                            let now = chrono::Utc::now();
                            let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
                            (f(now - chrono::Duration::hours(1)), f(now))
                        }
                    };
                    app.endpoints.custom = Some((from, to, None));
                }
            })
            .response
            .labelled_by(l.id);
        if chosen != current {
            app.endpoints.custom = None;
            state::set_range(app, chosen);
        }
    });
    absolute_range_form(app, ui);
    alert_banner(app, ui);
    if !configured && !replaying {
        let detail = "Add Open Inference Protocol endpoints (MLServer, Triton, KServe) and a Prometheus to a profile:\n\
                      steward profile add NAME --registry URL --endpoint http://HOST:PORT --prometheus http://HOST:9090 --activate\n\
                      or play the sample's prediction log back as traffic to see the charts move.";
        if widgets::empty_state(ui, "No serving endpoints configured", detail, &["Replay the sample log"]) == Some(0) {
            app.endpoints_replay = Some(true);
        }
        return;
    }
    if let Some(e) = &app.endpoints.metrics_error {
        ui.colored_label(RED, format!("Metrics: {e}"));
    }
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        endpoint_table(app, ui);
        ui.add_space(8.0);
        model_metrics(app, ui);
        ui.add_space(8.0);
        charts(app, ui);
        ui.add_space(8.0);
        notifications(app, ui);
    });
}

/// From / To fields for an absolute range (UTC), shown after "Absolute range..." is picked; Enter or
/// "Show" loads it from Prometheus, Escape or "Cancel" closes it. A bad time is said next to the fields.
fn absolute_range_form(app: &mut StewardApp, ui: &mut Ui) {
    let Some((mut from, mut to, mut error)) = app.endpoints.custom.take() else { return };
    let (mut show, mut keep) = (false, true);
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("From");
        let a = ui.add(egui::TextEdit::singleline(&mut from).desired_width(130.0).hint_text("2026-11-29 10:00")).labelled_by(l.id);
        let l = ui.label("To");
        let b = ui.add(egui::TextEdit::singleline(&mut to).desired_width(130.0).hint_text("2026-11-29 12:00")).labelled_by(l.id);
        ui.label(RichText::new("UTC").weak());
        let enter = (a.lost_focus() || b.lost_focus()) && ui.input(|i| i.key_pressed(egui::Key::Enter));
        show = ui.button("Show").clicked() || enter;
        keep = !ui.button("Cancel").clicked() && !ui.input(|i| i.key_pressed(egui::Key::Escape));
        if let Some(e) = &error {
            ui.colored_label(RED, e.as_str());
        }
    });
    if show {
        match Range::between(&from, &to) {
            Ok(r) => {
                state::set_range(app, r);
                return;
            }
            Err(e) => error = Some(e),
        }
    }
    if keep {
        app.endpoints.custom = Some((from, to, error));
    }
}

fn alert_banner(app: &StewardApp, ui: &mut Ui) {
    if app.endpoints.firing.is_empty() {
        return;
    }
    egui::Frame::new().fill(RED.gamma_multiply(0.25)).inner_margin(6.0).corner_radius(4.0).show(ui, |ui| {
        for (rule, series) in app.endpoints.firing.keys() {
            ui.colored_label(RED, RichText::new(format!("ALERT {series}: {rule}")).strong());
        }
    });
}

fn endpoint_table(app: &StewardApp, ui: &mut Ui) {
    let eps = &app.endpoints.endpoints;
    let configured = app.endpoints.config.as_ref().map(|c| c.endpoints.len()).unwrap_or(0);
    ui.label(RichText::new(format!("Serving endpoints ({configured})")).strong());
    if configured == 0 {
        ui.label(RichText::new("None configured (metrics only).").weak());
        return;
    }
    if eps.is_empty() {
        ui.label("Probing...");
        return;
    }
    // Virtualized: only the rows on screen are laid out, so 200 endpoints cost what 12 do. Problems first.
    let rows = eps.len();
    egui_extras::TableBuilder::new(ui)
        .id_salt("ep_table")
        .striped(true)
        .max_scroll_height(260.0)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(egui_extras::Column::exact(90.0))
        .column(egui_extras::Column::initial(190.0).clip(true))
        .column(egui_extras::Column::initial(110.0).clip(true))
        .column(egui_extras::Column::initial(120.0).clip(true))
        // What the endpoint serves takes the room; an empty error column does not.
        .column(egui_extras::Column::remainder().at_least(200.0).clip(true))
        .column(egui_extras::Column::initial(if eps.iter().any(|e| e.last_error.is_some()) { 240.0 } else { 90.0 }).at_least(80.0).clip(true))
        .header(20.0, |mut h| {
            for title in ["State", "Endpoint", "Server", "Probe", "Serves", "Last error"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, rows, |mut row| {
                let e = &eps[row.index()];
                let color = match e.health {
                    Health::Up => GREEN,
                    Health::Degraded => AMBER,
                    Health::Down | Health::NotOip => RED,
                };
                row.col(|ui| {
                    widgets::status_dot(ui, color, &e.health.to_string());
                });
                row.col(|ui| {
                    ui.label(&e.endpoint);
                });
                row.col(|ui| {
                    ui.label(e.server.as_ref().map(|s| format!("{} {}", s.name, s.version)).unwrap_or_default());
                });
                row.col(|ui| {
                    ui.label(e.latency_ms.map(|l| format!("{l:.1} ms")).unwrap_or_else(|| format!("no answer ({:.0} ms)", e.probe_ms)));
                });
                row.col(|ui| {
                    let serves: Vec<String> = e
                        .models
                        .iter()
                        .map(|m| {
                            let versions: Vec<String> = m
                                .versions
                                .iter()
                                .map(|v| {
                                    let name = v.version.as_deref().map(|x| version_name(&app.endpoints.model_aliases, &m.name, x)).unwrap_or_else(|| "(unversioned)".into());
                                    format!("{name} {}", if v.ready { "ready" } else { "NOT READY" })
                                })
                                .collect();
                            format!("{}: {}", m.name, versions.join(", "))
                        })
                        .collect();
                    let all = serves.join("; ");
                    ui.add(egui::Label::new(all.as_str()).truncate()).on_hover_text(all);
                });
                row.col(|ui| {
                    if let Some(err) = &e.last_error {
                        let color = if e.health.is_down() { RED } else { AMBER };
                        ui.add(egui::Label::new(egui::RichText::new(&err.message).color(color)).truncate()).on_hover_text(&err.message);
                    } else {
                        ui.label(egui::RichText::new("none").weak());
                    }
                });
            });
        });
}

fn model_metrics(app: &mut StewardApp, ui: &mut Ui) {
    let models = app.endpoints.models_seen.clone();
    if models.is_empty() {
        ui.label(RichText::new("No per-version metrics yet.").weak());
        return;
    }
    let model = app.endpoints.model.clone().filter(|m| models.contains(m)).unwrap_or_else(|| models[0].clone());
    ui.horizontal(|ui| {
        let l = ui.label(RichText::new("Model").strong());
        let mut chosen = model.clone();
        ComboBox::from_id_salt("ep_model")
            .selected_text(chosen.clone())
            .show_ui(ui, |ui| {
                for m in &models {
                    ui.selectable_value(&mut chosen, m.clone(), m.as_str());
                }
            })
            .response
            .labelled_by(l.id);
        app.endpoints.model = Some(chosen);
    });
    let Some(report) = app.endpoints.report.as_ref() else {
        if app.endpoints.replaying() {
            ui.label(RichText::new("Replay: request rate, accuracy and selection rate of the rows played; a log has no latencies or errors.").weak());
        }
        return;
    };
    Grid::new("ep_metrics").num_columns(7).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
        for h in ["Version", "Requests/s", "Errors", "Avg latency", "p50", "p95", "p99"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for v in report.versions.iter().filter(|v| v.model == model) {
            let ver = v.version.clone().unwrap_or_else(|| "-".into());
            ui.label(version_name(&app.endpoints.model_aliases, &model, &ver));
            ui.label(opt(v.request_rate, Unit::PerSecond));
            ui.label(opt(v.error_rate, Unit::Fraction));
            ui.label(opt(v.avg_latency_s, Unit::Seconds)).on_hover_text(v.notes.join("\n"));
            for q in &v.quantiles {
                let r = ui.label(opt(q.seconds, Unit::Seconds));
                if let Some(why) = &q.reason {
                    r.on_hover_text(why.as_str());
                }
            }
            for _ in v.quantiles.len()..3 {
                ui.label("n/a");
            }
            ui.end_row();
        }
    });
    if !report.route_quantiles.is_empty() {
        let q: Vec<String> = report
            .route_quantiles
            .iter()
            .map(|q| format!("p{:.0} {}", q.q * 100.0, opt(q.seconds, Unit::Seconds)))
            .collect();
        ui.label(RichText::new(format!("All infer calls (per-route histogram): {}", q.join(", "))).weak());
    }
}

fn charts(app: &mut StewardApp, ui: &mut Ui) {
    let Some(model) = app.endpoints.model.clone() else { return };
    let range = app.endpoints.range();
    let st = &mut app.endpoints;
    let store = match (range, &st.history) {
        (Range::Live, _) => &st.live,
        (_, Some((_, Loadable::Ready(h)))) => h,
        (_, Some((_, Loadable::Failed(e)))) => {
            ui.colored_label(AMBER, format!("History: {e}"));
            return;
        }
        _ => {
            ui.label("Loading the history from Prometheus...");
            return;
        }
    };
    let metrics: &[(&str, &str, Unit)] = &[
        ("request_rate", "Request rate", Unit::PerSecond),
        ("error_rate", "Error rate", Unit::Fraction),
        ("latency_avg", "Average latency", Unit::Seconds),
        ("p95", "p95 latency", Unit::Seconds),
        ("accuracy", "Accuracy (replayed rows)", Unit::Score),
        ("selection_rate", "Selection rate (replayed rows)", Unit::Fraction),
    ];
    let link = egui::Id::unique(("ep_charts", range.title()));
    let shown: Vec<&(&str, &str, Unit)> = metrics.iter().filter(|(m, _, _)| store.keys().any(|k| k.0 == model && k.2 == *m)).collect();
    // The charts share the height left in the view (at least 150 px each, at most 420): one chart on a
    // 1920x1080 screen is not a strip above empty space.
    // Per chart: its title, the legend row above the plot and spacing; below the charts, the alerts header.
    let per_chart = ui.text_style_height(&egui::TextStyle::Body) * 2.0 + ui.spacing().item_spacing.y * 4.0 + 6.0;
    let below = ui.spacing().interact_size.y + 16.0;
    let n = shown.len().max(1) as f32;
    let height = ((ui.available_height() - below) / n - per_chart).clamp(150.0, 420.0);
    for (metric, title, unit) in shown {
        let keys: Vec<&SeriesKey> = store.keys().filter(|k| k.0 == model && k.2 == *metric).collect();
        let names: Vec<String> = keys.iter().map(|k| version_name(&st.model_aliases, &k.0, &k.1)).collect();
        let lines: Vec<ChartLine<'_>> = keys.iter().zip(&names).map(|(k, n)| ChartLine { name: n, series: &store[*k] }).collect();
        ui.label(RichText::new(*title).strong());
        // The whole chosen range, to the second (so that a still view reuses its decimated points).
        let end = range.end().unwrap_or_else(|| crate::serving::unix_now().floor());
        let span = Some((end - range.secs(), end));
        time_chart(ui, &format!("ep_{metric}_{}", range.title()), link, &lines, height, *unit, span, &mut st.cache);
    }
    if store.keys().all(|k| k.0 != model) {
        ui.label(RichText::new(format!("No series for {model} in this range.")).color(GREY));
    }
}

/// "v2 (champion)" when the registry's model of that name has aliases on the version.
fn version_name(aliases: &std::collections::BTreeMap<(String, String), String>, model: &str, version: &str) -> String {
    match aliases.get(&(model.to_string(), version.to_string())) {
        Some(a) => format!("v{version} ({a})"),
        None => format!("v{version}"),
    }
}

fn notifications(app: &StewardApp, ui: &mut Ui) {
    let st = &app.endpoints;
    let rules = st.config.as_ref().map(|c| c.alerts.join("; ")).unwrap_or_default();
    egui::CollapsingHeader::new(format!("Alerts ({} raised)", st.alerts.len())).default_open(!st.alerts.is_empty()).show(ui, |ui| {
        ui.label(RichText::new(format!("Rules: {rules} (profile key `alerts`). Raised alerts are recorded in the audit log.")).weak());
        for (t, tr) in st.alerts.iter().take(50) {
            let when = crate::ui::chart::time_label(*t, 0.0);
            let color = if matches!(tr, crate::serving::alerts::Transition::Fired { .. }) { RED } else { GREEN };
            ui.colored_label(color, format!("{when}  {}", tr.describe()));
        }
    });
}
