//! Where Steward keeps things (homes), connection profiles, which registry a run uses, the rules in
//! force (policy) and the resolved selection both faces start from (`Context`). Also the sample workspace
//! a new home is seeded with.

mod context;
mod gates;
mod home;
mod logs;
mod policy;
mod profile;
mod registry;
pub mod sample;

pub use context::{Context, Selection};
pub use gates::{Direction, FairnessMeasure, Gate, GateKind, GatePolicy, GateSource};
pub use home::Home;
pub use logs::LogSource;
pub use policy::Policy;
pub use profile::{Binding, BindingMode, DEFAULT_READY_TIMEOUT, Profile, Profiles, check_audit_url, check_no_secret};
pub use registry::{MlflowTarget, Origin, RegistrySpec};

use std::time::Duration;

/// Default time budget for one call to an outside system.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests;
