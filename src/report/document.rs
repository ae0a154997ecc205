//! What a report says, once, as blocks (headings, facts, tables, charts) that the HTML, PDF and CSV
//! renderers draw. Strings here are raw (untrusted); each renderer makes them safe for its format.

use super::chart::Chart;
use super::text::{num, opt_num, signed, version, with_interval};
use super::*;

pub enum Block {
    Title(String),
    Heading(String),
    Subheading(String),
    Para(String),
    /// Label/value pairs; `name` is the CSV file stem when they are exported.
    Facts { name: Option<&'static str>, rows: Vec<(String, String)> },
    Table(Table),
    Chart(Chart),
    PageBreak,
}

pub struct Table {
    /// CSV file stem (unique within a report).
    pub name: String,
    pub columns: Vec<String>,
    /// Relative column widths (PDF).
    pub widths: Vec<f32>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(name: &str, columns: &[(&str, f32)]) -> Table {
        Table {
            name: name.to_string(),
            columns: columns.iter().map(|c| c.0.to_string()).collect(),
            widths: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }
}

/// Section titles (also what tests look for in the PDF text).
pub const SECTIONS: [&str; 11] = [
    "Summary",
    "Model details",
    "Versions",
    "Quantitative analysis",
    "Quality and drift",
    "Alias timeline",
    "Serving health",
    "Alerts",
    "Audit log",
    "Considerations",
    "How this report was made",
];

pub fn blocks(d: &ReportData) -> Vec<Block> {
    let mut b = vec![Block::Title(format!("Audit report: {}", d.model.name))];
    summary(d, &mut b);
    b.push(Block::PageBreak);
    details(d, &mut b);
    versions(d, &mut b);
    quantitative(d, &mut b);
    monitoring(d, &mut b);
    timeline(d, &mut b);
    health(d, &mut b);
    alerts(d, &mut b);
    audit(d, &mut b);
    b.push(Block::Heading(SECTIONS[9].into()));
    for c in &d.model.considerations {
        b.push(Block::Para(format!("• {c}")));
    }
    made(d, &mut b);
    b
}

/// Quality per version and week, and each week's drift, for the weeks of the period.
fn monitoring(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[4].into()));
    let Some(m) = &d.monitoring else {
        b.push(Block::Para("No prediction log was given: quality and drift over time were not assessed.".into()));
        return;
    };
    b.push(Block::Para(format!(
        "Per ISO week of prediction time that overlaps the period. Labels: {}. Unlabelled predictions are counted, never guessed. Intervals: {}",
        m.labels, m.method
    )));
    let est = |e: &Option<crate::monitoring::quality::Estimate>| e.map(|e| format!("{} [{}, {}]", num(e.value), num(e.low), num(e.high))).unwrap_or_else(|| "-".into());
    let mut t = Table::new("quality", &[("Version", 0.8), ("Week", 1.0), ("Rows", 0.8), ("Labelled", 0.8), ("Accuracy (95%)", 2.2), ("ROC AUC (95%)", 2.2)]);
    for q in &m.quality {
        t.rows.push(vec![q.version.as_deref().map(|v| format!("v{v}")).unwrap_or_else(|| "-".into()), q.window.clone(), q.rows.to_string(), q.labelled.to_string(), est(&q.accuracy), est(&q.roc_auc)]);
    }
    b.push(Block::Subheading("Quality by week".into()));
    b.push(Block::Table(t));
    b.push(Block::Subheading("Drift by week".into()));
    b.push(Block::Para(format!("Reference: {}. {}", m.drift_reference, m.drift_rule)));
    let mut t = Table::new("drift", &[("Week", 1.0), ("Rows", 0.8), ("Drifted columns", 1.2), ("Most severe (effect, verdict)", 4.0)]);
    for w in &m.drift {
        t.rows.push(vec![w.window.clone(), w.rows.to_string(), format!("{} of {}", w.drifted_columns, w.columns), w.top.join("; ")]);
    }
    b.push(Block::Table(t));
    for n in &m.notes {
        b.push(Block::Para(format!("Not computed: {n}")));
    }
}

fn period(d: &ReportData) -> String {
    format!("{} to {}", d.period.since.as_deref().unwrap_or("the first record"), d.period.until)
}

