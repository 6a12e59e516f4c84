//! Opening a log: find its segments, trust what was durable, and recover the rest.
//!
//! What a crash can leave behind (see `MemDisk`'s fault model): unsynced bytes lost, a
//! torn tail, a tail whose length survived but whose data reads as zeros, segment files
//! whose directory entries were lost, files removed before the crash that came back.
//! Recovery, like Kafka's `LogLoader`:
//!
//! 1. removes temporary files and index files without a log file;
//! 2. reads the checkpoint (recovery point, log start offset); without one, everything is
//!    rescanned from offset 0;
//! 3. trusts each segment that ends at or below the recovery point once its indexes pass
//!    the sanity checks (otherwise rescans it), and rescans every later segment: each batch
//!    is validated (length, magic, CRC, offsets continuing the previous batch) and the
//!    indexes are rebuilt; at the first batch that stays invalid after re-reads, the
//!    segment is truncated and every later segment deleted;
//! 4. deletes segments that do not continue the offsets (a gap means lost data after
//!    which nothing can be trusted) and segments wholly below the log start offset;
//! 5. fsyncs what it recovered and writes a new checkpoint, so the recovery point is the
//!    log end offset when `open` returns;
//! 6. rebuilds the idempotent producers' state (`log_producers.rs`): deletes the producer
//!    snapshots above the log end or at or below the log start, loads the newest valid
//!    one, replays the batches after it, and snapshots the result at the log end;
//! 7. loads the leader-epoch cache (`log_epochs.rs`) from `leader-epoch-checkpoint`, or
//!    rebuilds it from the batches if the file is missing or unreadable, and truncates it
//!    to the recovered log end offset and the log start offset.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::warn;

use super::checkpoint;
use super::config::LogConfig;
use super::error::LogResult;
use super::log::Log;
use super::producer_snapshot;
use super::producer_state::ProducerStateManager;
use super::record_batch::CrcCheck;
use super::segment::{self, LogSegment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::events::{Event, LogRecovered};
use crate::runtime::Disk;

/// What recovery did, for the `log_recovered` event and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub segments_loaded: usize,
    pub segments_recovered: usize,
    pub segments_deleted: usize,
    pub truncated_bytes: u64,
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, recovering it from whatever state a
    /// crash left.
    pub async fn open(disk: Arc<dyn Disk>, dir: PathBuf, config: LogConfig, now_ms: i64) -> LogResult<Log> {
        Self::open_with(disk, dir, config, now_ms, CrcCheck::Verify).await
    }

    pub(super) async fn open_with(
        disk: Arc<dyn Disk>,
        dir: PathBuf,
        config: LogConfig,
        now_ms: i64,
        recovery_crc: CrcCheck,
    ) -> LogResult<Log> {
        disk.create_dir_all(&dir).await?;
        let bases = clean_dir_and_list_segments(disk.as_ref(), &dir).await?;
        let checkpoint = checkpoint::read(disk.as_ref(), &dir).await?;
        let recovery_point = checkpoint.map_or(0, |c| c.recovery_point);
        let mut log_start_offset = checkpoint.map_or(0, |c| c.log_start_offset);
        let (mut segments, mut report) =
            load_segments(disk.as_ref(), &dir, &config, &bases, recovery_point, now_ms, recovery_crc).await?;

        // Segments wholly below the log start offset were deleted by retention before the
        // crash, but their removal may not have been durable.
        let below_start: Vec<i64> = segments
            .iter()
            .filter(|(_, s)| s.next_offset() <= log_start_offset && s.size_bytes() > 0)
            .map(|(base, _)| *base)
            .collect();
        let dropping_all = below_start.len() == segments.len();
        for base in below_start.iter().filter(|_| !dropping_all) {
            segments.remove(base).expect("listed").delete(disk.as_ref()).await?;
            report.segments_deleted += 1;
        }
        let log_end_offset = segments.values().next_back().map(LogSegment::next_offset);
        let restart_at = match log_end_offset {
            // The checkpointed log start lies beyond everything that survived (a full
            // truncation whose new segment was not yet durable, or all data lost): the
            // recorded start is the truth, and the log restarts empty there.
            Some(end) if end >= log_start_offset && !dropping_all => None,
            _ => Some(log_start_offset.max(log_end_offset.unwrap_or(0))),
        };
        if let Some(offset) = restart_at {
            for (_, segment) in std::mem::take(&mut segments) {
                segment.delete(disk.as_ref()).await?;
                report.segments_deleted += 1;
            }
            let segment = LogSegment::create(disk.as_ref(), &dir, offset, config.index_interval_bytes, now_ms).await?;
            segments.insert(offset, segment);
            log_start_offset = offset;
        }
        let first_base = *segments.keys().next().expect("at least one segment");
        log_start_offset = log_start_offset.max(first_base);
        let producer_snapshots: BTreeSet<i64> =
            producer_snapshot::list(disk.as_ref(), &dir).await?.into_iter().collect();

        let mut log = Log {
            disk,
            dir,
            config,
            segments,
            log_start_offset,
            recovery_point: log_start_offset,
            unflushed_messages: 0,
            last_flush_ms: now_ms,
            last_checkpoint_ms: now_ms,
            dir_dirty: true,
            offline: false,
            closed: false,
            // Clamped to the recovered log below.
            high_watermark_checkpoint: checkpoint.and_then(|c| c.high_watermark),
            generation: 0,
            layout_changes: Arc::default(),
            // Rebuilt below, once the segments are durable.
            producer_state: ProducerStateManager::new(first_base),
            producer_snapshots,
            producer_state_load: Default::default(),
            // Loaded below, once the log end and start are final.
            leader_epoch_cache: Default::default(),
            #[cfg(test)]
            epoch_cache_fault: Default::default(),
        };
        // What survived is on disk now, but make the rebuilt indexes and any truncation
        // durable before claiming it all as recovered.
        for segment in log.segments.values_mut() {
            segment.flush(true).await?;
        }
        log.sync_dir_if_dirty().await?;
        log.recovery_point = log.log_end_offset();
        log.write_checkpoint(now_ms).await?;
        log.reload_producer_state().await?;
        log.take_producer_snapshot().await?;
        log.load_leader_epoch_cache().await?;
        if log.log_end_offset() < recovery_point {
            warn!(
                name: "log_lost_durable_data",
                dir = %log.dir.display(),
                log_end_offset = log.log_end_offset(),
                checkpointed_recovery_point = recovery_point,
            );
        }
        LogRecovered {
            dir: log.dir.display().to_string(),
            log_start_offset: log.log_start_offset,
            log_end_offset: log.log_end_offset(),
            checkpointed_recovery_point: recovery_point,
            segments_loaded: report.segments_loaded as u64,
            segments_recovered: report.segments_recovered as u64,
            segments_deleted: report.segments_deleted as u64,
            truncated_bytes: report.truncated_bytes,
        }
        .emit();
        // Kafka clamps the checkpointed HW to the recovered log the same way.
        log.clamp_recorded_high_watermark();
        log.check_invariants();
        Ok(log)
    }
}

