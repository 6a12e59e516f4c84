//! The scenarios `cargo sim` knows: the files of the repository's `scenarios/` folder
//! ([`crate::scenario_file`]), and the stories that need code, registered here.
//!
//! Write a scenario as a file when you can (the format is in `scenarios/README.md`). A story
//! needs code when its faults depend on what it observes in ways a timeline cannot say: the
//! replays of HISTORICAL-BUGS.md pick their victims from the roles that earlier faults
//! produced, and the storage scenarios drive one broker's disk directly. To add one: write
//! `sim/src/scenarios/<name>.rs` with a type implementing [`Scenario`], declare the module
//! below, add it to [`builtin`], and tell its story in `scenarios/<name>.md`.

pub(crate) mod cluster_story;
mod controller_leader_crash;
mod follower_torn_tail;
mod isr_lagging_follower;
// kip's scenarios (power loss, historical replays)
mod kip_101_truncation;
mod kip_279_fast_leader_change;
mod kip_903_stale_isr_join;
mod kip_966_last_replica_standing;
mod replay;
mod single_broker_crash;
mod storage_crash_recovery;

pub use controller_leader_crash::{ControllerLeaderCrash, LIVENESS_BOUND_MS};
pub use follower_torn_tail::FollowerTornTail;
pub use isr_lagging_follower::IsrLaggingFollower;
// kip's scenarios
pub use kip_101_truncation::Kip101Truncation;
pub use kip_279_fast_leader_change::Kip279FastLeaderChange;
pub use kip_903_stale_isr_join::Kip903StaleIsrJoin;
pub use kip_966_last_replica_standing::Kip966LastReplicaStanding;
pub use single_broker_crash::SingleBrokerCrash;
pub use storage_crash_recovery::StorageCrashRecovery;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::scenario::Scenario;
use crate::scenario_file::{self, FileError};

/// A scenario of either kind, cheap to clone and share between worker threads.
pub type AnyScenario = Arc<dyn Scenario + Send>;

/// The repository's `scenarios/` folder.
pub fn scenario_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).join("scenarios")
}

/// Every scenario: the files of `scenarios/` (sorted by file name), then the code ones.
pub fn all() -> Result<Vec<AnyScenario>, FileError> {
    let mut scenarios: Vec<AnyScenario> =
        scenario_file::load_dir(&scenario_dir())?.into_iter().map(|s| Arc::new(s) as AnyScenario).collect();
    scenarios.extend(builtin().into_iter().map(|s| Arc::new(StaticScenario(s)) as AnyScenario));
    Ok(scenarios)
}

/// The scenario called `name`.
pub fn find(name: &str) -> Result<Option<AnyScenario>, FileError> {
    Ok(all()?.into_iter().find(|scenario| scenario.name() == name))
}

/// A code scenario behind the shared handle.
struct StaticScenario(&'static dyn Scenario);

impl Scenario for StaticScenario {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn story(&self) -> &str {
        self.0.story()
    }
    fn expectation(&self) -> crate::Expectation {
        self.0.expectation()
    }
    fn checkers(&self) -> Vec<Box<dyn crate::Checker>> {
        self.0.checkers()
    }
    fn supervise(&self, seed: u64) -> crate::SuperviseFuture {
        self.0.supervise(seed)
    }
    fn time_limit(&self) -> std::time::Duration {
        self.0.time_limit()
    }
    fn config(&self) -> madsim::Config {
        self.0.config()
    }
}

/// The scenarios in code, in `cargo sim list` order (after the files).
pub fn builtin() -> Vec<&'static dyn Scenario> {
    vec![
        &StorageCrashRecovery { lying_fsync: false },
        &SingleBrokerCrash { lying_fsync: false },
        &ControllerLeaderCrash { fault: None },
        // kip's scenarios
        &Kip101Truncation { truncate_to_high_watermark: false },
        &Kip101Truncation { truncate_to_high_watermark: true },
        &Kip279FastLeaderChange,
        &Kip966LastReplicaStanding { unclean: false },
        &Kip966LastReplicaStanding { unclean: true },
        &Kip903StaleIsrJoin { no_epoch_check: false },
        &Kip903StaleIsrJoin { no_epoch_check: true },
        &FollowerTornTail,
        &IsrLaggingFollower,
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::all;

    /// A scenario that expects a checker it does not run could never pass a sweep.
    #[test]
    fn every_expected_checker_is_one_the_scenario_runs() {
        for scenario in all().unwrap() {
            if let Some(expected) = scenario.expectation().checker() {
                let names: Vec<&str> = scenario.checkers().iter().map(|c| c.name()).collect();
                assert!(names.contains(&expected), "{} expects {expected}, runs {names:?}", scenario.name());
            }
        }
    }

    #[test]
    fn scenario_names_are_unique() {
        let all = all().unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.name()).collect();
        assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len(), "{names:?}");
    }
}
