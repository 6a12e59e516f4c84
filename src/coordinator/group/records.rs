//! The `__consumer_offsets` records the core asks the shell to append
//! (GROUPS-AND-TRANSACTIONS.md §2.7), as plain values. Their bytes, as Kafka 4.1 writes them,
//! are `record_codec.rs`'s.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRecord {
    /// `value: None` is a tombstone.
    GroupMetadata {
        group_id: String,
        value: Option<GroupMetadataValue>,
    },
    OffsetCommit {
        group_id: String,
        topic: String,
        partition: i32,
        value: Option<OffsetCommitValue>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    /// `""` for a simple group (no protocol type).
    pub protocol_type: String,
    pub generation_id: i32,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp_ms: i64,
    pub members: Vec<MemberMetadata>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the selected protocol.
    pub subscription: Vec<u8>,
    pub assignment: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}
