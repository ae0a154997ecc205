//! The fault matrix (issue 15): each of Steward's three connectors (MLflow: `models`; OIP: `endpoints`;
//! Prometheus: `metrics`) against the real server of the test stack, through one fault-injecting proxy
//! (loopback only, bounded in time and bytes), for 16 faults. Every cell must end with the documented
//! exit code within the timeout (3 s) + 1 s, say what went wrong in one line naming the URL (no panic, no
//! Rust debug text), and stay under 64 MB peak RSS (measured by GNU time on the child), also for the
//! 100 MB bodies. The "pass" column runs the connector through the proxy without a fault: the answer is
//! the server's own. The table is printed (`--nocapture`) and kept in RELIABILITY.md.

mod common;

use std::path::Path;
use std::time::Instant;

use common::read_faults::{FAULTS, Fault, TIMEOUT, start};
use common::tls::*;
use common::*;

const RSS_LIMIT_KB: u64 = 64 * 1024;

struct Cell {
    code: Option<i32>,
    secs: f64,
    rss_kb: u64,
    line: String,
}

/// Runs steward under GNU time: exit code, wall time, peak RSS, and the line that explains the outcome.
fn run(home: &Path, args: &[&str]) -> Cell {
    let rss_file = home.join("rss.txt");
    let t = Instant::now();
    let o = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_HOME", home)
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_SERVER_CERT_PATH")
        .env_remove("SSL_CERT_FILE")
        .output()
        .expect("GNU time (/usr/bin/time; scripts/test installs it)");
    let secs = t.elapsed().as_secs_f64();
    let rss_kb = std::fs::read_to_string(&rss_file).ok().and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok())).unwrap_or(u64::MAX);
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let line = text.lines().filter(|l| l.contains("127.0.0.1")).map(str::trim).last().unwrap_or("").to_string();
    assert!(!text.contains("panicked") && !text.contains("Os {") && !text.contains("kind:") && !text.contains("Error {") && !text.contains("OtherError"), "{args:?}: panic or debug text:\n{text}");
    Cell { code: o.status.code(), secs, rss_kb, line }
}

#[test]
fn three_connectors_through_sixteen_faults_fail_clearly_in_bounded_time_and_memory() {
    let stack = stack();
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    self_signed(certs.path());
    let connectors: [(&str, &str); 3] = [("MLflow", &stack.mlflow), ("OIP", &stack.mlserver), ("Prometheus", &stack.prometheus)];
    let timeout = TIMEOUT.to_string();
    let mut table = vec!["| connector | fault | exit | time (s) | peak RSS (MB) | what Steward says |".to_string(), "|---|---|---|---|---|---|".to_string()];
    let mut failures = Vec::new();
    for (name, upstream) in connectors {
        for fault in std::iter::once(Fault::None).chain(FAULTS) {
            let home = tempfile::tempdir().unwrap();
            let p = start(upstream, fault, certs.path());
            let args: Vec<&str> = match name {
                "MLflow" => vec!["--registry", &p.url, "--timeout", &timeout, "models"],
                "OIP" => vec!["--timeout", &timeout, "endpoints", "--endpoint", &p.url],
                _ => vec!["--timeout", &timeout, "metrics", "--prometheus", &p.url, "up"],
            };
            let c = run(home.path(), &args);
            let host = p_host(&args);
            drop(args);
            drop(p);
            table.push(format!("| {name} | {fault:?} | {} | {:.2} | {:.1} | {} |", c.code.map_or("signal".into(), |x| x.to_string()), c.secs, c.rss_kb as f64 / 1024.0, c.line.replace('|', "\\|")));
            let mut bad = |why: String| failures.push(format!("{name} {fault:?}: {why} (exit {:?}, {:.2} s, {} kB): {}", c.code, c.secs, c.rss_kb, c.line));
            if fault == Fault::None || fault == Fault::WrongType {
                // Through the proxy without a fault the server's answer comes back; a JSON body labelled
                // text/html is still the server's JSON (as MLflow's and Prometheus's own clients read it).
                if c.code != Some(0) {
                    bad("no fault (or only a wrong content type), yet not a success".into());
                }
            } else {
                if c.code != Some(5) {
                    bad("expected exit 5 (the outside system failed)".into());
                }
                if !c.line.contains(&host) {
                    bad(format!("no line naming {host}"));
                }
                let cause = match fault {
                    Fault::Refused => "refused",
                    Fault::BlackHole | Fault::Delay | Fault::SlowHeaders | Fault::SlowBody => "did not answer within 3 s",
                    Fault::ResetMidBody => "connection broke while reading",
                    Fault::Status500 => "HTTP 500",
                    Fault::Status502 => "HTTP 502",
                    Fault::Status503 => "503",
                    Fault::Html => "text/html",
                    Fault::TruncatedJson => "invalid or cut short",
                    Fault::HugeLength | Fault::HugeChunked => "larger than Steward reads",
                    Fault::SelfSigned => "self-signed",
                    Fault::PrivateCa => "does not trust",
                    Fault::None | Fault::WrongType => "",
                };
                if !c.line.contains(cause) {
                    bad(format!("the line does not say '{cause}'"));
                }
            }
            if c.secs > TIMEOUT + 1.0 {
                bad(format!("took longer than the timeout + 1 s ({TIMEOUT} + 1)"));
            }
            if c.rss_kb > RSS_LIMIT_KB {
                bad("peak RSS over 64 MB".into());
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{} cell(s) failed:\n{}\n\n{}", failures.len(), failures.join("\n"), table.join("\n"));
}

/// The host:port of the URL in `args`.
fn p_host(args: &[&str]) -> String {
    args.iter().find(|a| a.starts_with("http")).map(|u| u.split("://").nth(1).unwrap_or(u).trim_end_matches('/').to_string()).unwrap_or_default()
}
