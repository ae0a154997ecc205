//! `steward audit ...`: verify the chain (the home's file or the team store), repair a torn record,
//! recover interrupted operations, copy a local log into the team store (`push`) and publish the head
//! outside the log (`anchor`).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Subcommand;

use super::ops::setup;
use super::{Failure, Global, Outcome, context, runtime};
use crate::audit::{Anchor, AuditLog, Entry, Head, Phase, check_anchor, verify, verify_bytes};
use crate::connect::Registry;
use crate::ops;

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check the hash chain: OK with the record count and head hash, or the first bad record. With a
    /// team store (the profile's `audit`), also every imported segment and the last head this home saw.
    Verify {
        /// A log file to check instead of the selection's log.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// An anchor written by `steward audit anchor`: the chain must still extend it.
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
    },
    /// Write the chain's current head (record count, SHA-256 of the last record, time) to FILE, a place
    /// outside the log, so a later `verify --anchor FILE` proves the chain was not rewritten since.
    Anchor {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Copy a local audit log into a team store as a segment of its own (verbatim, with its own chain
    /// and head), named by an `audit_import` record of the team chain.
    Push {
        /// The team store, postgres://HOST[:PORT]/DB (login: PGUSER/PGPASSWORD or the profile's keyring
        /// entry).
        #[arg(long, value_name = "URL")]
        to: String,
        /// The log to copy (default: this home's).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Move a torn last record (an append cut short by a crash) aside into a side file, so the chain
    /// verifies again; any other damage is refused and left as it is.
    Repair {
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Find operations interrupted mid-way or with an unknown outcome, read the registry's state, and
    /// record the resolution.
    Recover {
        #[arg(long)]
        yes: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
}


/// The selection's audit log: the profile's team store, or the home's file.
fn selected(g: &Global) -> Result<AuditLog, Failure> {
    let ctx = context(g)?;
    Ok(ops::open_audit(&ctx.home, &ctx.policy))
}

pub fn audit(g: &Global, cmd: AuditCmd) -> Outcome {
    match cmd {
        AuditCmd::Verify { log, anchor } => {
            let audit = match log {
                Some(p) => AuditLog::new(p),
                None => selected(g)?,
            };
            let name = audit.describe();
            let fail = |e: String| Failure { code: 1, message: format!("{name}: {e}") };
            let v = match audit.store() {
                None => verify(audit.path()).map_err(|e| fail(e.to_string()))?,
                Some(_) => audit.verify().map_err(fail)?,
            };
            if let Some(a) = anchor {
                let text = std::fs::read_to_string(&a).map_err(|e| Failure::from(format!("cannot read the anchor {}: {e}", a.display())))?;
                let anchor: Anchor = serde_json::from_str(&text).map_err(|e| Failure::from(format!("{} is not an anchor: {e}", a.display())))?;
                let (bytes, _) = audit.snapshot()?;
                check_anchor(&bytes, &anchor).map_err(|e| fail(e.to_string()))?;
                println!("the chain extends the anchor of {} (record {}, {})", anchor.time, anchor.count, crate::audit::short(&anchor.head));
            }
            println!("OK: {} records, head {} ({name})", v.count, v.head);
            Ok(())
        }
        AuditCmd::Anchor { out } => {
            let audit = selected(g)?;
            let (bytes, head) = audit.snapshot()?;
            let v = verify_bytes(&bytes, head.as_ref()).map_err(|e| Failure { code: 1, message: format!("{}: {e}; nothing anchored", audit.describe()) })?;
            let anchor = Anchor {
                log: audit.describe(),
                count: v.count,
                head: v.head.clone(),
                time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            let text = serde_json::to_string_pretty(&anchor).map_err(|e| Failure::from(e.to_string()))?;
            let tmp = out.with_extension("tmp");
            std::fs::write(&tmp, text + "\n")
                .and_then(|_| std::fs::rename(&tmp, &out))
                .map_err(|e| Failure::from(format!("cannot write {}: {e}", out.display())))?;
            println!("anchored {}: record {}, head {} -> {}", anchor.log, anchor.count, anchor.head, out.display());
            Ok(())
        }
        AuditCmd::Push { to, log } => push(g, to, log),
        AuditCmd::Repair { log } => {
            let log_is_default = log.is_none();
            let path = match log {
                Some(p) => p,
                None => crate::config::Home::resolve(g.home.as_deref())?.audit_log(),
            };
            if log_is_default && selected(g)?.store().is_some() {
                println!("nothing to repair: a team store's appends are transactions (no record is ever torn)");
                return Ok(());
            }
            let audit = AuditLog::new(path.clone());
            match audit.repair_torn_tail(crate::audit::Actor::new(crate::audit::os_user(), None))? {
                None => println!("nothing to repair: {} verifies", path.display()),
                Some(r) => {
                    println!(
                        "moved a torn last record ({} bytes, SHA-256 {}) to {}",
                        r.torn_bytes,
                        r.torn_sha256,
                        r.side_file.display()
                    );
                    println!("kept {} whole records; recorded the repair as audit record {}", r.kept, r.record.seq);
                }
            }
            Ok(())
        }
        AuditCmd::Recover { yes, note } => {
            let (_ctx, reg, audit) = setup(g)?;
            let rt = runtime()?;
            let found = rt.block_on(ops::find_interrupted(&audit, &reg))?;
            if found.is_empty() {
                println!("no interrupted operations for {}", reg.describe());
                return Ok(());
            }
            for item in &found {
                println!("{}", item.explain());
                if !yes {
                    print!("Record this resolution? [y/N] ");
                    let _ = std::io::stdout().flush();
                    let mut line = String::new();
                    let _ = std::io::stdin().lock().read_line(&mut line);
                    if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                        return Err(Failure { code: 3, message: "not resolved; pass --yes to record without asking".into() });
                    }
                }
                let r = ops::resolve(&audit, &crate::audit::os_user(), item, &note)?;
                println!("recorded the resolution as audit record {}", r.seq);
            }
            Ok(())
        }
    }
}

/// `audit push`: verifies the local log, then copies it in (see [`crate::audit::SharedStore::push`]).
fn push(g: &Global, to: String, log: Option<PathBuf>) -> Outcome {
    let ctx = context(g)?;
    let path = log.unwrap_or_else(|| ctx.home.audit_log());
    let v = verify(&path).map_err(|e| Failure { code: 1, message: format!("{}: {e}; nothing was copied", path.display()) })?;
    let text = std::fs::read_to_string(&path).map_err(|e| Failure::from(format!("cannot read {}: {e}", path.display())))?;
    let lines: Vec<String> = text.split('\n').filter(|l| !l.is_empty()).map(str::to_string).collect();
    let mut policy = ctx.policy.clone();
    policy.audit_store = Some(to.clone());
    let team = ops::open_audit(&ctx.home, &policy);
    let Some(store) = team.store() else { return Err(Failure::from("no team store".to_string())) };
    let actor = crate::audit::Actor::new(crate::audit::os_user(), None);
    let source = format!("{}:{}", actor.host.clone().unwrap_or_default(), std::path::absolute(&path).unwrap_or(path.clone()).display());
    let import = Entry {
        phase: Phase::Observed,
        op: None,
        actor,
        action: "audit_import".into(),
        registry: String::new(),
        model: String::new(),
        alias: String::new(),
        from: None,
        to: None,
        reason: format!("imported the local audit log {source} ({} records, head {})", v.count, v.head),
        outcome: None,
        error: None,
        endpoint: None,
        gates: None,
        segment: None,
    };
    let (note, record) = store.push(lines, source, Head { count: v.count, head: v.head.clone() }, import)?;
    println!(
        "copied {} records from {} into {} as segment {} (head {}); recorded as team audit record {}",
        note.count,
        path.display(),
        store.display(),
        note.segment,
        note.head,
        record.seq
    );
    Ok(())
}
