//! Steward: a desktop console and command line for model operations.
//!
//! Two faces over one core (see docs/architecture.md): `ui` (the window, the only code that knows egui)
//! and `cli` (the command line, the headless twin of every window action) use the core; the core knows
//! neither. Core rooms: `domain` (plain data), `config` (homes, profiles, registry selection, policy, the
//! sample workspace), `connect` (registries and the one HTTP client), `audit` (the hash-chained log and
//! the actor), `ops` (alias moves), `fairness` (the engine), `serving` (endpoints, metrics, the monitor,
//! alerts, series), `report` (audit reports), `sources` (logs in SQL engines: the pushdown), `objects` (logs in object storage), `backend` (the window's async worker, in core types).

pub mod audit;
pub mod backend;
pub mod cli;
pub mod config;
pub mod connect;
pub mod diag;
pub mod domain;
pub mod fairness;
pub mod monitoring;
pub mod objects;
pub mod ops;
pub mod report;
pub mod serving;
pub mod sources;
pub mod ui;

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
