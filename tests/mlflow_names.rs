//! Model names with quotes and backslashes (issue 12, item 10) against the real MLflow 3.17 of the test
//! stack: every name MLflow accepts lists its versions and can be promoted and rolled back. The oracle
//! is MLflow's own REST answers, read with a plain HTTP client.

mod common;

use common::*;
use serde_json::{Value, json};

/// Names with each quote kind, both together, backslashes (also last), LIKE wildcards; `a"b"c'x` and
/// its decoy `a"b"cXx` differ only where a `'` is (the LIKE form of the filter matches both).
const NAMES: &[&str] = &["o'neil-model", "dq\"model", "both'and\"x", "back\\slash", "end\\", "pct%_x", "a\"b\"c'x"];
const DECOY: &str = "a\"b\"cXx";

fn post(url: &str, body: Value) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new().post(url).json(&body).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

/// Registers `name` with at least `n` versions (the stack outlives one test run); returns how many it
/// has, as MLflow says.
fn ensure_model(stack: &Stack, name: &str, n: u64) -> u64 {
    let api = format!("{}/api/2.0/mlflow", stack.mlflow);
    let (status, body) = post(&format!("{api}/registered-models/create"), json!({"name": name}));
    assert!(status == 200 || body["error_code"] == "RESOURCE_ALREADY_EXISTS", "{name}: {status} {body}");
    let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("name", name).finish();
    let have = http_get_json(&format!("{api}/registered-models/get?{q}"))["registered_model"]["latest_versions"]
        .as_array()
        .map(|v| v.iter().filter_map(|x| x["version"].as_str()?.parse::<u64>().ok()).max().unwrap_or(0))
        .unwrap_or(0);
    for _ in have..n {
        let (status, body) = post(&format!("{api}/model-versions/create"), json!({"name": name, "source": "s3://bucket/model"}));
        assert_eq!(status, 200, "{name}: {body}");
    }
    have.max(n)
}

fn alias_of(stack: &Stack, name: &str, alias: &str) -> Option<String> {
    let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("name", name).append_pair("alias", alias).finish();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new().get(format!("{}/api/2.0/mlflow/registered-models/alias?{q}", stack.mlflow)).send().await.unwrap();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        body["model_version"]["version"].as_str().map(str::to_string)
    })
}

#[test]
fn every_name_mlflow_accepts_lists_promotes_and_rolls_back() {
    let stack = stack();
    let counts: Vec<u64> = NAMES.iter().map(|name| ensure_model(&stack, name, 2)).collect();
    let own = counts[NAMES.len() - 1];
    assert!(ensure_model(&stack, DECOY, own + 1) > own);
    for (name, &n) in NAMES.iter().zip(&counts) {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let reg = ["--registry", stack.mlflow.as_str()];
        let out = steward(h, &[&reg[..], &["versions", name, "--json"]].concat());
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let v = json(&out);
        let listed: Vec<u64> = v["versions"].as_array().unwrap().iter().map(|x| x["version"].as_u64().unwrap()).collect();
        let want: Vec<u64> = (1..=n).rev().collect();
        assert_eq!(listed, want, "{name}: its own versions, as MLflow lists them (not the decoy's): {v}");

        let alias = "names-test";
        let out = steward(h, &[&reg[..], &["promote", name, "2", "--alias", alias, "--reason", "quote test", "--yes"]].concat());
        assert!(out.status.success(), "{name}: promote: {}", stderr(&out));
        assert_eq!(alias_of(&stack, name, alias).as_deref(), Some("2"), "{name}: MLflow's alias after promote");
        let out = steward(h, &[&reg[..], &["rollback", name, "--alias", alias, "--to", "1", "--reason", "back", "--yes"]].concat());
        assert!(out.status.success(), "{name}: rollback: {}", stderr(&out));
        assert_eq!(alias_of(&stack, name, alias).as_deref(), Some("1"), "{name}: MLflow's alias after rollback");
    }
}
