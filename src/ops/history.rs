//! The timeline of alias moves, derived from the audit log: Steward's own moves (outcome records),
//! moves noticed outside Steward (observed), and the follow-up of interrupted operations (resolution).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::{Actor, AuditError, AuditLog, Entry, Outcome, Phase, Record};
use crate::domain::VersionNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Moved by Steward (promote, rollback): the outcome record.
    Action,
    /// Seen changed (or seen for the first time) by Steward while polling: moved outside Steward.
    Observed,
    /// The registry state recorded after an interrupted operation.
    Resolution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliasEvent {
    pub seq: u64,
    pub time: String,
    pub kind: EventKind,
    pub action: String,
    pub actor: Actor,
    pub model: String,
    pub alias: String,
    pub from: Option<VersionNumber>,
    pub to: Option<VersionNumber>,
    pub reason: String,
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
}

impl AliasEvent {
    /// Whether the alias pointed to `to` after this event.
    pub fn moved(&self) -> bool {
        match self.kind {
            EventKind::Action => self.outcome == Some(Outcome::Succeeded),
            EventKind::Observed | EventKind::Resolution => true,
        }
    }

    /// Who made the move: the operator for Steward's own moves; for a move observed in the registry,
    /// not known (the OS user recorded is only who noticed it).
    pub fn who(&self) -> String {
        match self.kind {
            EventKind::Observed => format!("unknown (outside Steward; noticed by {})", self.actor.who()),
            _ => self.actor.who(),
        }
    }
}

/// The events of one model (optionally one alias) in one registry, oldest first.
pub fn history(records: &[Record], registry: &str, model: &str, alias: Option<&str>) -> Vec<AliasEvent> {
    records
        .iter()
        .filter(|r| r.entry.registry == registry && r.entry.model == model)
        .filter(|r| alias.is_none_or(|a| r.entry.alias == a))
        .filter_map(|r| {
            let kind = match r.entry.phase {
                Phase::Outcome => EventKind::Action,
                Phase::Observed => EventKind::Observed,
                Phase::Resolution => EventKind::Resolution,
                Phase::Intent => return None,
            };
            Some(AliasEvent {
                seq: r.seq,
                time: r.time.clone(),
                kind,
                action: r.entry.action.clone(),
                actor: r.entry.actor.clone(),
                model: r.entry.model.clone(),
                alias: r.entry.alias.clone(),
                from: r.entry.from,
                to: r.entry.to,
                reason: r.entry.reason.clone(),
                outcome: r.entry.outcome,
                error: r.entry.error.clone(),
            })
        })
        .collect()
}

/// The last version each alias was known to point to (None: known to be unset).
fn last_known(events: &[AliasEvent]) -> BTreeMap<String, Option<VersionNumber>> {
    let mut out = BTreeMap::new();
    for e in events.iter().filter(|e| e.moved()) {
        out.insert(e.alias.clone(), e.to);
    }
    out
}

/// Where the alias pointed before its most recent move to `current`: the rollback proposal.
pub fn last_known_good(
    records: &[Record],
    registry: &str,
    model: &str,
    alias: &str,
    current: Option<VersionNumber>,
) -> Option<VersionNumber> {
    history(records, registry, model, Some(alias))
        .iter()
        .rev()
        .find(|e| e.moved() && e.to == current && e.from.is_some() && e.from != current)
        .and_then(|e| e.from)
}

/// Which alias events the Audit view and `steward history` show. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// A part of who acted, `user@host` (any case); "unknown" matches moves made outside Steward.
    pub actor: String,
    /// The alias, exactly.
    pub alias: String,
    /// From this day (its start) or time, UTC ([`parse_period`]).
    pub since: String,
    /// Until this day (its end) or time, UTC.
    pub until: String,
}

