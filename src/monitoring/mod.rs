//! Monitoring after deployment (issue 14): drift of inputs and scores between a reference and current
//! windows. Each statistic names the reference implementation it equals (scipy, Evidently); the tests
//! compare with fixtures those libraries produced (tests/fixtures/drift, made by scripts/oracles/).
//!
//! - [`drift`]: the engine (reading, windows, verdicts) behind `steward drift`;
//! - [`drift_pushdown`]: the value counts per day computed by a SQL engine (one generated query);
//! - [`ks`], [`kolmogorov`]: the two-sample KS test and the Kolmogorov distribution;
//! - [`stats`]: Wasserstein, chi-square, Jensen-Shannon, PSI, Evidently's binning;
//! - [`quality`]: quality over time with delayed labels (`steward quality`);
//! - [`rules`]: rules on quality and drift for CI (exit 3 when one fires);
//! - [`rows`]: a row-at-a-time reader of CSV, JSON Lines and Parquet logs;
//! - `scan`: counting sinks fed in parallel from CSV (the fairness engine's block pipeline) or row by
//!   row from [`rows`].

mod column;
pub mod drift;
mod drift_count;
pub mod drift_pushdown;
pub mod kolmogorov;
pub mod ks;
pub mod quality;
mod quality_count;
pub mod rows;
pub mod rules;
mod scan;
pub mod stats;

/// A hash map with foldhash's fast hasher (hashbrown's default), for value counts and label ids: many
/// short keys per row. Seeded per process, as std's; nothing here depends on iteration order.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
