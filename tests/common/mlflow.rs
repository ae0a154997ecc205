//! MLflow's own view of aliases, read and written with a plain HTTP client (not Steward's): the oracle for
//! every move, and the way a script or the MLflow UI moves an alias behind Steward's back.

use super::Stack;

/// The model the stack seeds into MLflow.
pub const MODEL: &str = "income-classifier";

/// Where MLflow says the alias points (None when unset), read with a plain HTTP client.
pub fn mlflow_alias(stack: &Stack, alias: &str) -> Option<u64> {
    let url = format!("{}/api/2.0/mlflow/registered-models/alias?name={MODEL}&alias={alias}", stack.mlflow);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new().get(&url).send().await.unwrap();
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap();
        if status.as_u16() == 400 {
            return None;
        }
        assert!(status.is_success(), "{status} {body}");
        Some(body["model_version"]["version"].as_str().unwrap().parse().unwrap())
    })
}

/// Deletes the test's alias when the test ends (pass or fail), so seeded aliases stay the only ones.
pub struct AliasGuard<'a>(pub &'a Stack, pub &'a str);

impl Drop for AliasGuard<'_> {
    fn drop(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _ = rt.block_on(
            reqwest::Client::new()
                .delete(format!("{}/api/2.0/mlflow/registered-models/alias", self.0.mlflow))
                .json(&serde_json::json!({"name": MODEL, "alias": self.1}))
                .send(),
        );
    }
}

/// Moves an alias with MLflow's own API, as a script or the MLflow UI would.
pub fn mlflow_set_alias(stack: &Stack, alias: &str, version: u64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/api/2.0/mlflow/registered-models/alias", stack.mlflow))
            .json(&serde_json::json!({"name": MODEL, "alias": alias, "version": version.to_string()}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    })
}

