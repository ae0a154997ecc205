//! Human table and flat CSV renderings of a report (JSON is the report itself, through serde).

use crate::domain::csv_cell;
use std::fmt::Write;

use super::rates::Metric;
use super::report::{GroupRates, Report, Section};

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.4}"))
}

fn with_ci(g: &GroupRates, m: Metric) -> String {
    match (g.rate(m), g.intervals.get(m.name()).copied().flatten()) {
        (Some(v), Some([lo, hi])) if !g.undefined.contains_key(m.name()) => format!("{v:.3} [{lo:.3},{hi:.3}]"),
        (Some(v), _) => format!("{v:.3} (n/a)"),
        (None, _) => "n/a".to_string(),
    }
}

fn table_rows(out: &mut String, s: &Section) {
    let _ = writeln!(
        out,
        "{:<28} {:>9} {:>6} {:>21} {:>21} {:>21} {:>9} {:>9}  4/5",
        "GROUP", "COUNT", "BASE", "SELECTION [95% CI]", "TPR [95% CI]", "FPR [95% CI]", "PRECISION", "ACCURACY"
    );
    let reference = s.reference.key.as_deref();
    for g in std::iter::once(&s.overall).chain(&s.groups) {
        let mut mark = String::new();
        if Some(g.key.as_str()) == reference && g.key != "overall" {
            mark.push_str("reference");
        } else if s.reference.flagged.contains(&g.key) && g.key != "overall" {
            mark.push_str("FLAG");
        }
        if !g.warnings.is_empty() {
            mark.push_str(if mark.is_empty() { "small" } else { ", small" });
        }
        let key: String = g.key.chars().take(28).collect();
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>6} {:>21} {:>21} {:>21} {:>9} {:>9}  {}",
            key,
            g.count,
            g.base_rate.map_or("n/a".into(), |x| format!("{x:.3}")),
            with_ci(g, Metric::SelectionRate),
            with_ci(g, Metric::TruePositiveRate),
            with_ci(g, Metric::FalsePositiveRate),
            g.precision.map_or("n/a".into(), |x| format!("{x:.4}")),
            g.accuracy.map_or("n/a".into(), |x| format!("{x:.4}")),
            mark
        );
    }
}

fn disparity_lines(out: &mut String, s: &Section) {
    let d = &s.disparities;
    let _ = writeln!(
        out,
        "demographic parity: difference {}  ratio {}\nequalized odds:     difference {}  ratio {}\nequal opportunity:  difference {}  ratio {}",
        num(d.demographic_parity_difference),
        num(d.demographic_parity_ratio),
        num(d.equalized_odds_difference),
        num(d.equalized_odds_ratio),
        num(d.equal_opportunity_difference),
        num(d.equal_opportunity_ratio)
    );
    let r = &s.reference;
    match &r.key {
        Some(k) => {
            let flagged = if r.flagged.is_empty() { "none".to_string() } else { r.flagged.join(", ") };
            let _ = writeln!(
                out,
                "reference group: {k} ({}); selection-rate ratio outside [{}, {}] (four-fifths rule): {flagged}",
                r.chosen, r.bounds[0], r.bounds[1]
            );
        }
        None => {
            let _ = writeln!(out, "reference group: none");
        }
    }
}

