//! Answers larger than Steward reads (issue 15, item 1): a server streaming 100 MB with and without a
//! Content-Length. Each command stops at the documented cap (32 MiB for the registry and Prometheus,
//! 8 MiB for an inference endpoint) with one line naming the URL and the size, well before the body ends.
//! The server is a fault injector: no real server sends such bodies on demand.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;

const BODY: usize = 100 << 20;

/// Serves every request with a 100 MB JSON-ish body; `with_length` sends Content-Length, else the body
/// ends when the connection closes. Returns the base URL.
fn huge_server(with_length: bool) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = s.read(&mut buf);
                let length = if with_length { format!("Content-Length: {BODY}\r\n") } else { String::new() };
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n");
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b' '; 1 << 16];
                let mut sent = 0;
                while sent < BODY {
                    if s.write_all(&chunk).is_err() {
                        return; // the client stopped reading: what we want
                    }
                    sent += chunk.len();
                }
            });
        }
    });
    url
}

#[test]
fn huge_answers_stop_at_the_cap_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for with_length in [true, false] {
        let url = huge_server(with_length);
        let t = Instant::now();
        let o = steward(dir.path(), &["--registry", &url, "--timeout", "30", "models"]);
        let err = stderr(&o);
        assert_ne!(o.status.code(), Some(0), "{err}");
        assert!(err.contains("larger than Steward reads (32 MiB)") && err.contains(&url), "length {with_length}: {err}");
        assert!(t.elapsed() < Duration::from_secs(25), "took {:?}", t.elapsed());
        let o = steward(dir.path(), &["--timeout", "30", "endpoints", "--endpoint", &url, "--json"]);
        let out = stdout(&o);
        assert_ne!(o.status.code(), Some(0), "an endpoint answering 100 MB is not up: {out}");
        assert!(out.contains("larger than Steward reads (8 MiB)"), "length {with_length}: {out}{}", stderr(&o));
    }
}
