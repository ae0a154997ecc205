//! The fairness gate: the disparity of the target and the current holder from the fairness engine's
//! per-version report, with Newcombe's interval per version and the MOVER interval of the change (see
//! the parent module's doc for the sources and what the intervals assume).

use std::path::{Path, PathBuf};

use super::{Estimate, GateResult, Verdict};
use crate::config::{FairnessMeasure, Gate, GateKind};
use crate::domain::VersionNumber;
use crate::fairness::report::{GroupRates, Section};
use crate::fairness::{Metric, Report, Z95, wilson};
use sha2::{Digest, Sha256};

/// Newcombe's hybrid score interval (method 10) for p1 - p2 from the two proportions and their Wilson
/// intervals. Source: Newcombe RG (1998), Stat Med 17:873-890.
pub fn newcombe(p1: f64, w1: [f64; 2], p2: f64, w2: [f64; 2]) -> [f64; 2] {
    let d = p1 - p2;
    [d - ((p1 - w1[0]).powi(2) + (w2[1] - p2).powi(2)).sqrt(), d + ((w1[1] - p1).powi(2) + (p2 - w2[0]).powi(2)).sqrt()]
}

/// The MOVER interval of a - b from the intervals of a and b (independent). Source: Zou GY, Donner A
/// (2008), Stat Med 27:1693-1702.
pub fn mover_difference(a: Estimate, b: Estimate) -> Estimate {
    let d = a.value - b.value;
    let interval = match (a.interval, b.interval) {
        (Some([la, ua]), Some([lb, ub])) => Some([
            d - ((a.value - la).powi(2) + (ub - b.value).powi(2)).sqrt(),
            d + ((ua - a.value).powi(2) + (b.value - lb).powi(2)).sqrt(),
        ]),
        _ => None,
    };
    Estimate { value: d, interval }
}

/// The largest minus the smallest group rate of `m`, with Newcombe's interval from those two groups'
/// Wilson intervals, and the two groups' keys. None when fewer than two groups have the rate.
fn rate_difference(groups: &[GroupRates], m: Metric) -> Option<(Estimate, String, String)> {
    let rated: Vec<(&GroupRates, Estimate)> = groups.iter().filter_map(|g| Some((g, rate_estimate(g, m)?))).collect();
    let hi = rated.iter().max_by(|a, b| a.1.value.total_cmp(&b.1.value))?;
    let lo = rated.iter().min_by(|a, b| a.1.value.total_cmp(&b.1.value))?;
    if rated.len() < 2 {
        return None;
    }
    let [(p1, w1), (p2, w2)] = [hi, lo].map(|(_, e)| (e.value, e.interval.unwrap_or([e.value; 2])));
    let interval = newcombe(p1, w1, p2, w2);
    Some((Estimate { value: p1 - p2, interval: Some(interval) }, hi.0.key.clone(), lo.0.key.clone()))
}

/// A version's value of `measure` in `section` (the engine's disparity, with Newcombe's interval) and
/// which groups set it.
pub fn measure_of(section: &Section, measure: FairnessMeasure) -> Option<(Estimate, String)> {
    let (est, hi, lo) = match measure {
        FairnessMeasure::DemographicParityDifference => rate_difference(&section.groups, Metric::SelectionRate)?,
        FairnessMeasure::EqualOpportunityDifference => rate_difference(&section.groups, Metric::TruePositiveRate)?,
        FairnessMeasure::EqualizedOddsDifference => {
            let tpr = rate_difference(&section.groups, Metric::TruePositiveRate);
            let fpr = rate_difference(&section.groups, Metric::FalsePositiveRate);
            match (tpr, fpr) {
                (Some(t), Some(f)) => {
                    if t.0.value >= f.0.value {
                        t
                    } else {
                        f
                    }
                }
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => return None,
            }
        }
    };
    // The point value is the engine's own disparity (the same number the Fairness view shows).
    let engine = match measure {
        FairnessMeasure::DemographicParityDifference => section.disparities.demographic_parity_difference,
        FairnessMeasure::EqualOpportunityDifference => section.disparities.equal_opportunity_difference,
        FairnessMeasure::EqualizedOddsDifference => section.disparities.equalized_odds_difference,
    };
    let value = engine.unwrap_or(est.value);
    Some((Estimate { value, interval: est.interval }, format!("{hi} vs {lo}")))
}