/// The report as text for a terminal.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}): {} rows counted, {} skipped", r.file, r.format, r.rows, r.skipped_rows);
    if let Some(q) = &r.query {
        let params: Vec<String> = q.params.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(out, "query ({:?}; parameters [{}]):\n{}\n", q.dialect, params.join(", "), q.sql);
    }
    for e in &r.skipped_examples {
        let _ = writeln!(out, "  skipped: {e}");
    }
    let dec = match (&r.decision.positive, r.decision.threshold) {
        (_, Some(t)) => format!("score '{}' {} {t}", r.decision.column, if r.decision.strict { ">" } else { ">=" }),
        (Some(p), _) => format!("prediction '{}' in {{{}}}", r.decision.column, p.join(", ")),
        _ => r.decision.column.clone(),
    };
    let _ = writeln!(
        out,
        "groups: {}   label: '{}' positive '{}'{}   decision: {dec}{}\n",
        r.group_columns.join(" x "),
        r.label.column,
        r.label.values.positive,
        r.label.values.negative.as_ref().map(|n| format!(" negative '{n}'")).unwrap_or_default(),
        if r.fairlearn_compat { "   (Fairlearn-compatible: undefined rates shown as 0.0)" } else { "" }
    );
    table_rows(&mut out, &r.main);
    out.push('\n');
    disparity_lines(&mut out, &r.main);
    for (col, s) in &r.marginals {
        let _ = writeln!(out, "\nby {col} alone:");
        table_rows(&mut out, s);
        disparity_lines(&mut out, s);
    }
    for w in &r.windows {
        let label = w.iso_week.as_ref().map(|i| format!("{} ({i})", w.window)).unwrap_or_else(|| w.window.clone());
        let _ = writeln!(out, "\nwindow {label}:");
        table_rows(&mut out, &w.section);
        disparity_lines(&mut out, &w.section);
    }
    for v in &r.versions {
        let _ = writeln!(out, "\nmodel version {}:", v.version);
        table_rows(&mut out, &v.section);
        disparity_lines(&mut out, &v.section);
    }
    if let Some(s) = &r.threshold_sweep {
        let _ = writeln!(out, "\nthreshold sweep (selection rate at 0.1 .. 0.9; full curves in --format json):");
        for c in std::iter::once(&s.overall).chain(&s.groups) {
            let pts: Vec<String> = (1..10).map(|i| num(c.selection_rate.get(i * 10).copied().flatten())).collect();
            let _ = writeln!(out, "  {:<28} {}", c.key, pts.join(" "));
        }
    }
    if !r.main.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings ({}):", r.small_group_rule);
        for w in &r.main.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    for g in std::iter::once(&r.main.overall).chain(&r.main.groups) {
        for (m, why) in &g.undefined {
            let _ = writeln!(out, "  {}: {m} {why}", g.key);
        }
    }
    out
}


fn csv_rows(out: &mut String, section: &str, window: &str, version: &str, s: &Section) {
    for g in std::iter::once(&s.overall).chain(&s.groups) {
        let c = &g.confusion;
        let mut line = format!(
            "{},{},{},{},{},{},{},{},{}",
            csv_cell(section),
            csv_cell(window),
            csv_cell(version),
            csv_cell(&g.key),
            g.count,
            c.tp,
            c.fp,
            c.tn,
            c.fn_
        );
        for m in Metric::ALL {
            line.push(',');
            if let Some(v) = g.rate(m) {
                line.push_str(&v.to_string());
            }
        }
        for m in Metric::ALL {
            match g.intervals.get(m.name()).copied().flatten() {
                Some([lo, hi]) => line.push_str(&format!(",{lo},{hi}")),
                None => line.push_str(",,"),
            }
        }
        let flag = s.reference.flagged.contains(&g.key);
        // The overall row has an empty flag; a group that is itself called "overall" has true/false.
        let overall = std::ptr::eq(g, &s.overall);
        let _ = writeln!(out, "{line},{}", if overall { "" } else if flag { "true" } else { "false" });
    }
}

/// The report as CSV: one row per group and section (groups, each marginal, each window, each version).
pub fn csv(r: &Report) -> String {
    let mut out = String::from("section,window,version,group,count,tp,fp,tn,fn");
    for m in Metric::ALL {
        out.push(',');
        out.push_str(m.name());
    }
    for m in Metric::ALL {
        let _ = write!(out, ",{0}_ci_low,{0}_ci_high", m.name());
    }
    out.push_str(",four_fifths_flag\n");
    csv_rows(&mut out, "groups", "", "", &r.main);
    for (col, s) in &r.marginals {
        csv_rows(&mut out, &format!("marginal:{col}"), "", "", s);
    }
    for w in &r.windows {
        csv_rows(&mut out, "window", &w.window, "", &w.section);
    }
    for v in &r.versions {
        csv_rows(&mut out, "version", "", &v.version, &v.section);
    }
    out
}