/// Removes leftovers (temporary files, indexes without a log file) and returns the base
/// offsets of the segment log files, ascending.
async fn clean_dir_and_list_segments(disk: &dyn Disk, dir: &Path) -> LogResult<Vec<i64>> {
    let names = disk.list_dir(dir).await?;
    let mut bases = Vec::new();
    for name in &names {
        if let Some(base) = segment::parse_file_name(name, LOG_SUFFIX) {
            bases.push(base);
        }
    }
    for name in &names {
        let orphan_index = [INDEX_SUFFIX, TIME_INDEX_SUFFIX]
            .iter()
            .filter_map(|suffix| segment::parse_file_name(name, suffix))
            .any(|base| !bases.contains(&base));
        if orphan_index || name.ends_with(".tmp") {
            disk.remove(&dir.join(name)).await?;
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Opens every segment, trusting those below the recovery point and rescanning the rest,
/// and keeps the longest run that continues the offsets.
async fn load_segments(
    disk: &dyn Disk,
    dir: &Path,
    config: &LogConfig,
    bases: &[i64],
    recovery_point: i64,
    now_ms: i64,
    crc: CrcCheck,
) -> LogResult<(BTreeMap<i64, LogSegment>, RecoveryReport)> {
    let mut report = RecoveryReport::default();
    let mut segments = BTreeMap::new();
    let mut expected_base = None::<i64>;
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let broken_chain = expected_base.is_some_and(|next| next != base);
        if broken_chain {
            warn!(name: "log_segments_discontinuous", dir = %dir.display(), expected = expected_base, found = base);
            for &doomed in &bases[i..] {
                delete_files(disk, dir, doomed).await?;
                report.segments_deleted += 1;
            }
            break;
        }
        let mut segment = LogSegment::open(disk, dir, base, config.index_interval_bytes, now_ms).await?;
        // A segment that ends at or below the recovery point was fsynced whole.
        let trusted = next_base.is_some_and(|next| next <= recovery_point) && segment.load_trusted().await?;
        if trusted {
            report.segments_loaded += 1;
        } else {
            let recovered = segment.recover(crc).await?;
            report.segments_recovered += 1;
            report.truncated_bytes += recovered.truncated_bytes;
            if recovered.truncated_bytes > 0 {
                warn!(
                    name: "log_segment_truncated",
                    dir = %dir.display(),
                    base_offset = base,
                    valid_bytes = recovered.valid_bytes,
                    truncated_bytes = recovered.truncated_bytes,
                );
                segments.insert(base, segment);
                for &doomed in &bases[i + 1..] {
                    delete_files(disk, dir, doomed).await?;
                    report.segments_deleted += 1;
                }
                break;
            }
        }
        expected_base = Some(segment.next_offset());
        segments.insert(base, segment);
    }
    Ok((segments, report))
}

async fn delete_files(disk: &dyn Disk, dir: &Path, base: i64) -> LogResult<()> {
    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
        let path = dir.join(segment::file_name(base, suffix));
        if disk.exists(&path).await? {
            disk.remove(&path).await?;
        }
    }
    Ok(())
}
