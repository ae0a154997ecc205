//! Window frame time with 200 configured endpoints, one of them black-holed (accepts connections, never
//! answers), while the monitor probes them (5 s interval, 5 s timeout, at most 8 probes in flight) and the
//! sample log is replayed as live traffic into the charts. Run: `cargo bench --bench endpoints_frames`.
//!
//! The load run (issue 15): `STEWARD_LOAD_SECONDS=600 STEWARD_LOAD_FAULTY_PERCENT=10 cargo bench --bench
//! endpoints_frames`: 10% of the endpoints faulty, in turn black-holed, answering 502, answering an HTML
//! page, or closing the connection at once; reports frame-time percentiles, resident memory and the
//! backend's live tasks and threads every minute (growth from the first minute to the end).
//!
//! The 199 live endpoints are one small Open Inference Protocol responder on loopback (the real MLServer
//! is used by the tests; here the point is the window's cost, not the server's). CPU time per frame of
//! Steward's real UI code through egui_kittest, no GPU.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use steward::config::Context;
use steward::config::{Home, Origin, Profile, Profiles, RegistrySpec};
use steward::ui::{Persisted, StewardApp, View};

const ENDPOINTS: usize = 200;

fn answer(stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
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
    std::io::Read::read_exact(&mut reader, &mut body)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/v2" => ("200 OK", r#"{"name":"mlserver","version":"1.7.1","extensions":[]}"#.to_string()),
        "/v2/repository/index" => (
            "200 OK",
            r#"[{"name":"income-classifier","version":"1","state":"READY","reason":""},{"name":"income-classifier","version":"2","state":"READY","reason":""}]"#.to_string(),
        ),
        p if p.starts_with("/v2/health/") || p.ends_with("/ready") => ("200 OK", String::new()),
        _ => ("404 Not Found", r#"{"error":"not found"}"#.to_string()),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    (&stream).write_all(reply.as_bytes())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A loopback server with one fault for every connection: 0 black hole, 1 a 502, 2 an HTML page, 3 a close.
fn faulty(kind: usize) -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let listener = l.try_clone().expect("clone listener");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut s in listener.incoming().flatten() {
            let reply: &[u8] = match kind {
                0 => {
                    held.push(s); // never answered, kept open
                    held.retain(|c: &TcpStream| c.peer_addr().is_ok());
                    continue;
                }
                1 => b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Gateway",
                2 => b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 21\r\nConnection: close\r\n\r\n<html>Sign in</html>\n",
                _ => b"",
            };
            let mut req = [0u8; 4096];
            let _ = std::io::Read::read(&mut s, &mut req);
            let _ = s.write_all(reply);
        }
    });
    (l, url)
}

/// (resident set size in MB, threads) of this process, from /proc/self/status.
fn rss_and_threads() -> (f64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok()).unwrap_or(0);
    (field("VmRSS:") as f64 / 1024.0, field("Threads:"))
}

fn main() {
    let seconds: u64 = std::env::var("STEWARD_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let faulty_percent: f64 = std::env::var("STEWARD_LOAD_FAULTY_PERCENT").ok().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", server.local_addr().expect("addr"));
    for _ in 0..4 {
        let l = server.try_clone().expect("clone listener");
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let _ = answer(s);
            }
        });
    }
    let hole = TcpListener::bind("127.0.0.1:0").expect("bind");
    let hole_url = format!("http://{}", hole.local_addr().expect("addr"));
    let mut endpoints: Vec<String> = (0..ENDPOINTS - 1).map(|_| url.clone()).collect();
    endpoints.insert(ENDPOINTS / 2, hole_url);
    // The load run: every k-th endpoint faulty, the faults in turn.
    let faults: Vec<(TcpListener, String)> = (0..4).map(faulty).collect();
    let n_faulty = ((ENDPOINTS as f64) * faulty_percent / 100.0).round() as usize;
    if n_faulty > 0 {
        let every = ENDPOINTS / n_faulty;
        for (j, i) in (0..ENDPOINTS).step_by(every).take(n_faulty).enumerate() {
            endpoints[i] = faults[j % 4].1.clone();
        }
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let home = Home::under(dir.path());
    let (reg, _) = steward::connect::local::LocalRegistry::open(&home.registry_file()).expect("registry");
    steward::config::sample::create(&reg, &home).expect("sample");
    let profile = Profile { name: "bench".into(), endpoints, ..Default::default() };
    let ctx = Context {
        profiles: Profiles::default(),
        home,
        profile: Some(profile),
        spec: RegistrySpec::HomeLocal,
        origin: Origin::Default,
        timeout: Duration::from_secs(5),
        policy: Default::default(),
    };
    let app = StewardApp::new(ctx, Persisted { view: View::Endpoints, ..Default::default() });
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_max_steps(100_000)
        .build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    // Replay on: charts receive points every 2 s while the endpoints are probed.
    let start = Instant::now();
    while h.query_all_by_label_contains("Replay the sample log").next().is_none() {
        h.step();
        assert!(start.elapsed() < Duration::from_secs(30), "the view never appeared");
    }
    h.get_by_label("Replay the sample log").click();
    let mut frames = Vec::new();
    let mut saw_down = false;
    let mut minutes: Vec<(u64, f64, u64, Option<usize>)> = Vec::new();
    // `seconds` of frames at ~60 Hz (30 s by default: the first probe round, the black hole's 5 s timeout
    // and backoff, and several rounds of probes of the live endpoints), sampled every minute.
    let run = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        let t = Instant::now();
        h.step();
        frames.push(t.elapsed());
        saw_down |= h.query_all_by_label_contains("did not answer").next().is_some();
        let minute = run.elapsed().as_secs() / 60;
        if minutes.last().is_none_or(|m| m.0 < minute) && (minute > 0 || minutes.is_empty()) && run.elapsed() >= Duration::from_secs(10) {
            let (rss, threads) = rss_and_threads();
            minutes.push((minute, rss, threads, h.state().backend_tasks()));
        }
        std::thread::sleep(Duration::from_millis(16).saturating_sub(t.elapsed()));
    }
    let (rss, threads) = rss_and_threads();
    minutes.push((run.elapsed().as_secs() / 60, rss, threads, h.state().backend_tasks()));
    println!("{n_faulty} faulty endpoint(s) (black hole, 502, HTML, closed in turn) for {seconds} s");
    for (m, rss, threads, tasks) in &minutes {
        println!("  minute {m:>3}: RSS {rss:7.1} MB, threads {threads}, backend tasks {}", tasks.map_or("-".into(), |t| t.to_string()));
    }
    assert!(saw_down, "the black-holed endpoint was never reported down");
    let shown = h.query_all_by_label_contains("income-classifier: v1 ready").count();
    frames.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{ENDPOINTS} endpoints ({shown} rows shown serving v1/v2, 1 black-holed, reported down); replay on");
    println!(
        "frames: {}  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (budget 16 ms; build profile: {})",
        frames.len(),
        ms(percentile(&frames, 0.50)),
        ms(percentile(&frames, 0.95)),
        ms(percentile(&frames, 0.99)),
        ms(*frames.last().expect("frames")),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
}
