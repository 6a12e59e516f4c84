//! Scenarios: one failure story each, run for many seeds.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use crate::checker::Checker;
use crate::expectation::Expectation;

/// The supervisor's future: builds the world, drives workload and faults, returns when the
/// story is over (nodes still running then are dropped).
pub type SuperviseFuture = Pin<Box<dyn Future<Output = ()> + 'static>>;

/// A failure story: a scenario file ([`crate::scenario_file`]) or, for a story that needs
/// code, a type registered in [`crate::scenarios::all`].
pub trait Scenario: Sync {
    /// Kebab-case name used on the command line (`storage-crash-recovery`).
    fn name(&self) -> &str;
    /// The story in one line, shown by `cargo sim list`.
    fn story(&self) -> &str;
    /// What its seeds must show (see [`crate::expectation`]): `Pass` (the default), or
    /// `Violation(checker)` for a scenario that replays a historical design and must find its
    /// bug in at least one seed of a sweep. The checker must be one of [`Scenario::checkers`].
    fn expectation(&self) -> Expectation {
        Expectation::Pass
    }
    /// Fresh checkers for one run.
    fn checkers(&self) -> Vec<Box<dyn Checker>>;
    /// The supervisor for one seed; runs on madsim's main node (trace node `sim`).
    /// Derive every random choice from `seed` (see [`crate::World`]), never ambiently.
    fn supervise(&self, seed: u64) -> SuperviseFuture;
    /// Simulated time after which the run fails ("time limit exceeded"). Default: 1 hour.
    fn time_limit(&self) -> Duration {
        Duration::from_secs(3600)
    }
    /// madsim's network configuration (global packet loss, latency). Default: madsim's.
    fn config(&self) -> madsim::Config {
        madsim::Config::default()
    }
    /// The file it was read from; `None` for a scenario in code.
    fn source(&self) -> Option<&Path> {
        None
    }
}