fn aliases(d: &ReportData) -> String {
    let a: Vec<String> = d.model.aliases.iter().map(|(k, v)| format!("{k} → v{v}")).collect();
    if a.is_empty() { "(none)".into() } else { a.join(", ") }
}

fn verification(d: &ReportData) -> String {
    let v = &d.audit.verification;
    match (&v.error, v.ok) {
        (Some(e), _) => format!("FAILED: {e}"),
        (None, true) => format!("OK: {} records, hash chain intact", v.records),
        (None, false) => "FAILED".into(),
    }
}

fn summary(d: &ReportData, b: &mut Vec<Block>) {
    let moves = |o: &str| d.timeline.iter().filter(|t| t.outcome.as_deref() == Some(o)).count();
    let observed = d.timeline.iter().filter(|t| t.kind == "observed").count();
    let mut rows = vec![
        ("Model".to_string(), d.model.name.clone()),
        ("Registry".into(), d.model.registry.clone()),
        ("Period".into(), period(d)),
        ("Versions".into(), d.versions.iter().map(|v| format!("v{}", v.version)).collect::<Vec<_>>().join(", ")),
        ("Aliases".into(), aliases(d)),
        (
            "Alias moves in the period".into(),
            format!("{} succeeded, {} failed, {} refused; {observed} observed outside Steward", moves("succeeded"), moves("failed"), moves("refused")),
        ),
        ("Moves not yet recorded".into(), d.unrecorded_moves.len().to_string()),
        ("Alerts raised".into(), d.alerts.iter().filter(|a| a.action == "alert_fired").count().to_string()),
        ("Serving health".into(), format!("{}: {}", d.health.status, d.health.note)),
    ];
    if let Some(f) = &d.fairness {
        for s in f.sections.iter().filter(|s| s.role.is_some()) {
            rows.push((
                format!("Fairness, {} ({})", s.role.as_deref().unwrap_or_default(), s.scope),
                format!(
                    "accuracy {}, demographic parity difference {}, flagged: {}",
                    with_interval(s.accuracy, s.accuracy_interval),
                    opt_num(s.demographic_parity_difference),
                    if s.flagged.is_empty() { "none".into() } else { s.flagged.join(", ") }
                ),
            ));
        }
    }
    rows.push(("Audit log".into(), verification(d)));
    rows.push(("Audit head hash".into(), d.audit.verification.head.clone().unwrap_or_else(|| "(empty log)".into())));
    rows.push(("Made".into(), format!("{} by {} with Steward {}", d.made.at, d.made.by, d.made.steward_version)));
    b.push(Block::Heading(SECTIONS[0].into()));
    b.push(Block::Facts { name: Some("summary"), rows });
}

fn details(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[1].into()));
    b.push(Block::Para(if d.model.description.is_empty() { "(no description)".into() } else { d.model.description.clone() }));
    let mut rows = vec![
        ("Name".to_string(), d.model.name.clone()),
        ("Registry".into(), d.model.registry.clone()),
        ("Created".into(), d.model.created_at.clone().unwrap_or_else(|| "-".into())),
        ("Updated".into(), d.model.updated_at.clone().unwrap_or_else(|| "-".into())),
        ("Aliases".into(), aliases(d)),
    ];
    rows.extend(d.model.tags.iter().map(|(k, v)| (format!("tag {k}"), v.clone())));
    b.push(Block::Facts { name: Some("model"), rows });
}