/// Where a value stands against an upper bound, by its interval: wholly below -> pass, wholly above ->
/// fail, straddling -> inconclusive. Without an interval the point decides.
pub(super) fn against_upper(e: &Estimate, bound: f64) -> Verdict {
    match e.interval {
        Some([_, hi]) if hi <= bound => Verdict::Pass,
        Some([lo, _]) if lo > bound => Verdict::Fail,
        Some(_) => Verdict::Inconclusive,
        None if e.value <= bound => Verdict::Pass,
        None => Verdict::Fail,
    }
}

/// What a fairness gate needs from the prediction log, computed once per log and group columns.
pub struct LogEvidence {
    pub path: PathBuf,
    pub report: Report,
    /// size in bytes, SHA-256 of the file
    pub size: u64,
    pub sha256: String,
}

/// Reads the log once for `groups` by version (blocking: the engine uses both cores).
pub fn read_log(path: &Path, groups: &[String]) -> Result<LogEvidence, String> {
    let (columns, _) = crate::fairness::columns(path).map_err(|e| e.to_string())?;
    let mut mapping = crate::fairness::mapping::Mapping::guess(&columns);
    if !groups.is_empty() {
        mapping.group = groups.to_vec();
    }
    if mapping.version.is_empty() {
        return Err(format!("{}: no model_version (or version) column to tell versions apart", path.display()));
    }
    for g in groups {
        if !columns.contains(g) {
            return Err(format!("{}: no column '{g}' (columns: {})", path.display(), columns.join(", ")));
        }
    }
    let spec = mapping.spec()?;
    let report = crate::fairness::analyze(path, &spec, &crate::fairness::Progress::new()).map_err(|e| e.to_string())?;
    // Hashed as a stream: memory stays bounded whatever the log's size.
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut hasher = Sha256::new();
    crate::domain::regular_file(path)?;
    let size = std::io::copy(&mut std::fs::File::open(path).map_err(io)?, &mut hasher).map_err(io)?;
    Ok(LogEvidence { path: path.to_path_buf(), report, size, sha256: hex::encode(hasher.finalize()) })
}

/// The fairness gate on evidence already read (or the reason it could not be read).
pub fn fairness_gate(
    gate: &Gate,
    evidence: Result<&LogEvidence, &String>,
    current: Option<VersionNumber>,
    target: VersionNumber,
) -> GateResult {
    let GateKind::Fairness { measure, max, max_worsening, min_group_size, .. } = &gate.check else {
        unreachable!("fairness_gate is called for fairness gates")
    };
    let bound = [max.map(|m| format!("target <= {m:.4}")), max_worsening.map(|w| format!("change <= +{w:.4}"))];
    let mut r = GateResult::open(gate, "fairness", bound.into_iter().flatten().collect::<Vec<_>>().join(" and "));
    let interval = "Newcombe (Wilson) per version; MOVER for the change, versions treated as independent";
    let Some(ev) = with_log(&mut r, evidence, interval) else { return r };
    let section = |v: VersionNumber| version_section(ev, v);
    let Some(t_sec) = section(target) else {
        r.detail = format!("the log has no rows of v{target}");
        return r;
    };
    r.inputs.insert(format!("v{target} rows"), t_sec.overall.count.to_string());
    let Some((t, t_groups)) = measure_of(t_sec, *measure) else {
        r.detail = format!("{} is undefined for v{target} (fewer than two groups with the rate)", measure.name());
        return r;
    };
    r.target = Some(t);
    let small = |s: &Section| s.groups.iter().filter(|g| g.count < *min_group_size).map(|g| format!("{} ({} rows)", g.key, g.count)).collect::<Vec<_>>();
    let mut too_small = small(t_sec);
    let c = match current.map(|v| (v, section(v))) {
        Some((v, Some(sec))) => {
            r.inputs.insert(format!("v{v} rows"), sec.overall.count.to_string());
            too_small.extend(small(sec));
            measure_of(sec, *measure).map(|(e, _)| e)
        }
        Some((v, None)) if max_worsening.is_some() => {
            r.detail = format!("the log has no rows of the current version v{v} to compare with");
            return r;
        }
        _ => None,
    };
    r.current = c;
    r.change = c.map(|c| mover_difference(t, c));
    if !too_small.is_empty() {
        too_small.sort();
        too_small.dedup();
        r.detail = format!("groups smaller than {min_group_size} rows cannot be judged: {}", too_small.join(", "));
        return r;
    }
    let mut verdicts = Vec::new();
    if let Some(m) = max {
        verdicts.push(against_upper(&t, *m));
    }
    if let (Some(w), Some(ch)) = (max_worsening, r.change) {
        verdicts.push(against_upper(&ch, *w));
    }
    r.verdict = if verdicts.contains(&Verdict::Fail) {
        Verdict::Fail
    } else if verdicts.contains(&Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    };
    r.detail = match r.verdict {
        Verdict::Pass => format!("{} of v{target} ({t_groups}) is within the bound, interval included", measure.name()),
        Verdict::Fail => format!("{} of v{target} ({t_groups}) exceeds the bound, interval included", measure.name()),
        Verdict::Inconclusive => {
            format!("the bound lies inside the 95% interval: the log cannot tell whether v{target} ({t_groups}) meets it")
        }
    };
    r
}


