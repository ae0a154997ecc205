//! Faults only: a black-holed endpoint, HTML where JSON was expected, a 500, Prometheus errors. A tiny
//! fake TCP server stands in for the broken server; the real servers are in serving_stack.rs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::*;

/// Serves every connection with `respond(request line)`, one request per connection, in a thread.
fn fake_server(respond: fn(&str) -> String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, respond);
        }
    });
    url
}

fn answer(stream: TcpStream, respond: fn(&str) -> String) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    (&stream).write_all(respond(&request_line).as_bytes())
}

fn reply(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

const LOGIN_PAGE: &str = "<!doctype html><html><head><title>Sign in - Corp SSO</title></head><body>...</body></html>";

/// Accepts connections (the kernel completes the handshake) and never answers.
fn black_hole() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn run(args: &[&str]) -> (std::process::Output, Duration) {
    let home = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let out = steward(home.path(), args);
    (out, t.elapsed())
}

#[test]
fn a_black_holed_endpoint_is_down_with_exit_5_within_the_timeout() {
    let (_hold, url) = black_hole();
    let (out, took) = run(&["endpoints", "--endpoint", &url, "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stdout(&out).contains("down"), "{}", stdout(&out));
    assert!(stderr(&out).contains("did not answer within 1 s"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn load_against_a_black_hole_fails_every_request_in_bounded_time() {
    let (_hold, url) = black_hole();
    let (out, took) =
        run(&["load", "--endpoint", &url, "--model", "m", "--body-json", "{}", "--rps", "4", "--duration", "1", "--timeout", "1", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["sent"].as_u64(), report["ok"].as_u64(), report["failed"].as_u64()), (Some(4), Some(0), Some(4)));
    assert!(stderr(&out).contains("did not answer within 1 s"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn html_where_json_was_expected_is_not_an_oip_server_with_a_readable_reason() {
    let url = fake_server(|line| {
        if line.contains("/v2/health/") {
            reply("200 OK", "text/plain", "")
        } else {
            reply("200 OK", "text/html", LOGIN_PAGE)
        }
    });
    let (out, took) = run(&["endpoints", "--endpoint", &url, "--json"]);
    assert_eq!(out.status.code(), Some(5), "not an OIP server: exit 5; {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &v["endpoints"][0];
    assert_eq!(e["health"], "not_oip");
    assert_eq!(e["last_error"]["kind"], "not_oip");
    let msg = e["last_error"]["message"].as_str().unwrap();
    assert!(msg.contains("does not answer as an Open Inference Protocol v2 server"), "{msg}");
    assert!(msg.contains("expected JSON") && msg.contains("text/html") && msg.contains("Sign in - Corp SSO"), "{msg}");
    assert!(!msg.contains("<title>"), "{msg}");
    assert!(took < Duration::from_secs(5));

    let (out, _) = run(&["metrics", "up", "--prometheus", &url]);
    assert_eq!(out.status.code(), Some(5));
    let err = stderr(&out);
    assert!(err.contains("expected JSON") && err.contains("Sign in - Corp SSO"), "{err}");
}

/// Servers that answer 200 but do not speak the protocol: each is "not OIP", exit 5, with its reason
/// on one line; the table printout says so too.
#[test]
fn a_200_that_is_not_the_protocol_is_never_live() {
    let cases: [(&str, fn(&str) -> String, &str); 6] = [
        ("login page on every route", |_| reply("200 OK", "text/html", LOGIN_PAGE), "the body is not JSON (text/html)"),
        ("XML on every route", |_| reply("200 OK", "application/xml", "<?xml version=\"1.0\"?><status>ok</status>"), "the body is not JSON"),
        (
            "truncated JSON metadata",
            |l| if l.contains("/v2/health/") { reply("200 OK", "text/plain", "") } else { reply("200 OK", "application/json", r#"{"name":"mlserver","vers"#) },
            "the JSON is invalid or cut short",
        ),
        (
            "JSON of another API",
            |l| if l.contains("/v2/health/") { reply("200 OK", "text/plain", "") } else { reply("200 OK", "application/json", r#"{"status":"ok"}"#) },
            "unexpected shape of server metadata",
        ),
        (
            "no server metadata route",
            |l| if l.contains("/v2/health/") { reply("200 OK", "text/plain", "") } else { reply("404 Not Found", "text/plain", "no such route") },
            "not found",
        ),
        (
            "metadata larger than the cap",
            |l| if l.contains("/v2/health/") { reply("200 OK", "text/plain", "") } else { reply("200 OK", "application/json", &" ".repeat(9 << 20)) },
            "larger than Steward reads (8 MiB)",
        ),
    ];
    for (what, respond, reason) in cases {
        let url = fake_server(respond);
        let (out, took) = run(&["endpoints", "--endpoint", &url, "--json", "--timeout", "3"]);
        assert_eq!(out.status.code(), Some(5), "{what}: exit 5; {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}"));
        let e = &v["endpoints"][0];
        assert_eq!(e["health"], "not_oip", "{what}: {e}");
        let msg = e["last_error"]["message"].as_str().unwrap();
        assert!(msg.contains("does not answer as an Open Inference Protocol v2 server") && msg.contains(reason), "{what}: {msg}");
        assert!(!msg.contains('\n'), "{what}: one line: {msg}");
        assert!(stderr(&out).contains("down or not OIP"), "{what}: {}", stderr(&out));
        assert!(took < Duration::from_secs(4), "{what}: took {took:?}");
        let (table, _) = run(&["endpoints", "--endpoint", &url]);
        assert!(stdout(&table).contains("not OIP"), "{what}: {}", stdout(&table));
    }
}

#[test]
fn a_500_is_down_with_the_servers_message() {
    let url = fake_server(|_| reply("500 Internal Server Error", "application/json", r#"{"error":"worker pool crashed"}"#));
    let (out, _) = run(&["endpoints", "--endpoint", &url, "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["endpoints"][0]["health"], "down");
    assert_eq!(v["endpoints"][0]["last_error"]["kind"], "http_status");
    let msg = v["endpoints"][0]["last_error"]["message"].as_str().unwrap();
    assert!(msg.contains("HTTP 500") && msg.contains("worker pool crashed"), "{msg}");

    let (out, _) = run(&["metrics", "up", "--prometheus", &url]);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("server error (HTTP 500): worker pool crashed"), "{}", stderr(&out));
}

#[test]
fn prometheus_error_answers_become_one_readable_line() {
    let url = fake_server(|_| {
        reply("400 Bad Request", "application/json", r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}"#)
    });
    let (out, _) = run(&["metrics", "sum(up", "--prometheus", &url]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("Prometheus refused the query 'sum(up': bad_data: 1:5: parse error"), "{err}");
}

#[test]
fn refusals_happen_before_any_network_call() {
    // Port 1 refuses connections: a refusal that mentions it would prove a request was sent.
    let (out, took) = run(&["metrics", "up", "--prometheus", "http://127.0.0.1:1", "--range", "30d", "--step", "15s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("172801 points") && err.contains("at least 236 s"), "{err}");
    assert!(took < Duration::from_secs(3));

    let (out, _) = run(&["load", "--endpoint", "http://192.0.2.10:8080", "--model", "m", "--body-json", "{}", "--rps", "1", "--duration", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-remote"));

    let (out, _) = run(&["endpoints"]);
    assert_eq!(out.status.code(), Some(2), "no endpoint configured: {}", stderr(&out));
}

#[test]
fn an_unreachable_endpoint_is_down_quickly() {
    let (out, took) = run(&["endpoints", "--endpoint", "http://127.0.0.1:1", "--json"]);
    assert_eq!(out.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["endpoints"][0]["last_error"]["kind"], "unreachable");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

/// A 503 from a readiness route keeps its status code in the reason; an answer broken mid-body says it
/// was reached and broke, not "cannot reach".
#[test]
fn a_503_names_its_status_and_a_broken_body_is_not_unreachable() {
    let url = fake_server(|line| {
        if line.contains("/v2/health/live") {
            reply("200 OK", "text/plain", "")
        } else if line.contains("/v2/health/ready") {
            reply("503 Service Unavailable", "application/json", r#"{"error":"model repository is loading"}"#)
        } else if line.contains("/v2/repository/index") {
            reply("200 OK", "application/json", "[]")
        } else {
            reply("200 OK", "application/json", r#"{"name":"fake","version":"1","extensions":[]}"#)
        }
    });
    let (out, _) = run(&["endpoints", "--endpoint", &url, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = v["endpoints"][0]["last_error"]["message"].as_str().unwrap().to_string();
    assert_eq!(v["endpoints"][0]["health"], "degraded", "{v}");
    assert!(msg.contains("HTTP 503: model repository is loading"), "{msg}");

    let broken = fake_server(|_| "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n{\"registered_models\": [".to_string());
    let (out, took) = run(&["--registry", &broken, "--timeout", "3", "models"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("answered (HTTP 200) but the connection broke while reading the answer"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
