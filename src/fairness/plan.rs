//! The request compiled for the readers: which columns play which role, and the rules for each.

use super::timeparse::Window;
use super::values::Wanted;
use super::{Decision, FairnessError, Spec};

/// Most group columns in one request (their value indices are packed into one 64-bit key).
pub const MAX_GROUP_COLUMNS: usize = 4;
/// Most columns a row hands to the tally: groups, label, decision, time, version.
pub(crate) const MAX_ROLES: usize = MAX_GROUP_COLUMNS + 4;

pub(crate) enum LabelRule {
    /// 1/0 or true/false; anything else is an error (Fairlearn's rule without pos_label).
    Binary,
    /// This value is positive; the file may hold exactly one other value, which is negative.
    Positive(Wanted),
}

pub(crate) enum DecisionRule {
    /// Prediction 1/0 or true/false.
    Binary,
    /// Prediction in this set is positive, anything else negative.
    Positive(Vec<Wanted>),
    /// Positive iff score >= threshold (score > threshold when the flag, "strict", is set).
    Score(f64, bool),
}

pub(crate) struct Plan {
    /// The file as named by the user, for messages.
    pub file: String,
    /// Column names in role order: groups, label, decision, then time and version when asked for.
    pub columns: Vec<String>,
    pub n_groups: usize,
    pub label: LabelRule,
    pub decision: DecisionRule,
    pub time: Option<usize>,
    pub window: Window,
    pub version: Option<usize>,
    pub skip_bad_rows: bool,
    pub encoding: super::Encoding,
}

impl Plan {
    pub fn new(spec: &Spec, file: &str) -> Result<Plan, FairnessError> {
        if spec.group.is_empty() {
            return Err(FairnessError::usage("give at least one group column (--group COL[,COL])"));
        }
        if spec.group.len() > MAX_GROUP_COLUMNS {
            return Err(FairnessError::usage(format!("at most {MAX_GROUP_COLUMNS} group columns")));
        }
        let mut columns: Vec<String> = spec.group.clone();
        columns.push(spec.label.clone());
        let decision = match &spec.decision {
            Decision::Prediction { column, positive } => {
                columns.push(column.clone());
                if positive.is_empty() {
                    DecisionRule::Binary
                } else {
                    DecisionRule::Positive(positive.iter().map(|p| Wanted::new(p, spec.encoding)).collect())
                }
            }
            Decision::Score { column, threshold } => {
                if !threshold.is_finite() {
                    return Err(FairnessError::usage("--threshold must be a finite number"));
                }
                columns.push(column.clone());
                DecisionRule::Score(*threshold, spec.strict_threshold)
            }
        };
        let time = spec.time.as_ref().map(|t| {
            columns.push(t.clone());
            columns.len() - 1
        });
        let version = spec.version.as_ref().map(|v| {
            columns.push(v.clone());
            columns.len() - 1
        });
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                return Err(FairnessError::usage("a column name is empty"));
            }
            if columns[..i].contains(c) {
                return Err(FairnessError::usage(format!("column '{c}' is given for two roles")));
            }
        }
        let label = match &spec.positive_label {
            None => LabelRule::Binary,
            Some(p) => LabelRule::Positive(Wanted::new(p, spec.encoding)),
        };
        Ok(Plan {
            file: file.to_string(),
            n_groups: spec.group.len(),
            columns,
            label,
            decision,
            time,
            window: spec.window,
            version,
            skip_bad_rows: spec.skip_bad_rows,
            encoding: spec.encoding,
        })
    }

    pub fn label_index(&self) -> usize {
        self.n_groups
    }

    pub fn decision_index(&self) -> usize {
        self.n_groups + 1
    }

    pub fn is_score(&self) -> bool {
        matches!(self.decision, DecisionRule::Score(..))
    }
}
