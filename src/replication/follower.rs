//! The follower role: what to fetch, how far to truncate when the leader reports divergence
//! (REPLICATION.md §3.10), and the follower's high watermark (§3.1).
//!
//! Decision (differs from Kafka, §7 of REPLICATION.md): the follower's HW never falls, except
//! when truncation takes the records below it. Kafka sets it to `min(leader HW, LEO)` on every
//! response, so it drops when a new leader's HW is still stale (the leader learns the HW one
//! fetch late). Keeping the maximum is safe: a HW a leader announced covers committed records,
//! which every later clean leader holds (an ISR member reaches the epoch start offset, which
//! covers every earlier HW, before it joins); and it spares readers of the follower, and its
//! HW checkpoint, a HW that goes back.

use super::epoch_lookup::EpochLookup;
use super::leader::FollowerFetch;
use super::partition_state::PartitionState;
use super::replica::{Replica, Role};

/// The follower's state for one leader epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerState {
    pub(super) state: PartitionState,
}

impl FollowerState {
    pub fn partition_state(&self) -> &PartitionState {
        &self.state
    }

    /// The broker to fetch from; `None` when the partition has no leader.
    pub fn leader_id(&self) -> Option<i32> {
        (self.state.leader() >= 0).then_some(self.state.leader())
    }
}

/// Where to truncate the local log after a `DivergingEpoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Truncate the log to this offset (records at and above it go).
    pub offset: i64,
    /// The truncation removes records below this replica's HW: committed data is being lost,
    /// which only an unclean election explains. The HW follows the log down.
    pub below_high_watermark: bool,
    /// False when the leader named an epoch this log does not have: the next fetch (with the
    /// smaller last epoch) may truncate further (KIP-279).
    pub complete: bool,
}

/// What a follower does after OFFSET_OUT_OF_RANGE, once it has asked the leader (ListOffsets)
/// for its log start and log end offsets (REPLICATION.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfRangeAction {
    /// The leader's log ends below ours (only after an unclean election): truncate to its end.
    TruncateTo { offset: i64, below_high_watermark: bool },
    /// The leader's log starts beyond our end: drop the whole log and start it at `offset`.
    TruncateFullyAndStartAt { offset: i64 },
    /// Our end is inside the leader's log after all (it moved meanwhile): fetch again from it.
    FetchFrom { offset: i64 },
}

impl Replica {
    /// The fetch this follower sends for a log ending at `log_end_offset` whose last record has
    /// epoch `last_fetched_epoch` (`None` for an empty log); `None` when not following a leader.
    pub fn fetch_request(
        &self,
        log_end_offset: i64,
        last_fetched_epoch: Option<i32>,
        log_start_offset: i64,
    ) -> Option<FollowerFetch> {
        let Role::Follower(follower) = &self.role else { return None };
        follower.leader_id()?;
        Some(FollowerFetch {
            replica_id: self.config.broker_id,
            replica_epoch: self.config.broker_epoch,
            fetch_offset: log_end_offset,
            last_fetched_epoch: last_fetched_epoch.unwrap_or(-1),
            current_leader_epoch: follower.state.leader_epoch(),
            log_start_offset,
        })
    }

    /// The leader answered `DivergingEpoch { epoch, end_offset }`: look up the local end of
    /// `epoch` (`local` is this log's epoch cache) and decide the truncation (§3.10):
    /// - local has `epoch`: truncate to `min(end_offset, local end of epoch, LEO)`;
    /// - local's nearest epoch below differs: truncate to `min(its end, LEO)`, fetch again;
    /// - no local answer: truncate to `min(end_offset, LEO)`;
    /// - an empty local cache: truncate to the HW.
    ///
    /// The HW follows the log down if the truncation goes below it. `None` when this replica
    /// is not a follower (the answer is stale).
    pub fn on_diverging_epoch(
        &mut self,
        epoch: i32,
        end_offset: i64,
        local: &impl EpochLookup,
        log_end_offset: i64,
    ) -> Option<Truncation> {
        if !matches!(self.role, Role::Follower(_)) {
            return None;
        }
        let (offset, complete) = if local.latest_epoch().is_none() {
            (self.high_watermark.min(log_end_offset), true)
        } else {
            match local.end_offset_for_epoch(epoch, log_end_offset) {
                Some((local_epoch, local_end)) if local_epoch == epoch => {
                    (end_offset.min(local_end).min(log_end_offset), true)
                }
                Some((_, local_end)) => (local_end.min(log_end_offset), false),
                None => (end_offset.min(log_end_offset), true),
            }
        };
        let below_high_watermark = offset < self.high_watermark;
        self.high_watermark = self.high_watermark.min(offset);
        self.check_invariants();
        Some(Truncation { offset, below_high_watermark, complete })
    }

    /// The leader answered OFFSET_OUT_OF_RANGE and then reported its log start and end offsets;
    /// decide as Kafka's `fetchOffsetAndTruncate` does. The HW follows a truncation down, and a
    /// log restarted at the leader's log start has its HW there (the records below it are gone
    /// everywhere, and the leader's log start never passes its HW). `None` when not a follower.
    pub fn on_offset_out_of_range(
        &mut self,
        leader_log_start_offset: i64,
        leader_log_end_offset: i64,
        log_end_offset: i64,
    ) -> Option<OutOfRangeAction> {
        if !matches!(self.role, Role::Follower(_)) {
            return None;
        }
        let action = if leader_log_end_offset < log_end_offset {
            let below_high_watermark = leader_log_end_offset < self.high_watermark;
            self.high_watermark = self.high_watermark.min(leader_log_end_offset);
            OutOfRangeAction::TruncateTo { offset: leader_log_end_offset, below_high_watermark }
        } else if leader_log_start_offset > log_end_offset {
            self.high_watermark = leader_log_start_offset;
            OutOfRangeAction::TruncateFullyAndStartAt { offset: leader_log_start_offset }
        } else {
            OutOfRangeAction::FetchFrom { offset: log_end_offset }
        };
        self.check_invariants();
        Some(action)
    }

    /// A fetch response carried the leader's HW (taken before the read); this follower's log
    /// now ends at `log_end_offset`. The follower's HW becomes `min(leader HW, LEO)` if that is
    /// higher (see the module's decision); returns the new HW when it moved.
    pub fn on_fetch_response_high_watermark(&mut self, leader_high_watermark: i64, log_end_offset: i64) -> Option<i64> {
        if !matches!(self.role, Role::Follower(_)) {
            return None;
        }
        let candidate = leader_high_watermark.min(log_end_offset);
        // A log that was truncated (or recovered short) below the HW takes the HW down with it.
        let previous = self.high_watermark;
        self.high_watermark = self.high_watermark.min(log_end_offset).max(candidate);
        self.check_invariants();
        (self.high_watermark > previous).then_some(self.high_watermark)
    }
}