fn versions(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[2].into()));
    let mut t = Table::new(
        "versions",
        &[("Version", 0.8), ("Created", 1.8), ("By", 1.0), ("Aliases", 1.0), ("Status", 0.7), ("Source", 1.6), ("Run", 1.2), ("Description", 2.4)],
    );
    for v in &d.versions {
        t.rows.push(vec![
            format!("v{}", v.version),
            format!("{}{}", v.created_at.as_deref().unwrap_or("-"), if v.created_in_period { " (in period)" } else { "" }),
            v.created_by.clone().unwrap_or_else(|| "-".into()),
            v.aliases.join(", "),
            v.status.clone(),
            v.source.clone(),
            v.run_id.clone().unwrap_or_else(|| "-".into()),
            v.description.clone(),
        ]);
    }
    b.push(Block::Table(t));
    let mut tags = Table::new("version_tags", &[("Version", 0.6), ("Tag", 1.5), ("Value", 4.0)]);
    for v in &d.versions {
        tags.rows.extend(v.tags.iter().map(|(k, x)| vec![format!("v{}", v.version), k.clone(), x.clone()]));
    }
    if !tags.rows.is_empty() {
        b.push(Block::Subheading("Version tags".into()));
        b.push(Block::Table(tags));
    }
    let mut params = Table::new("parameters", &[("Version", 0.6), ("Parameter", 1.5), ("Value", 4.0)]);
    for v in &d.versions {
        params.rows.extend(v.params.iter().map(|(k, x)| vec![format!("v{}", v.version), k.clone(), x.clone()]));
    }
    b.push(Block::Subheading("Parameters".into()));
    b.push(Block::Table(params));
}

fn quantitative(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[3].into()));
    let mut keys: Vec<&String> = d.versions.iter().flat_map(|v| v.metrics.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut cols: Vec<(&str, f32)> = vec![("Version", 0.6)];
    cols.extend(keys.iter().map(|k| (k.as_str(), 1.0)));
    let mut t = Table::new("metrics", &cols);
    for v in &d.versions {
        let mut row = vec![format!("v{}", v.version)];
        row.extend(keys.iter().map(|k| opt_num(v.metrics.get(*k).copied())));
        t.rows.push(row);
    }
    b.push(Block::Subheading("Registry metrics by version".into()));
    b.push(Block::Table(t));
    if let Some(k) = keys.iter().find(|k| k.as_str() == "accuracy").or(keys.first()) {
        let pts: Vec<(f64, f64)> = d.versions.iter().filter_map(|v| v.metrics.get(*k).map(|x| (v.version as f64, *x))).collect();
        b.push(Block::Chart(Chart::Lines { title: format!("{k} by version"), x_is_time: false, series: vec![(k.to_string(), pts)] }));
    }
    if let Some(c) = &d.comparison {
        b.push(Block::Subheading(format!("Champion vs challenger (v{} vs v{})", c.champion, c.challenger)));
        let mut t = Table::new("champion_vs_challenger", &[("Metric", 2.0), ("Champion", 1.0), ("Challenger", 1.0), ("Difference", 1.0)]);
        for r in &c.rows {
            t.rows.push(vec![r.metric.clone(), opt_num(r.champion), opt_num(r.challenger), signed(r.difference)]);
        }
        b.push(Block::Table(t));
    }
    match &d.fairness {
        Some(f) => fairness(f, b),
        None => b.push(Block::Para("No prediction log was given: quality and fairness by group are not shown.".into())),
    }
}

