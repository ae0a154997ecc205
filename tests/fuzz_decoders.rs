//! Fuzzing the JSON decoders of the MLflow, OIP and Prometheus clients (issue 15) through their whole
//! response path: a loopback server answers every request with the input (200, application/json, its
//! Content-Length), and the real client calls decode it. Seeds are answers captured from MLflow 3.17,
//! MLServer 1.7.1 and Prometheus (tests/fuzz/corpus/*.json, see the corpus README). A panic, or one
//! input over 10 s, fails and saves the input (tests/common/fuzz.rs).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fuzz::{corpus, fuzz};

/// A loopback HTTP server answering every request with the current body.
fn server() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let body = Arc::new(Mutex::new(Vec::new()));
    let b = body.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            // Read the request head and any body it announces.
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&req[..head_end]).to_ascii_lowercase();
            let want: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            while req.len() < head_end + want {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let body = b.lock().unwrap().clone();
            let mut out = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len()).into_bytes();
            out.extend_from_slice(&body);
            let _ = s.write_all(&out);
        }
    });
    (url, body)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn seeds(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| corpus(n)).collect()
}

#[test]
fn the_mlflow_decoders_never_panic() {
    use steward::connect::Registry;
    let (url, body) = server();
    let rt = runtime();
    let reg = steward::connect::mlflow::MlflowRegistry::new(&url, Default::default(), Duration::from_secs(5), &Default::default()).unwrap();
    let runs = fuzz("mlflow-json", &seeds(&["mlflow-models.json", "mlflow-versions.json", "mlflow-run.json", "mlflow-alias.json"]), |b| {
        *body.lock().unwrap() = b.to_vec();
        rt.block_on(async {
            let _ = reg.list_models().await;
            let _ = reg.list_versions("income-classifier").await;
            let _ = reg.get_alias("income-classifier", "champion").await;
        });
    });
    assert!(runs > 10);
}

#[test]
fn the_oip_decoders_never_panic() {
    let (url, body) = server();
    let rt = runtime();
    let client = steward::serving::oip::OipClient::new(&url, Duration::from_secs(5)).unwrap();
    let runs = fuzz("oip-json", &seeds(&["oip-server.json", "oip-model.json", "oip-index.json", "oip-infer.json"]), |b| {
        *body.lock().unwrap() = b.to_vec();
        rt.block_on(async {
            let _ = client.server_metadata().await;
            let _ = client.model_metadata("income-classifier", Some("2")).await;
            let _ = client.repository_index().await;
            let _ = client.infer("income-classifier", None, &serde_json::json!({"inputs": []})).await;
            let _ = steward::serving::oip::probe(&url, Duration::from_secs(5)).await;
        });
    });
    assert!(runs > 10);
}

#[test]
fn the_prometheus_decoders_never_panic() {
    let (url, body) = server();
    let rt = runtime();
    let client = steward::serving::prom::PromClient::new(&url, Duration::from_secs(5)).unwrap();
    let runs = fuzz("prometheus-json", &seeds(&["prom-vector.json", "prom-matrix.json", "prom-scalar.json"]), |b| {
        *body.lock().unwrap() = b.to_vec();
        rt.block_on(async {
            let _ = client.query_typed("up", None).await;
            let _ = client.query_range("up", 0.0, 600.0, 60.0).await;
        });
    });
    assert!(runs > 10);
}
