//! The log's leader-epoch cache (the part of Kafka's `UnifiedLog` and `LogLoader` that
//! drives its `LeaderEpochFileCache`): stamping and assigning epochs on append, following
//! truncation and retention, the `leader-epoch-checkpoint` file, and loading at open. The
//! rules live in `leader_epoch_cache.rs`, the file in `leader_epoch_checkpoint.rs`.
//!
//! - A leader's append stamps its leader epoch on every batch (`partitionLeaderEpoch`, outside
//!   the CRC) and assigns it at the first batch's base offset. A follower's append assigns
//!   each batch's own epoch at its base offset, skipping batches without one (-1).
//! - A leader append whose epoch is negative or below the cache's latest is refused
//!   ([`LogError::InvalidLeaderEpoch`]): controllers only raise leader epochs and a replica
//!   only holds batches of epochs up to its leader's, so such an append is a caller's bug, and
//!   assigning it would silently rewrite the log's epoch history. Kafka assigns it anyway.
//! - `truncate_to` truncates the cache from the end at the new log end offset; retention
//!   truncates it from the start at the new log start offset; `truncate_fully_and_start_at`
//!   clears it (as Kafka's `truncateFullyAndStartAt` does: the log holds nothing, so no
//!   epoch describes any of it).
//!
//! **When the file is written (where seedlog differs from Kafka).** Every change to the
//! cache is written (temp file, fsync, rename, directory fsync) before the operation that
//! made it returns. Kafka writes on assign synchronously but on truncation asynchronously.
//! Here a truncation is already durable before it returns (docs/storage.md), and its epoch
//! file must be too: otherwise a follower that truncates away the start of epoch 3, appends
//! the new leader's epoch-2 batches (an assign that changes nothing and writes nothing) and
//! flushes them, then crashes, would reopen with a file saying epoch 3 starts inside its
//! durable epoch-2 batches; recovery truncates the cache at the log end, which does not
//! remove that entry, and the node would answer `end_offset_for` wrongly for ever after.
//! `log_properties.rs` shows that property failing when this write is skipped. Changes are
//! rare (an election, a truncation, a retention pass), so the extra fsync costs nothing.
//!
//! **Ordering with the data.** On append the cache changes and its file is written before
//! the batches, so any batch that can survive a crash has its epoch entry on disk already.
//! A file ahead of the log after a crash (entries at or past the recovered log end, or
//! before the log start) is what recovery repairs: at open the cache is truncated from the
//! end at the recovered log end offset and from the start at the log start offset, as
//! Kafka's `LogLoader` does, and written back if that changed it.
//!
//! **A missing or unreadable file is rebuilt from the batches.** Kafka starts empty when
//! the file is missing and takes the log directory offline when it cannot parse it. The
//! batches carry the authoritative epochs, so seedlog rebuilds the cache from their
//! `partitionLeaderEpoch` fields (assigning each, as a follower append would), then
//! truncates from the start at the log start. That field lies outside the CRC, so a bit
//! flipped on the read path would plant a wrong epoch: the log is scanned until two scans
//! agree, as with other metadata no checksum covers. What a rebuild cannot recover is an
//! epoch that wrote no batch; such an entry can only be the last one, starting at the log
//! end, which recovery drops anyway (as Kafka's does) and the next election assigns again.

use tracing::{debug, info, warn};

use super::error::{LogError, LogResult};
use super::leader_epoch_cache::{Assign, LeaderEpochCache};
use super::leader_epoch_checkpoint;
use super::log::Log;
use super::record_batch::BatchHeader;

/// Scans of the log in a rebuild before it gives up on two agreeing.
const REBUILD_SCANS: usize = 8;

/// Deliberately broken variants, for the property test to show it catches them.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum EpochCacheFault {
    #[default]
    None,
    /// `truncate_to` leaves the cache alone.
    SkipTruncateFromEnd,
    /// `truncate_to` truncates the cache but does not write the file (Kafka's asynchronous
    /// write, never done before a crash).
    SkipTruncationWrite,
}

