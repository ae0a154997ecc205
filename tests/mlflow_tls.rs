//! Certificates the way MLflow's clients read them (issue 15, item 3), against the real MLflow 3.17 of
//! the test stack behind a TLS-terminating proxy (tests/tools/tls_proxy.py) whose certificate is signed
//! by a private CA made here with the openssl command:
//! - without the CA, the connection fails (unknown issuer);
//! - `MLFLOW_TRACKING_SERVER_CERT_PATH=ca.pem` connects, and the models listed equal MLflow's own list;
//! - a missing path, a directory, a file without certificates: one clear line naming the path and the
//!   variable, before any request;
//! - `MLFLOW_TRACKING_CLIENT_CERT_PATH` (certificate and key in one PEM) passes a proxy that requires a
//!   client certificate; without it the handshake is refused; a file without a key is a clear error;
//! - a profile's `ca_file` (`steward profile add --ca-file`) connects without any variable;
//! - `MLFLOW_TRACKING_INSECURE_TLS=true` together with a CA path is refused, as MLflow refuses it.

mod common;

use std::path::Path;

use common::tls::*;
use common::*;

fn models(home: &Path, url: &str, env: &[(&str, &str)]) -> std::process::Output {
    steward_env(home, &["--registry", url, "--timeout", "5", "models", "--json"], env)
}

fn names(o: &std::process::Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)));
    let list = v.as_array().or_else(|| v["models"].as_array()).unwrap_or_else(|| panic!("{v}"));
    let mut n: Vec<String> = list.iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

fn mlflow_names(stack: &Stack) -> Vec<String> {
    let v = http_get_json(&format!("{}/api/2.0/mlflow/registered-models/search?max_results=1000", stack.mlflow));
    let mut n: Vec<String> = v["registered_models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

fn one_line_naming(o: &std::process::Output, parts: &[&str]) {
    assert_ne!(o.status.code(), Some(0), "must fail: {}", stdout(o));
    let err = stderr(o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for p in parts {
        assert!(err.contains(p), "{p:?} not in: {err}");
    }
}

#[test]
fn mlflow_certificate_variables_and_the_profile_ca_work_as_mlflows_clients() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificates(d);
    let home = tempfile::tempdir().unwrap();
    let p = proxy(d, &stack.mlflow, false);
    let ca = d.join("ca.pem");
    let ca_s = ca.to_str().unwrap();

    let o = models(home.path(), &p.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", ""), ("SSL_CERT_FILE", "")]);
    assert_ne!(o.status.code(), Some(0), "a private CA is not trusted by default");
    one_line_naming(&o, &["does not trust", "MLFLOW_TRACKING_SERVER_CERT_PATH or the profile's ca_file"]);

    let o = models(home.path(), &p.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", ca_s)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&o), mlflow_names(&stack), "the models MLflow lists");

    let missing = d.join("no-such-ca.pem");
    let o = models(home.path(), &p.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", missing.to_str().unwrap())]);
    one_line_naming(&o, &["no-such-ca.pem", "MLFLOW_TRACKING_SERVER_CERT_PATH", "no such file"]);
    let o = models(home.path(), &p.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", d.to_str().unwrap())]);
    one_line_naming(&o, &["MLFLOW_TRACKING_SERVER_CERT_PATH", "a directory"]);
    let o = models(home.path(), &p.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", d.join("server.ext").to_str().unwrap())]);
    one_line_naming(&o, &["server.ext", "no PEM certificate"]);
    let o = models(home.path(), &p.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", ca_s), ("MLFLOW_TRACKING_INSECURE_TLS", "true")]);
    one_line_naming(&o, &["MLFLOW_TRACKING_INSECURE_TLS", "set only one"]);

    // Client certificates: the proxy requires one signed by the CA.
    let strict = proxy(d, &stack.mlflow, true);
    let o = models(home.path(), &strict.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", ca_s)]);
    assert_ne!(o.status.code(), Some(0), "no client certificate: refused by the server");
    let client = d.join("client-with-key.pem");
    let o = models(home.path(), &strict.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", ca_s), ("MLFLOW_TRACKING_CLIENT_CERT_PATH", client.to_str().unwrap())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&o), mlflow_names(&stack));
    let o = models(home.path(), &strict.url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", ca_s), ("MLFLOW_TRACKING_CLIENT_CERT_PATH", d.join("client.pem").to_str().unwrap())]);
    one_line_naming(&o, &["client.pem", "MLFLOW_TRACKING_CLIENT_CERT_PATH", "private key"]);

    // A profile's CA: no variable needed; a missing file is refused when the profile is saved.
    let o = steward_env(home.path(), &["--registry", &p.url, "profile", "add", "private", "--ca-file", ca_s, "--activate"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = steward_env(home.path(), &["--timeout", "5", "models", "--json"], &[("MLFLOW_TRACKING_SERVER_CERT_PATH", "")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&o), mlflow_names(&stack));
    let o = steward_env(home.path(), &["--registry", &p.url, "profile", "add", "broken", "--ca-file", missing.to_str().unwrap()], &[]);
    one_line_naming(&o, &["no-such-ca.pem", "--ca-file", "no such file"]);
}
