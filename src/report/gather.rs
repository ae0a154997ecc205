//! Gathers a report's data from the registry, the audit log, an optional prediction log and Prometheus.
//! Reads only: the audit log is not appended to (moves not yet recorded are reported as such).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use super::*;
use crate::audit::{AuditLog, Record, sha256_hex};
use crate::config::Profile;
use crate::connect::http::redact_url;
use crate::connect::{AnyRegistry, Registry};
use crate::domain::{ModelVersion, RegisteredModel};
use crate::fairness::report::Section;
use crate::fairness::{Metric, Report};
use crate::ops::{AliasEvent, EventKind, history};
use crate::sources::LogRef;

/// Longest health range asked of Prometheus (longer periods show their last 90 days).
const MAX_HEALTH_RANGE_S: f64 = 90.0 * 86400.0;
/// Health range when the period has no start.
const DEFAULT_HEALTH_RANGE_S: f64 = 86400.0;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn in_period(t: Option<DateTime<Utc>>, opts: &Options, until: DateTime<Utc>) -> bool {
    t.is_some_and(|t| opts.since.is_none_or(|s| t >= s) && t <= until)
}

/// Gathers everything a report shows. `progress` hears of each step as it starts.
pub async fn gather(
    registry: &AnyRegistry,
    audit: &AuditLog,
    profile: Option<&Profile>,
    opts: &Options,
    progress: &Progress,
) -> Result<ReportData, ReportError> {
    let until = opts.until.unwrap_or_else(Utc::now);
    let describe = registry.describe();
    progress.step(0.0, "reading the model from the registry");
    let model = registry.get_model(&opts.model).await?;
    progress.step(0.15, "reading versions");
    let versions = registry.list_versions(&opts.model).await?;
    progress.step(0.35, "reading and verifying the audit log");
    let (lines, records) = read_lines(audit)?;
    let verification = check_chain(audit);
    let mut sources = vec![describe.clone(), audit.describe()];
    progress.step(0.45, "reading the prediction log");
    let (fairness, monitoring) = match &opts.fairness_log {
        Some(log @ LogRef::Sql(sql)) => {
            sources.push(format!("prediction log {log}, counted in {} (the query is in the fairness section)", sql.engine().name()));
            let (f, _) = fairness_part(log, opts.fairness_mapping.clone(), opts.timeout, &model).await?;
            (Some(f), None)
        }
        Some(log @ LogRef::File(p)) => {
            sources.push(format!("prediction log {}", p.display()));
            let (f, spec) = fairness_part(log, opts.fairness_mapping.clone(), opts.timeout, &model).await?;
            progress.step(0.55, "quality and drift by week");
            let (p, m, since) = (p.clone(), model.clone(), opts.since);
            let part = tokio::task::spawn_blocking(move || monitoring::part(&p, &spec, &m, since, until)).await.map_err(|e| ReportError::Fairness(e.to_string()))?;
            if let Some(l) = model.tags.get("label_log").filter(|_| part.labels.starts_with("label log")) {
                sources.push(format!("label log {l}"));
            }
            (Some(f), Some(part))
        }
        None => (None, None),
    };
    progress.step(0.7, "reading serving health");
    let health = health_part(profile, opts, &model.name, until, &mut sources).await;
    progress.step(0.9, "assembling the report");
    let events = history(&records, &describe, &opts.model, None);
    let mut data = ReportData {
        schema: SCHEMA.into(),
        made: Made {
            at: rfc3339(Utc::now()),
            by: opts.made_by.clone(),
            steward_version: crate::version().into(),
            sources,
        },
        period: Period { since: opts.since.map(rfc3339), until: rfc3339(until) },
        comparison: comparison(&model, &versions, fairness.as_ref()),
        versions: version_cards(&versions, opts, until),
        timeline: timeline(&records, &describe, opts, until),
        unrecorded_moves: unrecorded(&events, &model.aliases),
        health,
        alerts: alerts(&records, &opts.model, opts, until),
        audit: AuditPart {
            log: audit.store().map(|s| s.display().to_string()).unwrap_or_else(|| audit.path().display().to_string()),
            excerpt: excerpt(&lines, &records, &opts.model, opts, until),
            verification,
        },
        model: model_card(&model, &describe, fairness.as_ref()),
        fairness,
        monitoring,
        digest: None,
    };
    scrub_secrets(&mut data);
    progress.step(1.0, "done");
    Ok(data)
}

