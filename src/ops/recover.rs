//! Unsettled operations: an intent with no outcome (the process died mid-operation) or with an `unknown`
//! outcome (Steward could not learn whether the registry changed). The registry's actual state is read,
//! the operator is told what happened, and the resolution is recorded.

use crate::audit::{AuditLog, Entry, Outcome, Phase, Record};
use crate::connect::Registry;
use crate::domain::{VersionNumber, show_version};

use super::OpError;

#[derive(Debug, Clone, PartialEq)]
pub struct Interrupted {
    pub intent: Record,
    /// The `unknown` outcome record, when the operation ended without knowing (else it was cut short).
    pub unknown: Option<Record>,
    /// Where the alias points now.
    pub actual: Option<VersionNumber>,
}

impl Interrupted {
    /// Did the interrupted move take effect?
    pub fn took_effect(&self) -> bool {
        self.actual == self.intent.entry.to
    }

    pub fn explain(&self) -> String {
        let e = &self.intent.entry;
        let how = match &self.unknown {
            Some(u) => format!("ended with its outcome unknown ({})", u.entry.error.as_deref().unwrap_or("no detail")),
            None => "was interrupted".to_string(),
        };
        let what = format!(
            "{} of {}@{} ({} -> {}) by {} at {} (record {}) {how}",
            e.action,
            e.model,
            e.alias,
            show_version(e.from),
            show_version(e.to),
            e.actor.who(),
            self.intent.time,
            self.intent.seq
        );
        let now = if self.took_effect() {
            format!("the registry shows it took effect: {}@{} is {}", e.model, e.alias, show_version(self.actual))
        } else if self.actual == e.from {
            format!("the registry shows it did not happen: {}@{} is still {}", e.model, e.alias, show_version(self.actual))
        } else {
            format!("{}@{} is now {}, neither the old nor the new version", e.model, e.alias, show_version(self.actual))
        };
        format!("{what}; {now}")
    }
}

/// Interrupted operations recorded against this registry, with the registry's state now.
pub async fn find_interrupted<R: Registry>(audit: &AuditLog, registry: &R) -> Result<Vec<Interrupted>, OpError> {
    let me = registry.describe();
    let mut out = Vec::new();
    // With a team store, a colleague's move still running (its alias lock held) is not interrupted.
    let open = audit.without_running(crate::audit::open_intents(&audit.read_all()?), None)?;
    for (intent, unknown) in open {
        if intent.entry.registry != me {
            continue;
        }
        let actual = registry.get_alias(&intent.entry.model, &intent.entry.alias).await?;
        out.push(Interrupted { intent, unknown, actual });
    }
    Ok(out)
}

/// Records what the registry showed for an interrupted operation, closing its intent.
pub fn resolve(audit: &AuditLog, os_user: &str, item: &Interrupted, note: &str) -> Result<Record, OpError> {
    let e = &item.intent.entry;
    let outcome = if item.took_effect() { Outcome::Succeeded } else { Outcome::Failed };
    Ok(audit.append(Entry {
        phase: Phase::Resolution,
        op: Some(item.intent.seq),
        actor: crate::audit::Actor::new(os_user.to_string(), e.actor.registry_identity.clone()),
        action: "recover".into(),
        registry: e.registry.clone(),
        model: e.model.clone(),
        alias: e.alias.clone(),
        from: e.from,
        to: item.actual,
        reason: if note.trim().is_empty() { item.explain() } else { format!("{}; {}", note.trim(), item.explain()) },
        outcome: Some(outcome),
        error: if item.took_effect() { None } else { Some("the interrupted move did not take effect".into()) },
        endpoint: None,
        gates: None,
        segment: None,
    })?)
}
