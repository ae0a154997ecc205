//! Alias moves: plans, execution with step progress, history (recording moves seen outside Steward), audit
//! verification, resolving interrupted operations.

use super::{Backend, Command, Event};
use crate::audit::{AuditLog, Record};
use crate::connect::{AnyRegistry, Registry};
use crate::domain::show_version;
use crate::ops::{self, AliasEvent, Ops, StepEvent};

impl Backend {
    pub(super) fn history(&self, model: String) {
        let generation = self.generation;
        let reread = self.reread.clone();
        self.with_ops(move |reg, audit, _| async move {
            let (result, notice) = observe_history(&reg, audit, &model).await;
            reread.history_changed(generation, &model, &result);
            Event::History { generation, model, result, notice }
        });
    }

    pub(super) fn handle_ops(&mut self, cmd: Command) {
        match cmd {
            Command::PlanPromote { model, version, alias } => self.with_ops(move |reg, audit, policy| async move {
                let ops = Ops { registry: &reg, audit, os_user: crate::audit::os_user(), policy };
                Event::Plan(ops.plan_promote(&model, version, &alias).await.map_err(|e| e.to_string()))
            }),
            Command::RollbackChoices { model, alias } => self.with_ops(move |reg, audit, policy| async move {
                let ops = Ops { registry: &reg, audit, os_user: crate::audit::os_user(), policy };
                Event::RollbackChoices(ops.rollback_choices(&model, &alias).await.map_err(|e| e.to_string()))
            }),
            Command::PlanRollback { model, alias, to } => self.with_ops(move |reg, audit, policy| async move {
                let ops = Ops { registry: &reg, audit, os_user: crate::audit::os_user(), policy };
                Event::Plan(ops.plan_rollback(&model, &alias, to).await.map_err(|e| e.to_string()))
            }),
            // The UI asks for fresh models, versions and history when it receives `Executed`.
            Command::Execute { plan, reason, confirmation } => {
                let (out, repaint) = (self.out.clone(), self.repaint.clone());
                self.with_ops(move |reg, audit, policy| async move {
                    let ops = Ops { registry: &reg, audit, os_user: crate::audit::os_user(), policy };
                    let (o, rp) = (out.clone(), repaint.clone());
                    let progress = move |s: StepEvent| Self::emit(&o, &rp, Event::Step(s));
                    let r = ops.execute_with_progress(&plan, &reason, confirmation.as_deref(), &progress).await;
                    // A team chain that no longer extends the head this home saw (audit/seen.rs).
                    for w in crate::audit::take_warnings() {
                        Self::emit(&out, &repaint, Event::Notice(w));
                    }
                    Event::Executed(r.map_err(|e| e.to_string()))
                })
            }
            Command::LoadHistory { model } => {
                self.watched = Some(model.clone());
                self.history(model)
            }
            Command::VerifyAudit => {
                let audit = self.audit();
                self.with_ops(move |_, _, _| async move {
                    let r = tokio::task::spawn_blocking(move || {
                        if audit.store().is_none() && !audit.path().exists() {
                            return Ok("The audit log is empty (no actions recorded yet)".to_string());
                        }
                        audit.verify().map(|v| format!("OK: {} records, head {} ({})", v.count, v.head, audit.describe()))
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    Event::AuditVerified(r)
                });
            }
            Command::Resolve { intent_seq } => {
                let item = self.interrupted.iter().find(|i| i.intent.seq == intent_seq).cloned();
                self.interrupted.retain(|i| i.intent.seq != intent_seq);
                let Some(item) = item else { return };
                // The append fsyncs: keep it off the async workers.
                self.with_ops(move |_, audit, _| async move {
                    let done = tokio::task::spawn_blocking(move || {
                        ops::resolve(&audit, &crate::audit::os_user(), &item, "resolved in the window").map_err(|e| e.to_string())
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    match done {
                        Ok(r) => Event::Notice(format!("Resolution recorded (audit record {})", r.seq)),
                        Err(e) => Event::Error(format!("could not record the resolution: {e}")),
                    }
                });
            }
            _ => {}
        }
    }
}

/// Records the moves of `model`'s aliases made outside Steward (`ops::observe`), then gives its alias
/// history and, when moves were seen, a notice naming them.
pub(super) async fn observe_history(reg: &AnyRegistry, audit: AuditLog, model: &str) -> (Result<Vec<AliasEvent>, String>, Option<String>) {
    let result = async {
        let m = reg.get_model(model).await.map_err(|e| e.to_string())?;
        let user = crate::audit::os_user();
        let (desc, name, aliases) = (reg.describe(), model.to_string(), m.aliases.clone());
        tokio::task::spawn_blocking(move || -> Result<(Vec<AliasEvent>, Vec<Record>), String> {
            ops::observe(&audit, &user, &desc, &name, &aliases).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
    .await;
    // Moves made outside Steward are worth a notice, not only a line in the log.
    let moved: Vec<String> = match &result {
        Ok((_, seen)) => seen
            .iter()
            .filter(|r| r.entry.action == "alias_moved")
            .map(|r| format!("{}@{} moved outside Steward: {} -> {}", r.entry.model, r.entry.alias, show_version(r.entry.from), show_version(r.entry.to)))
            .collect(),
        Err(_) => Vec::new(),
    };
    let notice = (!moved.is_empty()).then(|| moved.join("; "));
    (result.map(|(h, _)| h), notice)
}
