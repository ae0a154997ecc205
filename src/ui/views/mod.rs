//! One module per view; small views live here.

pub mod compare;
pub mod endpoints;
pub mod fairness;
pub mod models;
pub mod monitoring;
mod monitoring_charts;

use egui::{Id, Modal, RichText, Ui};

use super::app::{AddRegistryForm, StewardApp};
use crate::backend::KeyringAction;
use super::widgets;
use crate::config::{Profile, RegistrySpec, check_no_secret};

/// The Audit view: the alias timeline of the selected model, "what was X at T", and chain verification.
pub fn audit(app: &mut StewardApp, ui: &mut Ui, actions: &mut Vec<super::app::Action>) {
    use super::app::{Action, Loadable};
    ui.horizontal(|ui| {
        ui.heading("Audit");
        if ui.button("Verify audit log").clicked() {
            actions.push(Action::VerifyAudit);
        }
        if ui.button("Export audit report...").clicked() {
            actions.push(Action::ExportReport(None));
        }
    });
    // On a line of its own, wrapped: the 64-digit head hash must not run off the window.
    let grown = app.audit_status.as_ref().is_some_and(|(_, size)| *size != app.audit_size());
    let status = match &app.audit_status {
        Some((Ok(s), _)) if grown => Some((widgets::AMBER, format!("Stale: {s} (the log has grown since; verify again)"))),
        Some((Ok(s), _)) => Some((widgets::GREEN, s.clone())),
        Some((Err(e), _)) => Some((widgets::RED, e.clone())),
        None => None,
    };
    if let Some((color, text)) = status {
        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap_mode(egui::TextWrapMode::Wrap));
    }
    let Some(model) = app.persisted.selected_model.clone() else {
        widgets::empty_state(ui, "No model selected", "Pick a model in the Models view to see its alias history.", &[]);
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Alias history of {model}")).strong());
        // Where the history comes from: the team's store or this home's file.
        match &app.policy().audit_store {
            Some(url) => ui.label(RichText::new(format!("from the team audit store {url}")).weak()),
            None => ui.label(RichText::new("from this computer's audit log").weak()),
        };
    });
    let events = match app.history.get(&model) {
        Some(Loadable::Ready(e)) => e.clone(),
        Some(Loadable::Failed(e)) => {
            ui.colored_label(widgets::RED, format!("Could not load the history: {e}"));
            return;
        }
        _ => {
            ui.spinner();
            return;
        }
    };
    ui.horizontal(|ui| {
        ui.label("What did");
        ui.add(egui::TextEdit::singleline(&mut app.history_question.0).desired_width(100.0));
        ui.label("point to on");
        ui.add(egui::TextEdit::singleline(&mut app.history_question.1).desired_width(160.0).hint_text("YYYY-MM-DD or RFC 3339"));
        let (alias, when) = &app.history_question;
        let show = |v: Option<u64>| v.map(|v| format!("v{v}")).unwrap_or_else(|| "not set or not known".into());
        match crate::ops::parse_period(when) {
            // A day: where it pointed when the day began, and every move during it.
            Some((start, end)) if start != end => {
                let (first, moves) = crate::ops::alias_during(&events, alias.trim(), start, end);
                let mut text = format!("= {} at 00:00", show(first));
                for (t, v) in &moves {
                    text.push_str(&format!(", then {} at {}", show(*v), t.format("%H:%M:%S")));
                }
                if moves.is_empty() {
                    text.push_str(" (no move that day)");
                }
                ui.strong(text)
            }
            Some((t, _)) => ui.strong(format!("= {}", show(crate::ops::alias_at(&events, alias.trim(), t)))),
            None => ui.colored_label(widgets::AMBER, "enter a date"),
        };
    });
    if events.is_empty() {
        ui.label(RichText::new("No alias moves recorded yet.").weak());
        return;
    }
    audit_filters(app, ui, &model, actions);
    let total = events.len();
    let events: Vec<_> = events.into_iter().filter(|e| app.audit_filter.matches(e)).collect();
    match app.audit_filter.check() {
        Err(e) => ui.colored_label(widgets::RED, e),
        Ok(()) if events.is_empty() => ui.label(RichText::new(format!("0 of {total} events shown: none matches these filters")).weak()),
        Ok(()) if events.len() < total => ui.label(RichText::new(format!("{} of {total} events shown", events.len())).weak()),
        Ok(()) => ui.label(RichText::new(if total == 1 { "1 event".to_string() } else { format!("{total} events") }).weak()),
    };
    if events.is_empty() {
        return;
    }
    let v = |x: Option<u64>| x.map(|v| format!("v{v}")).unwrap_or_else(|| "-".into());
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("history_grid").num_columns(7).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
            for h in ["When (UTC)", "Alias", "Move", "What", "Outcome", "Who", "Why"] {
                ui.strong(h);
            }
            ui.end_row();
            for e in events.iter().rev() {
                ui.label(e.time.replace('T', " ").trim_end_matches('Z').to_string());
                ui.label(&e.alias);
                ui.label(format!("{} -> {}", v(e.from), v(e.to)));
                ui.label(&e.action);
                let (text, color) = match (e.kind, e.outcome) {
                    // Information, not a warning: the registry moved outside Steward and Steward recorded it.
                    (crate::ops::EventKind::Observed, _) => ("observed".to_string(), widgets::INFO),
                    (_, Some(crate::audit::Outcome::Succeeded)) => ("succeeded".to_string(), widgets::GREEN),
                    (_, Some(crate::audit::Outcome::Unknown)) => ("unknown (open)".to_string(), widgets::AMBER),
                    (_, Some(o)) => (o.word().to_string(), widgets::RED),
                    (_, None) => ("-".to_string(), widgets::GREY),
                };
                ui.colored_label(color, text);
                // An observed move was made outside Steward: who made it is not known (the OS user is
                // only who noticed it).
                if e.kind == crate::ops::EventKind::Observed {
                    ui.label(RichText::new("unknown (outside Steward)").weak()).on_hover_text(e.who());
                } else {
                    ui.label(e.actor.who()).on_hover_text(match &e.actor.registry_identity {
                        Some(id) => format!("operating-system user {} on {}; the registry saw {id}", e.actor.os_user, e.actor.host.as_deref().unwrap_or("an unrecorded machine")),
                        None => format!("operating-system user {} on {}", e.actor.os_user, e.actor.host.as_deref().unwrap_or("an unrecorded machine")),
                    });
                }
                let why = match &e.error {
                    Some(err) => format!("{} [{err}]", e.reason),
                    None => e.reason.clone(),
                };
                ui.label(why);
                ui.end_row();
            }
        });
    });
}

