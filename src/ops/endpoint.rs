//! The endpoint step of an alias move: make a bound serving endpoint serve the alias's new version
//! (rewrite the served model's `model-settings.json`, `load`, wait for the version's `/ready`, smoke
//! inference), and put the endpoint back as it was when a step fails.
//!
//! Every network call has the per-request timeout; readiness polling has the binding's overall bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::config::Binding;
use crate::domain::VersionNumber;
use crate::serving::oip::OipClient;

/// The steps of an alias move, in the order they run (the revert steps only after a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Intent,
    CheckAlias,
    SetAlias,
    VerifyAlias,
    EndpointUpdate,
    EndpointLoad,
    EndpointReady,
    SmokeInference,
    RevertEndpoint,
    Done,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Intent => "intent recorded",
            Step::CheckAlias => "alias re-read",
            Step::SetAlias => "alias set",
            Step::VerifyAlias => "alias read back",
            Step::EndpointUpdate => "endpoint settings",
            Step::EndpointLoad => "endpoint load",
            Step::EndpointReady => "endpoint ready",
            Step::SmokeInference => "smoke inference",
            Step::RevertEndpoint => "revert endpoint",
            Step::Done => "done",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Running,
    Ok,
    Failed,
}

/// One step's progress, sent to the window (as `Event::Step`) and printed by the CLI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepEvent {
    pub step: Step,
    pub state: StepState,
    pub message: String,
}

impl std::fmt::Display for StepEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            StepState::Running => "...",
            StepState::Ok => "ok",
            StepState::Failed => "FAILED",
        };
        write!(f, "{} {state}", self.step.label())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// The progress callback of `Ops::execute_with_progress`.
pub type Progress<'p> = &'p (dyn Fn(StepEvent) + Send + Sync);

/// Sends step events and keeps the finished ones as lines for the audit record.
pub(super) struct Reporter<'p> {
    progress: Progress<'p>,
    pub lines: Vec<String>,
}

impl<'p> Reporter<'p> {
    pub fn new(progress: Progress<'p>) -> Self {
        Reporter { progress, lines: Vec::new() }
    }

    pub fn emit(&mut self, step: Step, state: StepState, message: impl Into<String>) {
        let ev = StepEvent { step, state, message: message.into() };
        if state != StepState::Running {
            self.lines.push(ev.to_string());
        }
        (self.progress)(ev);
    }

    pub fn running(&mut self, step: Step, message: impl Into<String>) {
        self.emit(step, StepState::Running, message);
    }

    pub fn ok(&mut self, step: Step, message: impl Into<String>) {
        self.emit(step, StepState::Ok, message);
    }

    /// Reports the failure and hands the message back as the error.
    pub fn failed(&mut self, step: Step, message: impl Into<String>) -> String {
        let message = message.into();
        self.emit(step, StepState::Failed, message.clone());
        format!("{}: {message}", step.label())
    }
}

const SETTINGS_FILE: &str = "model-settings.json";
/// Pause between readiness polls.
const POLL: Duration = Duration::from_millis(200);

/// The served model's settings before the step, kept for the revert.
struct Saved {
    /// The file's bytes; None when there was no file.
    settings: Option<Vec<u8>>,
    /// Its `parameters.version`.
    version: Option<String>,
}

/// One endpoint move: run it, and revert it if anything after it fails.
pub(super) struct EndpointMove<'b> {
    binding: &'b Binding,
    client: OipClient,
    saved: Option<Saved>,
    /// The smoke inference's outputs.
    pub answer: Option<Value>,
}

impl<'b> EndpointMove<'b> {
    pub fn new(binding: &'b Binding, timeout: Duration) -> Result<Self, String> {
        let client = OipClient::new(&binding.endpoint, timeout).map_err(|e| e.to_string())?;
        Ok(EndpointMove { binding, client, saved: None, answer: None })
    }

    pub fn endpoint(&self) -> String {
        self.client.endpoint()
    }

    fn settings_file(&self) -> PathBuf {
        self.binding.settings_dir.join(SETTINGS_FILE)
    }

