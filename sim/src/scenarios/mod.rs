//! The registry of scenarios run by `cargo sim`.
//!
//! To add one: write `sim/src/scenarios/<name>.rs` with a unit struct implementing
//! [`Scenario`], declare the module below, and add `&<name>::TheScenario` to [`all`]. Its
//! story is also documented in the repository's top-level `scenarios/` folder.

mod cluster_story;
mod controller_leader_crash;
mod follower_torn_tail;
mod isr_lagging_follower;
mod leader_minority_partition;
mod partition_leader_crash;
mod single_broker_crash;
mod storage_crash_recovery;

pub use controller_leader_crash::{ControllerLeaderCrash, LIVENESS_BOUND_MS};
pub use follower_torn_tail::FollowerTornTail;
pub use isr_lagging_follower::IsrLaggingFollower;
pub use leader_minority_partition::LeaderMinorityPartition;
pub use partition_leader_crash::PartitionLeaderCrash;
pub use single_broker_crash::SingleBrokerCrash;
pub use storage_crash_recovery::StorageCrashRecovery;

use crate::scenario::Scenario;

/// Every registered scenario, in `cargo sim list` order.
pub fn all() -> Vec<&'static dyn Scenario> {
    vec![
        &StorageCrashRecovery { lying_fsync: false },
        &SingleBrokerCrash { lying_fsync: false },
        &ControllerLeaderCrash { fault: None },
        &PartitionLeaderCrash,
        &FollowerTornTail,
        &LeaderMinorityPartition,
        &IsrLaggingFollower,
    ]
}

/// The registered scenario called `name`.
pub fn find(name: &str) -> Option<&'static dyn Scenario> {
    all().into_iter().find(|scenario| scenario.name() == name)
}