/// The Audit view's filter row: model (switches the selected model), actor, alias, period.
fn audit_filters(app: &mut StewardApp, ui: &mut Ui, model: &str, actions: &mut Vec<super::app::Action>) {
    use super::app::Loadable;
    let names: Vec<String> = match &app.models {
        Loadable::Ready(m) => m.iter().map(|m| m.name.clone()).collect(),
        _ => Vec::new(),
    };
    ui.horizontal_wrapped(|ui| {
        ui.label("Model:");
        egui::ComboBox::from_id_salt("audit_model").selected_text(model).width(160.0).show_ui(ui, |ui| {
            for n in &names {
                if ui.selectable_label(n == model, n).clicked() && n != model {
                    actions.push(super::app::Action::AuditModel(n.clone()));
                }
            }
        });
        let f = &mut app.audit_filter;
        for (label, value, width, hint) in [
            ("Actor:", &mut f.actor, 110.0, "user@host"),
            ("Alias:", &mut f.alias, 90.0, "any"),
            ("From:", &mut f.since, 100.0, "YYYY-MM-DD"),
            ("To:", &mut f.until, 100.0, "YYYY-MM-DD"),
        ] {
            let l = ui.label(label);
            ui.add(egui::TextEdit::singleline(value).desired_width(width).hint_text(hint)).labelled_by(l.id);
        }
        if *f != crate::ops::EventFilter::default() && ui.button("Clear filters").clicked() {
            *f = Default::default();
        }
    });
}