    /// Settings, load, ready, smoke inference. Stops at the first failure (already reported).
    pub async fn run(&mut self, target: VersionNumber, rep: &mut Reporter<'_>) -> Result<(), String> {
        let served = self.binding.served_model.clone();
        rep.running(Step::EndpointUpdate, format!("{} for v{target}", self.settings_file().display()));
        let previous = self.write_target_settings(target).map_err(|e| rep.failed(Step::EndpointUpdate, e))?;
        rep.ok(Step::EndpointUpdate, format!("{} now names v{target} (was {previous})", self.settings_file().display()));

        rep.running(Step::EndpointLoad, format!("POST {}/v2/repository/models/{served}/load", self.endpoint()));
        self.client.load(&served).await.map_err(|e| rep.failed(Step::EndpointLoad, e.to_string()))?;
        rep.ok(Step::EndpointLoad, format!("{served} reloaded"));

        rep.running(Step::EndpointReady, format!("waiting for {served} v{target} (up to {:?})", self.binding.ready_timeout()));
        let waited = self.wait_ready(&target.to_string()).await.map_err(|e| rep.failed(Step::EndpointReady, e))?;
        rep.ok(Step::EndpointReady, format!("{served} v{target} ready after {} ms", waited.as_millis()));

        let Some(example) = self.binding.example_for(target) else {
            return Ok(());
        };
        rep.running(Step::SmokeInference, format!("{} -> {served} v{target}", example.display()));
        let outputs = self.smoke(&example, target).await.map_err(|e| rep.failed(Step::SmokeInference, e))?;
        rep.ok(Step::SmokeInference, format!("answered {}", short_json(&outputs)));
        self.answer = Some(outputs);
        Ok(())
    }

    /// Writes the target version's settings (renamed to the served model, absolute uri) over the served
    /// model's settings, keeping the old ones. Returns a description of what was there.
    fn write_target_settings(&mut self, target: VersionNumber) -> Result<String, String> {
        let new = target_settings(self.binding, target)?;
        let file = self.settings_file();
        let old = match std::fs::read(&file) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        let version = old.as_deref().and_then(settings_version);
        let was = match (&old, &version) {
            (None, _) => "no settings file".to_string(),
            (Some(_), Some(v)) => format!("v{v}"),
            (Some(_), None) => "a settings file without parameters.version".to_string(),
        };
        let text = serde_json::to_vec_pretty(&new).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&self.binding.settings_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.binding.settings_dir.display()))?;
        write_atomic(&file, &text)?;
        self.saved = Some(Saved { settings: old, version });
        Ok(was)
    }

    /// Polls the version's `/ready` until 200 or the binding's bound; each poll is bounded too.
    async fn wait_ready(&self, version: &str) -> Result<Duration, String> {
        let started = Instant::now();
        let deadline = started + self.binding.ready_timeout();
        let served = &self.binding.served_model;
        let mut last = "no answer yet".to_string();
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.client.model_ready(served, Some(version))).await {
                Ok(Ok(r)) if r.ready => return Ok(started.elapsed()),
                Ok(Ok(r)) => last = r.reason.unwrap_or_else(|| "not ready".into()),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "the readiness call did not answer in time".into(),
            }
            tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
        Err(format!("{served} v{version} not ready after {:?}: {last}", self.binding.ready_timeout()))
    }

    /// Sends the example request to the target version; checks it answered as that version.
    async fn smoke(&self, example: &Path, target: VersionNumber) -> Result<Value, String> {
        let text = std::fs::read_to_string(example).map_err(|e| format!("cannot read {}: {e}", example.display()))?;
        let body: Value = serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", example.display()))?;
        let served = &self.binding.served_model;
        let resp = self.client.infer(served, Some(&target.to_string()), &body).await.map_err(|e| e.to_string())?;
        if let Some(v) = resp.get("model_version").and_then(Value::as_str)
            && v != target.to_string()
        {
            return Err(format!("the answer came from version {v}, not v{target}"));
        }
        resp.get("outputs").cloned().ok_or_else(|| format!("no outputs in the answer: {}", short_json(&resp)))
    }

    /// Puts the old settings back and reloads them (or unloads, when there were none). Returns what the
    /// endpoint serves now; an error says what state it was left in.
    pub async fn revert(&self, rep: &mut Reporter<'_>) -> Result<String, String> {
        let Some(saved) = &self.saved else {
            let msg = "nothing to revert: the settings were not changed".to_string();
            rep.ok(Step::RevertEndpoint, msg.clone());
            return Ok(msg);
        };
        let served = &self.binding.served_model;
        let file = self.settings_file();
        rep.running(Step::RevertEndpoint, format!("restoring {}", file.display()));
        let restored = match &saved.settings {
            Some(bytes) => write_atomic(&file, bytes),
            None => std::fs::remove_file(&file).map_err(|e| format!("cannot remove {}: {e}", file.display())),
        };
        if let Err(e) = restored {
            return Err(rep.failed(Step::RevertEndpoint, format!("{e}; {} still names the new version", file.display())));
        }
        let call = match saved.settings {
            Some(_) => self.client.load(served).await,
            None => self.client.unload(served).await,
        };
        if let Err(e) = call {
            let msg = format!("old settings restored on disk, but reloading {served} failed: {e}");
            return Err(rep.failed(Step::RevertEndpoint, msg));
        }
        let msg = match &saved.version {
            Some(v) => {
                self.wait_ready(v).await.map_err(|e| rep.failed(Step::RevertEndpoint, format!("old settings reloaded, but {e}")))?;
                format!("{served} serves v{v} again (ready)")
            }
            None if saved.settings.is_none() => format!("{served} unloaded (it was not configured before)"),
            None => format!("{served} reloaded with its old settings"),
        };
        rep.ok(Step::RevertEndpoint, msg.clone());
        Ok(msg)
    }
}

