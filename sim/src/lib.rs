//! seedlog's deterministic simulator.
//!
//! A [`Scenario`] tells one failure story: its `supervise` future builds a [`World`] of
//! simulated nodes, drives the workload and injects faults, while the [`Checker`]s it names
//! watch the trace. [`run_seed`] runs one seed of a scenario on a fresh madsim runtime and
//! reports a [`SeedOutcome`]; the `sim` binary ([`cli`]) is the `cargo sim` command line.
//!
//! Everything here exists only in the simulation build (`--cfg madsim`); without it the
//! crate is empty and the `sim` binary is a launcher for that build.
#![cfg(madsim)]

pub mod buggify;
pub mod checker;
pub mod checkers;
pub mod cli;
pub mod cluster;
pub mod events;
pub mod expectation;
pub mod explore;
pub mod fault_points;
pub mod faults;
pub mod fnv;
pub mod fsync_windows;
pub mod host_faults;
pub mod network;
pub mod own_files;
pub mod pool;
pub mod report;
pub mod repro;
pub mod runner;
pub mod scenario;
pub mod scenario_file;
pub mod scenarios;
pub mod seeds;
pub mod shrink;
pub mod trace;
pub mod triggers;
pub mod wall;
pub mod workloads;
pub mod world;

pub use checker::{Checker, Violation};
pub use expectation::{Expectation, SeedVerdict};
pub use network::lag_flow;
pub use runner::{run_seed, run_seed_checking_determinism, SeedOutcome};
pub use scenario::{Scenario, SuperviseFuture};
pub use trace::{FieldValue, TraceEvent};
pub use world::{NodeEnv, World};
