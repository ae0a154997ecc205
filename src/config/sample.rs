//! The sample workspace: the model `income-classifier` with three real versions trained on UCI Adult
//! (see assets/sample/PROVENANCE.md), embedded in the binary so a fresh machine needs nothing else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::config::Home;
use crate::connect::RegistryError;
use crate::connect::local::LocalRegistry;
use crate::domain::{NewVersion, VersionNumber};

pub const MODEL: &str = "income-classifier";
pub const VERSIONS_JSON: &str = include_str!("../../assets/sample/versions.json");
pub const PREDICTIONS_CSV: &[u8] = include_bytes!("../../assets/sample/predictions.csv");
pub const PREDICTIONS_FILE: &str = "predictions.csv";
/// The label log: `request_id,label,labelled_at`, labels arriving 1 to 5 days after the prediction.
pub const LABELS_CSV: &[u8] = include_bytes!("../../assets/sample/labels.csv");
pub const LABELS_FILE: &str = "labels.csv";
/// Monitoring rules of the sample (the Monitoring view's alerts when the profile names none).
pub const MONITORING_RULES: [&str; 3] = ["accuracy < 0.8 for 2d", "psi(age) > 0.2", "psi(score) > 0.2"];

#[derive(Deserialize)]
struct SampleFile {
    model: SampleModel,
    versions: Vec<SampleVersion>,
    aliases: BTreeMap<String, VersionNumber>,
}

#[derive(Deserialize)]
struct SampleModel {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SampleVersion {
    version: VersionNumber,
    #[serde(default)]
    description: String,
    source: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    #[serde(default)]
    metrics: BTreeMap<String, Value>,
    #[serde(default)]
    tags: BTreeMap<String, Value>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    created_by: Option<String>,
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// What `create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created { versions: usize },
    AlreadyPresent,
}

/// Registers the sample model into `reg` (unless a model of that name exists) and writes its
/// prediction log under the home's data folder.
/// Writes the sample's gate policy (`GatePolicy::sample`) to the home's gates.toml unless one is there.
fn write_sample_gates(home: &Home, model: &str) -> Result<(), String> {
    let path = home.gates_file();
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&home.config).map_err(|e| e.to_string())?;
    let text = format!(
        "# Promotion gates of the sample workspace (see `steward gates --help`). A required gate that does not\n\
         # pass disables Promote; an override needs a reason and is recorded with the gate results.\n{}",
        super::GatePolicy::sample(model).to_toml()?
    );
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &path)).map_err(|e| e.to_string())
}

pub fn create(reg: &LocalRegistry, home: &Home) -> Result<Outcome, RegistryError> {
    let sample: SampleFile = serde_json::from_str(VERSIONS_JSON).map_err(|e| RegistryError::Invalid {
        what: "the built-in sample workspace".into(),
        message: e.to_string(),
    })?;
    let log_dir = home.sample_dir();
    let log_path = log_dir.join(PREDICTIONS_FILE);
    let io = |e: std::io::Error| RegistryError::Storage { path: log_path.clone(), cause: e.to_string() };
    std::fs::create_dir_all(&log_dir).map_err(io)?;
    for (name, bytes) in [(PREDICTIONS_FILE, PREDICTIONS_CSV), (LABELS_FILE, LABELS_CSV)] {
        let path = log_dir.join(name);
        if std::fs::metadata(&path).map(|m| m.len() != bytes.len() as u64).unwrap_or(true) {
            let tmp = log_dir.join(format!("{name}.tmp"));
            let io = |e: std::io::Error| RegistryError::Storage { path: path.clone(), cause: e.to_string() };
            std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, &path)).map_err(io)?;
        }
    }
    if reg.list_models_blocking()?.iter().any(|m| m.name == sample.model.name) {
        return Ok(Outcome::AlreadyPresent);
    }
    let mut numbers = BTreeMap::new();
    for v in &sample.versions {
        let new = NewVersion {
            model: sample.model.name.clone(),
            source: v.source.clone(),
            description: Some(v.description.clone()),
            metrics: v.metrics.iter().filter_map(|(k, x)| x.as_f64().map(|f| (k.clone(), f))).collect(),
            params: v.params.iter().map(|(k, x)| (k.clone(), text(x.clone()))).collect(),
            tags: v.tags.iter().map(|(k, x)| (k.clone(), text(x.clone()))).collect(),
            created_by: v.created_by.clone(),
            created_at: v.created_at,
        };
        numbers.insert(v.version, reg.register_blocking(&new)?);
    }
    let mut tags = sample.model.tags.clone();
    tags.insert("prediction_log".into(), log_path.display().to_string());
    tags.insert("label_log".into(), log_dir.join(LABELS_FILE).display().to_string());
    reg.set_model_details_blocking(&sample.model.name, Some(&sample.model.description), &tags)?;
    for (alias, v) in &sample.aliases {
        let n = numbers.get(v).copied().unwrap_or(*v);
        reg.set_alias_blocking(&sample.model.name, alias, n)?;
    }
    reg.set_meta_blocking("sample_log", &log_path.display().to_string())?;
    write_sample_gates(home, &sample.model.name).map_err(|cause| RegistryError::Storage { path: home.gates_file(), cause })?;
    Ok(Outcome::Created { versions: sample.versions.len() })
}
