//! Retention (`cleanup.policy=delete`): whole segments are deleted from the start of the log
//! when they are older than `retention.ms` or the log is larger than `retention.bytes`,
//! and the log start offset moves to the first remaining segment.
//!
//! As in Kafka, only segments wholly below `upper_bound_offset` (the high watermark) may
//! go, age is judged by a segment's largest record timestamp, and if every segment is
//! due, the active one is first rolled so the log keeps an (empty) active segment. The new
//! log start offset is checkpointed before any file is removed: a crash in between leaves
//! files that recovery deletes, never a log start that points at deleted data. Producer
//! snapshots at or below the new log start go too; the producer state in memory stays
//! (as in Kafka). The leader-epoch cache is truncated from the start at the new log start
//! (the epoch covering it is kept, starting there).

use super::error::LogResult;
use super::log::Log;
use crate::events::{Event, LogStartOffsetAdvanced};

impl Log {
    /// Applies `retention.ms` and `retention.bytes`; returns how many segments it deleted.
    pub async fn delete_old_segments(&mut self, now_ms: i64, upper_bound_offset: i64) -> LogResult<usize> {
        self.ensure_online()?;
        let count = self.deletable_segment_count(now_ms, upper_bound_offset);
        if count == 0 {
            return Ok(0);
        }
        if count == self.segments.len() {
            self.roll(now_ms).await?;
        }
        let doomed: Vec<i64> = self.segments.keys().take(count).copied().collect();
        let new_log_start_offset = self.segments.range(doomed[count - 1] + 1..).next().map(|(base, _)| *base);
        let new_log_start_offset = new_log_start_offset.expect("the active segment is never deleted");
        self.log_start_offset = self.log_start_offset.max(new_log_start_offset);
        self.clamp_recorded_high_watermark();
        self.recovery_point = self.recovery_point.max(self.log_start_offset);
        self.write_checkpoint(now_ms).await?;
        self.truncate_epochs_from_start().await?;
        self.note_layout_change();
        for base in &doomed {
            let segment = self.segments.remove(base).expect("listed segment");
            let deleted = segment.delete(self.disk.as_ref()).await;
            self.fail_on_error(deleted)?;
        }
        self.dir_dirty = true;
        self.remove_producer_snapshots_below_log_start().await?;
        self.sync_dir_if_dirty().await?;
        LogStartOffsetAdvanced {
            dir: self.dir.display().to_string(),
            log_start_offset: self.log_start_offset,
            deleted_segments: count as u64,
        }
        .emit();
        self.check_invariants();
        Ok(count)
    }

    /// How many segments, from the oldest, retention may delete now.
    fn deletable_segment_count(&self, now_ms: i64, upper_bound_offset: i64) -> usize {
        let mut remaining_bytes = self.size_bytes() as i64;
        let mut count = 0;
        for segment in self.segments.values() {
            let below_bound = segment.next_offset() <= upper_bound_offset && segment.size_bytes() > 0;
            let expired = self.config.retention_ms >= 0
                && now_ms.saturating_sub(segment.max_timestamp()) > self.config.retention_ms;
            let over_size = self.config.retention_bytes >= 0
                && remaining_bytes - segment.size_bytes() as i64 >= self.config.retention_bytes;
            if !(below_bound && (expired || over_size)) {
                break;
            }
            remaining_bytes -= segment.size_bytes() as i64;
            count += 1;
        }
        count
    }
}
