//! The registry of scenarios run by `cargo sim`.
//!
//! To add one: write `sim/src/scenarios/<name>.rs` with a unit struct implementing
//! [`Scenario`], declare the module below, and add `&<name>::TheScenario` to [`all`]. Its
//! story is also documented in the repository's top-level `scenarios/` folder.

pub(crate) mod cluster_story;
mod controller_leader_crash;
mod follower_torn_tail;
mod isr_lagging_follower;
mod leader_minority_partition;
mod partition_leader_crash;
// kip's scenarios (power loss, historical replays)
mod kip_101_truncation;
mod kip_279_fast_leader_change;
mod kip_903_stale_isr_join;
mod kip_966_last_replica_standing;
mod power_loss;
mod replay;
mod single_broker_crash;
mod storage_crash_recovery;
mod swarm;

pub use controller_leader_crash::{ControllerLeaderCrash, LIVENESS_BOUND_MS};
pub use follower_torn_tail::FollowerTornTail;
pub use isr_lagging_follower::IsrLaggingFollower;
pub use leader_minority_partition::LeaderMinorityPartition;
pub use partition_leader_crash::PartitionLeaderCrash;
// kip's scenarios
pub use kip_101_truncation::Kip101Truncation;
pub use kip_279_fast_leader_change::Kip279FastLeaderChange;
pub use kip_903_stale_isr_join::Kip903StaleIsrJoin;
pub use kip_966_last_replica_standing::Kip966LastReplicaStanding;
pub use power_loss::PowerLoss;
pub use single_broker_crash::SingleBrokerCrash;
pub use storage_crash_recovery::StorageCrashRecovery;
pub use swarm::Swarm;

use crate::scenario::Scenario;

/// Every registered scenario, in `cargo sim list` order.
pub fn all() -> Vec<&'static dyn Scenario> {
    vec![
        &StorageCrashRecovery { lying_fsync: false },
        &SingleBrokerCrash { lying_fsync: false },
        &ControllerLeaderCrash { fault: None },
        &PartitionLeaderCrash,
        &Swarm { combined: false },
        &Swarm { combined: true },
        // kip's scenarios
        &PowerLoss { kafka_durability: false },
        &PowerLoss { kafka_durability: true },
        &Kip101Truncation { truncate_to_high_watermark: false },
        &Kip101Truncation { truncate_to_high_watermark: true },
        &Kip279FastLeaderChange,
        &Kip966LastReplicaStanding { unclean: false },
        &Kip966LastReplicaStanding { unclean: true },
        &Kip903StaleIsrJoin { no_epoch_check: false },
        &Kip903StaleIsrJoin { no_epoch_check: true },
        &FollowerTornTail,
        &LeaderMinorityPartition,
        &IsrLaggingFollower,
    ]
}

/// The registered scenario called `name`.
pub fn find(name: &str) -> Option<&'static dyn Scenario> {
    all().into_iter().find(|scenario| scenario.name() == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::all;

    /// A scenario that expects a checker it does not run could never pass a sweep.
    #[test]
    fn every_expected_checker_is_one_the_scenario_runs() {
        for scenario in all() {
            if let Some(expected) = scenario.expectation().checker() {
                let names: Vec<&str> = scenario.checkers().iter().map(|c| c.name()).collect();
                assert!(names.contains(&expected), "{} expects {expected}, runs {names:?}", scenario.name());
            }
        }
    }

    #[test]
    fn scenario_names_are_unique() {
        let names: Vec<&str> = all().iter().map(|s| s.name()).collect();
        assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len(), "{names:?}");
    }
}
