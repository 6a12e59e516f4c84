//! Reading a log without holding it: [`Log::reader`] plans a read under the log's borrow
//! (which segments, from where, up to which bound) and the [`LogReader`] it returns does
//! the disk reads with no borrow at all, so a partition's consumers and followers do not
//! queue behind its appends and flushes while their bytes come off the disk.
//!
//! Why that is safe: appends only add bytes beyond what a plan covers. Truncation and
//! segment deletion are the only changes that remove or rewrite bytes a reader may be
//! reading, and the log counts them (`layout_changes`, bumped before either touches a
//! file). A reader compares the count after its read ([`LogReader::is_current`]): if it
//! moved, the bytes may not be the log's any more and the caller plans again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::error::{LogError, LogResult};
use super::log::Log;
use super::record_batch::CrcCheck;
use super::segment_slice::SegmentSlice;

/// Segments a plan covers at most: a read stops at the first segment that holds data at
/// or after its offset, and only the (empty) active segment can hold none.
const MAX_SLICES: usize = 4;

/// A read planned under the log's borrow, done without it.
#[derive(Debug)]
pub struct LogReader {
    offset: i64,
    upper_bound_offset: i64,
    slices: Vec<SegmentSlice>,
    layout_changes: Arc<AtomicU64>,
    layout_version: u64,
}

impl Log {
    /// Plans a read from `offset` stopping before `upper_bound_offset` (the high watermark
    /// for consumers, the log end offset for followers). An offset outside `[log_start_offset,
    /// log_end_offset]` is out of range.
    pub fn reader(&self, offset: i64, upper_bound_offset: i64) -> LogResult<LogReader> {
        self.ensure_online()?;
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange { offset, log_start_offset: self.log_start_offset, log_end_offset });
        }
        let holding = self.segments.range(..=offset).next_back().map(|(_, s)| s);
        let later = self.segments.range(offset + 1..).map(|(_, s)| s);
        let slices = holding
            .into_iter()
            .chain(later)
            .take_while(|s| s.base_offset() <= offset || s.base_offset() < upper_bound_offset)
            .take(MAX_SLICES)
            .map(|s| s.slice(offset))
            .collect();
        let layout_changes = self.layout_changes.clone();
        let layout_version = layout_changes.load(Ordering::Acquire);
        Ok(LogReader { offset, upper_bound_offset, slices, layout_changes, layout_version })
    }

    /// Called before a truncation or segment deletion touches any file: readers planned
    /// before it will see that their bytes may be stale.
    pub(super) fn note_layout_change(&mut self) {
        self.layout_changes.fetch_add(1, Ordering::AcqRel);
    }
}

impl LogReader {
    /// Reads whole batches from the planned offset, up to `max_bytes` (at least one batch
    /// if `min_one_batch`), stopping before the planned bound. With [`CrcCheck::Verify`]
    /// every batch returned has passed its CRC.
    pub async fn read(&self, max_bytes: usize, min_one_batch: bool, crc: CrcCheck) -> LogResult<Bytes> {
        for slice in &self.slices {
            let read = slice.read(self.offset, max_bytes, self.upper_bound_offset, min_one_batch, crc).await?;
            if let Some(bytes) = read {
                return Ok(bytes);
            }
            if slice.base_offset >= self.upper_bound_offset {
                break;
            }
        }
        Ok(Bytes::new())
    }

    /// Whether the log was neither truncated nor lost segments since the plan: what the
    /// read returned is still the log's.
    pub fn is_current(&self) -> bool {
        self.layout_changes.load(Ordering::Acquire) == self.layout_version
    }
}
