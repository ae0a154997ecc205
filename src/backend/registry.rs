//! Connecting to a registry, listing models and versions, the sample workspace, saving profiles.

use super::{Backend, Event};
use crate::config::{Profile, Profiles, RegistrySpec};
use crate::connect::{AnyRegistry, Registry};
use crate::domain::SourceState;
use crate::ops;

impl Backend {
    pub(super) async fn connect(&mut self, spec: RegistrySpec) {
        self.generation += 1;
        self.watched = None;
        let generation = self.generation;
        let description = spec.display(&self.home);
        self.send(Event::Registry { generation, description: description.clone(), state: SourceState::Connecting });
        let (home, timeout) = (self.home.clone(), self.timeout);
        let opened = spec.open_off_thread(home, timeout).await;
        if let Some(n) = crate::connect::credentials::take_notice() {
            self.send(Event::Notice(n));
        }
        match opened {
            Ok(reg) => {
                self.registry = Some(reg.clone());
                self.refresh_models(true);
                self.check_unsettled().await;
            }
            Err(e) => {
                self.registry = None;
                self.send(Event::Registry { generation, description, state: SourceState::Failed(e) });
            }
        }
    }

    /// Lists models in a task of its own; the first successful answer marks the registry connected.
    pub(super) fn refresh_models(&self, report_state: bool) {
        let Some(reg) = self.registry.clone() else {
            self.send(Event::Error("no registry is connected".into()));
            return;
        };
        let (out, repaint, generation, reread) = (self.out.clone(), self.repaint.clone(), self.generation, self.reread.clone());
        tokio::spawn(async move {
            let result = reg.list_models().await.map_err(|e| e.to_string());
            reread.models_changed(generation, &result);
            if report_state {
                let state = match &result {
                    Ok(_) => SourceState::Connected,
                    Err(e) => SourceState::Failed(e.clone()),
                };
                Self::emit(&out, &repaint, Event::Registry { generation, description: reg.describe(), state });
            }
            Self::emit(&out, &repaint, Event::Models { generation, result });
        });
    }

    pub(super) fn load_versions(&self, model: String) {
        let Some(reg) = self.registry.clone() else { return };
        let (out, repaint, generation) = (self.out.clone(), self.repaint.clone(), self.generation);
        tokio::spawn(async move {
            let result = reg.list_versions(&model).await.map_err(|e| e.to_string());
            Self::emit(&out, &repaint, Event::Versions { generation, model, result });
        });
    }

    pub(super) async fn open_sample(&mut self) {
        let target = match &self.registry {
            Some(AnyRegistry::Local(l)) => Ok(l.clone()),
            Some(AnyRegistry::Mlflow(_)) | None => {
                crate::connect::local::LocalRegistry::open(&self.home.registry_file()).map(|(l, _)| l)
            }
        };
        let switch = !matches!(self.registry, Some(AnyRegistry::Local(_)));
        let home = self.home.clone();
        let result = match target {
            Ok(reg) => tokio::task::spawn_blocking(move || crate::config::sample::create(&reg, &home))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(outcome) => {
                self.send(Event::Notice(match outcome {
                    crate::config::sample::Outcome::Created { versions } => {
                        format!("Sample workspace created: {} with {versions} versions", crate::config::sample::MODEL)
                    }
                    crate::config::sample::Outcome::AlreadyPresent => {
                        format!("The sample workspace is already here ({})", crate::config::sample::MODEL)
                    }
                }));
                if switch {
                    self.connect(RegistrySpec::HomeLocal).await;
                } else {
                    self.refresh_models(false);
                }
            }
            Err(e) => self.send(Event::Error(format!("could not create the sample workspace: {e}"))),
        }
    }

    pub(super) async fn save_profile(&mut self, profile: Profile, activate: bool) {
        let home = self.home.clone();
        let p = profile.clone();
        let saved = tokio::task::spawn_blocking(move || -> Result<Profiles, String> {
            let mut all = Profiles::load(&home)?;
            all.upsert(p.clone())?;
            if activate {
                all.active = Some(p.name.clone());
            }
            all.save(&home)?;
            Ok(all)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        match saved {
            Ok(all) => {
                self.send(Event::Profiles(all));
                self.send(Event::Notice(format!("Profile '{}' saved", profile.name)));
                if activate {
                    match RegistrySpec::select(None, Some(&profile), None) {
                        Ok((spec, _)) => self.connect(spec).await,
                        Err(e) => self.send(Event::Error(e)),
                    }
                }
            }
            Err(e) => self.send(Event::Error(format!("profile not saved: {e}"))),
        }
    }

    /// The profile dialog's keyring actions, run off the runtime's threads; the answer is what the
    /// keyring holds afterwards.
    pub(super) async fn keyring(&self, profile: String, action: super::KeyringAction) {
        use crate::connect::credentials;
        let name = profile.clone();
        let result = tokio::task::spawn_blocking(move || {
            match action {
                super::KeyringAction::Status => Ok(()),
                super::KeyringAction::Store(c) => credentials::store(&name, &c).map_err(|e| format!("Not stored: {e}.")),
                super::KeyringAction::Forget => credentials::forget(&name).map(|_| ()).map_err(|e| format!("Not removed: {e}.")),
            }
            .map(|()| credentials::describe(&name))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        self.send(Event::Keyring { profile, result });
    }

    /// Reads the registry for every unsettled operation (interrupted, or its outcome unknown) and tells
    /// the window, which shows them until each is resolved.
    pub(super) async fn check_unsettled(&mut self) {
        let Some(reg) = self.registry.clone() else { return };
        match ops::find_interrupted(&self.audit(), &reg).await {
            Ok(found) => {
                let changed = found != self.interrupted;
                self.interrupted = found.clone();
                if changed || !found.is_empty() {
                    self.send(Event::Interrupted(found));
                }
            }
            Err(e) => self.send(Event::Error(format!("could not check for unsettled operations: {e}"))),
        }
    }
}
