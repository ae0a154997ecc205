//! Against `mlflow server --app-name basic-auth` (MLflow's own authentication), started here from the
//! stack's MLflow install on a free loopback port: wrong credentials and a READ-only user.

mod common;

use common::mlflow_auth::*;
use common::*;

#[test]
fn wrong_password_and_a_read_only_user_are_told_apart_and_nothing_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_auth_server_with_model(dir.path(), "credit-risk");
    let url = server.url.clone();
    for _ in 0..2 {
        admin_post(&url, "/api/2.0/mlflow/model-versions/create", serde_json::json!({"name": "credit-risk", "source": "s3://bucket/credit-risk"}));
    }
    admin_post(&url, "/api/2.0/mlflow/registered-models/alias", serde_json::json!({"name": "credit-risk", "alias": "champion", "version": "1"}));
    admin_post(&url, "/api/2.0/mlflow/users/create", serde_json::json!({"username": "reader", "password": "reader-Pa55word"}));

    let home = tempfile::tempdir().unwrap();
    // No credentials at all.
    let out = steward(home.path(), &["models", "--registry", &url]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("authentication failed") && stderr(&out).contains("MLFLOW_TRACKING_USERNAME"), "{}", stderr(&out));
    // Wrong password.
    let wrong = [("MLFLOW_TRACKING_USERNAME", "admin"), ("MLFLOW_TRACKING_PASSWORD", "not-the-password")];
    let out = steward_env(home.path(), &["models", "--registry", &url], &wrong);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("authentication failed") && stderr(&out).contains("rejected"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-the-password"));

    // A READ-only user can read...
    let reader = [("MLFLOW_TRACKING_USERNAME", "reader"), ("MLFLOW_TRACKING_PASSWORD", "reader-Pa55word")];
    let out = steward_env(home.path(), &["versions", "credit-risk", "--json", "--registry", &url], &reader);
    assert!(out.status.success(), "{}", stderr(&out));
    // ...but not promote.
    let out = steward_env(
        home.path(),
        &["promote", "credit-risk", "2", "--alias", "champion", "--reason", "try", "--yes", "--confirm", "credit-risk", "--registry", &url],
        &reader,
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("permission denied") && stderr(&out).contains("needs EDIT on model 'credit-risk'"), "{}", stderr(&out));
    let log = std::fs::read_to_string(home.path().join("data/audit.jsonl")).unwrap();
    assert!(!log.contains("\"succeeded\""), "nothing may be recorded as a success: {log}");
    assert!(log.contains("\"failed\"") && log.contains("\"registry_identity\":\"reader\""), "{log}");
    assert!(steward(home.path(), &["audit", "verify"]).status.success());
}
