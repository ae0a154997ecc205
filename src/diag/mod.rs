//! Diagnostics of Steward itself: its log file ([`log`]) and crash reports ([`crash`]). Core: knows
//! neither face; the command line starts both before it does anything else, so the window and every
//! subcommand are covered.

pub mod crash;
pub mod log;
pub mod memory;
