//! Homes: the three folders Steward uses and the files in them.

use std::path::{Path, PathBuf};

/// The four folders Steward uses. With `$STEWARD_HOME` / `--home DIR` all four live under DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub config: PathBuf,
    pub data: PathBuf,
    pub cache: PathBuf,
    /// Steward's own log and crash reports (the platform's state folder: `~/.local/state/steward` on
    /// Linux; where a platform has none, `logs` in the data folder).
    pub state: PathBuf,
}

impl Home {
    /// `--home` wins, then `$STEWARD_HOME`, then the platform folders.
    pub fn resolve(flag: Option<&Path>) -> Result<Home, String> {
        if let Some(dir) = flag {
            return Ok(Home::under(dir));
        }
        if let Some(dir) = std::env::var_os("STEWARD_HOME").filter(|d| !d.is_empty()) {
            return Ok(Home::under(Path::new(&dir)));
        }
        let dirs = directories::ProjectDirs::from("org", "Steward", "steward").ok_or_else(|| {
            "cannot find a home folder for Steward's data; set STEWARD_HOME or pass --home DIR".to_string()
        })?;
        Ok(Home {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
            cache: dirs.cache_dir().to_path_buf(),
            state: dirs.state_dir().map_or_else(|| dirs.data_dir().join("logs"), Path::to_path_buf),
        })
    }

    pub fn under(dir: &Path) -> Home {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Home { config: dir.join("config"), data: dir.join("data"), cache: dir.join("cache"), state: dir.join("state") }
    }

    pub fn profiles_file(&self) -> PathBuf {
        self.config.join("profiles.toml")
    }
    /// The sample workspace's prediction log (written by `steward sample`).
    pub fn sample_log(&self) -> PathBuf {
        self.sample_dir().join(crate::config::sample::PREDICTIONS_FILE)
    }
    /// The sample workspace's label log (delayed labels joined by `request_id`).
    pub fn sample_labels(&self) -> PathBuf {
        self.sample_dir().join(crate::config::sample::LABELS_FILE)
    }

    pub fn registry_file(&self) -> PathBuf {
        self.data.join("registry.sqlite")
    }
    pub fn sample_dir(&self) -> PathBuf {
        self.data.join("sample")
    }
    pub fn audit_log(&self) -> PathBuf {
        self.data.join("audit.jsonl")
    }
    /// The home's gate policy (written with the sample workspace; see `GatePolicy`).
    pub fn gates_file(&self) -> PathBuf {
        self.config.join("gates.toml")
    }
    /// Steward's log file (`diag::log`).
    pub fn log_file(&self) -> PathBuf {
        self.state.join("steward.log")
    }
    pub fn ui_state_file(&self) -> PathBuf {
        self.config.join("window.ron")
    }
}
