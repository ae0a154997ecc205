//! The registry re-read: every poll interval ([`super::POLL_INTERVAL`] in the window) the backend lists
//! the models again and reads the watched model's aliases, recording moves made outside Steward
//! (`ops::observe`). The window is woken only when an answer differs from the last one it was sent, or a
//! move was seen: an idle window draws nothing and takes no CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{Backend, Event};
use crate::connect::Registry;
use crate::domain::RegisteredModel;
use crate::ops::AliasEvent;

/// The last answers sent to the window, for one connection (`generation`).
#[derive(Default)]
pub(super) struct Seen {
    generation: u64,
    models: Option<Result<Vec<RegisteredModel>, String>>,
    history: Option<(String, Result<Vec<AliasEvent>, String>)>,
}

/// Shared between the backend and its tasks.
#[derive(Default, Clone)]
pub(super) struct Reread {
    /// A re-read is running (the next tick is skipped rather than piled up behind a slow registry).
    busy: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
}

impl Reread {
    /// Remembers `models` as sent for `generation`; true when it differs from what was sent last.
    pub(super) fn models_changed(&self, generation: u64, models: &Result<Vec<RegisteredModel>, String>) -> bool {
        let Ok(mut s) = self.seen.lock() else { return true };
        s.reset_for(generation);
        let changed = s.models.as_ref() != Some(models);
        s.models = Some(models.clone());
        changed
    }

    /// The same for the aliases' history of `model`.
    pub(super) fn history_changed(&self, generation: u64, model: &str, history: &Result<Vec<AliasEvent>, String>) -> bool {
        let Ok(mut s) = self.seen.lock() else { return true };
        s.reset_for(generation);
        let changed = s.history.as_ref().is_none_or(|(m, h)| m != model || h != history);
        s.history = Some((model.to_string(), history.clone()));
        changed
    }
}

impl Seen {
    fn reset_for(&mut self, generation: u64) {
        if self.generation != generation {
            *self = Seen { generation, ..Seen::default() };
        }
    }
}

impl Backend {
    /// One re-read in a task of its own; sends only what changed.
    pub(super) fn reread(&self) {
        let Some(reg) = self.registry.clone() else { return };
        if self.reread.busy.swap(true, Ordering::SeqCst) {
            return;
        }
        let (out, repaint, generation, audit) = (self.out.clone(), self.repaint.clone(), self.generation, self.audit());
        let (watched, state) = (self.watched.clone(), self.reread.clone());
        tokio::spawn(async move {
            let models = reg.list_models().await.map_err(|e| e.to_string());
            if state.models_changed(generation, &models) {
                Self::emit(&out, &repaint, Event::Models { generation, result: models });
            }
            if let Some(model) = watched {
                let (result, notice) = super::moves::observe_history(&reg, audit, &model).await;
                if state.history_changed(generation, &model, &result) || notice.is_some() {
                    Self::emit(&out, &repaint, Event::History { generation, model, result, notice });
                }
            }
            state.busy.store(false, Ordering::SeqCst);
        });
    }
}
