//! The log's idempotent producer state (the part of Kafka's `UnifiedLog` and `LogLoader`
//! that drives its `ProducerStateManager`): checks of a leader's append, snapshots, the
//! rebuild after truncation and recovery, and expiry. The rules themselves live in
//! `producer_state.rs`, the snapshot files in `producer_snapshot.rs`.
//!
//! - A snapshot is written at the new segment's base offset on every roll and at the log
//!   end on close and after recovery. The two newest are kept; retention also deletes
//!   those at or below the new log start offset (see docs/storage.md).
//! - Truncation and recovery rebuild the state as Kafka's `truncateAndReload` does: delete
//!   the snapshots above the log end or at or below the log start (durably: a stale
//!   snapshot that came back after a crash would describe batches the log no longer
//!   holds), load the newest snapshot that reads back valid (a bad one is deleted and the
//!   next older tried; with none the state starts empty at the first segment), and replay
//!   the producer fields of every batch from there to the log end.
//! - Replay reads each batch whole and checks its CRC, so a bit flipped on the read path
//!   cannot plant a wrong sequence in the state.

use std::collections::BTreeMap;

use tracing::{debug, info, warn};

use super::error::{LogError, LogResult};
use super::log::{AppendInfo, Log};
use super::producer_snapshot;
use super::producer_state::{Check, ProducerStateManager};
use super::record_batch::BatchHeader;
use super::segment::LogSegment;

/// Snapshot files kept: the newest two (Kafka keeps one per segment).
pub(super) const SNAPSHOTS_KEPT: usize = 2;

/// Where the last rebuild of the producer state started (for the `producer_state_loaded`
/// event and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ProducerStateLoad {
    /// The snapshot loaded, if any.
    pub snapshot_offset: Option<i64>,
    /// The offset replay started from: the snapshot's, or the first segment's base.
    pub replayed_from: i64,
    pub replayed_batches: usize,
}

impl Log {
    /// The idempotent producers' state of this partition.
    pub fn producer_state(&self) -> &ProducerStateManager {
        &self.producer_state
    }

    /// Forgets producers whose last timestamp is `expiration_ms` or more before `now_ms`
    /// (`producer.id.expiration.ms`, default 86400000); the broker calls this every
    /// `producer.id.expiration.check.interval.ms`. Returns how many it forgot. Snapshots
    /// written later leave them out.
    pub fn expire_producers(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let expired = self.producer_state.expire(now_ms, expiration_ms);
        if !expired.is_empty() {
            info!(name: "producers_expired", dir = %self.dir.display(), count = expired.len(), producer_ids = ?expired);
        }
        expired.len()
    }

    /// Checks a leader append's batches (offsets assigned, nothing written yet) against the
    /// producer state. `Some` if the append is a duplicate, to be answered with the
    /// original batch's offsets.
    ///
    /// Several batches are checked in order, each against the state the earlier ones would
    /// leave. A duplicate is answered as such only when it is the append's only batch (the
    /// one-batch-per-partition produce request every client sends); among several it is
    /// rejected as out of order, since writing the others alone would answer for batches
    /// that were not all written.
    pub(super) fn check_producers(&self, headers: &[BatchHeader]) -> LogResult<Option<AppendInfo>> {
        if let [header] = headers {
            return match self.producer_state.check(header)? {
                Check::Duplicate { first_offset, last_offset, max_timestamp } => {
                    debug!(
                        name: "producer_batch_duplicate",
                        dir = %self.dir.display(),
                        producer_id = header.producer_id,
                        producer_epoch = header.producer_epoch,
                        base_sequence = header.base_sequence,
                        first_offset,
                        last_offset,
                    );
                    Ok(Some(AppendInfo {
                        first_offset,
                        last_offset,
                        max_timestamp,
                        batch_count: 1,
                        size_bytes: 0,
                        duplicate: true,
                    }))
                }
                Check::InSequence | Check::NotIdempotent => Ok(None),
            };
        }
        let mut staged = self.producer_state.staged(headers.iter().map(|h| h.producer_id));
        for header in headers {
            if let Check::Duplicate { .. } = staged.check(header)? {
                let entry = staged.get(header.producer_id).expect("a duplicate has state");
                return Err(LogError::OutOfOrderSequence {
                    producer_id: header.producer_id,
                    expected_sequence: entry.next_sequence(),
                    found_sequence: header.base_sequence,
                });
            }
            staged.update(header);
        }
        Ok(None)
    }

    /// Writes a snapshot of the producer state at its end offset (the log end), unless
    /// one exists there or the log is empty from its start, then keeps only the newest
    /// [`SNAPSHOTS_KEPT`]. A failed write takes the log offline.
    pub(super) async fn take_producer_snapshot(&mut self) -> LogResult<()> {
        self.ensure_online()?;
        let offset = self.producer_state.end_offset();
        debug_assert_eq!(offset, self.log_end_offset());
        if offset <= self.log_start_offset || self.producer_snapshots.contains(&offset) {
            return Ok(());
        }
        let snapshot = self.producer_state.encode_snapshot();
        let written = producer_snapshot::write(self.disk.as_ref(), &self.dir, offset, snapshot).await;
        self.fail_on_error(written.map_err(LogError::from))?;
        self.producer_snapshots.insert(offset);
        info!(
            name: "producer_snapshot_written",
            dir = %self.dir.display(),
            offset,
            producers = self.producer_state.len(),
        );
        self.prune_producer_snapshots().await
    }