impl Log {
    /// The leader-epoch cache: the epochs that wrote to this log and where each began.
    pub fn leader_epoch_cache(&self) -> &LeaderEpochCache {
        &self.leader_epoch_cache
    }

    /// The newest epoch that wrote to (or, after an election, leads) this log.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.leader_epoch_cache.latest_epoch()
    }

    /// Kafka's `endOffsetForEpoch`: the epoch `epoch` resolves to in this log and the
    /// offset where it ended, `None` for Kafka's `(-1, -1)`. See
    /// [`LeaderEpochCache::end_offset_for`].
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.leader_epoch_cache.end_offset_for(epoch, self.log_end_offset())
    }

    /// On becoming leader in `leader_epoch`: the epoch starts at the log end offset (Kafka's
    /// `maybeAssignEpochStartOffset(leaderEpoch, logEndOffset)`). Durable before it returns.
    pub async fn assign_epoch_start_offset(&mut self, leader_epoch: i32) -> LogResult<()> {
        self.ensure_online()?;
        self.check_leader_epoch(leader_epoch)?;
        self.assign_epoch(leader_epoch, self.log_end_offset()).await?;
        self.check_invariants();
        Ok(())
    }

    /// A leader may append in `leader_epoch` only if it is `>= 0` and no older than the
    /// latest epoch of the log.
    pub(super) fn check_leader_epoch(&self, leader_epoch: i32) -> LogResult<()> {
        let latest_epoch = self.latest_epoch();
        if leader_epoch < 0 || latest_epoch.is_some_and(|latest| latest > leader_epoch) {
            return Err(LogError::InvalidLeaderEpoch { leader_epoch, latest_epoch });
        }
        Ok(())
    }

    /// Assigns each batch's epoch at its base offset (batches without one are skipped) and
    /// writes the file if the cache changed; before the batches are written.
    pub(super) async fn assign_batch_epochs(&mut self, headers: &[BatchHeader]) -> LogResult<()> {
        // Batches without an epoch (-1, Kafka's `NO_PARTITION_LEADER_EPOCH`) say nothing.
        for header in headers.iter().filter(|h| h.partition_leader_epoch >= 0) {
            self.assign_epoch(header.partition_leader_epoch, header.base_offset).await?;
        }
        Ok(())
    }

    async fn assign_epoch(&mut self, epoch: i32, start_offset: i64) -> LogResult<()> {
        let Assign::Inserted { removed } = self.leader_epoch_cache.assign(epoch, start_offset) else {
            return Ok(());
        };
        // Kafka warns when an assign rewrites history rather than replacing a start.
        if removed.len() > 1 || removed.first().is_some_and(|e| e.start_offset != start_offset) {
            warn!(
                name: "epoch_cache_rewritten",
                dir = %self.dir.display(),
                epoch,
                start_offset,
                removed = ?removed,
            );
        }
        info!(name: "epoch_cache_assigned", dir = %self.dir.display(), epoch, start_offset);
        self.write_leader_epoch_checkpoint().await
    }

    /// After `truncate_to`: the epochs that began at or after the new log end go.
    pub(super) async fn truncate_epochs_from_end(&mut self, log_end_offset: i64) -> LogResult<()> {
        #[cfg(test)]
        if self.epoch_cache_fault == EpochCacheFault::SkipTruncateFromEnd {
            return Ok(());
        }
        if !self.leader_epoch_cache.truncate_from_end(log_end_offset) {
            return Ok(());
        }
        debug!(
            name: "epoch_cache_truncated",
            dir = %self.dir.display(),
            log_end_offset,
            latest_epoch = self.latest_epoch(),
        );
        #[cfg(test)]
        if self.epoch_cache_fault == EpochCacheFault::SkipTruncationWrite {
            return Ok(());
        }
        self.write_leader_epoch_checkpoint().await
    }

    /// After the log start moved forward.
    pub(super) async fn truncate_epochs_from_start(&mut self) -> LogResult<()> {
        if self.leader_epoch_cache.truncate_from_start(self.log_start_offset) {
            self.write_leader_epoch_checkpoint().await?;
        }
        Ok(())
    }

    /// After `truncate_fully_and_start_at`.
    pub(super) async fn clear_epochs(&mut self) -> LogResult<()> {
        if self.leader_epoch_cache.clear() {
            self.write_leader_epoch_checkpoint().await?;
        }
        Ok(())
    }

    async fn write_leader_epoch_checkpoint(&mut self) -> LogResult<()> {
        let written = leader_epoch_checkpoint::write(self.disk.as_ref(), &self.dir, &self.leader_epoch_cache).await;
        self.fail_on_error(written.map_err(LogError::from))
    }

    /// At open, once the segments are recovered: reads the file (or rebuilds the cache from
    /// the batches), fits it to the recovered log, and writes it back if that changed it.
    pub(super) async fn load_leader_epoch_cache(&mut self) -> LogResult<()> {
        let read = leader_epoch_checkpoint::read(self.disk.as_ref(), &self.dir).await?;
        let (mut cache, mut changed) = match read {
            Some(Ok(cache)) => (cache, false),
            None => {
                let cache = self.rebuild_leader_epoch_cache().await?;
                info!(name: "epoch_cache_rebuilt", dir = %self.dir.display(), reason = "missing", entries = cache.entries().len());
                (cache, true)
            }
            Some(Err(error)) => {
                let cache = self.rebuild_leader_epoch_cache().await?;
                warn!(name: "epoch_cache_rebuilt", dir = %self.dir.display(), reason = %error, entries = cache.entries().len());
                (cache, true)
            }
        };
        changed |= cache.truncate_from_end(self.log_end_offset());
        changed |= cache.truncate_from_start(self.log_start_offset);
        self.leader_epoch_cache = cache;
        if changed {
            self.write_leader_epoch_checkpoint().await?;
        }
        info!(
            name: "epoch_cache_loaded",
            dir = %self.dir.display(),
            latest_epoch = self.latest_epoch(),
            entries = self.leader_epoch_cache.entries().len(),
        );
        Ok(())
    }

    /// The cache the batches describe, from scans of the whole log repeated until two agree.
    pub(super) async fn rebuild_leader_epoch_cache(&self) -> LogResult<LeaderEpochCache> {
        let mut previous = self.scan_epochs().await?;
        for _scan in 1..REBUILD_SCANS {
            let current = self.scan_epochs().await?;
            if current == previous {
                return Ok(current);
            }
            previous = current;
        }
        Err(LogError::Corrupt {
            offset_hint: self.log_start_offset,
            reason: format!("{REBUILD_SCANS} scans of the batches' leader epochs disagreed"),
        })
    }

    pub(super) async fn scan_epochs(&self) -> LogResult<LeaderEpochCache> {
        let mut cache = LeaderEpochCache::new();
        for segment in self.segments.values() {
            segment
                .visit_verified_batches(segment.base_offset(), |header| {
                    if header.partition_leader_epoch >= 0 {
                        cache.assign(header.partition_leader_epoch, header.base_offset);
                    }
                })
                .await?;
        }
        cache.truncate_from_start(self.log_start_offset);
        Ok(cache)
    }

    /// The log's part of the cache's invariants (`Log::check_invariants`).
    pub(super) fn check_epoch_invariants(&self) {
        let cache = &self.leader_epoch_cache;
        cache.check_invariants();
        if let Some(last) = cache.latest_entry() {
            assert!(
                last.start_offset <= self.log_end_offset(),
                "epoch {} starts at {}, past the log end {}",
                last.epoch,
                last.start_offset,
                self.log_end_offset()
            );
        }
        if let Some(first) = cache.entries().first() {
            assert!(
                first.start_offset >= self.log_start_offset,
                "epoch {} starts at {}, before the log start {}",
                first.epoch,
                first.start_offset,
                self.log_start_offset
            );
        }
    }
}
