//! A fault-injecting HTTP proxy in front of a real server, for faults the real server cannot produce on
//! demand: a write whose reply is lost, a write that never arrives, read-backs that fail or are stale.
//! Loopback only and bounded: one thread per connection, 1 MB per request and reply, 10 s socket
//! timeouts, and it stops when dropped. Every exchange is one request per connection (Connection: close).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which requests to harm. A "write" is a POST to `.../registered-models/alias` (moving an alias); a
/// "read" is a GET of `.../registered-models/alias?...` (reading one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Forward the write to the server, then close the client's connection without the reply.
    LoseWriteReply,
    /// Close the client's connection without forwarding the write (the server never sees it).
    DropWrite,
    /// Forward the write; send the reply's status line and headers with a Content-Length of 1000, ten
    /// bytes of body, then reset the connection (a reply broken mid-body).
    BreakWriteReply,
    /// Forward the write; answer 200 with a Content-Length of 64 MiB (over every cap) and no body.
    HugeWriteReply,
    /// Forward the write; answer every later read with a gateway's HTML 502.
    FailReadsAfterWrite,
    /// Forward the write; answer every later read with the copy of that read's reply from before it.
    StaleReadsAfterWrite,
}

struct State {
    fault: Fault,
    written: bool,
    /// The last reply to each read path, from before the write.
    cache: HashMap<String, Vec<u8>>,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    /// Writes the proxy saw (forwarded or not).
    pub writes: Arc<AtomicUsize>,
    addr: std::net::SocketAddr,
}

const CAP: usize = 1 << 20;

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream` (http://HOST:PORT, loopback).
    pub fn start(upstream: &str, fault: Fault) -> FaultProxy {
        let up = upstream.trim_end_matches('/').strip_prefix("http://").expect("an http:// upstream").to_string();
        assert!(up.starts_with("127.") || up.starts_with("localhost"), "loopback upstreams only: {up}");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State { fault, written: false, cache: HashMap::new() }));
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicUsize::new(0));
        let (st, sp, wr) = (state.clone(), stop.clone(), writes.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let (st, wr, up) = (st.clone(), wr.clone(), up.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &up, &st, &wr);
                });
            }
        });
        FaultProxy { url: format!("http://{addr}"), state, stop, writes, addr }
    }

    /// Changes the fault from now on (and forgets whether a write happened).
    pub fn set(&self, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.fault = fault;
        s.written = false;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

/// Reads one HTTP/1.1 message head and its Content-Length body (bounded).
fn read_request(s: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 || buf.len() > CAP {
            return Err(std::io::Error::other("request head incomplete"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0)
        .min(CAP);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

/// Sends the request upstream with Connection: close and the upstream's Host; returns the whole reply.
fn forward(up: &str, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let request_line = lines.next().unwrap_or_default();
    let mut out = format!("{request_line}\r\n");
    for l in lines {
        let name = l.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if name != "connection" && name != "host" && name != "keep-alive" {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("Host: {up}\r\nConnection: close\r\n\r\n"));
    let mut server = TcpStream::connect(up)?;
    server.set_read_timeout(Some(Duration::from_secs(10)))?;
    server.write_all(out.as_bytes())?;
    server.write_all(body)?;
    let mut reply = Vec::new();
    server.take(CAP as u64).read_to_end(&mut reply)?;
    Ok(reply)
}

fn bad_gateway() -> Vec<u8> {
    let body = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    format!("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        .into_bytes()
}

fn serve(mut client: TcpStream, up: &str, state: &Mutex<State>, writes: &AtomicUsize) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    client.set_write_timeout(Some(Duration::from_secs(10)))?;
    let (head, body) = read_request(&mut client)?;
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default().to_string());
    let alias_path = path.contains("/registered-models/alias");
    let is_write = method == "POST" && alias_path;
    let is_read = method == "GET" && alias_path;
    let (fault, written) = {
        let s = state.lock().unwrap();
        (s.fault, s.written)
    };
    if is_write {
        writes.fetch_add(1, Ordering::SeqCst);
        state.lock().unwrap().written = true;
        match fault {
            Fault::DropWrite => return client.shutdown(Shutdown::Both),
            Fault::LoseWriteReply => {
                let _ = forward(up, &head, &body)?;
                return client.shutdown(Shutdown::Both);
            }
            Fault::BreakWriteReply => {
                let _ = forward(up, &head, &body)?;
                client.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"aliases\"")?;
                return client.shutdown(Shutdown::Both);
            }
            Fault::HugeWriteReply => {
                let _ = forward(up, &head, &body)?;
                return client.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n");
            }
            _ => {}
        }
    }
    if is_read && written {
        match fault {
            Fault::FailReadsAfterWrite => return client.write_all(&bad_gateway()),
            Fault::StaleReadsAfterWrite => {
                let cached = state.lock().unwrap().cache.get(&path).cloned();
                if let Some(old) = cached {
                    return client.write_all(&old);
                }
            }
            _ => {}
        }
    }
    let reply = forward(up, &head, &body)?;
    if is_read && !written {
        state.lock().unwrap().cache.insert(path, reply.clone());
    }
    client.write_all(&reply)?;
    client.shutdown(Shutdown::Write)
}
