//! The partition log (Kafka's `UnifiedLog`/`LocalLog`): an ordered run of segments with a
//! log start offset, a log end offset and a recovery point.
//!
//! Opening a log recovers it (`recovery.rs`); retention lives in `retention.rs`. The log
//! does IO through the [`Disk`] seam and takes wall-clock time as an argument, so it
//! behaves the same on tokio and in the simulator.
//!
//! Durability: an append is in the page cache until a flush, which happens when
//! `flush.messages` messages or `flush.ms` have passed (or when asked). A flush fsyncs
//! every segment holding unflushed data and, if segments were created or removed, the
//! directory; only then does the recovery point move. Truncation and retention are made
//! durable before they return, so truncated or deleted data cannot come back after a crash.
//! After any failed write or fsync the log goes offline, like a Kafka log directory: its
//! unsynced data may be gone, so nothing more is served until it is reopened and recovered.
//!
//! Idempotent producers: a leader's append is checked against the producer state first
//! (`producer_state.rs`; snapshots, rebuild and expiry in `log_producers.rs`); a duplicate
//! writes nothing and is answered with the original offsets.
//!
//! Leader epochs: a leader's append stamps its epoch on every batch; the leader-epoch cache
//! follows appends, truncation and retention, and its file is written before the operation
//! that changed it returns (`log_epochs.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tracing::{debug, info, warn};

use super::checkpoint::{self, Checkpoint};
use super::config::LogConfig;
use super::error::{LogError, LogResult};
use super::leader_epoch_cache::LeaderEpochCache;
#[cfg(test)]
use super::log_epochs::EpochCacheFault;
use super::log_producers::ProducerStateLoad;
use super::producer_state::ProducerStateManager;
use super::record_batch::{self, BatchError, BatchHeader, CrcCheck};
use super::segment::{LocatedBatch, LogSegment};
use crate::events::{Event, LogFlushStarted, LogFlushSynced, LogFlushed, LogTruncated};
use crate::runtime::{Disk, DiskFile};

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: i64,
    pub last_offset: i64,
    /// The largest record timestamp among the appended batches.
    pub max_timestamp: i64,
    pub batch_count: usize,
    /// Bytes written (0 for a duplicate).
    pub size_bytes: usize,
    /// The batch repeated one of its idempotent producer's last five: nothing was written
    /// and the offsets and timestamp are those of the original append (Kafka answers
    /// `NONE` with them).
    pub duplicate: bool,
}

/// Whether an append assigns offsets and stamps its leader epoch (a leader) or keeps those
/// in the batches (a follower).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    Leader { leader_epoch: i32 },
    Replication,
}

/// The result of a lookup by timestamp: the first batch whose max timestamp is at or above
/// the target. Finding the exact record inside it needs the records decoded, which the
/// caller does (compressed batches need their codec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampMatch {
    pub batch_base_offset: i64,
    pub batch_last_offset: i64,
    pub batch_max_timestamp: i64,
}

/// A flush in progress: the files to fsync and what they make durable.
#[derive(Debug)]
pub struct PendingFlush {
    /// The log's directory (for the flush's events).
    log_dir: PathBuf,
    files: Vec<Arc<dyn DiskFile>>,
    dir: Option<(Arc<dyn Disk>, PathBuf)>,
    log_end_offset: i64,
    generation: u64,
}

impl PendingFlush {
    /// Fsyncs the files, then the directory if segments were created since its last sync.
    /// Reports `log_flush_started` and `log_flush_synced` around them.
    pub async fn sync(&self) -> std::io::Result<()> {
        let dir = self.log_dir.display().to_string();
        LogFlushStarted { dir: dir.clone(), log_end_offset: self.log_end_offset }.emit();
        let synced = self.sync_files().await;
        LogFlushSynced { dir, ok: synced.is_ok() }.emit();
        synced
    }

    async fn sync_files(&self) -> std::io::Result<()> {
        for file in &self.files {
            file.sync().await?;
        }
        if let Some((disk, dir)) = &self.dir {
            disk.sync_dir(dir).await?;
        }
        Ok(())
    }

    /// The log end offset this flush makes durable.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }
}