/// The engine's rate named `name`.
fn rate(name: &str) -> Option<Metric> {
    Metric::ALL.into_iter().find(|m| m.name() == name)
}

/// A rate of one group (or overall) with its Wilson interval.
fn rate_estimate(g: &GroupRates, m: Metric) -> Option<Estimate> {
    let (x, n) = g.confusion.parts(m);
    let (lo, hi) = wilson(x, n, Z95)?;
    Some(Estimate { value: g.rate(m)?, interval: Some([lo, hi]) })
}

/// The ratio a / b with its 95% interval by MOVER on the log scale from the two Wilson intervals
/// (Zou & Donner 2008); when a rate is 0 the interval is the conservative [lo_a/hi_b, hi_a/lo_b].
pub fn ratio_interval(a: Estimate, b: Estimate) -> Option<Estimate> {
    let ([la, ua], [lb, ub]) = (a.interval?, b.interval?);
    if b.value <= 0.0 {
        return None;
    }
    let r = a.value / b.value;
    let interval = if a.value > 0.0 && la > 0.0 && lb > 0.0 {
        let (ln_a, ln_b) = (a.value.ln(), b.value.ln());
        let lo = (ln_a - ln_b - ((ln_a - la.ln()).powi(2) + (ub.ln() - ln_b).powi(2)).sqrt()).exp();
        let hi = (ln_a - ln_b + ((ua.ln() - ln_a).powi(2) + (ln_b - lb.ln()).powi(2)).sqrt()).exp();
        [lo, hi]
    } else {
        [la / ub, if lb > 0.0 { ua / lb } else { f64::INFINITY }]
    };
    Some(Estimate { value: r, interval: Some(interval) })
}

/// The log's evidence for a gate: on success its path, size and SHA-256 (and how intervals were made)
/// go into the result's inputs; otherwise the result says why the log could not be read (inconclusive).
fn with_log<'a>(r: &mut GateResult, evidence: Result<&'a LogEvidence, &String>, interval: &str) -> Option<&'a LogEvidence> {
    match evidence {
        Ok(ev) => {
            r.inputs.insert("log".into(), ev.path.display().to_string());
            r.inputs.insert("log bytes".into(), ev.size.to_string());
            r.inputs.insert("log sha256".into(), ev.sha256.clone());
            r.inputs.insert("interval".into(), interval.into());
            Some(ev)
        }
        Err(e) => {
            r.detail = format!("the prediction log could not be read: {e}");
            None
        }
    }
}

fn version_section(ev: &LogEvidence, v: VersionNumber) -> Option<&Section> {
    ev.report.versions.iter().find(|s| s.version == v.to_string()).map(|s| &s.section)
}

