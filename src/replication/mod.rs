//! The partition replica's protocol core: the leader's view of its followers, the ISR and its
//! changes (AlterPartition), the high watermark, fetch fencing and divergence, and the
//! follower's truncation and high watermark (REPLICATION.md §3). No IO, no clock, no async:
//! every entry point takes `now_ms` and its inputs and returns decisions; the shell reads and
//! writes logs, sends requests and waits for fsyncs. See docs/replication.md.
//!
//! | file | concept |
//! |---|---|
//! | `epoch_lookup.rs` | what the core reads from a log: its epoch cache and (leader) its offsets |
//! | `follower_progress.rs` | one follower as the leader sees it (Kafka's `ReplicaState`) |
//! | `partition_state.rs` | the committed partition, and the ISR with one change in flight |
//! | `alter_partition.rs` | AlterPartition request, response, and the broker's error handling |
//! | `leader.rs` | the leader role: fetches, HW, ISR shrink and expansion, acks=all |
//! | `follower.rs` | the follower role: truncation on divergence, the follower's HW |
//! | `replica.rs` | `Replica`: one per hosted partition, its role and every entry point |

mod alter_partition;
mod epoch_lookup;
mod follower;
mod follower_progress;
mod leader;
mod partition_state;
mod replica;

#[cfg(test)]
mod replica_properties;
#[cfg(test)]
mod replica_tests;

pub use alter_partition::{
    error_action, AlterPartitionErrorAction, AlterPartitionOutcome, AlterPartitionRequest, AlterPartitionResponse,
    BrokerState,
};
pub use epoch_lookup::{EpochLookup, LeaderLogView};
pub use follower::{FollowerState, OutOfRangeAction, Truncation};
pub use follower_progress::FollowerProgress;
pub use leader::{Effects, FetchDecision, FollowerFetch, LeaderState, ProduceError};
pub use partition_state::{
    AlterPartitionSendState, BrokerRegistration, InvalidPartitionState, IsrState, LeaderRecoveryState, PartitionState,
    PendingIsrChange,
};
pub use replica::{MetadataIgnored, Replica, ReplicaConfig, Role};

/// Kafka's numeric error codes that the core returns or acts on.
pub mod error_code {
    pub const NONE: i16 = 0;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const NOT_ENOUGH_REPLICAS: i16 = 19;
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
    pub const NOT_CONTROLLER: i16 = 41;
    pub const INVALID_REQUEST: i16 = 42;
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
    pub const STALE_BROKER_EPOCH: i16 = 77;
    pub const INVALID_UPDATE_VERSION: i16 = 95;
    pub const UNKNOWN_TOPIC_ID: i16 = 100;
    pub const INELIGIBLE_REPLICA: i16 = 107;
    pub const NEW_LEADER_ELECTED: i16 = 108;

    #[cfg(test)]
    mod tests {
        use kafka_protocol::ResponseError as E;

        #[test]
        fn codes_are_kafkas() {
            for (ours, theirs) in [
                (super::OFFSET_OUT_OF_RANGE, E::OffsetOutOfRange),
                (super::UNKNOWN_TOPIC_OR_PARTITION, E::UnknownTopicOrPartition),
                (super::NOT_LEADER_OR_FOLLOWER, E::NotLeaderOrFollower),
                (super::REQUEST_TIMED_OUT, E::RequestTimedOut),
                (super::NOT_ENOUGH_REPLICAS, E::NotEnoughReplicas),
                (super::NOT_ENOUGH_REPLICAS_AFTER_APPEND, E::NotEnoughReplicasAfterAppend),
                (super::NOT_CONTROLLER, E::NotController),
                (super::INVALID_REQUEST, E::InvalidRequest),
                (super::OPERATION_NOT_ATTEMPTED, E::OperationNotAttempted),
                (super::FENCED_LEADER_EPOCH, E::FencedLeaderEpoch),
                (super::UNKNOWN_LEADER_EPOCH, E::UnknownLeaderEpoch),
                (super::STALE_BROKER_EPOCH, E::StaleBrokerEpoch),
                (super::INVALID_UPDATE_VERSION, E::InvalidUpdateVersion),
                (super::UNKNOWN_TOPIC_ID, E::UnknownTopicId),
                (super::INELIGIBLE_REPLICA, E::IneligibleReplica),
                (super::NEW_LEADER_ELECTED, E::NewLeaderElected),
            ] {
                assert_eq!(ours, theirs.code(), "{theirs:?}");
            }
        }
    }
}