/// The log's lines and their parsed records (same order). Lines that do not parse end the read; the
/// chain check reports them.
fn read_lines(audit: &AuditLog) -> Result<(Vec<String>, Vec<Record>), ReportError> {
    let (bytes, _) = audit.snapshot().map_err(|e| ReportError::io(audit.path(), e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = Vec::new();
    let mut records = Vec::new();
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let Ok(rec) = serde_json::from_str::<Record>(line) else { break };
        lines.push(line.to_string());
        records.push(rec);
    }
    Ok((lines, records))
}

fn check_chain(audit: &AuditLog) -> ChainCheck {
    if audit.store().is_none() && !audit.path().exists() {
        return ChainCheck { ok: true, records: 0, head: None, error: None };
    }
    match audit.verify() {
        Ok(v) => ChainCheck { ok: true, records: v.count, head: (v.count > 0).then_some(v.head), error: None },
        Err(e) => ChainCheck { ok: false, records: 0, head: None, error: Some(e) },
    }
}

fn model_card(m: &RegisteredModel, registry: &str, fairness: Option<&FairnessPart>) -> ModelCard {
    let mut considerations = Vec::new();
    for key in ["intended_use", "limitations", "ethical_considerations", "sensitive_attributes", "owner"] {
        if let Some(v) = m.tags.get(key) {
            considerations.push(format!("{key}: {v}"));
        }
    }
    if let Some(f) = fairness {
        for s in f.sections.iter().filter(|s| !s.flagged.is_empty()) {
            considerations.push(format!(
                "{}: selection rate of {} outside the four-fifths bounds [{}, {}] relative to {}",
                s.scope,
                s.flagged.join(", "),
                f.four_fifths[0],
                f.four_fifths[1],
                s.reference.as_deref().unwrap_or("-")
            ));
        }
    } else {
        considerations.push("No prediction log was given: fairness by group was not assessed.".into());
    }
    ModelCard {
        registry: registry.to_string(),
        name: m.name.clone(),
        description: m.description.clone(),
        tags: m.tags.clone(),
        aliases: m.aliases.clone(),
        created_at: m.created_at.map(rfc3339),
        updated_at: m.updated_at.map(rfc3339),
        considerations,
    }
}

/// Versions that existed in the period (created before its end, or of unknown date), oldest first.
fn version_cards(versions: &[ModelVersion], opts: &Options, until: DateTime<Utc>) -> Vec<VersionCard> {
    let mut out: Vec<VersionCard> = versions
        .iter()
        .filter(|v| v.created_at.is_none_or(|t| t <= until))
        .map(|v| VersionCard {
            version: v.version,
            created_at: v.created_at.map(rfc3339),
            created_by: v.created_by.clone(),
            created_in_period: in_period(v.created_at, opts, until),
            status: v.status.clone(),
            stage: v.legacy_stage.clone(),
            description: v.description.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            aliases: v.aliases.clone(),
            tags: v.tags.clone(),
            params: v.params.clone(),
            metrics: v.metrics.clone(),
        })
        .collect();
    out.sort_by_key(|v| v.version);
    out
}

fn comparison(m: &RegisteredModel, versions: &[ModelVersion], fairness: Option<&FairnessPart>) -> Option<Comparison> {
    let (champion, challenger) = (*m.aliases.get("champion")?, *m.aliases.get("challenger")?);
    let find = |n| versions.iter().find(|v| v.version == n);
    let (a, b) = (find(champion)?, find(challenger)?);
    let mut keys: Vec<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut rows: Vec<CompareRow> = keys
        .into_iter()
        .map(|k| compare_row(k, a.metrics.get(k).copied(), b.metrics.get(k).copied()))
        .collect();
    if let Some(f) = fairness {
        let acc = |v: u64| f.sections.iter().find(|s| s.version.as_deref() == Some(&v.to_string())).and_then(|s| s.accuracy);
        rows.push(compare_row("accuracy on the prediction log", acc(champion), acc(challenger)));
        let dpd = |v: u64| {
            f.sections.iter().find(|s| s.version.as_deref() == Some(&v.to_string())).and_then(|s| s.demographic_parity_difference)
        };
        rows.push(compare_row("demographic parity difference", dpd(champion), dpd(challenger)));
    }
    Some(Comparison { champion, challenger, rows })
}

fn compare_row(metric: &str, a: Option<f64>, b: Option<f64>) -> CompareRow {
    CompareRow { metric: metric.to_string(), champion: a, challenger: b, difference: a.zip(b).map(|(a, b)| b - a) }
}

fn timeline(records: &[Record], registry: &str, opts: &Options, until: DateTime<Utc>) -> Vec<TimelineEntry> {
    let by_seq: BTreeMap<u64, &Record> = records.iter().map(|r| (r.seq, r)).collect();
    history(records, registry, &opts.model, None)
        .into_iter()
        .filter(|e| in_period(DateTime::parse_from_rfc3339(&e.time).ok().map(|t| t.with_timezone(&Utc)), opts, until))
        .map(|e| {
            let mut gates = Vec::new();
            if let Some(err) = &e.error {
                gates.push(err.clone());
            }
            // The gates judged at the intent (and any override), from the intent this outcome closes.
            let judged = by_seq
                .get(&e.seq)
                .and_then(|r| r.entry.op)
                .and_then(|op| by_seq.get(&op))
                .and_then(|i| i.entry.gates.as_ref())
                .map(|g| {
                    let report: crate::ops::GateReport = serde_json::from_value(g["report"].clone()).unwrap_or_default();
                    (report, g["override_reason"].as_str().map(str::to_string))
                });
            if let Some((report, overridden)) = &judged {
                gates.extend(report.results.iter().map(|r| format!("gate {}", r.line())));
                if let Some(why) = overridden {
                    gates.push(format!("gates overridden by the operator: {why}"));
                }
            }
            if let Some(note) = by_seq.get(&e.seq).and_then(|r| r.entry.endpoint.as_ref()) {
                gates.push(format!("endpoint {} ({})", redact_url(&note.endpoint), note.served_model));
                gates.extend(note.steps.iter().cloned());
            }
            if e.kind == EventKind::Action && e.outcome == Some(crate::audit::Outcome::Succeeded) {
                match &judged {
                    Some((r, None)) if r.all_passed() => gates.push("checks passed; alias read back".into()),
                    Some(_) => {}
                    None if gates.is_empty() => gates.push("no gates ran; alias read back".into()),
                    None => {}
                }
            }
            TimelineEntry {
                seq: e.seq,
                time: e.time.clone(),
                kind: format!("{:?}", e.kind).to_lowercase(),
                action: e.action.clone(),
                alias: e.alias.clone(),
                from: e.from,
                to: e.to,
                actor: e.actor.os_user.clone(),
                registry_identity: e.actor.registry_identity.clone(),
                reason: e.reason.clone(),
                outcome: e.outcome.map(|o| o.word().to_string()),
                gates,
            }
        })
        .collect()
}

/// Aliases whose registry state differs from the last state the log knows.
fn unrecorded(events: &[AliasEvent], now: &BTreeMap<String, VersionNumber>) -> Vec<UnrecordedMove> {
    let mut known: BTreeMap<&str, Option<VersionNumber>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.moved()) {
        known.insert(&e.alias, e.to);
    }
    let mut names: Vec<&str> = known.keys().copied().chain(now.keys().map(String::as_str)).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|a| {
            let last = known.get(a).copied().flatten();
            let cur = now.get(a).copied();
            (!known.contains_key(a) || last != cur).then(|| UnrecordedMove { alias: a.to_string(), last_recorded: last, now: cur })
        })
        .collect()
}

