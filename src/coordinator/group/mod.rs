//! The classic group protocol's coordinator core (GROUPS-AND-TRANSACTIONS.md §2.1–2.6): the
//! group states, JoinGroup (KIP-394 two-step, KIP-345 static members, the initial rebalance
//! delay, the protocol vote), SyncGroup, Heartbeat, LeaveGroup, and the member and generation
//! checks of OffsetCommit and OffsetFetch. No IO, no clock, no randomness, no async: every
//! entry point takes `now_ms` and its input and returns [`Outputs`] — responses to requests the
//! shell identified by a [`RequestId`], records to append (plain values; the encoding comes
//! later) and timers to set or cancel. Member ids take their uuid from the input. See
//! docs/groups.md.
//!
//! | file | concept |
//! |---|---|
//! | `member.rs` | one member of a classic group: its protocols, timeouts, parked requests |
//! | `classic_group.rs` | `ClassicGroup`: state, generation, leader, members; the allowed transitions |
//! | `timers.rs` | timer keys (group, member, kind) and the deadlines a group has armed |
//! | `records.rs` | the `__consumer_offsets` records the core asks to append, as values |
//! | `record_codec.rs` | those records' bytes, exactly as Kafka 4.1 writes them, and their bounded decoding |
//! | `outputs.rs` | requests, responses and what one step hands back to the shell |
//! | `join.rs` | JoinGroup: the two-step join, static replacement, rejoining by state |
//! | `sync.rs` | SyncGroup and storing the leader's assignment |
//! | `heartbeat.rs` | Heartbeat, LeaveGroup and the member checks they share |
//! | `offsets.rs` | OffsetCommit admission and OffsetFetch |
//! | `coordinator.rs` | `GroupCoordinator`: every entry point; prepare a rebalance, complete the join phase, remove members, timers, unload |
//! | `coordinator_tests.rs` | unit tests that walk the classic story rule by rule |
//! | `record_codec_tests.rs` | round trips, Kafka's older versions, garbage never panics (tests/group_records.rs: Kafka's own bytes) |
//! | `coordinator_properties.rs` | the property test of random traffic against §8's invariants |

mod classic_group;
mod coordinator;
mod heartbeat;
mod join;
mod member;
mod offsets;
mod outputs;
pub mod record_codec;
mod records;
mod sync;
mod timers;

#[cfg(test)]
mod coordinator_properties;
#[cfg(test)]
mod coordinator_tests;
#[cfg(test)]
mod record_codec_tests;

pub use classic_group::{ClassicGroup, GroupState};
pub use coordinator::{GroupConfig, GroupCoordinator};
pub use member::{ClassicMember, Protocol};
pub use outputs::{
    AppendId, CommitPartition, FetchedOffset, Input, JoinGroupRequest, JoinGroupResponse, JoinMember,
    LeaveGroupRequest, LeaveGroupResponse, LeaveMember, LeaveMemberResponse, MemberRequest, OffsetCommitRequest,
    OffsetFetchRequest, Outputs, RequestId, Response, ResponseBody, StateChange, SyncGroupRequest, SyncGroupResponse,
    TimerOp,
};
pub use records::{GroupMetadataValue, GroupRecord, MemberMetadata, OffsetCommitValue};
pub use timers::{TimerKey, TimerKind};

/// Kafka's numeric error codes that the core returns.
pub mod error_code {
    pub const NONE: i16 = 0;
    pub const OFFSET_METADATA_TOO_LARGE: i16 = 12;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const INVALID_GROUP_ID: i16 = 24;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
    pub const FENCED_INSTANCE_ID: i16 = 82;

    #[cfg(test)]
    mod tests {
        use kafka_protocol::ResponseError as E;

        #[test]
        fn codes_are_kafkas() {
            for (ours, theirs) in [
                (super::OFFSET_METADATA_TOO_LARGE, E::OffsetMetadataTooLarge),
                (super::COORDINATOR_NOT_AVAILABLE, E::CoordinatorNotAvailable),
                (super::NOT_COORDINATOR, E::NotCoordinator),
                (super::ILLEGAL_GENERATION, E::IllegalGeneration),
                (super::INCONSISTENT_GROUP_PROTOCOL, E::InconsistentGroupProtocol),
                (super::INVALID_GROUP_ID, E::InvalidGroupId),
                (super::UNKNOWN_MEMBER_ID, E::UnknownMemberId),
                (super::INVALID_SESSION_TIMEOUT, E::InvalidSessionTimeout),
                (super::REBALANCE_IN_PROGRESS, E::RebalanceInProgress),
                (super::GROUP_ID_NOT_FOUND, E::GroupIdNotFound),
                (super::MEMBER_ID_REQUIRED, E::MemberIdRequired),
                (super::GROUP_MAX_SIZE_REACHED, E::GroupMaxSizeReached),
                (super::FENCED_INSTANCE_ID, E::FencedInstanceId),
            ] {
                assert_eq!(ours, theirs.code(), "{theirs:?}");
            }
        }
    }
}
