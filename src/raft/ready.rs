//! What the core hands its shell after each input (raft-rs's `Ready`).
//!
//! The shell's contract, for each [`Ready`] in the order they were taken:
//!
//! 1. send `messages` at once (they depend on nothing that is not yet durable);
//! 2. make the writes durable, in this order: `quorum_state` (temp file, fsync, rename,
//!    directory fsync); `install_snapshot` (write `<offset>-<epoch>.checkpoint.part`, fsync,
//!    rename, then replace the whole log by an empty one starting at the snapshot's end offset
//!    and load the snapshot into the state machine); `truncate_to`; `append` (write, fsync);
//!    and last, `log_start_offset` (segments wholly below it may be deleted: a durable
//!    snapshot covers them). A Ready with none of them is still a barrier: its step is done
//!    only when every earlier Ready's is;
//! 3. only then send `messages_after_persist` and call
//!    [`RaftCore::on_persisted(now, id)`](super::RaftCore::on_persisted);
//! 4. hand `committed` to the state machine (they are committed; `high_watermark` is the new
//!    high watermark if it moved).
//!
//! A crash anywhere loses only what step 2 had not made durable, and nothing that depends on
//! it has left the node. A shell may pipeline: take the next Ready while an earlier one is
//! still being written, as long as it keeps the order.

use super::messages::{Entry, Offset, Outbound, SnapshotId};
use super::quorum_state_file::QuorumStateRecord;
use bytes::Bytes;

/// The outputs of one or more inputs, since the last [`super::RaftCore::take_ready`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    /// Pass to `on_persisted` once this Ready's writes (and all earlier ones) are durable.
    pub id: u64,
    /// The quorum-state record to persist (the latest one; earlier ones it supersedes).
    pub quorum_state: Option<QuorumStateRecord>,
    /// A snapshot fetched from the leader, to make durable and load in place of the log.
    pub install_snapshot: Option<(SnapshotId, Bytes)>,
    /// Remove every log entry at or above this offset (before appending).
    pub truncate_to: Option<Offset>,
    /// Entries to append to the log, in order.
    pub append: Vec<Entry>,
    /// Entries below this offset may be deleted from disk (after the snapshot that covers them
    /// is durable, which `on_snapshot`'s caller guarantees).
    pub log_start_offset: Option<Offset>,
    /// Messages that may leave now.
    pub messages: Vec<Outbound>,
    /// Messages that may leave only after this Ready's writes (and earlier ones) are durable:
    /// a granted vote after the vote is persisted, a voter's next Fetch (its acknowledgement)
    /// after the records it acknowledges are fsynced, and anything said in an epoch whose
    /// quorum-state is not yet durable.
    pub messages_after_persist: Vec<Outbound>,
    /// The new high watermark, if it moved.
    pub high_watermark: Option<Offset>,
    /// Entries that became committed, in offset order.
    pub committed: Vec<Entry>,
    /// The election-state changes made since the last Ready, in order. The shell reports
    /// them (emits each) once this Ready's quorum-state write is durable: the core's state may
    /// run ahead of the disk, and a trace must not show an epoch or a vote that a crash takes
    /// back before anything depended on it.
    pub transitions: Vec<crate::events::RaftTransition>,
}

impl Ready {
    /// Whether the shell has anything to write for this Ready.
    pub fn must_persist(&self) -> bool {
        self.quorum_state.is_some()
            || self.install_snapshot.is_some()
            || self.truncate_to.is_some()
            || !self.append.is_empty()
            || self.log_start_offset.is_some()
    }

    /// Whether there is nothing at all to do.
    pub fn is_empty(&self) -> bool {
        !self.must_persist()
            && self.messages.is_empty()
            && self.messages_after_persist.is_empty()
            && self.high_watermark.is_none()
            && self.committed.is_empty()
            && self.transitions.is_empty()
    }
}
