//! Prediction logs kept in a SQL engine, named in a profile (TOML `[[profile.log]]`) so that
//! `steward fairness --source NAME` and the window's "Open prediction log..." can use them by name.
//! The entry holds where the rows are and, optionally, their column mapping; never a secret.

use serde::{Deserialize, Serialize};

/// One named log in a SQL engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogSource {
    pub name: String,
    /// The engine: `postgresql` or `spark`; empty: the URL's scheme says.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub engine: String,
    /// `postgres://HOST[:PORT]/DB`, without credentials (PGUSER / PGPASSWORD give the login), or
    /// `sc://HOST[:PORT]` (Spark Connect), without a token.
    pub url: String,
    /// A table or view, `NAME` or `SCHEMA.NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Or the rows as a SELECT of the team's own (used as a sub-query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The column mapping's defaults (each can be given or changed at use).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive_prediction: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl LogSource {
    /// Refuses an entry that cannot work: an unknown engine, a URL with credentials, neither or both
    /// of table and query, an empty name.
    pub fn validate(&self) -> Result<(), String> {
        let n = &self.name;
        if n.trim().is_empty() {
            return Err("a [[profile.log]] entry has no name".into());
        }
        let u = url::Url::parse(&self.url).map_err(|e| format!("log '{n}': url '{}': {e}", self.url))?;
        let spark = match (self.engine.as_str(), u.scheme()) {
            ("postgresql" | "postgres" | "", "postgres" | "postgresql") => false,
            ("spark" | "", "sc") => true,
            ("postgresql" | "postgres", _) => return Err(format!("log '{n}': url '{}': expected postgres://HOST[:PORT]/DB", self.url)),
            ("spark", _) => return Err(format!("log '{n}': url '{}': expected sc://HOST[:PORT] (Spark Connect)", self.url)),
            ("", _) => return Err(format!("log '{n}': url '{}': expected postgres://HOST[:PORT]/DB or sc://HOST[:PORT]", self.url)),
            (other, _) => return Err(format!("log '{n}': engine '{other}' is not supported (postgresql, spark)")),
        };
        if spark && u.path().split(';').any(|kv| kv.starts_with("token=")) {
            return Err(format!("log '{n}': url carries a token; profiles never store secrets"));
        }
        if u.password().is_some() || !u.username().is_empty() {
            return Err(format!(
                "log '{n}': url '{}' carries credentials; profiles never store secrets: set PGUSER / PGPASSWORD instead",
                crate::connect::http::redact_url(&self.url)
            ));
        }
        match (&self.table, &self.query) {
            (Some(t), None) if !t.trim().is_empty() => Ok(()),
            (None, Some(q)) if !q.trim().is_empty() => Ok(()),
            _ => Err(format!("log '{n}': give exactly one of table and query")),
        }
    }
}
