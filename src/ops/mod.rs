//! Operator actions on aliases (promote, roll back) and what is derived from their records (history,
//! last known good, moves observed outside Steward, recovery of interrupted operations).
//!
//! The same code serves the window and the command line. Checks are enforced here, not in the UI.

mod history;
mod recover;

pub use history::{AliasEvent, EventKind, alias_at, history, last_known_good, observe, parse_as_of, reconcile};
pub use recover::{Interrupted, find_interrupted, resolve};

use std::collections::BTreeMap;
use std::time::Duration;

use crate::audit::{Actor, AuditError, AuditLog, Entry, Outcome, Phase, Record};
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
}

impl MovePlan {
    pub fn describe(&self) -> String {
        format!("{} {}@{}: {} -> v{}", self.kind.verb(), self.model, self.alias, show_version(self.from), self.to)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A check said no (conflict, read-only, protected alias without confirmation, nothing to do).
    #[error("refused: {0}")]
    Refused(String),
    /// The action ran but did not end as planned (e.g. the read-back disagreed).
    #[error("failed: {0}")]
    Failed(String),
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
            OpError::Registry(e) => e.exit_code(),
            OpError::Audit(_) => 1,
        }
    }
}

/// Policy for this run (from the profile and flags).
#[derive(Debug, Clone)]
pub struct Policy {
    pub read_only: bool,
    pub protected_aliases: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { read_only: false, protected_aliases: vec!["champion".into(), "production".into()] }
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
        Actor { os_user: self.os_user.clone(), registry_identity: self.registry.identity() }
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
        Ok(self.plan(MoveKind::Promote, model, alias, from, version, &versions))
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
                OpError::Refused(format!(
                    "Steward has no record of an earlier version of {model}@{alias}; choose one with --to VERSION"
                ))
            })?,
        };
        if !versions.iter().any(|v| v.version == target) {
            return Err(RegistryError::NotFound { what: format!("version {target} of model '{model}'") }.into());
        }
        if from == Some(target) {
            return Err(OpError::Refused(format!("{model}@{alias} already points to v{target}; nothing to do")));
        }
        Ok(self.plan(MoveKind::Rollback, model, alias, from, target, &versions))
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
        MovePlan {
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
        }
    }

    fn entry(&self, plan: &MovePlan, phase: Phase, reason: &str) -> Entry {
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
        }
    }

    /// Carries out a plan: intent (fsynced), re-read the alias and refuse if it moved since the plan,
    /// move, read back and verify, outcome. Every path after the intent writes an outcome.
    /// `confirmation` is what the operator typed for a protected alias (must equal the model name).
    pub async fn execute(&self, plan: &MovePlan, reason: &str, confirmation: Option<&str>) -> Result<Record, OpError> {
        let reason = reason.trim();
        let precheck = if reason.is_empty() {
            Some("a reason is required".to_string())
        } else if self.policy.read_only {
            Some("read-only mode: alias moves are disabled for this profile/run".to_string())
        } else if plan.protected && confirmation.map(str::trim) != Some(plan.model.as_str()) {
            Some(format!("'{}' is a protected alias: type the model name '{}' to confirm", plan.alias, plan.model))
        } else {
            None
        };
        let _lock = self.audit.lock_operations()?;
        let intent = self.audit.append(self.entry(plan, Phase::Intent, reason))?;
        let close = |outcome: Outcome, error: Option<String>| {
            let mut e = self.entry(plan, Phase::Outcome, reason);
            e.op = Some(intent.seq);
            e.outcome = Some(outcome);
            e.error = error;
            self.audit.append(e)
        };
        if let Some(why) = precheck {
            close(Outcome::Refused, Some(why.clone()))?;
            return Err(OpError::Refused(why));
        }
        if let Some(ms) = std::env::var(PAUSE_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let now = match self.registry.get_alias(&plan.model, &plan.alias).await {
            Ok(v) => v,
            Err(e) => {
                close(Outcome::Failed, Some(format!("could not re-read the alias: {e}")))?;
                return Err(e.into());
            }
        };
        if now != plan.from {
            let why = format!(
                "conflict: {}@{} moved from {} to {} since this plan was made; nothing was changed",
                plan.model,
                plan.alias,
                show_version(plan.from),
                show_version(now)
            );
            close(Outcome::Refused, Some(why.clone()))?;
            return Err(OpError::Refused(why));
        }
        if let Err(e) = self.registry.set_alias(&plan.model, &plan.alias, plan.to).await {
            close(Outcome::Failed, Some(e.to_string()))?;
            return Err(e.into());
        }
        match self.registry.get_alias(&plan.model, &plan.alias).await {
            Ok(Some(v)) if v == plan.to => Ok(close(Outcome::Succeeded, None)?),
            Ok(other) => {
                let why = format!("verification failed: after the move {}@{} points to {other:?}", plan.model, plan.alias);
                close(Outcome::Failed, Some(why.clone()))?;
                Err(OpError::Failed(why))
            }
            Err(e) => {
                close(Outcome::Failed, Some(format!("moved, but could not read it back: {e}")))?;
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests;
