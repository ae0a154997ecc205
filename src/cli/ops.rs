//! Command-line twins of the window's alias actions: promote, rollback, history, audit
//! verify/repair/recover.
//! They call the same `ops` code as the dialogs.

use std::io::{BufRead, IsTerminal, Write};


use clap::Args;

use crate::audit::AuditLog;
use super::{Context, Failure, Global, Outcome, context, print_json, runtime};
use crate::connect::{AnyRegistry, Registry};
use crate::domain::VersionNumber;
use crate::ops::{self, MovePlan, Ops, StepEvent, StepState};

/// What every alias move asks of the operator.
#[derive(Args, Debug)]
pub struct ActArgs {
    /// Why (required; recorded in the audit log).
    #[arg(long)]
    pub reason: String,
    /// Do not ask; act on the plan.
    #[arg(long)]
    pub yes: bool,
    /// The model name, typed again: required for protected aliases (champion, production by default).
    #[arg(long, value_name = "MODEL")]
    pub confirm: Option<String>,
    /// Act although required gates failed or were inconclusive; --reason is recorded as the override's
    /// reason with the gate results (a dead bound endpoint still stops the move).
    #[arg(long)]
    pub override_gates: bool,
}

/// `steward gates MODEL VERSION [--alias A] [--json]`.
#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 every required gate passed; 3 a required gate failed; 8 none failed but one \
was inconclusive (the bound lies inside the 95% interval, a group is too small, or an input is missing).")]
pub struct GatesArgs {
    pub model: String,
    pub version: VersionNumber,
    #[arg(long, default_value = "champion")]
    pub alias: String,
    #[arg(long)]
    pub json: bool,
}

/// Exit code of `steward gates` when no required gate failed but one was inconclusive.
pub const EXIT_INCONCLUSIVE: u8 = 8;

#[derive(Args, Debug)]
pub struct PromoteArgs {
    pub model: String,
    pub version: VersionNumber,
    #[arg(long, default_value = "champion")]
    pub alias: String,
    #[command(flatten)]
    pub act: ActArgs,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    pub model: String,
    #[arg(long)]
    pub alias: String,
    /// Target version (default: the version before the alias's most recent move).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<VersionNumber>,
    #[command(flatten)]
    pub act: ActArgs,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    pub model: String,
    #[arg(long)]
    pub alias: Option<String>,
    /// Answer "what did the alias point to at this time" (RFC 3339 or YYYY-MM-DD, UTC); needs --alias.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Only moves by this actor (a part of user@host, any case; "unknown": made outside Steward).
    #[arg(long, value_name = "TEXT")]
    pub actor: Option<String>,
    /// Only moves from this day or time on (UTC).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only moves up to this day (its end) or time (UTC).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Refuses to act while an earlier operation on this registry is unresolved.
async fn refuse_if_interrupted(audit: &AuditLog, reg: &AnyRegistry) -> Result<(), Failure> {
    let pending = ops::find_interrupted(audit, reg).await?;
    if let Some(p) = pending.first() {
        return Err(Failure {
            code: 3,
            message: format!("{}; run `steward audit recover` before acting again", p.explain()),
        });
    }
    Ok(())
}

fn print_plan(plan: &MovePlan) {
    println!("{}", plan.describe());
    println!("  registry: {}", plan.registry);
    if !plan.metrics.is_empty() {
        println!("  {:<24} {:>12} {:>12} {:>10}", "metric", "current", "target", "change");
        for m in &plan.metrics {
            let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
            let d = match (m.from, m.to) {
                (Some(a), Some(b)) => format!("{:+.4}", b - a),
                _ => "-".into(),
            };
            println!("  {:<24} {:>12} {:>12} {:>10}", m.key, f(m.from), f(m.to), d);
        }
    }
    if plan.protected {
        println!("  '{}' is protected: confirmation by model name required", plan.alias);
    }
    print_gates(&plan.gates);
}

fn print_gates(report: &ops::GateReport) {
    if report.results.is_empty() {
        println!("  gates: none apply{}", report.policy.as_ref().map(|p| format!(" (policy {p})")).unwrap_or_default());
        return;
    }
    println!("  gates ({}, digest {}):", report.policy.as_deref().unwrap_or("built-in"), crate::audit::short(&report.digest));
    for r in &report.results {
        println!("    {}", r.line());
    }
}

/// `steward gates`: the plan's gates, evaluated exactly as `promote` would, without acting.
pub fn gates(g: &Global, a: GatesArgs) -> Outcome {
    let (ctx, reg, audit) = setup(g)?;
    let ops = Ops { registry: &reg, audit, os_user: crate::audit::os_user(), policy: ctx.policy.clone() };
    let plan = runtime()?.block_on(ops.plan_promote(&a.model, a.version, &a.alias))?;
    if a.json {
        print_json(&serde_json::json!({"model": plan.model, "alias": plan.alias, "from": plan.from, "to": plan.to, "gates": plan.gates}))?;
    } else {
        println!("{}", plan.describe());
        print_gates(&plan.gates);
    }
    match plan.gates.worst() {
        Some(ops::Verdict::Fail) => Err(Failure { code: 3, message: "a required gate failed".into() }),
        Some(ops::Verdict::Inconclusive) => Err(Failure { code: EXIT_INCONCLUSIVE, message: "a required gate was inconclusive".into() }),
        _ => Ok(()),
    }
}

/// Shows the plan and asks, unless --yes. Returns the confirmation text for a protected alias.
fn confirm(plan: &MovePlan, yes: bool, confirm: Option<String>) -> Result<Option<String>, Failure> {
    print_plan(plan);
    if yes {
        return Ok(confirm);
    }
    let stdin = std::io::stdin();
    let ask = |prompt: &str| -> Result<String, Failure> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let n = stdin.lock().read_line(&mut line).map_err(|e| Failure::from(e.to_string()))?;
        if n == 0 {
            return Err(Failure { code: 3, message: "no confirmation given (stdin closed); pass --yes to act without asking".into() });
        }
        Ok(line.trim().to_string())
    };
    if !std::io::stdin().is_terminal() && plan.protected && confirm.is_some() {
        return Ok(confirm);
    }
    if plan.protected {
        return ask(&format!("Type the model name ({}) to confirm: ", plan.model)).map(Some);
    }
    match ask("Proceed? [y/N] ")?.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(None),
        _ => Err(Failure { code: 3, message: "not confirmed; nothing was changed".into() }),
    }
}