fn alerts(records: &[Record], model: &str, opts: &Options, until: DateTime<Utc>) -> Vec<AlertEntry> {
    records
        .iter()
        .filter(|r| r.entry.action.starts_with("alert_") && r.entry.model == model && in_period(r.time(), opts, until))
        .map(|r| AlertEntry { seq: r.seq, time: r.time.clone(), action: r.entry.action.clone(), text: r.entry.reason.clone() })
        .collect()
}

/// The consecutive records from the first to the last record of the period; records about other models
/// are kept as hashes only.
fn excerpt(lines: &[String], records: &[Record], model: &str, opts: &Options, until: DateTime<Utc>) -> Excerpt {
    let inside: Vec<usize> = (0..records.len()).filter(|i| in_period(records[*i].time(), opts, until)).collect();
    let (Some(&first), Some(&last)) = (inside.first(), inside.last()) else {
        return Excerpt { first_seq: None, prev_of_first: None, last_hash: None, ends_at_head: false, entries: Vec::new() };
    };
    let entries = (first..=last)
        .map(|i| {
            let verbatim = records[i].entry.model == model;
            ExcerptEntry {
                seq: records[i].seq,
                line: verbatim.then(|| lines[i].clone()),
                line_sha256: (!verbatim).then(|| sha256_hex(lines[i].as_bytes())),
            }
        })
        .collect();
    Excerpt {
        first_seq: Some(records[first].seq),
        prev_of_first: Some(records[first].prev.clone()),
        last_hash: Some(sha256_hex(lines[last].as_bytes())),
        ends_at_head: last + 1 == records.len(),
        entries,
    }
}

