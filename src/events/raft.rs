//! Events of the Raft quorum that replicates the cluster metadata log (`src/raft/`, the
//! KRaft `__cluster_metadata`-0 partition; REPLICATION.md §1). The node that emits an event
//! is the simulated node of the trace (one Raft instance per node); ids inside the fields
//! (`leader_id`, `voted_id`, `voter_id`, `candidate_id`) are Raft node ids, `-1` for none.
//! Epochs are i32 and offsets i64, as on Kafka's wire.
//!
//! When to emit (the checkers rely on it):
//! - [`RaftTransition`] after every change of election state, once the quorum-state write
//!   that change needs is durable (the driver emits the core's `Ready::transitions` then, so
//!   a crash before the write shows no transition that did not survive), including the state a node
//!   starts in (then `from_state` is [`STARTING_STATE`]);
//! - [`QuorumStateWritten`] once the `quorum-state` file is durable (fsync and rename done);
//! - [`VoteGranted`] when a granting Vote response is handed to the network, that is after
//!   the vote it grants is durable;
//! - [`RaftAppended`] per batch appended to the local log, on every node (leader, followers,
//!   observers), with the batch as the leader wrote it: followers append the leader's
//!   batches unchanged, so a batch has the same bounds, epoch and digest everywhere;
//! - [`RaftTruncated`] when the log's tail is removed;
//! - [`RaftHighWatermark`] whenever the node's high watermark moves, on every node;
//! - [`RaftSnapshotTaken`] once a snapshot of the node's own state is durable (file renamed,
//!   directory synced) and handed to the core; [`RaftSnapshotInstalled`] once a snapshot
//!   fetched from the leader is durable and the log replaced; [`RaftSnapshotLoaded`] at
//!   start-up for the snapshot recovered from disk.

use super::lists::{parse_id_offsets, ListError};

/// An election state, by Kafka's names (`QuorumState`, with KIP-996's Prospective).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RaftState {
    Unattached,
    Prospective,
    Candidate,
    Leader,
    Follower,
    Resigned,
}

/// `from_state` of the [`RaftTransition`] a node reports for the state it starts in.
pub const STARTING_STATE: &str = "Starting";

impl RaftState {
    pub const ALL: [RaftState; 6] = [
        RaftState::Unattached,
        RaftState::Prospective,
        RaftState::Candidate,
        RaftState::Leader,
        RaftState::Follower,
        RaftState::Resigned,
    ];

    /// The state's name in events (`"Leader"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RaftState::Unattached => "Unattached",
            RaftState::Prospective => "Prospective",
            RaftState::Candidate => "Candidate",
            RaftState::Leader => "Leader",
            RaftState::Follower => "Follower",
            RaftState::Resigned => "Resigned",
        }
    }

    /// The state named `name`; `None` for [`STARTING_STATE`] or an unknown name.
    pub fn parse(name: &str) -> Option<RaftState> {
        RaftState::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

crate::events! {
    /// A node's election state changed. `from_state` and `to_state` are [`RaftState`] names
    /// (`from_state` is [`STARTING_STATE`] for the state a node starts in); `epoch`,
    /// `leader_id` and `voted_id` are those of the new state (`voted_id` is the node itself
    /// in Candidate).
    RaftTransition = "raft_transition", INFO { from_state: String, to_state: String, epoch: i32, leader_id: i32, voted_id: i32 }

    /// The `quorum-state` file now durably holds this epoch, leader and vote.
    QuorumStateWritten = "raft_quorum_state_written", DEBUG { epoch: i32, leader_id: i32, voted_id: i32 }

    /// The node (voter `voter_id`) granted a vote (a pre-vote when `pre_vote`) to
    /// `candidate_id` for `epoch`. The candidate's last log epoch and end offset are the
    /// request's `LastOffsetEpoch` and `LastOffset`; the voter's are its own at that moment.
    VoteGranted = "raft_vote_granted", INFO {
        voter_id: i32,
        candidate_id: i32,
        epoch: i32,
        candidate_last_epoch: i32,
        candidate_last_offset: i64,
        voter_last_epoch: i32,
        voter_log_end_offset: i64,
        pre_vote: bool,
    }

    /// A batch of entries `base_offset..=last_offset` of epoch `epoch` was appended to the
    /// node's log. `digest` covers the entries' payloads (FNV-1a 64 or any function that is
    /// the same on every node).
    RaftAppended = "raft_appended", DEBUG { epoch: i32, base_offset: i64, last_offset: i64, digest: u64 }

    /// The node's log was truncated to end at `offset`; `high_watermark` is the node's at that
    /// moment.
    RaftTruncated = "raft_truncated", INFO { offset: i64, high_watermark: i64 }

    /// The node's high watermark moved to `high_watermark` in `epoch`. On a leader
    /// (`is_leader`), `epoch_start_offset` is its log end offset when it won and
    /// `voter_end_offsets` lists every voter, itself included, with the end offset the
    /// leader counts for it (`"1:10,2:8,3:-1"`, -1 when unknown; see `lists.rs`); on other
    /// nodes both are `-1` and `""`.
    RaftHighWatermark = "raft_high_watermark", DEBUG {
        high_watermark: i64,
        epoch: i32,
        is_leader: bool,
        epoch_start_offset: i64,
        voter_end_offsets: String,
    }

    /// The node made a snapshot of its own applied state durable (KIP-630): everything below
    /// `end_offset`, whose last entry has epoch `epoch`; the log now starts at `end_offset`.
    /// `bytes` is the snapshot's size and `digest` the FNV-1a 64 of its bytes (the same on
    /// every node that snapshots the same committed prefix).
    RaftSnapshotTaken = "raft_snapshot_taken", INFO { end_offset: i64, epoch: i32, bytes: u64, digest: u64 }

    /// A snapshot fetched from the leader is durable and replaced the node's whole log (which
    /// now starts, empty, at `end_offset`); the state machine loads it next.
    RaftSnapshotInstalled = "raft_snapshot_installed", INFO { end_offset: i64, epoch: i32, bytes: u64, digest: u64 }

    /// At start-up the node recovered this snapshot from its disk: the log starts at
    /// `end_offset` and the state machine starts from the snapshot.
    RaftSnapshotLoaded = "raft_snapshot_loaded", INFO { end_offset: i64, epoch: i32, bytes: u64, digest: u64 }
}

impl RaftTransition {
    /// The state left; `None` when the node is starting.
    pub fn from(&self) -> Option<RaftState> {
        RaftState::parse(&self.from_state)
    }

    /// The state entered; `None` only for a name that is no [`RaftState`].
    pub fn to(&self) -> Option<RaftState> {
        RaftState::parse(&self.to_state)
    }
}

impl RaftHighWatermark {
    /// `voter_end_offsets` as `(voter id, end offset)` pairs.
    pub fn parse_voter_end_offsets(&self) -> Result<Vec<(i32, i64)>, ListError> {
        parse_id_offsets(&self.voter_end_offsets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in RaftState::ALL {
            assert_eq!(RaftState::parse(state.as_str()), Some(state));
        }
        assert_eq!(RaftState::parse(STARTING_STATE), None);
        assert_eq!(RaftState::parse("Voted"), None, "KIP-996 folded Voted into Unattached");
    }
}
