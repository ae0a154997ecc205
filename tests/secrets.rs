//! A hostile server that echoes the request's `Authorization` header (and the password it decodes) into its
//! answers must never get a credential printed or recorded (issue 15, item 6). A fake server is the
//! only way to make MLflow echo credentials; each answer kind is tried: a 401, a 500 with JSON, a 502
//! HTML page, a 200 that is not JSON. The oracle: the token, the password and the base64 Basic value
//! appear in nothing Steward writes (stdout, stderr, every file under the home: audit log and Steward's
//! own log included).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use common::*;

const TOKEN: &str = "tok-3f9a7c1e-very-secret";
const USER: &str = "alice";
const PASSWORD: &str = "pw-Correct-Horse-42";
/// base64("alice:pw-Correct-Horse-42"), as a Basic Authorization header carries it.
const BASIC: &str = "YWxpY2U6cHctQ29ycmVjdC1Ib3JzZS00Mg==";

/// Answers every request with `kind`, the request's Authorization header and the password pasted in.
fn echoing_server(kind: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut auth = String::new();
            let mut length = 0usize;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if lower.starts_with("authorization:") {
                    auth = h["authorization:".len()..].trim().to_string();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            // The header as sent, and for Basic the password decoded from it.
            let password = auth
                .strip_prefix("Basic ")
                .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|d| d.split_once(':').map(|(_, p)| p.to_string()))
                .unwrap_or_default();
            let echo = format!("you sent Authorization: {auth}; password {password}");
            let (status, ctype, text) = match kind {
                "401" => ("401 Unauthorized", "application/json", serde_json::json!({"error_code": "UNAUTHENTICATED", "message": echo}).to_string()),
                "500" => ("500 Internal Server Error", "application/json", serde_json::json!({"error_code": "INTERNAL_ERROR", "message": echo}).to_string()),
                "502" => ("502 Bad Gateway", "text/html", format!("<html><head><title>{echo}</title></head></html>")),
                _ => ("200 OK", "text/html", format!("<html><head><title>{echo}</title></head></html>")),
            };
            let mut s = stream;
            let _ = write!(s, "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}", text.len());
        }
    });
    url
}

fn everything_written(home: &Path, outs: &[std::process::Output]) -> String {
    let mut all = String::new();
    for o in outs {
        all += &stdout(o);
        all += &stderr(o);
    }
    let mut stack = vec![home.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all += &String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    all
}

#[test]
fn credentials_echoed_by_a_server_are_never_shown_or_recorded() {
    let mut checked = 0;
    for kind in ["401", "500", "502", "200"] {
        let url = echoing_server(kind);
        for creds in [vec![("MLFLOW_TRACKING_TOKEN", TOKEN)], vec![("MLFLOW_TRACKING_USERNAME", USER), ("MLFLOW_TRACKING_PASSWORD", PASSWORD)]] {
            let home = tempfile::tempdir().unwrap();
            let runs = [
                vec!["--registry", url.as_str(), "--timeout", "3", "models"],
                vec!["--registry", url.as_str(), "--timeout", "3", "versions", "m"],
                vec!["--registry", url.as_str(), "--timeout", "3", "promote", "m", "2", "--alias", "challenger", "--reason", "test", "--yes"],
            ];
            let outs: Vec<_> = runs.iter().map(|a| steward_env(home.path(), a, &creds)).collect();
            for (o, a) in outs.iter().zip(&runs) {
                assert_ne!(o.status.code(), Some(0), "{kind} {a:?}: must fail");
                // A 401 says the credentials were rejected without the server's text; the others show it.
                if kind != "401" {
                    assert!(stderr(o).contains("you sent Authorization"), "{kind} {a:?}: the server's message is still shown: {}", stderr(o));
                }
            }
            let all = everything_written(home.path(), &outs);
            // Steward's own log is under the home too, so it is scanned: it holds these calls.
            let log = std::fs::read_to_string(home.path().join("state/steward.log")).unwrap_or_default();
            assert!(log.contains("\"target\":\"steward::http\"") && log.contains(url.as_str()), "{kind}: the calls are logged: {log}");
            for secret in [TOKEN, PASSWORD, BASIC] {
                assert!(!all.contains(secret), "{kind} {creds:?}: {secret} leaked in: {all}");
            }
            if kind != "401" {
                assert!(all.contains("[redacted]"), "{kind}: the echo is shown blanked: {all}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}
