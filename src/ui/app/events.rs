//! Applying the backend's events to the window's state (models, versions, plans, steps, history,
//! monitor snapshots, fairness answers, exports).

use super::*;

impl StewardApp {
    pub(super) fn apply_event(&mut self, ev: Event) {
        match ev {
            Event::Registry { generation, description, state } => {
                if generation < self.registry_generation {
                    return;
                }
                if generation > self.registry_generation {
                    self.versions.clear();
                    self.models = Loadable::Loading;
                }
                self.registry_generation = generation;
                self.registry_is_local = description.starts_with("local registry");
                self.registry_description = description;
                if let SourceState::Failed(e) = &state {
                    self.models = Loadable::Failed(e.clone());
                }
                self.registry_state = state;
            }
            Event::Models { generation, result } => {
                if generation != self.registry_generation {
                    return;
                }
                match result {
                    Ok(models) => {
                        let selected = self.persisted.selected_model.clone();
                        let keep = selected.filter(|s| models.iter().any(|m| &m.name == s));
                        let pick = keep.or_else(|| models.first().map(|m| m.name.clone()));
                        self.models = Loadable::Ready(models);
                        crate::ui::endpoints::refresh_aliases(self);
                        self.versions.clear();
                        if let Some(name) = pick {
                            self.select_model(name);
                        }
                    }
                    Err(e) => self.models = Loadable::Failed(e),
                }
            }
            Event::Versions { generation, model, result } => {
                if generation != self.registry_generation {
                    return;
                }
                let value = match result {
                    Ok(v) => Loadable::Ready(v),
                    Err(e) => Loadable::Failed(e),
                };
                self.versions.insert(model, value);
            }
            Event::Plan(result) => {
                if let Some(d) = self.move_dialog.as_mut() {
                    d.accept_plan(result);
                }
            }
            Event::RollbackChoices(result) => {
                if let Some(cmd) = self.move_dialog.as_mut().and_then(|d| d.accept_choices(result)) {
                    self.backend.send(cmd);
                }
            }
            Event::Executed(result) => {
                let model = self.move_dialog.as_ref().map(|d| d.model.clone());
                if let Some(d) = self.move_dialog.as_mut() {
                    d.stage = match &result {
                        Ok(r) => Stage::Done(format!(
                            "Done: {}@{} now points to v{} (verified; audit record {})",
                            r.entry.model,
                            r.entry.alias,
                            r.entry.to.unwrap_or_default(),
                            r.seq
                        )),
                        Err(e) => Stage::Failed(e.clone()),
                    };
                }
                if let Err(e) = &result {
                    self.notify(e.clone(), true);
                    // A move whose outcome is unknown stays open: show it until it is resolved.
                    self.backend.send(Command::CheckUnsettled);
                }
                self.backend.send(Command::RefreshModels);
                if let Some(m) = model {
                    self.backend.send(Command::LoadHistory { model: m });
                }
            }
            Event::History { generation, model, result, notice } => {
                if let Some(n) = notice {
                    self.notify(n, false);
                }
                if generation == self.registry_generation {
                    self.history.insert(model, match result {
                        Ok(h) => Loadable::Ready(h),
                        Err(e) => Loadable::Failed(e),
                    });
                }
            }
            Event::AuditVerified(r) => self.audit_status = Some((r, self.audit_size())),
            Event::Interrupted(list) => self.interrupted = list,
            Event::Profiles(p) => self.profiles = p,
            Event::ProfileTest(checks) => {
                if let Some(f) = self.add_registry.as_mut() {
                    f.test = Some(Loadable::Ready(checks));
                }
            }
            Event::Keyring { profile, result } => match self.add_registry.as_mut().filter(|f| f.name.trim() == profile) {
                Some(f) => {
                    if std::mem::take(&mut f.storing) && result.is_ok() {
                        f.cred_secret.clear();
                    }
                    f.keyring = Some(match result {
                        Ok(s) => Loadable::Ready(s),
                        Err(e) => Loadable::Failed(e),
                    })
                }
                None => match result {
                    Ok(s) => self.notify(s, false),
                    Err(e) => self.notify(e, true),
                },
            },
            Event::Notice(n) => self.notify(n, false),
            Event::Error(e) => self.notify(e, true),
            Event::Monitor(ev) => {
                crate::ui::endpoints::on_monitor(self, ev);
                crate::ui::endpoints::refresh_aliases(self);
            }
            Event::MetricsHistory { range, end, result } => crate::ui::endpoints::on_history(self, (range, end), result),
            Event::FairnessColumns { log, result } => crate::ui::fairness::on_columns(self, log, result),
            Event::Fairness { run, result, elapsed } => crate::ui::fairness::on_report(self, run, result, elapsed),
            // Endpoint-step progress of an executing move: not drawn yet (the dialog work shows it).
            Event::ReportDone(r) => crate::ui::export::on_done(self, r),
            Event::Step(e) => {
                if let Some(d) = self.move_dialog.as_mut() {
                    d.step(e);
                }
            }
        }
    }
}
