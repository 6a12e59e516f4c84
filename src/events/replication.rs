//! Events of data-plane replication (`src/replication/`, REPLICATION.md §3): partition
//! leaders and followers, the ISR and the high watermark. The node that emits an event is
//! the simulated broker of the trace; ids inside the fields (`leader_id`, `replica_id`, the
//! ISR lists) are broker ids. Lists travel as text in `lists.rs`'s formats: an ISR is
//! `"1,2,3"`, per-replica log end offsets are `"1:10,2:7"` (-1 when unknown).
//!
//! When to emit (the checkers rely on it):
//! - [`MakeLeader`] / [`MakeFollower`] when the broker applies a leader or follower role for
//!   a partition (a new leader epoch, or the first one after a start);
//! - [`BatchReplicated`] for every batch a replica appends: by the leader (produce, markers)
//!   with role `"leader"`, by a follower (fetched from the leader, unchanged) with role
//!   `"follower"`; `leader_epoch` is the batch's `partitionLeaderEpoch`;
//! - [`ReplicaTruncated`] whenever a replica's log tail is removed (not for retention);
//! - [`HighWatermarkAdvanced`] on the leader for every move of its high watermark,
//!   including one made on becoming leader; [`FollowerHighWatermark`] on a follower for
//!   every change of its high watermark;
//! - [`ProduceAcked`] on the leader when a produce response with no error is sent;
//! - [`FetchServed`] on the leader for every fetch response of a partition;
//! - [`IsrChanged`] when a broker applies a committed ISR (AlterPartition response or
//!   metadata); [`UncleanLeaderElected`] where the unclean election is decided or applied;
//! - [`AlterPartitionAnswered`] on the leader for each partition of an AlterPartition once
//!   the controller answered it, or the request failed.

use super::lists::{parse_id_offsets, parse_ids, ListError};

/// [`BatchReplicated::role`] of a batch the leader appended.
pub const ROLE_LEADER: &str = "leader";
/// [`BatchReplicated::role`] of a batch a follower appended.
pub const ROLE_FOLLOWER: &str = "follower";

