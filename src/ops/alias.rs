//! Moving the alias itself: re-read (conflict check), set, read back; and when the registry's answer
//! is lost or contradicts itself, re-reading until the registry's real state is known, or saying that it
//! is not. The outcome of a move is never guessed:
//!
//! | what happened | re-reads show | outcome |
//! |---|---|---|
//! | write refused by the registry (4xx: auth, not found, invalid) | (not re-read) | failed |
//! | write reply lost (timeout, reset, 5xx, not the registry's answer) | the target | succeeded (remark says the reply was lost) |
//! | write reply lost | the old version, on every read for at least `NOT_MOVED_AFTER` | failed |
//! | write accepted | the target (at once or on a re-read) | succeeded |
//! | write accepted | the old version until the budget ends (a stale read) | unknown |
//! | either | another version, or no answer until the budget ends | unknown |
//!
//! Re-reads back off from 250 ms, doubling to 2 s, within a budget of the per-call timeout
//! (`Policy::endpoint_timeout`, which is `--timeout`).

use std::time::{Duration, Instant};

use super::endpoint::{Reporter, Step};
use super::{MovePlan, OpError, Ops};
use crate::connect::{Registry, RegistryError};
use crate::domain::{VersionNumber, show_version};

/// After a lost write reply, the old version must be seen this long after the write before the move
/// counts as not made (a request still in flight through a proxy could land a little later).
const NOT_MOVED_AFTER: Duration = Duration::from_secs(1);

/// What re-reading the alias after an uncertain write showed.
#[derive(Debug, Clone, PartialEq)]
enum Settled {
    /// The alias points to the plan's target.
    Moved { reads: u32 },
    /// The alias still points where the plan found it, on every successful read.
    NotMoved { reads: u32 },
    /// The alias points to a version neither the plan's source nor target.
    Elsewhere(Option<VersionNumber>),
    /// No read succeeded within the budget.
    Unreadable(String),
}

/// Whether the registry answered the write itself and said no, so nothing changed: authentication,
/// permission, not found, invalid request. Anything else (no answer, a timeout, a reset, a 5xx that a
/// gateway may have sent, a page that is not the registry's answer) may hide a move that happened.
fn refused_by_registry(e: &RegistryError) -> bool {
    matches!(
        e,
        RegistryError::AuthenticationFailed { .. }
            | RegistryError::PermissionDenied { .. }
            | RegistryError::NotFound { .. }
            | RegistryError::Invalid { .. }
            | RegistryError::Unsupported(_)
            | RegistryError::Corrupt { .. }
    )
}