pub(super) fn setup(g: &Global) -> Result<(Context, AnyRegistry, AuditLog), Failure> {
    let ctx = context(g)?;
    let reg = ctx.open()?;
    let audit = crate::ops::open_audit(&ctx.home, &ctx.policy);
    Ok((ctx, reg, audit))
}

/// Prints a finished step as one line, as it happens.
fn print_step(s: StepEvent) {
    if s.state != StepState::Running {
        println!("  {s}");
        let _ = std::io::stdout().flush();
    }
}

/// Shows the plan, asks (unless --yes), executes, and reports the outcome. With a binding for the alias,
/// each step is printed as it finishes.
fn act(rt: &tokio::runtime::Runtime, ops: &Ops<'_, AnyRegistry>, plan: &MovePlan, a: ActArgs) -> Outcome {
    let binding = ops.policy.binding(&plan.model, &plan.alias);
    if let Some(b) = binding {
        let endpoint = crate::connect::http::redact_url(&b.endpoint);
        println!("  endpoint: {} on {endpoint} moves with the alias (settings in {})", b.served_model, b.settings_dir.display());
    }
    let typed = confirm(plan, a.yes, a.confirm)?;
    let mut plan = plan.clone();
    if a.override_gates {
        plan.override_gates = Some(a.reason.clone());
    }
    let plan = &plan;
    let progress: &(dyn Fn(StepEvent) + Send + Sync) = if binding.is_some() { &print_step } else { &|_| {} };
    let rec = rt.block_on(ops.execute_with_progress(plan, &a.reason, typed.as_deref(), progress))?;
    println!(
        "done: {}@{} now points to v{} (audit record {})",
        rec.entry.model,
        rec.entry.alias,
        rec.entry.to.map(|v| v.to_string()).unwrap_or_default(),
        rec.seq
    );
    if let Some(remark) = &rec.entry.error {
        println!("  note: {remark}");
    }
    Ok(())
}

pub fn promote(g: &Global, a: PromoteArgs) -> Outcome {
    let (ctx, reg, audit) = setup(g)?;
    let ops = Ops { registry: &reg, audit: audit.clone(), os_user: crate::audit::os_user(), policy: ctx.policy.clone() };
    let rt = runtime()?;
    rt.block_on(refuse_if_interrupted(&audit, &reg))?;
    let plan = rt.block_on(ops.plan_promote(&a.model, a.version, &a.alias))?;
    act(&rt, &ops, &plan, a.act)
}

pub fn rollback(g: &Global, a: RollbackArgs) -> Outcome {
    let (ctx, reg, audit) = setup(g)?;
    let ops = Ops { registry: &reg, audit: audit.clone(), os_user: crate::audit::os_user(), policy: ctx.policy.clone() };
    let rt = runtime()?;
    rt.block_on(refuse_if_interrupted(&audit, &reg))?;
    let to = match a.to {
        Some(v) => Some(v),
        None => pick_rollback_target(&rt.block_on(ops.rollback_choices(&a.model, &a.alias))?, a.act.yes)?,
    };
    let plan = rt.block_on(ops.plan_rollback(&a.model, &a.alias, to))?;
    act(&rt, &ops, &plan, a.act)
}