impl EventFilter {
    /// Errors: a `since` or `until` that is neither a day nor a time.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [("since", &self.since), ("until", &self.until)] {
            if !v.trim().is_empty() && parse_period(v).is_none() {
                return Err(format!("{name} '{}': expected YYYY-MM-DD or an RFC 3339 time (UTC)", v.trim()));
            }
        }
        Ok(())
    }

    /// Whether `e` passes (a bad date matches nothing; [`Self::check`] says why).
    pub fn matches(&self, e: &AliasEvent) -> bool {
        let actor = self.actor.trim().to_lowercase();
        if !actor.is_empty() && !e.who().to_lowercase().contains(&actor) {
            return false;
        }
        if !self.alias.trim().is_empty() && e.alias != self.alias.trim() {
            return false;
        }
        let t = DateTime::parse_from_rfc3339(&e.time).ok().map(|t| t.with_timezone(&Utc));
        // (start, end, end is exclusive): a day ends where the next begins; a time is an instant.
        let bound = |s: &str| -> Option<Option<(DateTime<Utc>, DateTime<Utc>, bool)>> {
            if s.trim().is_empty() {
                return Some(None);
            }
            parse_period(s).map(|(a, b)| Some(if a == b { (a, b, false) } else { (a, a + chrono::Duration::days(1), true) }))
        };
        match (bound(&self.since), bound(&self.until), t) {
            (Some(since), Some(until), Some(t)) => {
                since.is_none_or(|(s, _, _)| t >= s) && until.is_none_or(|(_, u, exclusive)| if exclusive { t < u } else { t <= u })
            }
            (Some(None), Some(None), _) => true,
            _ => false,
        }
    }
}

/// An "as of" time typed by an operator: RFC 3339, or a date meaning the end of that day (UTC).
pub fn parse_as_of(s: &str) -> Option<DateTime<Utc>> {
    parse_period(s).map(|(_, end)| end)
}

/// A period typed by an operator: a date is the whole day (UTC, start and end of it); a time
/// ("2026-11-29 10:00", "2026-11-29T10:00", with or without seconds, UTC) or RFC 3339 is one instant
/// (start == end).
pub fn parse_period(s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let s = s.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0)?.and_utc();
        return Some((start, d.and_hms_opt(23, 59, 59)?.and_utc()));
    }
    for f in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            let t = t.and_utc();
            return Some((t, t));
        }
    }
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    Some((t, t))
}

