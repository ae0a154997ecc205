//! `steward report MODEL --format pdf|html|json|csv --out PATH [--since DATE] [--until DATE]
//! [--fairness-log FILE]` and `steward report verify FILE.json`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::report::{Format, Options};
use crate::connect::Registry;
use super::{Failure, Global, Outcome, context, runtime};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCmd>,
    /// The registered model to report on.
    #[arg(required = true)]
    pub model: Option<String>,
    #[arg(long, value_enum, required = true)]
    pub format: Option<Format>,
    /// The file to write (CSV: a folder, one file per table).
    #[arg(long, value_name = "PATH", required = true)]
    pub out: Option<PathBuf>,
    /// Start of the period: YYYY-MM-DD (start of that day, UTC) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// End of the period: YYYY-MM-DD (end of that day, UTC) or RFC 3339 (default: now).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// A prediction log for quality and fairness by group: a file (CSV, JSON Lines, Parquet), or a log in
    /// PostgreSQL (a [[profile.log]] name, its mapping used, or postgres://HOST/DB?table=NAME; fairness
    /// only, counted there, the query in the report). Default: the model's `prediction_log` tag, as the
    /// window's export fills it in.
    #[arg(long, value_name = "FILE|NAME|URL")]
    pub fairness_log: Option<String>,
    /// Leave out the quality and fairness sections even when the model names a prediction log.
    #[arg(long, conflicts_with = "fairness_log")]
    pub no_fairness_log: bool,
}

#[derive(Subcommand, Debug)]
pub enum ReportCmd {
    /// Recompute a JSON report's digest and re-verify its audit-log excerpt.
    Verify { file: PathBuf },
}

fn date_arg(flag: &str, s: Option<&String>, end_of_day: bool) -> Result<Option<DateTime<Utc>>, Failure> {
    s.map(|s| {
        crate::report::parse_date(s, end_of_day)
            .ok_or_else(|| Failure { code: 2, message: format!("{flag} '{s}': use YYYY-MM-DD or RFC 3339 (2026-11-01T12:00:00Z)") })
    })
    .transpose()
}

pub fn run(g: &Global, a: ReportArgs) -> Outcome {
    if let Some(ReportCmd::Verify { file }) = a.command {
        return verify(&file);
    }
    let usage = |m: &str| Failure { code: 2, message: m.into() };
    let model = a.model.ok_or_else(|| usage("MODEL is required"))?;
    let format = a.format.ok_or_else(|| usage("--format is required"))?;
    let out = a.out.ok_or_else(|| usage("--out is required"))?;
    let mut opts = Options::new(&model);
    opts.since = date_arg("--since", a.since.as_ref(), false)?;
    opts.until = date_arg("--until", a.until.as_ref(), true)?;
    if let (Some(s), Some(u)) = (opts.since, opts.until) {
        if s > u {
            return Err(usage("--since is after --until"));
        }
    }
    let ctx = context(g)?;
    if let Some(input) = &a.fairness_log {
        let logs = ctx.profile.as_ref().map(|p| p.logs.clone()).unwrap_or_default();
        let (log, mapping) = crate::sources::LogRef::parse_with_mapping(input, &logs).map_err(|e| usage(&e))?;
        opts.fairness_log = Some(log);
        opts.fairness_mapping = mapping;
    }
    opts.timeout = ctx.timeout;
    let reg = ctx.open()?;
    let rt = runtime()?;
    if opts.fairness_log.is_none() && !a.no_fairness_log {
        // The window's twin: the model's prediction_log tag fills the log in, when the file is here.
        let tagged = rt.block_on(reg.get_model(&model))?.tags.get("prediction_log").map(PathBuf::from);
        match tagged {
            Some(p) if p.is_file() || p.to_str().is_some_and(crate::objects::is_url) => opts.fairness_log = Some(crate::sources::LogRef::File(p)),
            Some(p) => eprintln!("note: the model's prediction_log tag names {}, which is not a file here (nor an object-storage URL); no fairness section", p.display()),
            None => {}
        }
    }
    let audit = crate::ops::open_audit(&ctx.home, &ctx.policy);
    let progress = crate::report::Progress::with_listener(|f, step| eprintln!("[{:>3.0}%] {step}", f * 100.0));
    let data = rt
        .block_on(crate::report::gather(&reg, &audit, ctx.profile.as_ref(), &opts, &progress))
        .map_err(|e| Failure { code: e.exit_code(), message: e.to_string() })?;
    let files = crate::report::render(&data, format, &out).map_err(|e| Failure { code: e.exit_code(), message: e.to_string() })?;
    match format {
        Format::Csv => println!("wrote {} CSV files to {}", files.len(), out.display()),
        _ => println!("wrote {}", out.display()),
    }
    Ok(())
}

fn verify(file: &std::path::Path) -> Outcome {
    match crate::report::verify_json(file) {
        Ok(v) => {
            println!("OK: digest {} matches; audit excerpt of {} records chains intact", v.digest, v.excerpt_records);
            if let Some(h) = &v.last_hash {
                let at_head = if v.ends_at_head { " (the log's head when the report was made)" } else { "" };
                println!("excerpt ends with {h}{at_head}; compare with `steward audit verify` on the full log");
            }
            Ok(())
        }
        Err(e) => Err(Failure { code: 1, message: format!("{}: verification failed: {e}", file.display()) }),
    }
}