/// The fairness tables from a file or a SQL log; the mapping is the one given (a profile entry's) or
/// guessed from the column names, as the Fairness view guesses it.
async fn fairness_part(
    log: &LogRef,
    mapping: Option<crate::fairness::mapping::Mapping>,
    timeout: std::time::Duration,
    model: &RegisteredModel,
) -> Result<(FairnessPart, crate::fairness::Spec), ReportError> {
    let l = log.clone();
    let (report, spec) = tokio::task::spawn_blocking(move || -> Result<(Report, crate::fairness::Spec), String> {
        let mapping = match mapping {
            Some(m) => m,
            None => crate::fairness::mapping::Mapping::guess(&l.columns(timeout).map_err(|e| e.to_string())?),
        };
        let spec = mapping.spec()?;
        let report = l.analyze(&spec, timeout, &crate::fairness::Progress::new()).map_err(|e| e.to_string())?;
        Ok((report, spec))
    })
    .await
    .map_err(|e| ReportError::Fairness(e.to_string()))?
    .map_err(ReportError::Fairness)?;
    let role = |v: &str| {
        model.aliases.iter().filter(|(_, n)| n.to_string() == v).map(|(a, _)| a.clone()).find(|a| a == "champion" || a == "challenger")
    };
    let mut sections = vec![section("all rows".into(), None, None, &report.main)];
    for vs in &report.versions {
        sections.push(section(format!("v{}", vs.version), Some(vs.version.clone()), role(&vs.version), &vs.section));
    }
    Ok((FairnessPart {
        file: log.to_string(),
        query: report.query.as_ref().map(|q| FairnessQuery { engine: format!("{:?}", q.dialect).to_lowercase(), sql: q.sql.clone(), params: q.params.clone() }),
        rows: report.rows,
        group_columns: report.group_columns.clone(),
        label: report.label.column.clone(),
        decision: match &spec.decision {
            crate::fairness::Decision::Prediction { column, .. } => format!("prediction column {column}"),
            crate::fairness::Decision::Score { column, threshold } => format!("score column {column} >= {threshold}"),
        },
        version_column: spec.version.clone(),
        four_fifths: [spec.four_fifths.0, spec.four_fifths.1],
        sections,
    }, spec))
}

