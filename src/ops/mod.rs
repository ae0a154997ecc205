//! Operator actions on aliases (promote, roll back) and what is derived from their records (history,
//! last known good, moves observed outside Steward, recovery of interrupted operations).
//!
//! The same code serves the window and the command line. Checks are enforced here, not in the UI.

mod alias;
mod endpoint;
pub mod gates;
mod history;
pub mod monitoring_alerts;
mod recover;
mod store;

pub use endpoint::{Progress, Step, StepEvent, StepState};
pub use gates::{Estimate, GateReport, GateResult, Verdict};

pub use history::{
    EventFilter,
    AliasEvent, EventKind, alias_at, alias_during, history, last_known_good, observe, parse_as_of, parse_period, reconcile,
};
pub use recover::{Interrupted, find_interrupted, resolve};
pub use store::{audit_keyring_entry, open_audit};

use std::collections::BTreeMap;
use std::time::Duration;

use crate::audit::{Actor, AuditError, AuditLog, EndpointNote, Entry, Outcome, Phase, Record};
use crate::config::{Binding, Policy};
use crate::connect::{Registry, RegistryError};
use crate::domain::{VersionNumber, show_version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveKind {
    Promote,
    Rollback,
}

impl MoveKind {
    pub fn verb(self) -> &'static str {
        match self {
            MoveKind::Promote => "promote",
            MoveKind::Rollback => "rollback",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricChange {
    pub key: String,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// What an alias move will do, shown before it is done.
#[derive(Debug, Clone, PartialEq)]
pub struct MovePlan {
    pub kind: MoveKind,
    pub registry: String,
    pub model: String,
    pub alias: String,
    /// Where the alias pointed when the plan was made (checked again right before the move).
    pub from: Option<VersionNumber>,
    pub to: VersionNumber,
    /// Protected aliases need the model name typed to confirm.
    pub protected: bool,
    pub metrics: Vec<MetricChange>,
    /// For a rollback: every version the operator may choose instead of the proposal.
    pub choices: Vec<VersionNumber>,
    /// The promotion gates evaluated for this move (empty when no policy applies).
    pub gates: GateReport,
    /// Set by the operator to act although required gates did not pass: the override's reason. Recorded
    /// with the gate results. (Serving gates cannot be overridden.)
    pub override_gates: Option<String>,
    /// Every alias of the model as the registry listed it when the plan was made. Aliases this home's
    /// log has never seen are recorded as "first seen" right before the intent, so that the history
    /// shows them before the move and not after it.
    pub aliases: BTreeMap<String, VersionNumber>,
}

impl MovePlan {
    pub fn describe(&self) -> String {
        format!("{} {}@{}: {} -> v{}", self.kind.verb(), self.model, self.alias, show_version(self.from), self.to)
    }
}

/// Exit code of the command line when a move's outcome is unknown (documented in the README).
pub const EXIT_UNKNOWN: u8 = 7;

/// Where a rollback may go (`Ops::rollback_choices`).
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackChoices {
    pub model: String,
    pub alias: String,
    /// Where the alias points now.
    pub current: Option<VersionNumber>,
    /// The last known good version, when the audit log records the move that brought the alias to
    /// `current`; None after a fresh install or when the alias was only ever moved by other tools.
    pub proposal: Option<VersionNumber>,
    /// Every version but the current one, newest first.
    pub versions: Vec<crate::domain::ModelVersion>,
    /// The policy's gates for moving the alias to each of `versions` (for information: a rollback only
    /// stops on a dead bound endpoint, which the plan checks).
    pub gates: BTreeMap<VersionNumber, GateReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A check said no (conflict, read-only, protected alias without confirmation, nothing to do).
    #[error("refused: {0}")]
    Refused(String),
    /// The action ran but did not end as planned (e.g. the read-back disagreed).
    #[error("failed: {0}")]
    Failed(String),
    /// Steward could not learn whether the registry changed; the operation stays open (outcome
    /// `unknown`) until `steward audit recover` settles it against the registry.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl OpError {
    pub fn exit_code(&self) -> u8 {
        match self {
            OpError::Refused(_) => 3,
            OpError::Failed(_) => 1,
            OpError::Unknown(_) => EXIT_UNKNOWN,
            OpError::Registry(e) => e.exit_code(),
            OpError::Audit(_) => 1,
        }
    }
}

/// Everything an operation needs: the registry, the audit log, who acts and under which policy.
pub struct Ops<'a, R: Registry> {
    pub registry: &'a R,
    pub audit: AuditLog,
    pub os_user: String,
    pub policy: Policy,
}

/// Test hook: pause between the intent record and the registry call (used to kill -9 a promote there).
const PAUSE_ENV: &str = "STEWARD_TEST_PAUSE_AFTER_INTENT_MS";

impl<'a, R: Registry> Ops<'a, R> {
    pub fn actor(&self) -> Actor {
        Actor::new(self.os_user.clone(), self.registry.identity())
    }

    fn refuse_if_read_only(&self) -> Result<(), OpError> {
        if self.policy.read_only {
            return Err(OpError::Refused("read-only mode: alias moves are disabled for this profile/run".into()));
        }
        Ok(())
    }

    pub async fn plan_promote(&self, model: &str, version: VersionNumber, alias: &str) -> Result<MovePlan, OpError> {
        self.refuse_if_read_only()?;
        crate::connect::validate_alias(alias)?;
        let versions = self.registry.list_versions(model).await?;
        if !versions.iter().any(|v| v.version == version) {
            return Err(RegistryError::NotFound { what: format!("version {version} of model '{model}'") }.into());
        }
        let from = self.registry.get_alias(model, alias).await?;
        if from == Some(version) {
            return Err(OpError::Refused(format!("{model}@{alias} already points to v{version}; nothing to do")));
        }
        let plan = self.plan(MoveKind::Promote, model, alias, from, version, &versions);
        self.with_gates(plan, versions).await
    }

    /// Where a rollback of `model@alias` may go: every other version (newest first) and Steward's
    /// proposal, the last known good version, when this home's audit log has one. Reads only.
    pub async fn rollback_choices(&self, model: &str, alias: &str) -> Result<RollbackChoices, OpError> {
        let mut versions = self.registry.list_versions(model).await?;
        let current = self.registry.get_alias(model, alias).await?;
        let records = self.audit.read_all()?;
        let proposal = last_known_good(&records, &self.registry.describe(), model, alias, current)
            .filter(|p| versions.iter().any(|v| v.version == *p));
        let targets: Vec<VersionNumber> = versions.iter().map(|v| v.version).filter(|v| Some(*v) != current).collect();
        let gates = self.judge(model, alias, versions.clone(), current, targets).await?.into_iter().collect();
        versions.retain(|v| Some(v.version) != current);
        versions.sort_by(|a, b| b.version.cmp(&a.version));
        Ok(RollbackChoices { model: model.to_string(), alias: alias.to_string(), current, proposal, versions, gates })
    }

    /// Proposes the last known good version (where the alias pointed before its most recent move),
    /// or uses `to` when given.
    pub async fn plan_rollback(&self, model: &str, alias: &str, to: Option<VersionNumber>) -> Result<MovePlan, OpError> {
        self.refuse_if_read_only()?;
        let versions = self.registry.list_versions(model).await?;
        let from = self.registry.get_alias(model, alias).await?;
        let records = self.audit.read_all()?;
        let target = match to {
            Some(v) => v,
            None => last_known_good(&records, &self.registry.describe(), model, alias, from).ok_or_else(|| {
                let others: Vec<String> =
                    versions.iter().filter(|v| Some(v.version) != from).map(|v| format!("v{}", v.version)).collect();
                OpError::Refused(format!(
                    "Steward has no record of where {model}@{alias} pointed before {} (no move of it is in this home's \
                     audit log); pick one of {} (--to VERSION, or the list in the Roll back dialog)",
                    show_version(from),
                    others.join(", ")
                ))
            })?,
        };
        if !versions.iter().any(|v| v.version == target) {
            return Err(RegistryError::NotFound { what: format!("version {target} of model '{model}'") }.into());
        }
        if from == Some(target) {
            return Err(OpError::Refused(format!("{model}@{alias} already points to v{target}; nothing to do")));
        }
        let plan = self.plan(MoveKind::Rollback, model, alias, from, target, &versions);
        self.with_gates(plan, versions).await
    }

    fn plan(
        &self,
        kind: MoveKind,
        model: &str,
        alias: &str,
        from: Option<VersionNumber>,
        to: VersionNumber,
        versions: &[crate::domain::ModelVersion],
    ) -> MovePlan {
        let metrics_of = |v: Option<VersionNumber>| {
            v.and_then(|v| versions.iter().find(|x| x.version == v)).map(|x| x.metrics.clone()).unwrap_or_default()
        };
        let (a, b): (BTreeMap<String, f64>, BTreeMap<String, f64>) = (metrics_of(from), metrics_of(Some(to)));
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        let aliases = versions.iter().flat_map(|v| v.aliases.iter().map(move |a| (a.clone(), v.version))).collect();
        MovePlan {
            aliases,
            kind,
            registry: self.registry.describe(),
            model: model.to_string(),
            alias: alias.to_string(),
            from,
            to,
            protected: self.policy.protected_aliases.iter().any(|p| p == alias),
            metrics: keys
                .into_iter()
                .map(|k| MetricChange { key: k.clone(), from: a.get(k).copied(), to: b.get(k).copied() })
                .collect(),
            choices: versions.iter().map(|v| v.version).filter(|v| Some(*v) != from).collect(),
            gates: GateReport::default(),
            override_gates: None,
        }
    }

    fn entry(&self, plan: &MovePlan, phase: Phase, reason: &str) -> Entry {
        let judged = phase == Phase::Intent && (!plan.gates.results.is_empty() || plan.override_gates.is_some());
        Entry {
            phase,
            op: None,
            actor: self.actor(),
            action: plan.kind.verb().into(),
            registry: plan.registry.clone(),
            model: plan.model.clone(),
            alias: plan.alias.clone(),
            from: plan.from,
            to: Some(plan.to),
            reason: reason.to_string(),
            outcome: None,
            error: None,
            endpoint: None,
            gates: judged.then(|| serde_json::json!({"report": plan.gates, "override_reason": plan.override_gates})),
            segment: None,
        }
    }

    /// Carries out a plan (see `execute_with_progress`) without reporting progress.
    pub async fn execute(&self, plan: &MovePlan, reason: &str, confirmation: Option<&str>) -> Result<Record, OpError> {
        self.execute_with_progress(plan, reason, confirmation, &|_| {}).await
    }

    /// Carries out a plan: intent (fsynced), re-read the alias and refuse if it moved since the plan,
    /// move, read back and verify; with a binding for the alias, the endpoint step (reverting the alias
    /// when it fails); outcome. Every path after the intent writes an outcome. `confirmation` is what the
    /// operator typed for a protected alias (must equal the model name). Each step is sent to `progress`.
    pub async fn execute_with_progress(
        &self,
        plan: &MovePlan,
        reason: &str,
        confirmation: Option<&str>,
        progress: Progress<'_>,
    ) -> Result<Record, OpError> {
        let reason = reason.trim();
        let _lock = self.audit.lock_move(&plan.registry, &plan.model, &plan.alias)?;
        let precheck = self.precheck(plan, reason, confirmation).or(self.unsettled(plan)?);
        history::record_first_seen(&self.audit, &self.os_user, &plan.registry, &plan.model, &plan.aliases)?;
        let intent = self.audit.append(self.entry(plan, Phase::Intent, reason))?;
        let mut rep = endpoint::Reporter::new(progress);
        rep.ok(Step::Intent, format!("audit record {}", intent.seq));
        let closer = Closer { ops: self, plan, reason, intent: intent.seq };
        if let Some(why) = precheck {
            rep.failed(Step::CheckAlias, why.clone());
            closer.close(Outcome::Refused, Some(why.clone()), None)?;
            return Err(OpError::Refused(why));
        }
        if let Some(ms) = std::env::var(PAUSE_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(binding) = self.policy.binding(&plan.model, &plan.alias) {
            return self.move_bound(plan, binding, rep, &closer).await;
        }
        match self.move_alias(plan, &mut rep).await {
            Ok(remark) => {
                rep.ok(Step::Done, format!("{}@{} -> v{}", plan.model, plan.alias, plan.to));
                Ok(closer.close(Outcome::Succeeded, remark, None)?)
            }
            Err((e, why)) => {
                closer.close(outcome_of(&e), Some(why), None)?;
                Err(e)
            }
        }
    }

    /// Why no move may run on the plan's registry now: an earlier operation on it is not settled
    /// (interrupted, or its outcome unknown; with a team store, moves still running on other machines do
    /// not count). Checked under the operation lock.
    fn unsettled(&self, plan: &MovePlan) -> Result<Option<String>, OpError> {
        let records = self.audit.read_all()?;
        let open = crate::audit::open_intents(&records).into_iter().filter(|(i, _)| i.entry.registry == plan.registry).collect();
        let open = self.audit.without_running(open, Some((&plan.model, &plan.alias)))?.into_iter().next();
        Ok(open.map(|(intent, unknown)| {
            let e = &intent.entry;
            let state = if unknown.is_some() { "ended with its outcome unknown" } else { "was interrupted" };
            format!(
                "an earlier operation is not settled: {} of {}@{} ({} -> {}, audit record {}) {state}; run `steward audit recover` (or Resolve in the window) first",
                e.action,
                e.model,
                e.alias,
                show_version(e.from),
                show_version(e.to),
                intent.seq
            )
        }))
    }

    /// Why the plan may not run at all, if it may not.
    fn precheck(&self, plan: &MovePlan, reason: &str, confirmation: Option<&str>) -> Option<String> {
        let overridden = plan.override_gates.as_deref().is_some_and(|r| !r.trim().is_empty());
        let blocking: Vec<String> = plan
            .blocking_gates(overridden)
            .into_iter()
            .map(|g| if g.kind == "serving" { g.detail.clone() } else { format!("{} {}", g.name, g.verdict.phrase()) })
            .collect();
        let overridable = plan.gates_overridable();
        if reason.is_empty() {
            Some("a reason is required".to_string())
        } else if self.policy.read_only {
            Some("read-only mode: alias moves are disabled for this profile/run".to_string())
        } else if plan.protected && confirmation.map(str::trim) != Some(plan.model.as_str()) {
            Some(format!("'{}' is a protected alias: type the model name '{}' to confirm", plan.alias, plan.model))
        } else if !blocking.is_empty() {
            let hint = if overridable && !overridden {
                " (override with a reason: --override-gates, or Override... in the dialog)"
            } else {
                ""
            };
            Some(format!("required gates did not pass: {}; nothing was changed{hint}", blocking.join("; ")))
        } else {
            None
        }
    }

    /// A bound alias: the endpoint first (settings, load, ready, smoke inference: the target must serve
    /// before anything points to it), then the alias. If the endpoint step fails it is put back and the
    /// alias is never touched; if the alias cannot be moved the endpoint is put back; if the alias's state
    /// is unknown the endpoint is left serving the target and the record says so.
    async fn move_bound(
        &self,
        plan: &MovePlan,
        binding: &Binding,
        mut rep: endpoint::Reporter<'_>,
        closer: &Closer<'_, '_, R>,
    ) -> Result<Record, OpError> {
        let mut mv = match endpoint::EndpointMove::new(binding, self.policy.endpoint_timeout) {
            Ok(mv) => Some(mv),
            Err(e) => {
                rep.failed(Step::EndpointUpdate, e);
                None
            }
        };
        let result = match mv.as_mut() {
            Some(m) => m.run(plan.to, &mut rep).await,
            None => Err(format!("endpoint '{}' is not usable", binding.endpoint)),
        };
        let answer = mv.as_ref().and_then(|m| m.answer.clone());
        let note = |rep: &endpoint::Reporter<'_>| EndpointNote {
            endpoint: crate::connect::http::redact_url(&binding.endpoint),
            served_model: binding.served_model.clone(),
            steps: rep.lines.clone(),
            answer: answer.clone(),
        };
        let untouched = format!("the alias was not touched ({}@{} is still {})", plan.model, plan.alias, show_version(plan.from));
        if let Err(err) = result {
            let endpoint_state = put_back(mv.as_ref(), &mut rep).await;
            let why = format!("endpoint step failed: {err}; {endpoint_state}; {untouched}");
            rep.failed(Step::Done, format!("not moved: {endpoint_state}; alias untouched"));
            closer.close(Outcome::Failed, Some(why.clone()), Some(note(&rep)))?;
            return Err(OpError::Failed(why));
        }
        match self.move_alias(plan, &mut rep).await {
            Ok(remark) => {
                rep.ok(Step::Done, format!("{}@{} -> v{}, {} serves v{}", plan.model, plan.alias, plan.to, binding.served_model, plan.to));
                Ok(closer.close(Outcome::Succeeded, remark, Some(note(&rep)))?)
            }
            Err((OpError::Unknown(_), why)) => {
                let why = format!("{why}; {} serves v{} (left as it is until the alias's state is known)", binding.served_model, plan.to);
                closer.close(Outcome::Unknown, Some(why.clone()), Some(note(&rep)))?;
                Err(OpError::Unknown(why))
            }
            Err((e, why)) => {
                let endpoint_state = put_back(mv.as_ref(), &mut rep).await;
                let why = format!("{why}; {endpoint_state}");
                rep.failed(Step::Done, format!("not moved: {endpoint_state}"));
                closer.close(outcome_of(&e), Some(why.clone()), Some(note(&rep)))?;
                Err(match e {
                    OpError::Refused(_) => OpError::Refused(why),
                    OpError::Failed(_) => OpError::Failed(why),
                    other => other,
                })
            }
        }
    }
}

/// Puts the endpoint back as it was before the move; a sentence for the outcome record.
async fn put_back(mv: Option<&endpoint::EndpointMove<'_>>, rep: &mut endpoint::Reporter<'_>) -> String {
    match mv {
        Some(m) => m.revert(rep).await.unwrap_or_else(|e| format!("ENDPOINT NOT RESTORED: {e}")),
        None => "endpoint untouched".to_string(),
    }
}

/// The outcome record's word for how an operation ended.
fn outcome_of(e: &OpError) -> Outcome {
    match e {
        OpError::Refused(_) => Outcome::Refused,
        OpError::Unknown(_) => Outcome::Unknown,
        _ => Outcome::Failed,
    }
}

/// Writes the outcome record that closes one intent.
struct Closer<'o, 'a, R: Registry> {
    ops: &'o Ops<'a, R>,
    plan: &'o MovePlan,
    reason: &'o str,
    intent: u64,
}

impl<R: Registry> Closer<'_, '_, R> {
    fn close(&self, outcome: Outcome, error: Option<String>, endpoint: Option<EndpointNote>) -> Result<Record, AuditError> {
        let mut e = self.ops.entry(self.plan, Phase::Outcome, self.reason);
        e.op = Some(self.intent);
        e.outcome = Some(outcome);
        e.error = error;
        e.endpoint = endpoint;
        self.ops.audit.append(e)
    }
}

#[cfg(test)]
mod tests;