/// The four-fifths rule on the target version: each group's rate over the reference group's (the
/// largest), with the ratio's interval, inside the bounds.
pub fn four_fifths_gate(gate: &Gate, evidence: Result<&LogEvidence, &String>, target: VersionNumber) -> GateResult {
    let GateKind::FourFifths { metric, bounds, min_group_size, .. } = &gate.check else {
        unreachable!("four_fifths_gate is called for four-fifths gates")
    };
    let mut r = GateResult::open(gate, "fairness", format!("every ratio to the reference in [{:.2}, {:.2}]", bounds[0], bounds[1]));
    let interval = "ratio of Wilson intervals by MOVER on the log scale (Zou & Donner 2008)";
    let Some(ev) = with_log(&mut r, evidence, interval) else { return r };
    let (Some(m), Some(sec)) = (rate(metric), version_section(ev, target)) else {
        r.detail = format!("the log has no rows of v{target}");
        return r;
    };
    let Some(reference) = sec.groups.iter().max_by_key(|g| g.count) else {
        r.detail = "no groups".into();
        return r;
    };
    let small: Vec<String> = sec.groups.iter().filter(|g| g.count < *min_group_size).map(|g| format!("{} ({} rows)", g.key, g.count)).collect();
    let Some(base) = rate_estimate(reference, m) else {
        r.detail = format!("{metric} of the reference group {} is undefined", reference.key);
        return r;
    };
    let mut worst: Option<(Estimate, String)> = None;
    let (mut fails, mut unsure) = (Vec::new(), Vec::new());
    for g in sec.groups.iter().filter(|g| g.key != reference.key) {
        let Some(ratio) = rate_estimate(g, m).and_then(|e| ratio_interval(e, base)) else {
            unsure.push(format!("{}: undefined", g.key));
            continue;
        };
        let [lo, hi] = ratio.interval.unwrap_or([ratio.value, ratio.value]);
        if hi < bounds[0] || lo > bounds[1] {
            fails.push(format!("{} {}", g.key, ratio.show()));
        } else if lo < bounds[0] || hi > bounds[1] {
            unsure.push(format!("{} {}", g.key, ratio.show()));
        }
        let off = |e: &Estimate| (e.value.ln()).abs();
        if worst.as_ref().is_none_or(|(w, _)| off(&ratio) > off(w)) {
            worst = Some((ratio, g.key.clone()));
        }
    }
    r.target = worst.as_ref().map(|(e, _)| *e);
    let refd = format!("reference {} ({metric} {})", reference.key, base.show());
    (r.verdict, r.detail) = if !small.is_empty() {
        (Verdict::Inconclusive, format!("groups smaller than {min_group_size} rows cannot be judged: {}", small.join(", ")))
    } else if !fails.is_empty() {
        (Verdict::Fail, format!("outside the bounds: {}; {refd}", fails.join(", ")))
    } else if !unsure.is_empty() {
        (Verdict::Inconclusive, format!("bounds inside the interval: {}; {refd}", unsure.join(", ")))
    } else {
        (Verdict::Pass, format!("every group within the bounds, intervals included; {refd}"))
    };
    r
}

/// The live comparison: the target's rate minus the current holder's on the log's rows of each, with
/// Newcombe's interval (versions treated as independent).
pub fn live_gate(
    gate: &Gate,
    evidence: Result<&LogEvidence, &String>,
    current: Option<VersionNumber>,
    target: VersionNumber,
) -> GateResult {
    let GateKind::LiveComparison { metric, max_worsening, .. } = &gate.check else {
        unreachable!("live_gate is called for live comparison gates")
    };
    let dir = crate::config::Direction::guess(metric);
    let higher = dir == crate::config::Direction::Higher;
    let w = *max_worsening;
    let bound = match (higher, w == 0.0) {
        (true, true) => "change >= 0".to_string(),
        (false, true) => "change <= 0".to_string(),
        (true, false) => format!("change >= -{w:.4}"),
        (false, false) => format!("change <= +{w:.4}"),
    };
    let mut r = GateResult::open(gate, "live", bound);
    let interval = "Wilson per version; Newcombe for the change, versions treated as independent";
    let Some(ev) = with_log(&mut r, evidence, interval) else { return r };
    let Some(m) = rate(metric) else {
        r.detail = format!("'{metric}' is not a rate");
        return r;
    };
    let est = |v: VersionNumber| version_section(ev, v).and_then(|s| rate_estimate(&s.overall, m));
    let Some(t) = est(target) else {
        r.detail = format!("the log has no labelled rows of v{target}");
        return r;
    };
    r.target = Some(t);
    let Some(cv) = current else {
        (r.verdict, r.detail) = (Verdict::Pass, "no current version to compare with".into());
        return r;
    };
    let Some(c) = est(cv) else {
        r.detail = format!("the log has no labelled rows of the current version v{cv}");
        return r;
    };
    r.current = Some(c);
    let ([lt, ut], [lc, uc]) = (t.interval.unwrap_or([t.value; 2]), c.interval.unwrap_or([c.value; 2]));
    let change = Estimate { value: t.value - c.value, interval: Some(newcombe(t.value, [lt, ut], c.value, [lc, uc])) };
    r.change = Some(change);
    // Worsening = the change against the metric's direction; it must stay below max_worsening.
    let worsening = if higher {
        Estimate { value: -change.value, interval: change.interval.map(|[lo, hi]| [-hi, -lo]) }
    } else {
        change
    };
    r.verdict = against_upper(&worsening, *max_worsening);
    r.detail = format!(
        "v{target} {metric} {} vs v{cv} {} on the log ({} is better): {}",
        t.show(),
        c.show(),
        if higher { "higher" } else { "lower" },
        match r.verdict {
            Verdict::Pass => "within the bound, interval included",
            Verdict::Fail => "worse than the bound, interval included",
            Verdict::Inconclusive => "the bound lies inside the interval",
        }
    );
    r
}