    /// Removes all but the newest [`SNAPSHOTS_KEPT`] snapshots (durable with the next
    /// directory sync; an older snapshot coming back is harmless).
    async fn prune_producer_snapshots(&mut self) -> LogResult<()> {
        let old: Vec<i64> = self.producer_snapshots.iter().rev().skip(SNAPSHOTS_KEPT).copied().collect();
        self.remove_producer_snapshots(&old).await
    }

    /// Removes the snapshots at or below the log start offset (after retention). Durable
    /// with the next directory sync; recovery removes them again if they come back.
    pub(super) async fn remove_producer_snapshots_below_log_start(&mut self) -> LogResult<()> {
        let start = self.log_start_offset;
        let doomed: Vec<i64> = self.producer_snapshots.range(..=start).copied().collect();
        self.remove_producer_snapshots(&doomed).await
    }

    async fn remove_producer_snapshots(&mut self, offsets: &[i64]) -> LogResult<()> {
        for &offset in offsets {
            let removed = producer_snapshot::remove(self.disk.as_ref(), &self.dir, offset).await;
            self.fail_on_error(removed.map_err(LogError::from))?;
            self.producer_snapshots.remove(&offset);
            self.dir_dirty = true;
            debug!(name: "producer_snapshot_deleted", dir = %self.dir.display(), offset);
        }
        Ok(())
    }

    /// Rebuilds the producer state for the log as it now is (after truncation or at
    /// open): see the module docs. Any failure takes the log offline, as the state would
    /// no longer match the log.
    pub(super) async fn reload_producer_state(&mut self) -> LogResult<()> {
        self.ensure_online()?;
        let result = self.rebuild_producer_state().await;
        self.fail_on_error(result)
    }

    async fn rebuild_producer_state(&mut self) -> LogResult<()> {
        let (start, end) = (self.log_start_offset, self.log_end_offset());
        let out_of_range: Vec<i64> =
            self.producer_snapshots.iter().copied().filter(|&o| o > end || o <= start).collect();
        self.remove_producer_snapshots(&out_of_range).await?;
        self.sync_dir_if_dirty().await?;

        let mut loaded = None;
        let candidates: Vec<i64> = self.producer_snapshots.iter().rev().copied().collect();
        for offset in candidates {
            let why = match producer_snapshot::read(self.disk.as_ref(), &self.dir, offset).await? {
                Ok(mut state) => match replay(&self.segments, &mut state, end).await? {
                    Some(replayed) => {
                        loaded = Some((state, Some(offset), replayed));
                        break;
                    }
                    None => "its offset is not a batch boundary of the log".to_string(),
                },
                Err(e) => e.to_string(),
            };
            warn!(name: "producer_snapshot_unusable", dir = %self.dir.display(), offset, reason = %why);
            self.remove_producer_snapshots(&[offset]).await?;
        }
        let (state, snapshot_offset, replayed_batches) = match loaded {
            Some(loaded) => loaded,
            None => {
                let first_base = *self.segments.keys().next().expect("a log always has a segment");
                let mut state = ProducerStateManager::new(first_base);
                let Some(replayed) = replay(&self.segments, &mut state, end).await? else {
                    return Err(LogError::Corrupt {
                        offset_hint: state.end_offset(),
                        reason: "batches do not continue the offsets".to_string(),
                    });
                };
                (state, None, replayed)
            }
        };
        let replayed_from = snapshot_offset.unwrap_or_else(|| *self.segments.keys().next().expect("a segment"));
        self.producer_state = state;
        self.producer_state_load = ProducerStateLoad { snapshot_offset, replayed_from, replayed_batches };
        self.prune_producer_snapshots().await?;
        info!(
            name: "producer_state_loaded",
            dir = %self.dir.display(),
            snapshot_offset,
            replayed_from,
            replayed_batches,
            producers = self.producer_state.len(),
            log_end_offset = end,
        );
        Ok(())
    }
}

/// Replays every batch from `state`'s end offset to `log_end_offset` into `state`.
/// Returns how many batches it replayed, or `None` if the state's end offset is not where
/// a batch starts (or the log ends).
async fn replay(
    segments: &BTreeMap<i64, LogSegment>,
    state: &mut ProducerStateManager,
    log_end_offset: i64,
) -> LogResult<Option<usize>> {
    let from = state.end_offset();
    let mut replayed = 0;
    let mut continuous = true;
    for segment in segments.values().filter(|s| s.next_offset() > from) {
        segment
            .visit_verified_batches(from, |header| {
                if continuous && header.base_offset == state.end_offset() {
                    state.update(header);
                    replayed += 1;
                } else {
                    continuous = false;
                }
            })
            .await?;
    }
    Ok((continuous && state.end_offset() == log_end_offset).then_some(replayed))
}
