//! A log's column mapping: a first guess from the column names, editable by the operator, compiled
//! into a [`Spec`]. Shared by the Fairness view and audit reports.

use serde::{Deserialize, Serialize};

use super::{Decision, Encoding, Spec, Window};

/// How a log's columns are read; remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mapping {
    pub group: Vec<String>,
    pub label: String,
    /// Empty: labels are 0/1.
    pub positive_label: String,
    pub use_score: bool,
    pub prediction: String,
    /// Comma-separated; empty: 1/true.
    pub positive_prediction: String,
    pub score: String,
    pub threshold: f64,
    /// Positive iff score > threshold (default >=); see `Spec::strict_threshold`.
    pub strict_threshold: bool,
    /// Text encoding of the log's values (default UTF-8).
    pub encoding: Encoding,
    /// Empty: none.
    pub time: String,
    pub weekly: bool,
    /// Empty: none.
    pub version: String,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            group: Vec::new(),
            label: String::new(),
            positive_label: String::new(),
            use_score: false,
            prediction: String::new(),
            positive_prediction: String::new(),
            score: String::new(),
            threshold: 0.5,
            strict_threshold: false,
            encoding: Encoding::Utf8,
            time: String::new(),
            weekly: false,
            version: String::new(),
            lower_bound: 0.8,
            upper_bound: 1.25,
        }
    }
}

fn find(columns: &[String], names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| columns.iter().find(|c| c.eq_ignore_ascii_case(n)))
        .cloned()
        .unwrap_or_default()
}

impl Mapping {
    /// A first guess from the column names (the operator can change every field).
    pub fn guess(columns: &[String]) -> Mapping {
        let label = find(columns, &["label", "y_true", "target", "actual", "outcome", "income"]);
        let prediction = find(columns, &["prediction", "y_pred", "predicted", "pred", "decision"]);
        let score = find(columns, &["score", "probability", "proba", "y_score", "prob"]);
        let mut group: Vec<String> = ["sex", "gender", "race", "ethnicity", "age_group", "group"]
            .iter()
            .filter_map(|n| columns.iter().find(|c| c.eq_ignore_ascii_case(n)).cloned())
            .take(1)
            .collect();
        if group.is_empty() {
            let taken = [&label, &prediction, &score];
            group.extend(columns.iter().find(|c| !taken.contains(c)).cloned());
        }
        Mapping {
            group,
            label,
            use_score: prediction.is_empty() && !score.is_empty(),
            prediction,
            score,
            time: find(columns, &["timestamp", "time", "ts", "datetime", "date"]),
            version: find(columns, &["model_version", "version"]),
            ..Mapping::default()
        }
    }

    /// Whether every mapped column is one of `columns`.
    pub fn fits(&self, columns: &[String]) -> bool {
        let has = |c: &String| c.is_empty() || columns.contains(c);
        !self.group.is_empty()
            && self.group.iter().all(|g| columns.contains(g))
            && columns.contains(&self.label)
            && columns.contains(if self.use_score { &self.score } else { &self.prediction })
            && has(&self.score)
            && has(&self.time)
            && has(&self.version)
    }

    pub fn spec(&self) -> Result<Spec, String> {
        if self.group.is_empty() {
            return Err("choose at least one group column".into());
        }
        if self.label.is_empty() {
            return Err("choose the label column".into());
        }
        let decision = if self.use_score {
            if self.score.is_empty() {
                return Err("choose the score column".into());
            }
            if !(0.0..=1.0).contains(&self.threshold) {
                return Err("the threshold must be between 0 and 1".into());
            }
            Decision::Score { column: self.score.clone(), threshold: self.threshold }
        } else {
            if self.prediction.is_empty() {
                return Err("choose the prediction column".into());
            }
            let positive = self.positive_prediction.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            Decision::Prediction { column: self.prediction.clone(), positive }
        };
        if !(self.lower_bound > 0.0 && self.lower_bound <= self.upper_bound) {
            return Err("the four-fifths bounds must satisfy 0 < lower <= upper".into());
        }
        let groups: Vec<&str> = self.group.iter().map(String::as_str).collect();
        let mut spec = Spec::new(&groups, &self.label, decision);
        spec.positive_label = Some(self.positive_label.trim().to_string()).filter(|s| !s.is_empty());
        spec.time = Some(self.time.clone()).filter(|s| !s.is_empty());
        spec.window = if self.weekly { Window::Week } else { Window::Day };
        spec.version = Some(self.version.clone()).filter(|s| !s.is_empty());
        spec.four_fifths = (self.lower_bound, self.upper_bound);
        spec.strict_threshold = self.strict_threshold;
        spec.encoding = self.encoding;
        Ok(spec)
    }

    /// The threshold explorer's analysis: the score decides; with `version`, groups are prefixed by the
    /// version column so that the sweep can be read for one version (keys 'VERSION|GROUP', the version
    /// escaped as in `report::group_key`).
    pub fn sweep_spec(&self, by_version: bool) -> Result<Spec, String> {
        if self.score.is_empty() {
            return Err("map a score column to explore thresholds".into());
        }
        let mut m = self.clone();
        m.use_score = true;
        m.time.clear();
        if by_version && !self.version.is_empty() {
            m.group.insert(0, self.version.clone());
        }
        m.version.clear();
        m.spec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_sample_columns_are_guessed() {
        let c = cols(&["timestamp", "model_version", "sex", "race", "label", "prediction", "score"]);
        let m = Mapping::guess(&c);
        assert_eq!(m.group, ["sex"]);
        assert_eq!((m.label.as_str(), m.prediction.as_str(), m.score.as_str()), ("label", "prediction", "score"));
        assert_eq!((m.time.as_str(), m.version.as_str()), ("timestamp", "model_version"));
        assert!(!m.use_score);
        assert!(m.fits(&c));
        assert!(!m.fits(&cols(&["sex", "label"])));
        let s = m.spec().expect("spec");
        assert_eq!(s.version.as_deref(), Some("model_version"));
        let sw = m.sweep_spec(true).expect("sweep");
        assert_eq!(sw.group, ["model_version", "sex"]);
        assert!(matches!(sw.decision, Decision::Score { .. }));
        assert!(sw.time.is_none() && sw.version.is_none());
    }

    #[test]
    fn incomplete_mappings_say_what_is_missing() {
        let mut m = Mapping::guess(&cols(&["a", "b"]));
        assert_eq!(m.group, ["a"]);
        assert!(m.spec().unwrap_err().contains("label"));
        m.label = "b".into();
        assert!(m.spec().unwrap_err().contains("prediction"));
        m.prediction = "b".into();
        m.lower_bound = 2.0;
        assert!(m.spec().unwrap_err().contains("four-fifths"));
        assert!(m.sweep_spec(false).unwrap_err().contains("score"));
    }
}