/// A partition's log.
///
/// Invariants:
/// - at least one segment; segments are contiguous: each starts at the previous one's
///   `next_offset`, and the last (active) one ends at `log_end_offset`;
/// - `first segment base <= log_start_offset <= recovery_point <= log_end_offset`;
/// - every offset below `recovery_point` is durable;
/// - once `offline` or `closed` is set, no operation touches the disk again;
/// - the producer state describes exactly the batches below the log end offset (its end
///   offset is the log end offset);
/// - at most `SNAPSHOTS_KEPT` producer snapshots, all in `(log_start_offset,
///   log_end_offset]`;
/// - the leader-epoch cache's entries strictly increase in epoch and start offset, the
///   first starts at or after `log_start_offset` and the last at or before
///   `log_end_offset`; the `leader-epoch-checkpoint` file holds the same entries whenever
///   no operation is under way.
#[derive(Debug)]
pub struct Log {
    pub(super) disk: Arc<dyn Disk>,
    pub(super) dir: PathBuf,
    pub(super) config: LogConfig,
    pub(super) segments: BTreeMap<i64, LogSegment>,
    pub(super) log_start_offset: i64,
    pub(super) recovery_point: i64,
    /// Messages appended since the last flush (`flush.messages`).
    pub(super) unflushed_messages: u64,
    pub(super) last_flush_ms: i64,
    pub(super) last_checkpoint_ms: i64,
    /// Segment files were created since the directory was last synced.
    pub(super) dir_dirty: bool,
    pub(super) offline: bool,
    /// Closed cleanly ([`Log::close`]); like `offline`, nothing touches the disk again.
    pub(super) closed: bool,
    /// The replica's high watermark as last recorded, written with each checkpoint: at
    /// most the log end offset, possibly stale (a lower HW only delays what consumers see).
    pub(super) high_watermark_checkpoint: Option<i64>,
    /// Bumped by every truncation: a flush begun before one must not move the recovery point.
    pub(super) generation: u64,
    /// Bumped before every truncation or segment deletion; readers planned before a bump
    /// may have read bytes that are no longer the log's (`log_reader.rs`).
    pub(super) layout_changes: Arc<std::sync::atomic::AtomicU64>,
    /// The idempotent producers' state (Kafka's `ProducerStateManager`).
    pub(super) producer_state: ProducerStateManager,
    /// Offsets of the producer snapshot files in the directory.
    pub(super) producer_snapshots: BTreeSet<i64>,
    pub(super) producer_state_load: ProducerStateLoad,
    /// The epochs that wrote to this log and where each began (`log_epochs.rs`).
    pub(super) leader_epoch_cache: LeaderEpochCache,
    #[cfg(test)]
    pub(super) epoch_cache_fault: EpochCacheFault,
}

