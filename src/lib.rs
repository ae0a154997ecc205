//! Steward: a desktop console and command line for model operations.
//!
//! Layers (see docs/architecture.md): `domain` (plain data), `connect` (the only code that talks to
//! registries and servers), `backend` (the tokio side of the window), `ui` (the only code that knows egui),
//! `cli` (the headless twin of every window action).

pub mod alerts;
pub mod audit;
pub mod backend;
pub mod cli;
pub mod cli_ops;
pub mod config;
pub mod connect;
pub mod domain;
pub mod ops;
pub mod fairness;
pub mod monitor;
pub mod report;
pub mod sample;
pub mod series;
pub mod serving;
pub mod ui;

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
