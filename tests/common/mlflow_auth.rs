//! `mlflow server --app-name basic-auth` (MLflow's own authentication), started from the stack's MLflow
//! install on a free loopback port, with an admin account; shared by tests/mlflow_auth.rs and
//! tests/keyring.rs.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::stack;

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Own process group: stop the server and its workers.
        // `--` so that the negative process-group id is not read as an option.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-s", "TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub const ADMIN_PASSWORD: &str = "admin-Pa55word-for-tests";

pub fn start_auth_server(dir: &std::path::Path) -> Server {
    let stack = stack();
    let bin = std::env::var("STEWARD_TEST_MLFLOW_BIN")
        .ok()
        .or_else(|| {
            std::fs::read_to_string(stack.state_dir.join("stack.env"))
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("STEWARD_TEST_MLFLOW_BIN=").map(str::to_string))
        })
        .expect("STEWARD_TEST_MLFLOW_BIN: run the tests through scripts/test (it starts the stack)");
    let ini = dir.join("auth.ini");
    std::fs::write(
        &ini,
        format!(
            "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}/auth.db\nadmin_username = admin\nadmin_password = {ADMIN_PASSWORD}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
            dir.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut cmd = Command::new(bin);
    cmd.args(["server", "--app-name", "basic-auth", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}/mlflow.db", dir.display()))
        .arg("--artifacts-destination")
        .arg(dir.join("artifacts"))
        .env("MLFLOW_AUTH_CONFIG_PATH", &ini)
        .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "steward-test-secret")
        .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .process_group(0);
    let server = Server { child: cmd.spawn().unwrap(), url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(120);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    loop {
        let up = rt.block_on(async {
            reqwest::Client::new().get(format!("{}/health", server.url)).send().await.map(|r| r.status().is_success()).unwrap_or(false)
        });
        if up {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the basic-auth MLflow did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A basic-auth server holding one registered model, `model` (created by the admin).
pub fn start_auth_server_with_model(dir: &std::path::Path, model: &str) -> Server {
    let server = start_auth_server(dir);
    admin_post(&server.url, "/api/2.0/mlflow/registered-models/create", serde_json::json!({"name": model}));
    server
}

pub fn admin_post(url: &str, path: &str, body: serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}{path}"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_success(), "{path}: {status} {}", r.text().await.unwrap_or_default());
    })
}