impl Log {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// One past the last offset in the log (Kafka's LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    /// Every offset below it is durable.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    pub fn is_offline(&self) -> bool {
        self.offline
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(LogSegment::size_bytes).sum()
    }

    /// The segments in offset order (for tools and tests).
    pub fn segments(&self) -> impl Iterator<Item = &LogSegment> {
        self.segments.values()
    }

    pub(super) fn active(&self) -> &LogSegment {
        self.segments.values().next_back().expect("a log always has a segment")
    }

    fn active_mut(&mut self) -> &mut LogSegment {
        self.segments.values_mut().next_back().expect("a log always has a segment")
    }

    /// Appends a producer's record batches as the leader in `leader_epoch`, assigning
    /// offsets from the log end offset and stamping `partitionLeaderEpoch` by rewriting
    /// each batch's `baseOffset` and epoch in place (both outside the CRC). Validates every
    /// batch (magic, length, CRC, header consistency, `max.message.bytes`) and checks
    /// idempotent producers' epochs and sequences before writing any. A duplicate of one of
    /// its producer's last five batches writes nothing and returns the original offsets with
    /// `duplicate` set; see `Log::check_producers` for several batches in one append. An
    /// epoch that is negative or older than the log's latest is refused
    /// (`InvalidLeaderEpoch`); a new one is assigned in the leader-epoch cache at the first
    /// batch's offset, durably, before the batches are written.
    pub async fn append(&mut self, now_ms: i64, records: Bytes, leader_epoch: i32) -> LogResult<AppendInfo> {
        self.ensure_online()?;
        self.check_leader_epoch(leader_epoch)?;
        self.append_batches(now_ms, records, Origin::Leader { leader_epoch }).await
    }

    /// Appends batches replicated from a leader, keeping their offsets and leader epochs;
    /// the first must start at the log end offset and the rest follow on. Producer
    /// sequences are not checked (the leader did), but the producer state follows the
    /// batches, and each batch's epoch is assigned in the leader-epoch cache at its base
    /// offset (batches without one, -1, are skipped).
    pub async fn append_as_follower(&mut self, now_ms: i64, records: Bytes) -> LogResult<AppendInfo> {
        self.append_batches(now_ms, records, Origin::Replication).await
    }

    async fn append_batches(&mut self, now_ms: i64, records: Bytes, origin: Origin) -> LogResult<AppendInfo> {
        self.ensure_online()?;
        let mut buf = BytesMut::from(&records[..]);
        let headers = self.validate_and_assign(&mut buf, origin)?;
        if let Origin::Leader { .. } = origin {
            if let Some(duplicate) = self.check_producers(&headers)? {
                return Ok(duplicate);
            }
        }
        // Before the batches: any batch that survives a crash has its epoch entry on disk.
        self.assign_batch_epochs(&headers).await?;
        let buf = buf.freeze();
        let info = AppendInfo {
            first_offset: headers[0].base_offset,
            last_offset: headers[headers.len() - 1].last_offset(),
            max_timestamp: headers.iter().map(|h| h.max_timestamp).max().unwrap_or(-1),
            batch_count: headers.len(),
            size_bytes: buf.len(),
            duplicate: false,
        };
        self.maybe_roll(now_ms, info.size_bytes as u64, info.max_timestamp, info.last_offset).await?;
        let result = self.active_mut().append(&headers, buf).await;
        self.fail_on_error(result)?;
        for header in &headers {
            self.producer_state.update(header);
        }
        for header in &headers {
            debug!(
                name: "batch_appended",
                dir = %self.dir.display(),
                base_offset = header.base_offset,
                last_offset = header.last_offset(),
                size_bytes = header.size_bytes,
                crc = header.crc,
            );
        }
        self.unflushed_messages += headers.iter().map(|h| h.offset_count() as u64).sum::<u64>();
        if self.unflushed_messages >= self.config.flush_interval_messages {
            self.flush(now_ms).await?;
        }
        self.check_invariants();
        Ok(info)
    }

    /// Parses every batch in `buf`, checks it, and (for a leader) assigns its offsets.
    fn validate_and_assign(&self, buf: &mut BytesMut, origin: Origin) -> LogResult<Vec<BatchHeader>> {
        let mut headers = Vec::new();
        let mut position = 0;
        let mut next_offset = self.log_end_offset();
        while position < buf.len() {
            let header = record_batch::parse_batch(&buf[position..], buf.len() - position, CrcCheck::Verify)?;
            if header.size_bytes as u64 > self.config.max_message_bytes {
                return Err(LogError::BatchTooLarge {
                    size_bytes: header.size_bytes,
                    max_bytes: self.config.max_message_bytes,
                });
            }
            let header = match origin {
                Origin::Leader { leader_epoch } => {
                    record_batch::validate_producer_batch(&header)?;
                    validate_client_batch(&header)?;
                    let end = position + header.size_bytes;
                    record_batch::set_base_offset(&mut buf[position..end], next_offset);
                    record_batch::set_partition_leader_epoch(&mut buf[position..end], leader_epoch);
                    BatchHeader { base_offset: next_offset, partition_leader_epoch: leader_epoch, ..header }
                }
                Origin::Replication if header.base_offset != next_offset => {
                    return Err(LogError::UnexpectedAppendOffset {
                        first_offset: header.base_offset,
                        log_end_offset: next_offset,
                    });
                }
                Origin::Replication => header,
            };
            next_offset = header.last_offset() + 1;
            position += header.size_bytes;
            headers.push(header);
        }
        if headers.is_empty() {
            return Err(LogError::InvalidBatch(record_batch::BatchError::Truncated {
                needed: record_batch::HEADER_BYTES,
                available: 0,
            }));
        }
        Ok(headers)
    }

    /// Rolls to a new segment if the next append would pass `segment.bytes`, the active
    /// segment is older than `segment.ms`, or its 32-bit relative offsets would overflow.
    async fn maybe_roll(
        &mut self,
        now_ms: i64,
        size_bytes: u64,
        max_timestamp: i64,
        last_offset: i64,
    ) -> LogResult<()> {
        let active = self.active();
        if active.size_bytes() == 0 {
            return Ok(());
        }
        let full = active.size_bytes() + size_bytes > self.config.segment_bytes;
        let old = active.time_waited_for_roll_ms(now_ms, max_timestamp) > self.config.segment_ms;
        let overflow = !active.can_hold_offset(last_offset);
        if full || old || overflow {
            self.roll(now_ms).await?;
        }
        Ok(())
    }

    /// Starts a new active segment at the log end offset, after a producer snapshot there.
    pub async fn roll(&mut self, now_ms: i64) -> LogResult<()> {
        self.ensure_online()?;
        let base_offset = self.log_end_offset();
        if self.active().size_bytes() == 0 {
            return Ok(());
        }
        // The rolled segment's indexes are final: make them durable now, because recovery
        // trusts a segment's indexes as soon as the recovery point passes its end, which a
        // checkpoint may record before any later flush.
        let synced = self.active_mut().sync_indexes().await;
        self.fail_on_error(synced)?;
        self.take_producer_snapshot().await?;
        let created =
            LogSegment::create(self.disk.as_ref(), &self.dir, base_offset, self.config.index_interval_bytes, now_ms)
                .await;
        let segment = self.fail_on_error(created)?;
        self.segments.insert(base_offset, segment);
        self.dir_dirty = true;
        info!(name: "segment_rolled", dir = %self.dir.display(), base_offset);
        self.check_invariants();
        Ok(())
    }

    /// Reads whole batches from `offset`, up to `max_bytes` (at least one batch if
    /// `min_one_batch`), stopping before `upper_bound_offset` (the high watermark for
    /// consumers, the log end offset for followers). An offset at the log end reads
    /// nothing; one outside `[log_start_offset, log_end_offset]` is out of range. Every
    /// batch returned has passed its CRC.
    pub async fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
    ) -> LogResult<Bytes> {
        self.read_checked(offset, max_bytes, upper_bound_offset, min_one_batch, CrcCheck::Verify).await
    }

    /// [`read`](Log::read) for a consumer's fetch: lengths, offsets and the agreement of
    /// two reads on each first batch are checked, the CRCs are left to the consumer, which
    /// checks every batch it decodes (as Kafka leaves them). The CRC pass is what separates
    /// a verified read from the disk's speed (see `cargo bench --bench storage`).
    pub async fn read_for_fetch(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
    ) -> LogResult<Bytes> {
        self.read_checked(offset, max_bytes, upper_bound_offset, min_one_batch, CrcCheck::Skip).await
    }

    async fn read_checked(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
        crc: CrcCheck,
    ) -> LogResult<Bytes> {
        self.reader(offset, upper_bound_offset)?.read(max_bytes, min_one_batch, crc).await
    }

    /// The first batch whose max timestamp is at or above `target_ms` (Kafka's
    /// ListOffsets by timestamp), at or above the log start offset.
    pub async fn find_offset_by_timestamp(&self, target_ms: i64) -> LogResult<Option<TimestampMatch>> {
        self.ensure_online()?;
        for segment in self.segments.values() {
            if segment.next_offset() <= self.log_start_offset {
                continue;
            }
            if let Some(found) = segment.find_by_timestamp(target_ms).await? {
                return Ok(Some(self.timestamp_match(found)));
            }
        }
        Ok(None)
    }

    /// The batch holding the largest timestamp in the log (ListOffsets MAX_TIMESTAMP).
    pub async fn find_max_timestamp(&self) -> LogResult<Option<TimestampMatch>> {
        self.ensure_online()?;
        let best = self
            .segments
            .values()
            .filter(|s| s.size_bytes() > 0 && s.next_offset() > self.log_start_offset)
            .max_by_key(|s| (s.max_timestamp(), std::cmp::Reverse(s.base_offset())));
        match best {
            None => Ok(None),
            Some(segment) => {
                let found = segment.find_by_timestamp(segment.max_timestamp()).await?;
                Ok(found.map(|f| self.timestamp_match(f)))
            }
        }
    }

    fn timestamp_match(&self, found: LocatedBatch) -> TimestampMatch {
        TimestampMatch {
            batch_base_offset: found.header.base_offset.max(self.log_start_offset),
            batch_last_offset: found.header.last_offset(),
            batch_max_timestamp: found.header.max_timestamp,
        }
    }

    /// Flushes by policy and writes the checkpoint by its interval; the shell calls this
    /// periodically (Kafka's `log.flush.scheduler.interval.ms`).
    pub async fn maybe_flush(&mut self, now_ms: i64) -> LogResult<()> {
        self.ensure_online()?;
        let has_unflushed = self.recovery_point < self.log_end_offset();
        if has_unflushed && now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_interval_ms {
            self.flush(now_ms).await?;
        }
        if now_ms.saturating_sub(self.last_checkpoint_ms) >= self.config.flush_offset_checkpoint_interval_ms {
            self.write_checkpoint(now_ms).await?;
        }
        Ok(())
    }

    /// Starts a flush whose fsyncs run without the log borrowed, so appends go on meanwhile
    /// (group commit): writes pending index entries, and returns the files to sync and the
    /// offset the flush covers. `None` when everything is already durable.
    pub async fn begin_flush(&mut self) -> LogResult<Option<PendingFlush>> {
        self.ensure_online()?;
        let log_end_offset = self.log_end_offset();
        if self.recovery_point >= log_end_offset && !self.dir_dirty {
            return Ok(None);
        }
        // Only the records: rolled segments' indexes were synced at the roll, and the active
        // segment's are rebuilt by recovery. One fsync per flush instead of three.
        let recovery_point = self.recovery_point;
        let mut files = Vec::new();
        for segment in self.segments.values_mut().filter(|s| s.next_offset() > recovery_point) {
            match segment.file_to_sync().await {
                Ok(file) => files.push(file),
                Err(e) => return Err(self.go_offline(e)),
            }
        }
        let dir = std::mem::take(&mut self.dir_dirty).then(|| (self.disk.clone(), self.dir.clone()));
        Ok(Some(PendingFlush { log_dir: self.dir.clone(), files, dir, log_end_offset, generation: self.generation }))
    }

    /// Finishes a flush begun by [`begin_flush`](Log::begin_flush) with the outcome of
    /// [`PendingFlush::sync`]. A failed sync takes the log offline; a truncation in between
    /// voids the flush (what it synced may no longer be the log).
    pub fn complete_flush(&mut self, now_ms: i64, pending: PendingFlush, synced: std::io::Result<()>) -> LogResult<()> {
        self.ensure_online()?;
        if let Err(e) = synced {
            return Err(self.go_offline(LogError::Io(e)));
        }
        if pending.generation != self.generation {
            return Ok(());
        }
        if pending.log_end_offset > self.recovery_point {
            self.recovery_point = pending.log_end_offset;
            self.unflushed_messages = 0;
            LogFlushed { dir: self.dir.display().to_string(), recovery_point: self.recovery_point }.emit();
        }
        self.last_flush_ms = now_ms;
        self.check_invariants();
        Ok(())
    }

    /// Makes every appended batch durable and moves the recovery point to the log end.
    pub async fn flush(&mut self, now_ms: i64) -> LogResult<()> {
        if let Some(pending) = self.begin_flush().await? {
            let synced = pending.sync().await;
            self.complete_flush(now_ms, pending, synced)?;
        }
        Ok(())
    }

    pub(super) async fn sync_dir_if_dirty(&mut self) -> LogResult<()> {
        if self.dir_dirty {
            let synced = self.disk.sync_dir(&self.dir).await;
            self.fail_on_error(synced.map_err(LogError::from))?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Writes the recovery point and log start offset durably.
    pub async fn write_checkpoint(&mut self, now_ms: i64) -> LogResult<()> {
        self.ensure_online()?;
        let checkpoint = Checkpoint {
            recovery_point: self.recovery_point,
            log_start_offset: self.log_start_offset,
            high_watermark: self.high_watermark_checkpoint,
        };
        let written = checkpoint::write(self.disk.as_ref(), &self.dir, checkpoint).await;
        self.fail_on_error(written.map_err(LogError::from))?;
        self.last_checkpoint_ms = now_ms;
        Ok(())
    }

    /// Removes every batch at or above the one holding `offset` (a follower truncating to
    /// its leader's log), and the leader epochs that began at or after the new log end (even
    /// when no batch goes). Returns the new log end offset, which is below `offset` if a batch
    /// straddled it. Durable before it returns.
    pub async fn truncate_to(&mut self, now_ms: i64, offset: i64) -> LogResult<i64> {
        self.ensure_online()?;
        self.generation += 1;
        self.note_layout_change();
        if offset >= self.log_end_offset() {
            // No batch goes, but an epoch that began at the log end may (as in Kafka): this
            // replica assigned it on becoming leader and appended nothing before another
            // leader was elected, whose batches from here may carry an older epoch.
            let log_end_offset = self.log_end_offset();
            self.truncate_epochs_from_end(log_end_offset).await?;
            self.check_invariants();
            return Ok(log_end_offset);
        }
        if offset <= self.segments.keys().next().copied().unwrap_or(0).max(self.log_start_offset) {
            self.truncate_fully_and_start_at(now_ms, offset.max(self.log_start_offset)).await?;
            return Ok(self.log_end_offset());
        }
        let doomed: Vec<i64> = self.segments.range(offset + 1..).map(|(base, _)| *base).collect();
        let result = self.truncate_segments(offset, &doomed).await;
        self.fail_on_error(result)?;
        let log_end_offset = self.log_end_offset();
        self.truncate_epochs_from_end(log_end_offset).await?;
        self.recovery_point = self.recovery_point.min(log_end_offset);
        self.clamp_recorded_high_watermark();
        self.unflushed_messages = 0;
        self.reload_producer_state().await?;
        self.write_checkpoint(now_ms).await?;
        LogTruncated { dir: self.dir.display().to_string(), log_end_offset, fully: false }.emit();
        self.check_invariants();
        Ok(log_end_offset)
    }

    /// Deletes the segments starting at `doomed` and cuts the one holding `offset`, then
    /// makes both durable (the cut file is fsynced, the directory synced) so that no
    /// truncated batch can come back after a crash.
    async fn truncate_segments(&mut self, offset: i64, doomed: &[i64]) -> LogResult<()> {
        for base in doomed {
            let segment = self.segments.remove(base).expect("listed segment");
            segment.delete(self.disk.as_ref()).await?;
            self.dir_dirty = true;
        }
        let active = self.active_mut();
        active.truncate_to(offset).await?;
        // Indexes too: entries of truncated batches must not come back pointing into the
        // batches appended at the same offsets afterwards.
        active.flush(true).await?;
        self.sync_dir_if_dirty().await
    }

    /// Deletes everything and restarts the log, empty, at `offset` (a follower whose
    /// leader's log starts beyond its own end); the leader-epoch cache empties too. Durable
    /// before it returns.
    pub async fn truncate_fully_and_start_at(&mut self, now_ms: i64, offset: i64) -> LogResult<()> {
        self.ensure_online()?;
        self.generation += 1;
        self.note_layout_change();
        let result = self.replace_all_segments(now_ms, offset).await;
        self.fail_on_error(result)?;
        self.log_start_offset = offset;
        self.recovery_point = offset;
        self.clamp_recorded_high_watermark();
        self.unflushed_messages = 0;
        self.clear_epochs().await?;
        // Every snapshot now lies at or below the log start: all go, the state empties.
        self.reload_producer_state().await?;
        self.write_checkpoint(now_ms).await?;
        LogTruncated { dir: self.dir.display().to_string(), log_end_offset: offset, fully: true }.emit();
        self.check_invariants();
        Ok(())
    }

    async fn replace_all_segments(&mut self, now_ms: i64, offset: i64) -> LogResult<()> {
        let old = std::mem::take(&mut self.segments);
        for segment in old.into_values() {
            segment.delete(self.disk.as_ref()).await?;
        }
        let segment =
            LogSegment::create(self.disk.as_ref(), &self.dir, offset, self.config.index_interval_bytes, now_ms).await?;
        self.segments.insert(offset, segment);
        self.dir_dirty = true;
        self.sync_dir_if_dirty().await
    }

    /// Flushes, snapshots the producer state, writes the checkpoint, and closes the log (a
    /// clean shutdown): every later operation fails with [`LogError::Closed`].
    pub async fn close(&mut self, now_ms: i64) -> LogResult<()> {
        self.flush(now_ms).await?;
        self.take_producer_snapshot().await?;
        self.write_checkpoint(now_ms).await?;
        self.closed = true;
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The high watermark the checkpoint held at open (clamped to the recovered log), if any.
    pub fn checkpointed_high_watermark(&self) -> Option<i64> {
        self.high_watermark_checkpoint
    }

    /// Keeps the recorded high watermark within the log after its bounds moved (truncation,
    /// a new log start, recovery): the HW a replica recorded is never beyond its log.
    pub(super) fn clamp_recorded_high_watermark(&mut self) {
        if let Some(high_watermark) = self.high_watermark_checkpoint {
            self.record_high_watermark(high_watermark);
        }
    }

    /// Records the replica's high watermark, to be written with the next checkpoint.
    pub fn record_high_watermark(&mut self, high_watermark: i64) {
        self.high_watermark_checkpoint = Some(high_watermark.clamp(self.log_start_offset, self.log_end_offset()));
    }

    pub(super) fn ensure_online(&self) -> LogResult<()> {
        if self.closed {
            Err(LogError::Closed)
        } else if self.offline {
            Err(LogError::Offline)
        } else {
            Ok(())
        }
    }

    /// Passes `result` through; an error takes the log offline first.
    pub(super) fn fail_on_error<T>(&mut self, result: LogResult<T>) -> LogResult<T> {
        result.map_err(|e| self.go_offline(e))
    }

    fn go_offline(&mut self, error: LogError) -> LogError {
        if !self.offline {
            self.offline = true;
            warn!(name: "log_offline", dir = %self.dir.display(), error = %error);
        }
        error
    }

    pub(super) fn check_invariants(&self) {
        assert!(!self.segments.is_empty(), "a log always has a segment");
        let mut expected = None::<i64>;
        for (base, segment) in &self.segments {
            assert_eq!(*base, segment.base_offset(), "segment keyed by its base offset");
            if let Some(next) = expected {
                assert_eq!(*base, next, "segments are contiguous");
            }
            expected = Some(segment.next_offset());
        }
        let first_base = *self.segments.keys().next().expect("non-empty");
        assert!(
            first_base <= self.log_start_offset,
            "log start {} below first segment {first_base}",
            self.log_start_offset
        );
        assert!(self.log_start_offset <= self.recovery_point, "log start above recovery point");
        assert!(self.recovery_point <= self.log_end_offset(), "recovery point above log end");
        assert!(
            self.high_watermark_checkpoint.is_none_or(|hw| self.log_start_offset <= hw && hw <= self.log_end_offset()),
            "recorded high watermark outside the log"
        );
        assert_eq!(self.producer_state.end_offset(), self.log_end_offset(), "producer state follows the log");
        assert!(self.producer_snapshots.len() <= super::log_producers::SNAPSHOTS_KEPT, "too many snapshots");
        assert!(
            self.producer_snapshots.iter().all(|&o| self.log_start_offset < o && o <= self.log_end_offset()),
            "producer snapshot outside (log start, log end]"
        );
        self.check_epoch_invariants();
    }
}

/// What Kafka's `LogValidator` refuses from a client beyond the batch's own consistency:
/// control batches (only the broker writes transaction markers) and a producer id without
/// a sequence.
fn validate_client_batch(header: &BatchHeader) -> Result<(), BatchError> {
    if header.is_control() {
        return Err(BatchError::InvalidHeader("clients may not write control batches"));
    }
    if header.producer_id >= 0 && header.base_sequence < 0 {
        return Err(BatchError::InvalidHeader("a batch with a producer id needs a sequence"));
    }
    Ok(())
}
