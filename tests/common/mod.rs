//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod adult;
pub mod faults;
pub mod fuzz;
pub mod mlflow;
pub mod mlflow_auth;
pub mod pg;
pub mod read_faults;
pub mod report;
pub mod s3;
pub mod spark;
pub mod tls;
pub mod ui;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real `steward` binary with a private home and no inherited registry settings.
pub fn steward(home: &Path, args: &[&str]) -> Output {
    steward_env(home, args, &[])
}

pub fn steward_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    steward_command(home, args, env).output().expect("the steward binary runs")
}

/// The `steward` command as [`steward_env`] runs it, to be spawned by the caller (e.g. with stdin).
pub fn steward_command(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.args(args)
        .env("STEWARD_HOME", home)
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .env_remove("MLFLOW_TRACKING_PASSWORD")
        .env_remove("MLFLOW_TRACKING_SERVER_CERT_PATH")
        .env_remove("MLFLOW_TRACKING_CLIENT_CERT_PATH")
        .env_remove("MLFLOW_TRACKING_INSECURE_TLS")
        // libpq's login variables (the team audit store): only what a test passes.
        .env_remove("PGUSER")
        .env_remove("PGPASSWORD")
        // Object storage: only what a test passes.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "steward failed: {}\n{}", stderr(o), stdout(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// The real test stack (MLflow, MLServer, Prometheus) started by `scripts/stack start`.
/// There is no skipping: without the stack these tests fail and say how to start it.
pub struct Stack {
    pub mlflow: String,
    pub mlserver: String,
    pub mlserver_metrics: String,
    pub prometheus: String,
    /// A second registered model seeded into MLflow.
    pub second_model: String,
    pub state_dir: PathBuf,
}

fn stack_env_file() -> PathBuf {
    std::env::var("STEWARD_STACK_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".stack"))
        .join("stack.env")
}

/// One value of the running stack: the environment wins, then `.stack/stack.env`; panics with
/// instructions when the stack is not running.
pub fn stack_var(key: &str) -> String {
    let env_file = stack_env_file();
    if let Ok(v) = std::env::var(key) {
        return v;
    }
    let text = std::fs::read_to_string(&env_file).unwrap_or_default();
    let found = text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim().trim_start_matches("export ") == key).then(|| v.trim().trim_matches('"').trim_matches('\'').to_string())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{key} is not set and {} has no value for it: the real test stack is not running. \
             Run `scripts/test` (it starts the stack), or `scripts/stack start` first.",
            env_file.display()
        )
    })
}

pub fn stack() -> Stack {
    Stack {
        mlflow: stack_var("STEWARD_TEST_MLFLOW_URL"),
        mlserver: stack_var("STEWARD_TEST_MLSERVER_URL"),
        mlserver_metrics: stack_var("STEWARD_TEST_MLSERVER_METRICS_URL"),
        prometheus: stack_var("STEWARD_TEST_PROMETHEUS_URL"),
        second_model: stack_var("STEWARD_TEST_SECOND_MODEL"),
        state_dir: stack_env_file().parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}

/// A GET with a plain HTTP client (not Steward's), for reading servers' own answers as an oracle.
pub fn http_get_json(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "GET {url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"))
    })
}

/// xorshift64*: a fixed sequence for a seed, so a failure can be replayed (differential and fuzz tests).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in 0..n (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

/// Days since 1970-01-01 as YYYY-MM-DD (Howard Hinnant's civil_from_days).
pub fn civil(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + i64::from(m <= 2))
}