/// The connection profile dialog ("Add MLflow registry...", "Edit connection profile..."): registry,
/// serving endpoints, Prometheus, read-only and protected aliases, with "Test connection" (the same
/// check as `steward profile test`). Saves a profile (no secrets) and connects to it.
pub fn add_registry_dialog(app: &mut StewardApp, ui: &mut Ui) {
    let Some(form) = app.add_registry.as_mut() else { return };
    let mut submit = false;
    let mut cancel = false;
    let mut test = false;
    let mut keyring = None;
    // An existing MLflow profile: say what the keyring holds for it.
    if form.keyring.is_none() && form.base.is_some() && !form.url.trim().is_empty() {
        keyring = Some(KeyringAction::Status);
    }
    let response = Modal::new(Id::unique("add_registry")).show(ui.ctx(), |ui| {
        ui.set_width(520.0);
        ui.heading(if form.base.is_some() { "Edit connection profile" } else { "Add MLflow registry" });
        ui.label("Credentials come from MLflow's variables when set (MLFLOW_TRACKING_TOKEN, or _USERNAME and _PASSWORD), else from the OS keyring; never from the profile file.");
        ui.add_space(6.0);
        egui::Grid::new("add_registry_grid").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
            let l = ui.label("Profile name");
            ui.add(egui::TextEdit::singleline(&mut form.name).hint_text("e.g. production")).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Tracking URL");
            ui.add(egui::TextEdit::singleline(&mut form.url).desired_width(f32::INFINITY).hint_text("https://mlflow.example.com (empty: the home's local registry)"))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("CA bundle (PEM)");
            ui.add(egui::TextEdit::singleline(&mut form.ca_file).desired_width(f32::INFINITY).hint_text("a private CA for the registry, e.g. /etc/corp/ca.pem (optional)"))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Serving endpoints");
            ui.add(egui::TextEdit::multiline(&mut form.endpoints).desired_width(f32::INFINITY).desired_rows(2).hint_text("one URL per line, e.g. http://mlserver:8080"))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Prometheus URL");
            ui.add(egui::TextEdit::singleline(&mut form.prometheus).desired_width(f32::INFINITY).hint_text("http://prometheus:9090")).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Team audit store");
            ui.add(egui::TextEdit::singleline(&mut form.audit).desired_width(f32::INFINITY).hint_text("postgres://host/db (optional; login: PGUSER/PGPASSWORD or keyring)"))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Protected aliases");
            ui.add(egui::TextEdit::singleline(&mut form.protected).hint_text("champion, production")).labelled_by(l.id);
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut form.read_only, "Read-only (no promote or roll back with this profile)");
            ui.end_row();
            let l = ui.label("Keyring user");
            ui.add(egui::TextEdit::singleline(&mut form.cred_user).hint_text("empty: the secret is a token")).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Token or password");
            ui.add(egui::TextEdit::singleline(&mut form.cred_secret).password(true).hint_text("kept in the OS keyring")).labelled_by(l.id);
            ui.end_row();
            ui.label("");
            ui.horizontal(|ui| {
                let can = !form.name.trim().is_empty() && !form.url.trim().is_empty();
                if ui.add_enabled(can && !form.cred_secret.is_empty(), egui::Button::new("Save to keyring")).clicked() {
                    keyring = Some(KeyringAction::Store(credential(form)));
                }
                if ui.add_enabled(can, egui::Button::new("Remove from keyring")).clicked() {
                    keyring = Some(KeyringAction::Forget);
                }
            });
            ui.end_row();
        });
        match &form.keyring {
            Some(super::app::Loadable::Loading) => {
                widgets::busy(ui, "Asking the OS keyring...");
            }
            Some(super::app::Loadable::Ready(s)) => {
                ui.label(RichText::new(s).weak());
            }
            Some(super::app::Loadable::Failed(e)) => {
                ui.colored_label(widgets::RED, e);
            }
            None => {}
        }
        if let Some(e) = &form.error {
            ui.colored_label(widgets::RED, e);
        }
        match &form.test {
            Some(super::app::Loadable::Loading) => {
                widgets::busy(ui, "Testing each connection...");
            }
            Some(super::app::Loadable::Ready(checks)) => {
                egui::Grid::new("profile_test").num_columns(3).spacing([8.0, 2.0]).show(ui, |ui| {
                    for c in checks {
                        let (word, color) = if c.ok { ("ok", widgets::GREEN) } else { ("FAIL", widgets::RED) };
                        ui.colored_label(color, word);
                        ui.label(format!("{} {}", c.kind, c.target));
                        ui.add(egui::Label::new(c.detail.as_str()).wrap());
                        ui.end_row();
                    }
                });
            }
            _ => {}
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button(if form.base.is_some() { "Save and connect" } else { "Add and connect" }).clicked() {
                submit = true;
            }
            if ui.button("Test connection").on_hover_text("Tries the registry, each endpoint and Prometheus").clicked() {
                test = true;
            }
            if ui.button("Cancel").clicked() {
                cancel = true;
            }
        });
    });
    if let Some(action) = keyring {
        send_keyring(app, action);
        return;
    }
    if test {
        match validate(form) {
            Ok(profile) => {
                form.error = None;
                form.test = Some(super::app::Loadable::Loading);
                app.backend.send(crate::backend::Command::TestProfile(profile));
            }
            Err(e) => form.error = Some(e),
        }
    } else if submit {
        match validate(form) {
            Ok(profile) => {
                // Typed credentials are kept before the profile is saved and connected (the backend
                // takes commands in order).
                let store = (!form.cred_secret.is_empty() && !profile.registry.is_empty()).then(|| KeyringAction::Store(credential(form)));
                if let Some(action) = store {
                    send_keyring(app, action);
                }
                app.activate_profile(profile);
                app.add_registry = None;
            }
            Err(e) => form.error = Some(e),
        }
    } else if cancel || response.should_close() {
        app.add_registry = None;
    }
}