/// The target version's settings from its folder: `name` set to the served model, `parameters.version`
/// to the target, a relative `parameters.uri` made absolute (relative to the version folder).
fn target_settings(binding: &Binding, target: VersionNumber) -> Result<Value, String> {
    let dir = binding.version_dir_for(target);
    let path = dir.join(SETTINGS_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("v{target} has no settings to serve: cannot read {}: {e}", path.display()))?;
    let mut v: Value = serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let obj = v.as_object_mut().ok_or_else(|| format!("{} is not a JSON object", path.display()))?;
    obj.insert("name".into(), json!(binding.served_model));
    let params = obj.entry("parameters").or_insert_with(|| Value::Object(Map::new()));
    let params = params.as_object_mut().ok_or_else(|| format!("{}: parameters is not an object", path.display()))?;
    let uri = params.get("uri").and_then(Value::as_str).unwrap_or(".");
    params.insert("uri".into(), json!(absolute_uri(&dir, uri)));
    params.insert("version".into(), json!(target.to_string()));
    Ok(v)
}

/// A relative path resolved against `dir`; URIs with a scheme and absolute paths as they are.
fn absolute_uri(dir: &Path, uri: &str) -> String {
    if uri.contains("://") || Path::new(uri).is_absolute() {
        return uri.to_string();
    }
    let joined = dir.join(uri);
    std::path::absolute(&joined).unwrap_or(joined).to_string_lossy().into_owned()
}

/// `parameters.version` of a settings file.
fn settings_version(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    match v.get("parameters")?.get("version")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Temp file in the same folder, fsync, rename: a reader sees the old or the new file, never half.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.steward-tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Compact JSON for one line, cut at 200 characters.
fn short_json(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_settings_rename_the_model_pin_the_version_and_make_the_uri_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = dir.path().join("v1");
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::write(
            v1.join(SETTINGS_FILE),
            r#"{"name":"orig","implementation":"mlserver_sklearn.SKLearnModel","parameters":{"uri":"./model.joblib","version":"9"}}"#,
        )
        .unwrap();
        let b = Binding {
            model: "m".into(),
            alias: "a".into(),
            endpoint: "http://127.0.0.1:1".into(),
            served_model: "served".into(),
            mode: Default::default(),
            settings_dir: dir.path().join("served"),
            version_dir: format!("{}/v{{version}}", dir.path().display()),
            example: None,
            ready_timeout_secs: None,
        };
        let s = target_settings(&b, 1).unwrap();
        assert_eq!(s["name"], "served");
        assert_eq!(s["implementation"], "mlserver_sklearn.SKLearnModel");
        assert_eq!(s["parameters"]["version"], "1");
        assert_eq!(s["parameters"]["uri"], v1.join("model.joblib").to_string_lossy().as_ref());
        assert!(target_settings(&b, 2).unwrap_err().contains("v2 has no settings"));
        assert_eq!(settings_version(br#"{"parameters":{"version":3}}"#), Some("3".into()));
        assert_eq!(absolute_uri(&v1, "s3://bucket/m"), "s3://bucket/m");
    }
}