fn section(scope: String, version: Option<String>, role: Option<String>, s: &Section) -> FairnessSection {
    let iv = |g: &crate::fairness::GroupRates, m: Metric| g.intervals.get(m.name()).copied().flatten();
    let groups = s
        .groups
        .iter()
        .map(|g| {
            let to_ref = s.reference.groups.iter().find(|r| r.key == g.key);
            GroupRow {
                key: g.key.clone(),
                count: g.count,
                selection_rate: g.selection_rate,
                selection_rate_interval: iv(g, Metric::SelectionRate),
                true_positive_rate: g.true_positive_rate,
                true_positive_rate_interval: iv(g, Metric::TruePositiveRate),
                false_positive_rate: g.false_positive_rate,
                false_positive_rate_interval: iv(g, Metric::FalsePositiveRate),
                accuracy: g.accuracy,
                accuracy_interval: iv(g, Metric::Accuracy),
                selection_ratio_to_reference: to_ref.and_then(|r| r.metrics.get("selection_rate")).and_then(|m| m.ratio),
                flagged: to_ref.is_some_and(|r| r.flagged),
                warnings: g.warnings.clone(),
            }
        })
        .collect();
    FairnessSection {
        scope,
        version,
        role,
        rows: s.overall.count,
        accuracy: s.overall.accuracy,
        accuracy_interval: iv(&s.overall, Metric::Accuracy),
        reference: s.reference.key.clone(),
        demographic_parity_difference: s.disparities.demographic_parity_difference,
        demographic_parity_ratio: s.disparities.demographic_parity_ratio,
        equalized_odds_difference: s.disparities.equalized_odds_difference,
        equal_opportunity_difference: s.disparities.equal_opportunity_difference,
        flagged: s.reference.flagged.clone(),
        groups,
    }
}

/// Per-version request rate, error rate and latency over the period, for the served models of this
/// model (its name, and the served names of its bindings). Failures become a note, not an error.
async fn health_part(
    profile: Option<&Profile>,
    opts: &Options,
    model: &str,
    until: DateTime<Utc>,
    sources: &mut Vec<String>,
) -> Health {
    let none = |status: &str, note: String, source: Option<String>| Health { status: status.into(), note, source, series: Vec::new() };
    let Some(prom) = profile.and_then(|p| p.prometheus.as_deref()) else {
        return none("not_configured", "no Prometheus in the active profile: serving health not shown".into(), None);
    };
    let source = format!("Prometheus at {}", redact_url(prom));
    sources.push(source.clone());
    let mut served: Vec<String> = vec![model.to_string()];
    served.extend(profile.into_iter().flat_map(|p| &p.bindings).filter(|b| b.model == model).map(|b| b.served_model.clone()));
    let end = until.timestamp_millis() as f64 / 1000.0;
    let range = opts.since.map_or(DEFAULT_HEALTH_RANGE_S, |s| (until - s).num_milliseconds() as f64 / 1000.0);
    let range = range.clamp(60.0, MAX_HEALTH_RANGE_S);
    let hist = match crate::serving::monitor::history(prom, opts.timeout, range, end).await {
        Ok(h) => h,
        Err(e) => return none("error", format!("Prometheus query failed: {e}"), Some(source)),
    };
    let series: Vec<HealthSeries> = hist
        .into_iter()
        .filter(|((m, _, _), _)| served.contains(m))
        .map(|((m, v, metric), pts)| {
            let vals: Vec<f64> = pts.iter().map(|p| p.1).collect();
            HealthSeries {
                served_model: m,
                version: v,
                metric: metric.to_string(),
                mean: (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64),
                max: vals.iter().copied().reduce(f64::max),
                points: pts.into_iter().map(|(t, v)| [t, v]).collect(),
            }
        })
        .collect();
    if series.is_empty() {
        return none("no_data", format!("Prometheus has no series for {} in the period", served.join(", ")), Some(source));
    }
    Health { status: "ok".into(), note: format!("served as {}", served.join(", ")), source: Some(source), series }
}

/// Replaces credentials from the environment wherever they appear in the report (outside the audit
/// excerpt, whose lines must stay verbatim), in case a registry or server echoed one back.
fn scrub_secrets(data: &mut ReportData) {
    let secrets = crate::connect::credentials::known_secrets();
    if secrets.is_empty() {
        return;
    }
    let audit = data.audit.clone();
    let Ok(mut v) = serde_json::to_value(&*data) else { return };
    scrub_value(&mut v, &secrets);
    if let Ok(mut clean) = serde_json::from_value::<ReportData>(v) {
        clean.audit = audit;
        *data = clean;
    }
}

fn scrub_value(v: &mut serde_json::Value, secrets: &[String]) {
    match v {
        serde_json::Value::String(s) => {
            for sec in secrets {
                if s.contains(sec.as_str()) {
                    *s = s.replace(sec.as_str(), "[redacted]");
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| scrub_value(x, secrets)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|x| scrub_value(x, secrets)),
        _ => {}
    }
}
