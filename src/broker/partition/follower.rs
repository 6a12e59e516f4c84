//! The follower's side of a partition replica: becoming a follower, the fetch to send the
//! leader, and applying the leader's answer — truncation by leader epoch (KIP-101/279),
//! appends kept as the leader wrote them, fsync before acknowledging, the follower's HW
//! (REPLICATION.md §3.1, §3.10). The core decides.

use std::sync::atomic::Ordering;

use tracing::warn;

use super::{FollowerRead, LeaderChangeError, Partition};
use crate::replication::{Effects, FollowerFetch, PartitionState, Truncation};
use crate::storage::LogResult;

impl Partition {
    /// Metadata makes this broker a follower (Kafka's `makeFollower`). True when the leader or
    /// leader epoch changed: the fetcher must (re)start, and its next fetch carries the last
    /// fetched epoch so the leader checks for divergence again (KAFKA-7164).
    ///
    /// With the pre-KIP-101 design switched on (`truncate_to_high_watermark_on_follow`, for
    /// scenarios that replay its data loss) the log is first truncated to the high watermark.
    pub async fn make_follower(&self, now_ms: i64, state: PartitionState) -> Result<bool, LeaderChangeError> {
        let mut log = self.log.lock().await;
        let reported = state.clone();
        let restart = self.lock_replica().become_follower(now_ms, state).map_err(LeaderChangeError::Ignored)?;
        self.emit_make_follower(&reported);
        let (truncate, high_watermark) = {
            let replica = self.lock_replica();
            (replica.config().truncate_to_high_watermark_on_follow, replica.high_watermark())
        };
        if truncate && restart && high_watermark < log.log_end_offset() {
            warn!(name: "truncated_to_high_watermark", topic = %self.topic, partition = self.index, high_watermark);
            let truncated = log.truncate_to(now_ms, high_watermark).await;
            self.note_log_state(&log);
            truncated.map_err(LeaderChangeError::Log)?;
            self.emit_truncated(log.log_end_offset(), high_watermark, "pre-KIP-101 truncation to the high watermark");
        }
        drop(log);
        // A waiting acks=all produce fails from now on: wake it to see that.
        self.high_watermark_moved.notify_waiters();
        Ok(restart)
    }

    /// The fetch a follower sends its leader for this partition, or `None` when it follows no
    /// one: from its log end offset, with the epoch of its last record (for divergence).
    pub async fn follower_fetch(&self) -> Option<FollowerFetch> {
        let log = self.log.lock().await;
        // An offline log's end offset is what memory holds, not what is on disk: a fetch
        // from it would acknowledge records a failed fsync may have lost.
        if self.note_log_state(&log) {
            return None;
        }
        let (end, last_epoch, start) = (log.log_end_offset(), log.latest_epoch(), log.log_start_offset());
        let replica = self.lock_replica();
        // Before KIP-101 a fetch carried no epoch, so the leader could not see divergence.
        let last_epoch = if replica.config().truncate_to_high_watermark_on_follow { None } else { last_epoch };
        replica.fetch_request(end, last_epoch, start)
    }

    /// Applies the leader's answer to this follower's fetch: on divergence, truncates as the
    /// core decides (§3.10); else appends the leader's batches as they are and, with
    /// `fsync_before_ack`, makes them durable before returning, so the next fetch's offset
    /// acknowledges only durable records; then takes the follower's HW from the leader's.
    /// Returns the truncation if there was one. An answer to a fetch sent in another
    /// leader epoch than `fetched_in_epoch`'s (metadata moved on while it was in flight,
    /// making this replica a leader or the follower of another epoch) is ignored.
    pub async fn apply_leader_answer(
        &self,
        now_ms: i64,
        fetched_in_epoch: i32,
        answer: &FollowerRead,
    ) -> LogResult<Option<Truncation>> {
        if answer.error_code != 0 {
            return Ok(None);
        }
        let mut log = self.log.lock().await;
        let current = {
            let replica = self.lock_replica();
            matches!(replica.role(), crate::replication::Role::Follower(_))
                && replica.leader_epoch() == Some(fetched_in_epoch)
        };
        if !current {
            return Ok(None);
        }
        if let Some((epoch, end_offset)) = answer.diverging {
            let end = log.log_end_offset();
            let truncation = self.lock_replica().on_diverging_epoch(epoch, end_offset, log.leader_epoch_cache(), end);
            if let Some(truncation) = truncation {
                let log_end_offset = log.truncate_to(now_ms, truncation.offset).await?;
                self.lower_high_watermark_after_truncation(truncation);
                let high_watermark = self.lock_replica().high_watermark();
                self.emit_truncated(log_end_offset, high_watermark, "diverging epoch");
            }
            return Ok(truncation);
        }
        if !answer.records.is_empty() {
            let appended = log.append_as_follower(now_ms, answer.records.clone()).await;
            self.note_log_state(&log);
            appended?;
            self.emit_batches_replicated(&answer.records, 0, 0, false);
            if self.lock_replica().config().fsync_before_ack {
                let flushed = log.flush(now_ms).await;
                self.note_log_state(&log);
                flushed?;
            }
        }
        let moved = self.lock_replica().on_fetch_response_high_watermark(answer.high_watermark, log.log_end_offset());
        self.publish(Effects { high_watermark: moved, alter_partition: None }, log.log_end_offset());
        Ok(None)
    }

    /// A follower's truncation took records below its HW (only after an unclean election):
    /// the published HW follows the log down, the one exception to its never moving back.
    fn lower_high_watermark_after_truncation(&self, truncation: Truncation) {
        if truncation.below_high_watermark {
            let high_watermark = self.lock_replica().high_watermark();
            self.high_watermark.store(high_watermark, Ordering::Release);
            warn!(name: "high_watermark_lowered", topic = %self.topic, partition = self.index, high_watermark);
        }
    }
}