impl<R: Registry> Ops<'_, R> {
    /// Re-read (conflict check), set, read back. `Ok(remark)`: the alias points to the target (the remark
    /// says how it was confirmed when the first answer was lost or stale). An error comes with the sentence
    /// for the outcome record: `Refused` when nothing moved because of a conflict, `Failed` when the
    /// registry shows nothing moved, `Unknown` when Steward cannot tell.
    pub(super) async fn move_alias(&self, plan: &MovePlan, rep: &mut Reporter<'_>) -> Result<Option<String>, (OpError, String)> {
        let (model, alias) = (&plan.model, &plan.alias);
        rep.running(Step::CheckAlias, format!("{model}@{alias}"));
        let now = match self.registry.get_alias(model, alias).await {
            Ok(v) => v,
            Err(e) => {
                let why = format!("could not re-read the alias before moving it, so nothing was changed: {e}");
                rep.failed(Step::CheckAlias, e.to_string());
                return Err((OpError::from(e), why));
            }
        };
        if now != plan.from {
            let why = format!(
                "conflict: {model}@{alias} moved from {} to {} since this plan was made; nothing was changed",
                show_version(plan.from),
                show_version(now)
            );
            rep.failed(Step::CheckAlias, why.clone());
            return Err((OpError::Refused(why.clone()), why));
        }
        rep.ok(Step::CheckAlias, format!("still {}", show_version(now)));
        rep.running(Step::SetAlias, format!("{model}@{alias} -> v{}", plan.to));
        let target = format!("{model}@{alias} -> v{}", plan.to);
        match self.registry.set_alias(model, alias, plan.to).await {
            Ok(()) => {
                rep.ok(Step::SetAlias, target);
                self.read_back(plan, rep).await
            }
            Err(e) if refused_by_registry(&e) => {
                rep.failed(Step::SetAlias, e.to_string());
                let why = format!("the registry refused the move, nothing was changed: {e}");
                Err((OpError::from(e), why))
            }
            Err(e) => {
                rep.failed(Step::SetAlias, format!("no answer from the registry ({e}); re-reading the alias"));
                self.after_lost_reply(plan, e, rep).await
            }
        }
    }

    /// The registry accepted the write: read it back, re-reading while the answer is missing or stale.
    async fn read_back(&self, plan: &MovePlan, rep: &mut Reporter<'_>) -> Result<Option<String>, (OpError, String)> {
        let (model, alias, to) = (&plan.model, &plan.alias, plan.to);
        let first = self.registry.get_alias(model, alias).await;
        if matches!(first, Ok(Some(v)) if v == to) {
            rep.ok(Step::VerifyAlias, format!("v{to}"));
            return Ok(None);
        }
        let seen = match &first {
            Ok(v) => format!("showed {}", show_version(*v)),
            Err(e) => format!("failed ({e})"),
        };
        rep.running(Step::VerifyAlias, format!("the first read-back {seen}; re-reading"));
        let unknown = |detail: String, rep: &mut Reporter<'_>| {
            let why = format!(
                "the registry accepted the move of {model}@{alias} to v{to}, but {detail}: Steward could not confirm                  it; the operation stays open until `steward audit recover` reads the registry"
            );
            rep.failed(Step::VerifyAlias, why.clone());
            Err((OpError::Unknown(why.clone()), why))
        };
        match self.settle(plan, false).await {
            Settled::Moved { reads } => {
                rep.ok(Step::VerifyAlias, format!("v{to} (confirmed on re-read {reads})"));
                Ok(Some(format!("the first read-back {seen}; re-read {reads} confirmed v{to}")))
            }
            Settled::NotMoved { reads } => unknown(
                format!("{reads} reads over {:.1} s still show {} (a stale or lagging read)", self.settle_budget().as_secs_f64(), show_version(plan.from)),
                rep,
            ),
            Settled::Elsewhere(v) => unknown(format!("it now points to {}, neither the old nor the new version", show_version(v)), rep),
            Settled::Unreadable(e) => unknown(format!("it could not be read back ({e})"), rep),
        }
    }

    /// The write's reply was lost (it may or may not have reached the registry): re-read to find out.
    async fn after_lost_reply(&self, plan: &MovePlan, err: RegistryError, rep: &mut Reporter<'_>) -> Result<Option<String>, (OpError, String)> {
        let (model, alias, to) = (&plan.model, &plan.alias, plan.to);
        match self.settle(plan, true).await {
            Settled::Moved { reads } => {
                rep.ok(Step::VerifyAlias, format!("v{to}: the move took effect (re-read {reads})"));
                Ok(Some(format!("the registry's reply to the move was lost ({err}); re-read {reads} showed {model}@{alias} at v{to}")))
            }
            Settled::NotMoved { reads } => {
                let why = format!(
                    "the move was not made: the registry did not answer it ({err}) and {reads} re-reads show {model}@{alias} still at {}",
                    show_version(plan.from)
                );
                rep.failed(Step::VerifyAlias, why.clone());
                Err((OpError::Failed(why.clone()), why))
            }
            Settled::Elsewhere(v) => {
                let why = format!(
                    "the registry did not answer the move ({err}) and {model}@{alias} now points to {}, neither the old nor the new                      version: Steward cannot tell whether its move took effect; the operation stays open until `steward audit recover`",
                    show_version(v)
                );
                rep.failed(Step::VerifyAlias, why.clone());
                Err((OpError::Unknown(why.clone()), why))
            }
            Settled::Unreadable(e) => {
                let why = format!(
                    "the registry did not answer the move of {model}@{alias} to v{to} ({err}) and could not be re-read ({e}):                      Steward cannot tell whether it moved; the operation stays open until `steward audit recover`"
                );
                rep.failed(Step::VerifyAlias, why.clone());
                Err((OpError::Unknown(why.clone()), why))
            }
        }
    }

    /// How long re-reads may go on: the per-call timeout.
    fn settle_budget(&self) -> Duration {
        self.policy.endpoint_timeout
    }

    /// Re-reads the alias with backoff until its state is known or the budget ends. After a lost reply
    /// (`reply_lost`), the old version seen `NOT_MOVED_AFTER` after the start counts as not moved; after
    /// an accepted write the old version is a stale read and re-reading goes on to the end of the budget.
    async fn settle(&self, plan: &MovePlan, reply_lost: bool) -> Settled {
        let (model, alias) = (&plan.model, &plan.alias);
        let budget = self.settle_budget();
        let start = Instant::now();
        let mut delay = Duration::from_millis(250);
        let (mut reads, mut old_seen, mut last_error) = (0u32, false, None::<String>);
        loop {
            tokio::time::sleep(delay.min(budget.saturating_sub(start.elapsed()))).await;
            match self.registry.get_alias(model, alias).await {
                Ok(Some(v)) if v == plan.to => return Settled::Moved { reads: reads + 1 },
                Ok(v) if v == plan.from => {
                    reads += 1;
                    old_seen = true;
                    if reply_lost && start.elapsed() >= NOT_MOVED_AFTER.min(budget) {
                        return Settled::NotMoved { reads };
                    }
                }
                Ok(v) => return Settled::Elsewhere(v),
                Err(e) => last_error = Some(e.to_string()),
            }
            delay = (delay * 2).min(Duration::from_secs(2));
            if start.elapsed() >= budget {
                break;
            }
        }
        match (old_seen, last_error) {
            (true, _) => Settled::NotMoved { reads },
            (false, e) => Settled::Unreadable(e.unwrap_or_else(|| "no answer".into())),
        }
    }
}