crate::events! {
    /// The broker (`leader_id`) became leader of the partition in `leader_epoch`, with the
    /// committed ISR `isr`.
    MakeLeader = "make_leader", INFO { topic: String, partition: i32, leader_epoch: i32, leader_id: i32, isr: String }

    /// The broker became a follower of `leader_id` (-1 when there is no leader) in `leader_epoch`.
    MakeFollower = "make_follower", INFO { topic: String, partition: i32, leader_epoch: i32, leader_id: i32 }

    /// The replica appended the batch `base_offset..=last_offset` written by the leader of
    /// `leader_epoch`, whose CRC32C is `crc`; `role` is [`ROLE_LEADER`] or [`ROLE_FOLLOWER`].
    BatchReplicated = "batch_replicated", DEBUG {
        topic: String,
        partition: i32,
        base_offset: i64,
        last_offset: i64,
        leader_epoch: i32,
        crc: u64,
        role: String,
    }

    /// The replica's log was truncated to end at `offset`; `high_watermark` is the
    /// replica's at that moment; `reason` says why (`"diverging_epoch"`,
    /// `"offset_out_of_range"`, `"high_watermark"`, `"log_start_offset"`).
    ReplicaTruncated = "replica_truncated", INFO { topic: String, partition: i32, offset: i64, high_watermark: i64, reason: String }

    /// The leader of `leader_epoch` moved its high watermark to `high_watermark`. `isr` is
    /// the committed ISR; `isr_log_end_offsets` lists the maximal ISR (the leader included)
    /// with the log end offset the leader knows for each (-1 unknown);
    /// `min_insync_replicas` is the topic's setting and `replication_factor` the number of
    /// assigned replicas.
    HighWatermarkAdvanced = "high_watermark_advanced", DEBUG {
        topic: String,
        partition: i32,
        leader_epoch: i32,
        high_watermark: i64,
        leader_log_end_offset: i64,
        isr: String,
        isr_log_end_offsets: String,
        min_insync_replicas: i32,
        replication_factor: i32,
    }

    /// A follower's high watermark changed (it is `min(leader's, log_end_offset)` and can
    /// drop after a leader change).
    FollowerHighWatermark = "follower_high_watermark", DEBUG { topic: String, partition: i32, high_watermark: i64, log_end_offset: i64 }

    /// The leader answered a produce of `base_offset..=last_offset` with no error. `acks` is
    /// the request's (-1 for all); `high_watermark` and `maximal_isr` are the leader's when
    /// it answered; `min_insync_replicas` and `replication_factor` as in
    /// [`HighWatermarkAdvanced`].
    ProduceAcked = "produce_acked", DEBUG {
        topic: String,
        partition: i32,
        base_offset: i64,
        last_offset: i64,
        acks: i32,
        high_watermark: i64,
        maximal_isr: String,
        min_insync_replicas: i32,
        replication_factor: i32,
    }

    /// The leader answered a fetch of the partition by `replica_id` (-1 for a consumer) at
    /// `fetch_offset`, reporting `high_watermark` and returning records up to
    /// `last_offset_returned` (-1 when none), with `error_code` (0 for none).
    FetchServed = "fetch_served", DEBUG {
        topic: String,
        partition: i32,
        replica_id: i32,
        fetch_offset: i64,
        high_watermark: i64,
        last_offset_returned: i64,
        error_code: i32,
    }

    /// The broker applied a committed ISR change: `isr` under leader `leader_id` (-1 none) in
    /// `leader_epoch`, at `partition_epoch`.
    IsrChanged = "isr_changed", INFO { topic: String, partition: i32, leader_epoch: i32, partition_epoch: i32, leader_id: i32, isr: String }

    /// The leader's AlterPartition for the partition was answered (or failed as a whole):
    /// the proposal's `leader_epoch`, the ISR it proposed with each member's broker epoch
    /// (`isr_with_broker_epochs`, id-offset format, -1 unknown) and `error_code` (0 for
    /// none: the controller committed a change or found it already made).
    AlterPartitionAnswered = "alter_partition_answered", INFO {
        topic: String,
        partition: i32,
        leader_epoch: i32,
        isr_with_broker_epochs: String,
        error_code: i32,
    }

    /// `leader_id` was elected leader of the partition from outside the ISR and ELR in
    /// `leader_epoch` (`unclean.leader.election.enable`): records below the old high
    /// watermark may be lost from here on.
    UncleanLeaderElected = "unclean_leader_elected", WARN { topic: String, partition: i32, leader_epoch: i32, leader_id: i32 }
}

impl AlterPartitionAnswered {
    /// `isr_with_broker_epochs` as (broker id, broker epoch) pairs.
    pub fn parse_isr_with_broker_epochs(&self) -> Result<Vec<(i32, i64)>, ListError> {
        parse_id_offsets(&self.isr_with_broker_epochs)
    }
}

impl MakeLeader {
    /// `isr` as broker ids.
    pub fn parse_isr(&self) -> Result<Vec<i32>, ListError> {
        parse_ids(&self.isr)
    }
}

impl IsrChanged {
    /// `isr` as broker ids.
    pub fn parse_isr(&self) -> Result<Vec<i32>, ListError> {
        parse_ids(&self.isr)
    }
}

impl BatchReplicated {
    /// Whether the leader appended it.
    pub fn by_leader(&self) -> bool {
        self.role == ROLE_LEADER
    }
}

impl HighWatermarkAdvanced {
    /// `isr` (the committed ISR) as broker ids.
    pub fn parse_isr(&self) -> Result<Vec<i32>, ListError> {
        parse_ids(&self.isr)
    }

    /// `isr_log_end_offsets` as `(broker id, log end offset)` pairs.
    pub fn parse_isr_log_end_offsets(&self) -> Result<Vec<(i32, i64)>, ListError> {
        parse_id_offsets(&self.isr_log_end_offsets)
    }
}

impl ProduceAcked {
    /// `maximal_isr` as broker ids.
    pub fn parse_maximal_isr(&self) -> Result<Vec<i32>, ListError> {
        parse_ids(&self.maximal_isr)
    }
}

/// Kafka's effective `min.insync.replicas`: the setting, capped by the replication factor
/// (`Partition.effectiveMinIsr`), so that a topic with fewer replicas than the setting can
/// still commit.
pub fn effective_min_isr(min_insync_replicas: i32, replication_factor: i32) -> i32 {
    min_insync_replicas.min(replication_factor)
}