/// Where `alias` pointed at `start` and every move of it in (start, end], in order: a day can hold
/// several versions, and a single answer would hide all but one.
pub fn alias_during(
    events: &[AliasEvent],
    alias: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (Option<VersionNumber>, Vec<(DateTime<Utc>, Option<VersionNumber>)>) {
    let first = alias_at(events, alias, start);
    let moves = events
        .iter()
        .filter(|e| e.alias == alias && e.moved())
        .filter_map(|e| Some((DateTime::parse_from_rfc3339(&e.time).ok()?.with_timezone(&Utc), e.to)))
        .filter(|(t, _)| *t > start && *t <= end)
        .collect();
    (first, moves)
}

/// What `alias` pointed to at time `at`, from the recorded events (None when unknown or unset).
pub fn alias_at(events: &[AliasEvent], alias: &str, at: DateTime<Utc>) -> Option<VersionNumber> {
    let mut v = None;
    for e in events.iter().filter(|e| e.alias == alias && e.moved()) {
        let t = DateTime::parse_from_rfc3339(&e.time).ok()?.with_timezone(&Utc);
        if t > at {
            break;
        }
        v = e.to;
    }
    v
}

/// Compares the registry's aliases of a model now with what Steward last knew and records every
/// difference as an observed move (and every alias seen for the first time). Returns the new records.
pub fn reconcile(
    audit: &AuditLog,
    os_user: &str,
    registry: &str,
    model: &str,
    now: &BTreeMap<String, VersionNumber>,
) -> Result<Vec<Record>, AuditError> {
    observe(audit, os_user, registry, model, now).map(|(_, seen)| seen)
}

/// `reconcile`, returning also the model's whole history (observations included), from one read of the log.
pub fn observe(
    audit: &AuditLog,
    os_user: &str,
    registry: &str,
    model: &str,
    now: &BTreeMap<String, VersionNumber>,
) -> Result<(Vec<AliasEvent>, Vec<Record>), AuditError> {
    // A colleague's move running now (team store) is not "outside Steward": its outcome comes later.
    let running = audit.running_aliases(registry, model, now.keys())?;
    let mut events = history(&audit.read_all()?, registry, model, None);
    let now: BTreeMap<String, VersionNumber> = now.iter().filter(|(a, _)| !running.contains(*a)).map(|(a, v)| (a.clone(), *v)).collect();
    let mut known = last_known(&events);
    known.retain(|a, _| !running.contains(a));
    let out = append_observations(audit, os_user, registry, model, &now, &known, false)?;
    events.extend(history(&out, registry, model, None));
    Ok((events, out))
}

/// Records, as "first seen by Steward", each alias in `snapshot` that this log has no record of
/// (nothing else: a snapshot taken before this home's own later moves must not contradict them).
/// Called before a move's intent, so that pre-existing aliases come first in the history.
pub fn record_first_seen(
    audit: &AuditLog,
    os_user: &str,
    registry: &str,
    model: &str,
    snapshot: &BTreeMap<String, VersionNumber>,
) -> Result<Vec<Record>, AuditError> {
    let known = last_known(&history(&audit.read_all()?, registry, model, None));
    append_observations(audit, os_user, registry, model, snapshot, &known, true)
}

fn append_observations(
    audit: &AuditLog,
    os_user: &str,
    registry: &str,
    model: &str,
    now: &BTreeMap<String, VersionNumber>,
    known: &BTreeMap<String, Option<VersionNumber>>,
    only_new: bool,
) -> Result<Vec<Record>, AuditError> {
    let mut out = Vec::new();
    let mut aliases: Vec<&String> = known.keys().chain(now.keys()).collect();
    aliases.sort();
    aliases.dedup();
    for alias in aliases {
        let was = known.get(alias).copied();
        let is = now.get(alias).copied();
        let (from, reason) = match was {
            None => (None, "first seen by Steward"),
            Some(w) if w == is || only_new => continue,
            Some(w) => (w, "moved outside Steward (noticed by polling)"),
        };
        if was.is_none() && is.is_none() {
            continue;
        }
        out.push(audit.append(Entry {
            phase: Phase::Observed,
            op: None,
            actor: Actor::new(os_user.to_string(), None),
            action: if was.is_none() { "alias_seen".into() } else { "alias_moved".into() },
            registry: registry.to_string(),
            model: model.to_string(),
            alias: alias.clone(),
            from,
            to: is,
            reason: reason.into(),
            outcome: None,
            error: None,
            endpoint: None,
            gates: None,
            segment: None,
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn event(time: &str, alias: &str, user: &str, host: Option<&str>, kind: EventKind) -> AliasEvent {
        AliasEvent {
            seq: 1,
            time: time.into(),
            kind,
            action: "promote".into(),
            actor: Actor { os_user: user.into(), registry_identity: None, host: host.map(str::to_string) },
            model: "m".into(),
            alias: alias.into(),
            from: None,
            to: Some(2),
            reason: "r".into(),
            outcome: Some(Outcome::Succeeded),
            error: None,
        }
    }

    #[test]
    fn the_filter_matches_actor_and_host_alias_and_a_period_of_whole_days() {
        let a = event("2026-11-20T23:59:59.500Z", "champion", "alice", Some("ops-laptop"), EventKind::Action);
        let b = event("2026-11-21T00:00:00.000Z", "challenger", "bob", None, EventKind::Action);
        let c = event("2026-11-22T10:00:00.000Z", "champion", "carol", Some("ci"), EventKind::Observed);
        let f = |actor: &str, alias: &str, since: &str, until: &str| EventFilter { actor: actor.into(), alias: alias.into(), since: since.into(), until: until.into() };
        let pick = |flt: EventFilter| [&a, &b, &c].iter().filter(|e| flt.matches(e)).map(|e| e.actor.os_user.clone()).collect::<Vec<_>>();
        assert_eq!(pick(f("", "", "", "")), ["alice", "bob", "carol"]);
        assert_eq!(pick(f("LAPTOP", "", "", "")), ["alice"]);
        assert_eq!(pick(f("unknown", "", "", "")), ["carol"], "moves outside Steward");
        assert_eq!(pick(f("", "champion", "", "")), ["alice", "carol"]);
        // A day is the whole day, from its start to the start of the next.
        assert_eq!(pick(f("", "", "2026-11-21", "")), ["bob", "carol"]);
        assert_eq!(pick(f("", "", "", "2026-11-21")), ["alice", "bob"]);
        // Until a day includes its last half second.
        assert_eq!(pick(f("", "", "", "2026-11-20")), ["alice"]);
        assert_eq!(pick(f("", "", "2026-11-20T23:59:59Z", "2026-11-21T00:00:00Z")), ["alice", "bob"]);
        assert!(f("", "", "yesterday", "").check().is_err());
        assert!(pick(f("", "", "yesterday", "")).is_empty());
    }
}
