//! A fault-injecting HTTP proxy for reads (issue 15): loopback only, bounded in time (30 s per
//! connection at most) and bytes (100 MB bodies at most, 16 MB read from the upstream). Faults: refused,
//! black hole, a delay past the timeout, a reset mid-body, 500/502/503, HTML where JSON is expected,
//! truncated JSON, 100 MB bodies (Content-Length and chunked), a wrong content type, slow headers, a slow
//! body, and TLS with a self-signed or a private CA's certificate (tests/tools/tls_proxy.py). Used by
//! tests/fault_matrix.rs (every fault against every connector) and tests/ui_faults.rs (the window).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::tls::proxy_with;

/// The timeout (seconds) the tests give Steward; the delay fault answers 2 s after it.
pub const TIMEOUT: f64 = 3.0;
const HUGE: usize = 100 << 20;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    Refused,
    BlackHole,
    Delay,
    ResetMidBody,
    Status500,
    Status502,
    Status503,
    Html,
    TruncatedJson,
    HugeLength,
    HugeChunked,
    WrongType,
    SlowHeaders,
    SlowBody,
    SelfSigned,
    PrivateCa,
}

pub const FAULTS: [Fault; 16] = [
    Fault::Refused,
    Fault::BlackHole,
    Fault::Delay,
    Fault::ResetMidBody,
    Fault::Status500,
    Fault::Status502,
    Fault::Status503,
    Fault::Html,
    Fault::TruncatedJson,
    Fault::HugeLength,
    Fault::HugeChunked,
    Fault::WrongType,
    Fault::SlowHeaders,
    Fault::SlowBody,
    Fault::SelfSigned,
    Fault::PrivateCa,
];

/// Reads one request (head and a Content-Length body) from the client.
fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    }
}

/// The request as forwarded: `Connection: close`, so the upstream's reply ends with its connection.
fn forward(upstream: &str, request: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(request);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines: Vec<&str> = head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
    lines.push("Connection: close");
    let mut up = TcpStream::connect(upstream).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    up.write_all(format!("{}\r\n\r\n{}", lines.join("\r\n"), body).as_bytes()).ok()?;
    let mut reply = Vec::new();
    up.take(16 << 20).read_to_end(&mut reply).ok()?;
    let end = reply.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&reply[..end]).to_string();
    let mut body = reply[end + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Some((head, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..(nl + 2 + size).min(b.len())]);
        b = &b[(nl + 4 + size).min(b.len())..];
    }
    out
}

fn reply(s: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// Streams up to `HUGE` bytes of spaces (a JSON-ish body), stopping when the client goes away.
fn huge(s: &mut TcpStream, chunked: bool, stop: &AtomicBool) {
    let framing = if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {HUGE}") };
    if s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n").as_bytes()).is_err() {
        return;
    }
    let piece = vec![b' '; 1 << 16];
    let mut sent = 0;
    while sent < HUGE && !stop.load(Ordering::Relaxed) {
        let ok = if chunked { s.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).and_then(|_| s.write_all(&piece)).and_then(|_| s.write_all(b"\r\n")) } else { s.write_all(&piece) };
        if ok.is_err() {
            return;
        }
        sent += piece.len();
    }
    if chunked {
        let _ = s.write_all(b"0\r\n\r\n");
    }
}

