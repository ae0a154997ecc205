//! Monitoring after deployment (issue 14): drift of inputs and scores between a reference and current
//! windows. This room holds the statistics; each function names the reference implementation it equals
//! (scipy, Evidently) and the tests compare them with fixtures those libraries produced
//! (tests/fixtures/drift, made by scripts/oracles/drift.py).

pub mod ks;
pub mod stats;
