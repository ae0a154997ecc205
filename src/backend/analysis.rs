//! Work on files: fairness analysis of prediction logs and audit report export (gathered on the runtime,
//! rendered on the blocking pool).

use std::path::PathBuf;
use std::sync::Arc;

use super::{Backend, Command, Event};
use crate::config::Profile;

impl Backend {
    /// Reads and counts logs on the blocking pool (the engine uses both cores itself).
    pub(super) fn fairness(&self, cmd: Command) {
        let (out, repaint) = (self.out.clone(), self.repaint.clone());
        let timeout = self.policy.endpoint_timeout;
        tokio::task::spawn_blocking(move || {
            let ev = match cmd {
                Command::FairnessColumns { log } => {
                    let result = log.columns(timeout).map_err(|e| e.to_string());
                    Event::FairnessColumns { log, result }
                }
                Command::Fairness { run, log, spec, progress } => {
                    let started = std::time::Instant::now();
                    let result = log.analyze(&spec, timeout, &progress).map(Arc::new).map_err(|e| e.to_string());
                    crate::diag::memory::release();
                    Event::Fairness { run, result, elapsed: started.elapsed() }
                }
                _ => return,
            };
            Self::emit(&out, &repaint, ev);
        });
    }

    /// Gathers on the runtime (registry, audit log, Prometheus), renders on the blocking pool.
    pub(super) fn export_report(
        &self,
        opts: crate::report::Options,
        format: crate::report::Format,
        out: PathBuf,
        profile: Option<Profile>,
        progress: Arc<crate::report::Progress>,
    ) {
        let Some(reg) = self.registry.clone() else {
            self.send(Event::ReportDone(Err("no registry is connected".into())));
            return;
        };
        let (events, repaint, audit) = (self.out.clone(), self.repaint.clone(), self.audit());
        tokio::spawn(async move {
            let result = match crate::report::gather(&reg, &audit, profile.as_ref(), &opts, &progress).await {
                Ok(data) => tokio::task::spawn_blocking(move || crate::report::render(&data, format, &out).map_err(|e| e.to_string()))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r),
                Err(e) => Err(e.to_string()),
            };
            Self::emit(&events, &repaint, Event::ReportDone(result));
        });
    }
}