/// Writes `bytes` one at a time, every 400 ms, until the client goes away or 30 s pass.
fn trickle(s: &mut TcpStream, bytes: &[u8], stop: &AtomicBool) {
    let until = Instant::now() + Duration::from_secs(30);
    for b in bytes {
        if stop.load(Ordering::Relaxed) || Instant::now() > until || s.write_all(&[*b]).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
}

fn serve(mut s: TcpStream, upstream: &str, fault: Fault, stop: &AtomicBool) {
    let Some(request) = read_request(&mut s) else { return };
    match fault {
        Fault::BlackHole => {
            let until = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Fault::Status500 => reply(&mut s, "500 Internal Server Error", "text/plain", b"Internal Server Error"),
        Fault::Status502 => reply(&mut s, "502 Bad Gateway", "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Fault::Status503 => reply(&mut s, "503 Service Unavailable", "text/html", b"<html><body>upstream is restarting</body></html>"),
        Fault::Html => reply(&mut s, "200 OK", "text/html; charset=utf-8", b"<!doctype html><html><body><form action=/login>Sign in</form></body></html>"),
        Fault::HugeLength => huge(&mut s, false, stop),
        Fault::HugeChunked => huge(&mut s, true, stop),
        Fault::SlowHeaders => trickle(&mut s, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", stop),
        Fault::SlowBody => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n");
            trickle(&mut s, &[b' '; 4096], stop);
        }
        Fault::None | Fault::Delay | Fault::ResetMidBody | Fault::TruncatedJson | Fault::WrongType => {
            let Some((head, body)) = forward(upstream, &request) else { return };
            let status = head.lines().next().and_then(|l| l.split_once(' ')).map(|(_, s)| s.to_string()).unwrap_or_else(|| "502 Bad Gateway".into());
            let content_type = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string())).unwrap_or_else(|| "application/json".into());
            match fault {
                Fault::Delay => {
                    std::thread::sleep(Duration::from_secs_f64(TIMEOUT + 2.0));
                    reply(&mut s, &status, &content_type, &body);
                }
                Fault::ResetMidBody => {
                    let full = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len().max(2));
                    let _ = s.write_all(full.as_bytes());
                    let _ = s.write_all(&body[..body.len() / 2]);
                    let _ = s.flush();
                    let _ = socket2_linger_zero(&s);
                }
                Fault::TruncatedJson => reply(&mut s, &status, "application/json", &body[..body.len() / 2]),
                Fault::WrongType => reply(&mut s, &status, "text/html", &body),
                _ => reply(&mut s, &status, &content_type, &body),
            }
        }
        Fault::Refused | Fault::SelfSigned | Fault::PrivateCa => {}
    }
}

/// Closes with RST (SO_LINGER 0): a connection reset mid-body.
fn socket2_linger_zero(s: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = Linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a valid, open socket with a correctly sized struct.
    let r = unsafe { setsockopt(s.as_raw_fd(), 1 /* SOL_SOCKET */, 13 /* SO_LINGER */, &linger as *const _ as *const u8, std::mem::size_of::<Linger>() as u32) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[repr(C)]
struct Linger {
    l_onoff: i32,
    l_linger: i32,
}

unsafe extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const u8, len: u32) -> i32;
}

/// A proxy in front of `upstream` injecting a fault that can be changed while it runs (`set`); stops (and
/// lets its threads end) when dropped. TLS faults and `Refused` are fixed at the start.
pub struct Proxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    fault: Arc<Mutex<Fault>>,
    _tls: Option<super::tls::Proxy>,
}

impl Proxy {
    /// The fault for the next connections (plain HTTP faults only).
    pub fn set(&self, fault: Fault) {
        if let Ok(mut f) = self.fault.lock() {
            *f = fault;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the proxy on 127.0.0.1 in front of `upstream` (http://HOST:PORT, loopback); `certs` holds the
/// certificates of `tls::certificates` and `tls::self_signed` (used by the TLS faults only).
pub fn start(upstream: &str, fault: Fault, certs: &Path) -> Proxy {
    assert!(upstream.contains("127.0.0.1") || upstream.contains("localhost"), "loopback upstreams only: {upstream}");
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(fault));
    let up = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
    match fault {
        Fault::Refused => {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", l.local_addr().unwrap());
            drop(l); // nothing listens there now
            return Proxy { url, stop, fault: shared, _tls: None };
        }
        Fault::SelfSigned | Fault::PrivateCa => {
            let tls = proxy_with(certs, if fault == Fault::SelfSigned { "self" } else { "server" }, upstream, false);
            return Proxy { url: tls.url.clone(), stop, fault: shared, _tls: Some(tls) };
        }
        _ => {}
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (st, current) = (stop.clone(), shared.clone());
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !st.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => {
                    let (up, st) = (up.clone(), st.clone());
                    let fault = current.lock().map(|f| *f).unwrap_or(Fault::None);
                    let _ = s.set_nonblocking(false);
                    std::thread::spawn(move || serve(s, &up, fault, &st));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    Proxy { url, stop, fault: shared, _tls: None }
}