fn fairness(f: &FairnessPart, b: &mut Vec<Block>) {
    b.push(Block::Para(format!(
        "From the prediction log {} ({} rows; groups by {}; label {}; decision from the {}; 95% Wilson intervals; four-fifths bounds [{}, {}] on the selection-rate ratio to the reference group).",
        f.file,
        f.rows,
        f.group_columns.join(", "),
        f.label,
        f.decision,
        num(f.four_fifths[0]),
        num(f.four_fifths[1])
    )));
    if let Some(q) = &f.query {
        let params: Vec<String> = q.params.iter().map(|p| num(*p)).collect();
        b.push(Block::Para(
            "The counts were computed where the log lives, by the query below (values bound as parameters, never in its text); a reviewer can run it again and compare the counts.".into(),
        ));
        b.push(Block::Facts {
            name: Some("fairness_query"),
            rows: vec![("Engine".into(), q.engine.clone()), ("Parameters".into(), format!("[{}]", params.join(", "))), ("Query".into(), q.sql.clone())],
        });
    }
    for (i, s) in f.sections.iter().enumerate() {
        let role = s.role.as_ref().map(|r| format!(", {r}")).unwrap_or_default();
        b.push(Block::Subheading(format!("Fairness by group: {}{role}", s.scope)));
        b.push(Block::Facts {
            name: None,
            rows: vec![
                ("Rows".into(), s.rows.to_string()),
                ("Accuracy".into(), with_interval(s.accuracy, s.accuracy_interval)),
                ("Reference group".into(), s.reference.clone().unwrap_or_else(|| "-".into())),
                ("Demographic parity difference".into(), opt_num(s.demographic_parity_difference)),
                ("Demographic parity ratio".into(), opt_num(s.demographic_parity_ratio)),
                ("Equalized odds difference".into(), opt_num(s.equalized_odds_difference)),
                ("Equal opportunity difference".into(), opt_num(s.equal_opportunity_difference)),
                ("Flagged (four-fifths)".into(), if s.flagged.is_empty() { "none".into() } else { s.flagged.join(", ") }),
            ],
        });
        let mut t = Table::new(
            &format!("fairness_{}", if i == 0 { "all".to_string() } else { s.version.clone().unwrap_or_default() }),
            &[("Group", 1.4), ("n", 0.6), ("Selection rate", 1.6), ("TPR", 1.6), ("FPR", 1.6), ("Accuracy", 1.6), ("Ratio to ref.", 0.8), ("Flag", 0.9)],
        );
        for g in &s.groups {
            let mut flag = if g.flagged { "four-fifths".to_string() } else { String::new() };
            if !g.warnings.is_empty() {
                flag = format!("{flag} small").trim().to_string();
            }
            t.rows.push(vec![
                g.key.clone(),
                g.count.to_string(),
                with_interval(g.selection_rate, g.selection_rate_interval),
                with_interval(g.true_positive_rate, g.true_positive_rate_interval),
                with_interval(g.false_positive_rate, g.false_positive_rate_interval),
                with_interval(g.accuracy, g.accuracy_interval),
                opt_num(g.selection_ratio_to_reference),
                flag,
            ]);
        }
        b.push(Block::Table(t));
        b.push(Block::Chart(Chart::Intervals {
            title: format!("Selection rate by group ({}), 95% intervals", s.scope),
            rows: s.groups.iter().map(|g| (g.key.clone(), g.selection_rate, g.selection_rate_interval, g.flagged)).collect(),
        }));
    }
}

fn timeline(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[5].into()));
    if d.timeline.is_empty() {
        b.push(Block::Para("No alias moves were recorded in the period.".into()));
    } else {
        let mut t = Table::new(
            "alias_timeline",
            &[("Seq", 0.5), ("Time (UTC)", 1.9), ("Alias", 0.9), ("Move", 0.8), ("Kind", 1.1), ("Actor", 0.8), ("Outcome", 0.8), ("Reason", 1.8), ("Gates", 2.0)],
        );
        for e in &d.timeline {
            let actor = match &e.registry_identity {
                Some(id) => format!("{} ({id})", e.actor),
                None => e.actor.clone(),
            };
            t.rows.push(vec![
                e.seq.to_string(),
                e.time.clone(),
                e.alias.clone(),
                format!("{} → {}", version(e.from), version(e.to)),
                format!("{} {}", e.kind, e.action),
                actor,
                e.outcome.clone().unwrap_or_else(|| "-".into()),
                e.reason.clone(),
                e.gates.join("; "),
            ]);
        }
        b.push(Block::Table(t));
    }
    if !d.unrecorded_moves.is_empty() {
        b.push(Block::Subheading("Aliases that differ from the audit log (moved outside Steward, not yet recorded)".into()));
        let mut t = Table::new("unrecorded_moves", &[("Alias", 1.0), ("Last recorded", 1.0), ("Registry now", 1.0)]);
        for m in &d.unrecorded_moves {
            t.rows.push(vec![m.alias.clone(), m.last_recorded.map_or("(not recorded)".into(), |v| format!("v{v}")), version(m.now)]);
        }
        b.push(Block::Table(t));
    }
}