/// Without a proposal (no recorded move of the alias), lists the versions and asks which one, on a
/// terminal without --yes; otherwise refuses, naming them. With a proposal, None (take it).
fn pick_rollback_target(c: &ops::RollbackChoices, yes: bool) -> Result<Option<VersionNumber>, Failure> {
    if c.proposal.is_some() {
        return Ok(None);
    }
    println!(
        "Steward has no record of where {}@{} pointed before {} (no move of it is in this home's audit log).",
        c.model,
        c.alias,
        crate::domain::show_version(c.current)
    );
    println!("{:>9}  {:<24} {:<17} METRICS", "VERSION", "ALIASES", "CREATED");
    for v in &c.versions {
        let created = v.created_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into());
        let metrics: Vec<String> = v.metrics.iter().map(|(k, x)| format!("{k}={}", crate::domain::format_metric(*x))).collect();
        println!("{:>9}  {:<24} {:<17} {}", format!("v{}", v.version), v.aliases.join(", "), created, metrics.join(" "));
    }
    let refuse = || Failure { code: 3, message: "no version picked: choose one with --to VERSION; nothing was changed".into() };
    if yes || !std::io::stdin().is_terminal() || c.versions.is_empty() {
        return Err(refuse());
    }
    print!("Version to move {} to: ", c.alias);
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    let picked: VersionNumber = line.trim().trim_start_matches('v').parse().map_err(|_| refuse())?;
    if !c.versions.iter().any(|v| v.version == picked) {
        return Err(Failure { code: 2, message: format!("v{picked} is not one of the versions listed") });
    }
    Ok(Some(picked))
}

/// `--at` as a period: a date is its whole UTC day, an RFC 3339 time one instant (start == end).
fn parse_period(s: &str) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), Failure> {
    ops::parse_period(s).ok_or_else(|| Failure { code: 2, message: format!("--at '{s}': use RFC 3339 (2026-11-01T12:00:00Z) or YYYY-MM-DD") })
}

pub fn history(g: &Global, a: HistoryArgs) -> Outcome {
    let (_ctx, reg, audit) = setup(g)?;
    let rt = runtime()?;
    // Looking is when moves made outside Steward are noticed: record them before showing the timeline.
    let model = rt.block_on(reg.get_model(&a.model))?;
    let (mut events, _) = ops::observe(&audit, &crate::audit::os_user(), &reg.describe(), &a.model, &model.aliases)?;
    let filter = ops::EventFilter {
        actor: a.actor.clone().unwrap_or_default(),
        alias: a.alias.clone().unwrap_or_default(),
        since: a.since.clone().unwrap_or_default(),
        until: a.until.clone().unwrap_or_default(),
    };
    filter.check().map_err(|m| Failure { code: 2, message: m })?;
    if let Some(at) = &a.at {
        // "What did the alias point to": every move of the alias counts, whoever made it.
        events.retain(|e| a.alias.as_deref().is_none_or(|x| e.alias == x));
        let alias = a.alias.as_deref().ok_or_else(|| Failure { code: 2, message: "--at needs --alias".into() })?;
        let (start, end) = parse_period(at)?;
        // A date is the whole day: where the alias pointed when it began and every move during it.
        if start != end {
            let (first, moves) = ops::alias_during(&events, alias, start, end);
            if a.json {
                let moves: Vec<_> = moves.iter().map(|(t, v)| serde_json::json!({"time": t, "version": v})).collect();
                // "version" is where it pointed at the end of the day, as for a time.
                let last = ops::alias_at(&events, alias, end);
                return print_json(&serde_json::json!({
                    "model": a.model, "alias": alias, "day": at.trim(), "at_start": first, "moves": moves, "at": end, "version": last
                }));
            }
            let show = |v: Option<VersionNumber>| v.map(|v| format!("v{v}")).unwrap_or_else(|| "not set or not known".into());
            println!("{}@{alias} on {}: {} at 00:00 UTC", a.model, at.trim(), show(first));
            for (t, v) in &moves {
                println!("  then {} at {}", show(*v), t.format("%H:%M:%S UTC"));
            }
            if moves.is_empty() {
                println!("  no move that day");
            }
            return Ok(());
        }
        let t = end;
        let v = ops::alias_at(&events, alias, t);
        if a.json {
            return print_json(&serde_json::json!({"model": a.model, "alias": alias, "at": t, "version": v}));
        }
        match v {
            Some(v) => println!("{}@{alias} pointed to v{v} at {t}", a.model),
            None => println!("{}@{alias}: not set, or not known to Steward, at {t}", a.model),
        }
        return Ok(());
    }
    events.retain(|e| filter.matches(e));
    if a.json {
        return print_json(&serde_json::json!({"registry": reg.describe(), "model": a.model, "events": events}));
    }
    if events.is_empty() {
        println!("no recorded alias moves for {}", a.model);
    }
    let v = |x: Option<VersionNumber>| x.map(|v| format!("v{v}")).unwrap_or_else(|| "-".into());
    for e in &events {
        let outcome = e.outcome.map(|o| o.word().to_string()).unwrap_or_else(|| format!("{:?}", e.kind).to_lowercase());
        println!(
            "{:<24} {:<12} {:>4} -> {:<4} {:<13} {:<10} {:<10} {}{}",
            e.time,
            e.alias,
            v(e.from),
            v(e.to),
            e.action,
            outcome,
            e.who(),
            e.reason,
            e.error.as_ref().map(|x| format!(" [{x}]")).unwrap_or_default()
        );
    }
    Ok(())
}