/// The credential typed in the dialog: a user and password, or a token when no user is given.
fn credential(form: &AddRegistryForm) -> crate::connect::credentials::Credential {
    use crate::connect::credentials::Credential;
    match form.cred_user.trim() {
        "" => Credential::Token { token: form.cred_secret.clone() },
        user => Credential::Password { user: user.to_string(), password: form.cred_secret.clone() },
    }
}

fn send_keyring(app: &mut StewardApp, action: KeyringAction) {
    let Some(form) = app.add_registry.as_mut() else { return };
    form.storing = matches!(action, KeyringAction::Store(_));
    form.keyring = Some(super::app::Loadable::Loading);
    app.backend.send(crate::backend::Command::Keyring { profile: form.name.trim().to_string(), action });
}

fn validate(form: &AddRegistryForm) -> Result<Profile, String> {
    let name = form.name.trim();
    if name.is_empty() {
        return Err("Give the profile a name.".into());
    }
    let url = form.url.trim();
    if !url.is_empty() {
        match RegistrySpec::parse(url)? {
            RegistrySpec::Mlflow(..) => {}
            _ => return Err("An MLflow registry URL starts with http:// or https://".into()),
        }
        check_no_secret(url)?;
    }
    let web = |u: &str, what: &str| -> Result<String, String> {
        let parsed = url::Url::parse(u).map_err(|e| format!("{what} '{u}': {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{what} '{u}' must start with http:// or https://"));
        }
        check_no_secret(u)?;
        Ok(u.to_string())
    };
    let endpoints = form.endpoints.lines().map(str::trim).filter(|l| !l.is_empty()).map(|e| web(e, "Endpoint")).collect::<Result<Vec<_>, _>>()?;
    let prometheus = Some(form.prometheus.trim()).filter(|p| !p.is_empty()).map(|p| web(p, "Prometheus URL")).transpose()?;
    let audit = Some(form.audit.trim()).filter(|a| !a.is_empty()).map(|a| crate::config::check_audit_url(a).map(|_| a.to_string())).transpose()?;
    let protected_aliases: Vec<String> = form.protected.split(',').map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect();
    let ca_file = match form.ca_file.trim() {
        "" => None,
        p => {
            let path = std::path::absolute(p).unwrap_or_else(|_| p.into());
            crate::connect::http::check_ca_file(&path, "CA bundle field")?;
            Some(path.display().to_string())
        }
    };
    let base = form.base.clone().unwrap_or_default();
    Ok(Profile {
        name: name.to_string(),
        registry: url.to_string(),
        ca_file,
        endpoints,
        prometheus,
        audit,
        read_only: form.read_only,
        protected_aliases,
        ..base
    })
}

/// A label with a weak caption above, for detail panels.
pub fn caption(ui: &mut Ui, caption: &str, value: &str) {
    ui.label(RichText::new(caption).weak().small());
    ui.label(value);
}