fn health(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[6].into()));
    let h = &d.health;
    b.push(Block::Para(format!("{}{}", h.note, h.source.as_ref().map(|s| format!(" (source: {s})")).unwrap_or_default())));
    for (metric, title) in [("request_rate", "Request rate (1/s)"), ("error_rate", "Error rate"), ("latency_avg", "Average latency (s)")] {
        let series: Vec<(String, Vec<(f64, f64)>)> = h
            .series
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| (format!("{} v{}", s.served_model, s.version), s.points.iter().map(|p| (p[0], p[1])).collect()))
            .collect();
        if !series.is_empty() {
            b.push(Block::Chart(Chart::Lines { title: title.into(), x_is_time: true, series }));
        }
    }
    if !h.series.is_empty() {
        let mut t = Table::new("serving_health", &[("Served model", 1.5), ("Version", 0.7), ("Metric", 1.2), ("Mean", 1.0), ("Max", 1.0), ("Points", 0.7)]);
        for s in &h.series {
            t.rows.push(vec![s.served_model.clone(), s.version.clone(), s.metric.clone(), opt_num(s.mean), opt_num(s.max), s.points.len().to_string()]);
        }
        b.push(Block::Table(t));
    }
}

fn alerts(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[7].into()));
    if d.alerts.is_empty() {
        b.push(Block::Para("No alerts were raised in the period.".into()));
        return;
    }
    let mut t = Table::new("alerts", &[("Seq", 0.5), ("Time (UTC)", 1.9), ("Event", 1.0), ("Alert", 5.0)]);
    for a in &d.alerts {
        t.rows.push(vec![a.seq.to_string(), a.time.clone(), a.action.clone(), a.text.clone()]);
    }
    b.push(Block::Table(t));
}

fn audit(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[8].into()));
    let ex = &d.audit.excerpt;
    let hashed = ex.entries.iter().filter(|e| e.line.is_none()).count();
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    b.push(Block::Facts {
        name: Some("audit"),
        rows: vec![
            ("Log".into(), d.audit.log.clone()),
            ("Verification".into(), verification(d)),
            ("Head hash".into(), opt(&d.audit.verification.head)),
            ("Excerpt".into(), format!("{} records from record {} ({hashed} about other models, kept as hashes)", ex.entries.len(), ex.first_seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into()))),
            ("Previous hash of the first record".into(), opt(&ex.prev_of_first)),
            ("Hash of the last record".into(), opt(&ex.last_hash)),
            ("Excerpt ends at the head".into(), if ex.ends_at_head { "yes".into() } else { "no".into() }),
        ],
    });
    let mut t = Table::new(
        "audit_records",
        &[("Seq", 0.5), ("Time (UTC)", 1.9), ("Phase", 0.8), ("Action", 0.9), ("Alias", 0.8), ("Move", 0.8), ("Actor", 0.8), ("Outcome", 0.8), ("Reason", 2.2)],
    );
    for e in &ex.entries {
        let Some(line) = &e.line else { continue };
        match serde_json::from_str::<crate::audit::Record>(line) {
            Ok(r) => t.rows.push(vec![
                r.seq.to_string(),
                r.time.clone(),
                format!("{:?}", r.entry.phase).to_lowercase(),
                r.entry.action.clone(),
                r.entry.alias.clone(),
                format!("{} → {}", version(r.entry.from), version(r.entry.to)),
                r.entry.actor.os_user.clone(),
                r.entry.outcome.map(|o| o.word().to_string()).unwrap_or_else(|| "-".into()),
                match &r.entry.error {
                    Some(err) => format!("{} [{err}]", r.entry.reason),
                    None => r.entry.reason.clone(),
                },
            ]),
            Err(_) => t.rows.push(vec![e.seq.to_string(), "(unreadable record)".into()]),
        }
    }
    b.push(Block::Subheading(format!("Records about {} in the period", d.model.name)));
    b.push(Block::Table(t));
}

fn made(d: &ReportData, b: &mut Vec<Block>) {
    b.push(Block::Heading(SECTIONS[10].into()));
    let mut rows = vec![
        ("Made at".to_string(), d.made.at.clone()),
        ("Made by".into(), d.made.by.clone()),
        ("Steward version".into(), d.made.steward_version.clone()),
        ("Schema".into(), d.schema.clone()),
        ("Period".into(), period(d)),
    ];
    rows.extend(d.made.sources.iter().map(|s| ("Source".to_string(), s.clone())));
    rows.push((
        "Integrity".into(),
        "The JSON format of this report carries a SHA-256 digest of its canonical form and the audit-log excerpt; `steward report verify FILE.json` checks both.".into(),
    ));
    b.push(Block::Facts { name: Some("made"), rows });
}
