//! What the window remembers and shows per view: the views, the theme, the state kept between runs,
//! values that load in the background, the registry form.

use serde::{Deserialize, Serialize};

use crate::ui::fairness::Mapping;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum View {
    #[default]
    Models,
    Endpoints,
    Fairness,
    Audit,
}

impl View {
    pub const ALL: [View; 4] = [View::Models, View::Endpoints, View::Fairness, View::Audit];
    pub fn title(self) -> &'static str {
        match self {
            View::Models => "Models",
            View::Endpoints => "Endpoints",
            View::Fairness => "Fairness",
            View::Audit => "Audit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    Dark,
    Light,
}

/// What is remembered between runs (window size and panel widths are kept by eframe/egui themselves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub view: View,
    pub theme: ThemeChoice,
    pub model_filter: String,
    pub selected_model: Option<String>,
    /// The last prediction log opened in the Fairness view, and its column mapping.
    pub fairness_log: Option<String>,
    pub fairness_mapping: Option<Mapping>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The "Add MLflow registry..." dialog's fields.
#[derive(Debug, Clone, Default)]
pub struct AddRegistryForm {
    pub name: String,
    pub url: String,
    pub error: Option<String>,
}
