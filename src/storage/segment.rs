//! One log segment: a `.log` file of record batches starting at `base_offset`, with its
//! sparse `.index` and `.timeindex`, all named by the base offset in 20 digits, as in Kafka.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::error::{LogError, LogResult};
use super::index_file::IndexFile;
use super::offset_index::{self, OffsetPosition};
use super::record_batch::{self, BatchHeader, CrcCheck};
use super::segment_slice::{corrupt, SegmentSlice, READ_ATTEMPTS};
use super::time_index::{self, TimestampOffset};
use crate::runtime::{Disk, DiskFile, OpenMode};

/// Bytes read at a time when scanning a segment.
const SCAN_CHUNK_BYTES: usize = 1 << 20;

pub const LOG_SUFFIX: &str = ".log";
pub const INDEX_SUFFIX: &str = ".index";
pub const TIME_INDEX_SUFFIX: &str = ".timeindex";

/// The file name of a segment file: the base offset in 20 digits plus the suffix.
pub fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}{suffix}")
}

/// The base offset a segment file name encodes, if it is one.
pub fn parse_file_name(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// A batch found in a segment: its header and where it starts.
#[derive(Clone, Copy, Debug)]
pub struct LocatedBatch {
    pub position: u64,
    pub header: BatchHeader,
}

/// What recovering a segment found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentRecovery {
    pub valid_bytes: u64,
    pub truncated_bytes: u64,
}

/// A segment of a partition log.
///
/// Invariants:
/// - `base_offset <= next_offset`; `next_offset == base_offset` iff `size_bytes == 0`;
/// - every batch in the file lies in `[base_offset, next_offset)`, in offset order;
/// - index entries are strictly increasing and point inside the file;
/// - `max_timestamp` is the largest batch max timestamp in the file (-1 when empty).
#[derive(Debug)]
pub struct LogSegment {
    base_offset: i64,
    dir: PathBuf,
    log: Arc<dyn DiskFile>,
    size_bytes: u64,
    next_offset: i64,
    offset_index: IndexFile<OffsetPosition>,
    time_index: IndexFile<TimestampOffset>,
    index_interval_bytes: u64,
    bytes_since_last_index_entry: u64,
    max_timestamp: i64,
    first_batch_timestamp: Option<i64>,
    created_ms: i64,
}

impl LogSegment {
    /// Creates a new empty segment at `base_offset`, replacing any leftover files.
    pub async fn create(
        disk: &dyn Disk,
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u64,
        now_ms: i64,
    ) -> LogResult<Self> {
        let log = disk.open(&dir.join(file_name(base_offset, LOG_SUFFIX)), OpenMode::Create).await?;
        // Truncate only leftovers: truncating a new, empty file makes ext4 write the whole
        // segment back slower later (measured: appends at half speed).
        if log.len().await? > 0 {
            log.set_len(0).await?;
        }
        let mut segment = Self::with_files(disk, dir, base_offset, log, index_interval_bytes, now_ms).await?;
        segment.offset_index.replace(Vec::new()).await?;
        segment.time_index.replace(Vec::new()).await?;
        segment.check_invariants();
        Ok(segment)
    }

    /// Opens an existing segment's files. The caller then either trusts it
    /// ([`load_trusted`](LogSegment::load_trusted)) or rescans it
    /// ([`recover`](LogSegment::recover)).
    pub async fn open(
        disk: &dyn Disk,
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u64,
        now_ms: i64,
    ) -> LogResult<Self> {
        let path = dir.join(file_name(base_offset, LOG_SUFFIX));
        let log = disk.open(&path, OpenMode::Existing).await?;
        Self::with_files(disk, dir, base_offset, log, index_interval_bytes, now_ms).await
    }

    async fn with_files(
        disk: &dyn Disk,
        dir: &Path,
        base_offset: i64,
        log: Arc<dyn DiskFile>,
        index_interval_bytes: u64,
        now_ms: i64,
    ) -> LogResult<Self> {
        let size_bytes = log.len().await?;
        let offset_index = IndexFile::open(disk, &dir.join(file_name(base_offset, INDEX_SUFFIX))).await?;
        let time_index = IndexFile::open(disk, &dir.join(file_name(base_offset, TIME_INDEX_SUFFIX))).await?;
        Ok(LogSegment {
            base_offset,
            dir: dir.to_path_buf(),
            log,
            size_bytes,
            next_offset: base_offset,
            offset_index,
            time_index,
            index_interval_bytes,
            bytes_since_last_index_entry: 0,
            max_timestamp: -1,
            first_batch_timestamp: None,
            created_ms: now_ms,
        })
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// One past the last offset in this segment.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    pub fn offset_index_entries(&self) -> &[OffsetPosition] {
        self.offset_index.entries()
    }

    pub fn time_index_entries(&self) -> &[TimestampOffset] {
        self.time_index.entries()
    }

    /// How long this segment has been open for `segment.ms`, measured as Kafka does: from
    /// its first batch's timestamp to the incoming batch's, or from creation when empty.
    pub fn time_waited_for_roll_ms(&self, now_ms: i64, incoming_max_timestamp: i64) -> i64 {
        match self.first_batch_timestamp {
            Some(first) if first >= 0 => incoming_max_timestamp.saturating_sub(first),
            _ => now_ms.saturating_sub(self.created_ms),
        }
    }

    /// Appends batches whose offsets are already assigned (`headers` describe `batches`, in
    /// order, the first starting at `next_offset`).
    pub async fn append(&mut self, headers: &[BatchHeader], batches: Bytes) -> LogResult<()> {
        debug_assert_eq!(headers.iter().map(|h| h.size_bytes).sum::<usize>(), batches.len());
        debug_assert!(headers.first().is_none_or(|h| h.base_offset >= self.next_offset));
        let start = self.log.append(batches).await?;
        debug_assert_eq!(start, self.size_bytes, "segment file length drifted");
        let mut position = start;
        for header in headers {
            self.index_batch(position, header);
            position += header.size_bytes as u64;
        }
        self.size_bytes = position;
        self.check_invariants();
        Ok(())
    }

    /// Records a batch written at `position` in the in-memory state and indexes.
    fn index_batch(&mut self, position: u64, header: &BatchHeader) {
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(header.max_timestamp);
        }
        self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
        self.next_offset = header.last_offset() + 1;
        self.bytes_since_last_index_entry += header.size_bytes as u64;
        if self.bytes_since_last_index_entry > self.index_interval_bytes {
            let relative_offset = self.relative(header.last_offset());
            let position = u32::try_from(position).expect("segment positions fit in 32 bits");
            self.offset_index.push(OffsetPosition { relative_offset, position });
            if self.time_index.last().is_none_or(|e| self.max_timestamp > e.timestamp_ms) {
                let timestamp_ms = self.max_timestamp;
                self.time_index.push(TimestampOffset { timestamp_ms, relative_offset });
            }
            self.bytes_since_last_index_entry = 0;
        }
    }

    fn relative(&self, offset: i64) -> u32 {
        u32::try_from(offset - self.base_offset).expect("offsets within a segment fit in 32 bits")
    }

    /// Whether `offset` still fits this segment's 32-bit relative offsets.
    pub fn can_hold_offset(&self, offset: i64) -> bool {
        offset - self.base_offset <= i64::from(i32::MAX)
    }

    /// The segment's readable extent as of now, positioned for `offset` by the offset
    /// index: reads through it need no borrow of the segment (see [`SegmentSlice`]).
    pub fn slice(&self, offset: i64) -> SegmentSlice {
        self.slice_from(self.index_position(offset))
    }

    fn slice_from(&self, start_position: u64) -> SegmentSlice {
        SegmentSlice {
            base_offset: self.base_offset,
            next_offset: self.next_offset,
            size_bytes: self.size_bytes,
            log: self.log.clone(),
            start_position,
        }
    }

    fn corrupt(&self, position: u64, reason: &str) -> LogError {
        corrupt(self.base_offset, position, reason)
    }

    /// Reads whole batches starting with the one that holds `offset`; see
    /// [`SegmentSlice::read`].
    pub async fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
        crc: CrcCheck,
    ) -> LogResult<Option<Bytes>> {
        self.slice(offset).read(offset, max_bytes, upper_bound_offset, min_one_batch, crc).await
    }

    /// Finds the first batch whose last offset is at or above `offset`; see
    /// [`SegmentSlice::locate`].
    pub async fn locate(&self, offset: i64) -> LogResult<Option<LocatedBatch>> {
        self.slice(offset).locate(offset).await
    }

    /// Like [`locate`](LogSegment::locate), but the batch found is read whole and checked
    /// by CRC before it is believed: for callers that act on the position (truncation).
    pub async fn locate_verified(&self, offset: i64) -> LogResult<Option<LocatedBatch>> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        let start = self.index_position(offset);
        self.walk_verified(start, |header| header.last_offset() >= offset).await
    }

    /// Finds the first batch whose max timestamp is at or above `target_ms`.
    pub async fn find_by_timestamp(&self, target_ms: i64) -> LogResult<Option<LocatedBatch>> {
        if self.max_timestamp < target_ms {
            return Ok(None);
        }
        let relative_offset = time_index::lookup(self.time_index.entries(), target_ms);
        let start = u64::from(offset_index::lookup(self.offset_index.entries(), relative_offset));
        self.walk_verified(start, |header| header.max_timestamp >= target_ms).await
    }

    fn index_position(&self, offset: i64) -> u64 {
        let relative_offset = self.relative(offset.max(self.base_offset));
        u64::from(offset_index::lookup(self.offset_index.entries(), relative_offset))
    }

    /// Walks headers from `start` to the first batch `found` accepts, then reads that batch
    /// whole and validates it, retrying the walk when a read was bad.
    async fn walk_verified(&self, start: u64, found: impl Fn(&BatchHeader) -> bool) -> LogResult<Option<LocatedBatch>> {
        let mut why = String::new();
        for _attempt in 0..READ_ATTEMPTS {
            // Callers only walk where a batch must satisfy `found`: not finding one means
            // a header was misread.
            let candidate = match self.slice_from(start).walk(|batch| found(&batch.header)).await {
                Ok(None) => {
                    why = "no batch matches".to_string();
                    continue;
                }
                Ok(Some(candidate)) => candidate,
                Err(LogError::Corrupt { reason, .. }) => {
                    why = reason;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let bytes = self.log.read_at(candidate.position, candidate.header.size_bytes).await?;
            match record_batch::parse_batch(&bytes, candidate.header.size_bytes, CrcCheck::Verify) {
                Ok(header) if header == candidate.header && found(&header) => return Ok(Some(candidate)),
                Ok(_) => why = "batch header differs between reads".to_string(),
                Err(e) => why = e.to_string(),
            }
        }
        Err(self.corrupt(start, &format!("{why} (on every read)")))
    }

    /// Calls `visit` with the header of every batch whose base offset is at or above
    /// `from_offset`, in offset order (replaying producer state). Every batch is read whole
    /// and checked by CRC, and its offsets must continue the previous batch's: the scan
    /// starts at the offset index entry at or below `from_offset`, whose batch must end at
    /// the entry's offset (or at the segment's first batch, which must start at the base).
    /// A read that fails is retried before the segment is believed corrupt.
    pub async fn visit_verified_batches(&self, from_offset: i64, mut visit: impl FnMut(&BatchHeader)) -> LogResult<()> {
        if from_offset >= self.next_offset {
            return Ok(());
        }
        let relative_offset = self.relative(from_offset.max(self.base_offset));
        let entries = self.offset_index.entries();
        let after = entries.partition_point(|e| e.relative_offset <= relative_offset);
        let (mut position, mut expected) = match after.checked_sub(1).map(|i| entries[i]) {
            Some(entry) => {
                (u64::from(entry.position), Expected::LastOffset(self.base_offset + i64::from(entry.relative_offset)))
            }
            None => (0, Expected::BaseOffset(self.base_offset)),
        };
        while position < self.size_bytes {
            let remaining = (self.size_bytes - position) as usize;
            let mut run = Vec::new();
            for _attempt in 0..READ_ATTEMPTS {
                let mut buf = self.log.read_at(position, SCAN_CHUNK_BYTES.min(remaining)).await?;
                if let Some(Ok(size)) = record_batch::peek_size(&buf) {
                    if size > buf.len() && size <= remaining {
                        buf = self.log.read_at(position, size).await?;
                    }
                }
                run = verified_run(&buf, expected, self.next_offset);
                if !run.is_empty() {
                    break;
                }
            }
            let Some(last) = run.last() else {
                return Err(self.corrupt(position, "batch fails validation on every read"));
            };
            expected = Expected::BaseOffset(last.last_offset() + 1);
            for header in &run {
                if header.base_offset >= from_offset {
                    visit(header);
                }
                position += header.size_bytes as u64;
            }
        }
        Ok(())
    }

    /// Rescans the whole segment: validates every batch (re-reading one that fails before
    /// believing it), rebuilds both indexes, and truncates the file at the first batch that
    /// stays invalid or does not continue the offsets. Read errors are returned, never
    /// mistaken for corruption.
    pub async fn recover(&mut self, crc: CrcCheck) -> LogResult<SegmentRecovery> {
        let file_len = self.log.len().await?;
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.first_batch_timestamp = None;
        self.bytes_since_last_index_entry = 0;
        self.offset_index.replace(Vec::new()).await?;
        self.time_index.replace(Vec::new()).await?;
        let mut position = 0u64;
        let mut buf = Bytes::new();
        let mut buf_start = 0u64;
        while position < file_len {
            let at = ((position - buf_start) as usize).min(buf.len());
            let remaining = (file_len - position) as usize;
            let header = match self.validate_next(&buf[at..], remaining, crc) {
                Some(header) => Some(header),
                None => {
                    // The buffer ends inside the batch, or the batch is bad: read it again
                    // from its start, a few times, before deciding.
                    let (fresh, header) = self.reread_batch(position, remaining, crc).await?;
                    buf = fresh;
                    buf_start = position;
                    header
                }
            };
            let Some(header) = header else { break };
            self.size_bytes = position;
            self.index_batch(position, &header);
            position += header.size_bytes as u64;
        }
        self.size_bytes = position;
        let truncated_bytes = file_len - position;
        if truncated_bytes > 0 {
            self.log.set_len(position).await?;
        }
        self.check_invariants();
        Ok(SegmentRecovery { valid_bytes: position, truncated_bytes })
    }

    /// The batch at the start of `buf` if it is whole, valid, and continues the offsets.
    fn validate_next(&self, buf: &[u8], remaining: usize, crc: CrcCheck) -> Option<BatchHeader> {
        record_batch::parse_batch(buf, remaining, crc)
            .ok()
            .filter(|h| h.base_offset == self.next_offset && self.can_hold_offset(h.last_offset()))
    }

    /// Reads the batch at `position` (and what follows it, up to a scan chunk) up to
    /// [`READ_ATTEMPTS`] times; returns the buffer and the header if any read validated.
    async fn reread_batch(
        &self,
        position: u64,
        remaining: usize,
        crc: CrcCheck,
    ) -> LogResult<(Bytes, Option<BatchHeader>)> {
        let mut last = Bytes::new();
        for _attempt in 0..READ_ATTEMPTS {
            last = self.log.read_at(position, SCAN_CHUNK_BYTES.min(remaining)).await?;
            // A batch larger than one chunk needs its whole size read.
            if let Some(Ok(size)) = record_batch::peek_size(&last) {
                if size > last.len() && size <= remaining {
                    last = self.log.read_at(position, size).await?;
                }
            }
            if let Some(header) = self.validate_next(&last, remaining, crc) {
                return Ok((last, Some(header)));
            }
        }
        Ok((last, None))
    }

    /// After [`open`](LogSegment::open) of a segment below the recovery point: trusts its
    /// indexes if they pass the sanity checks and finds the segment's end by walking the
    /// batches after the last index entry. Returns false if the segment must be recovered.
    pub async fn load_trusted(&mut self) -> LogResult<bool> {
        if self.offset_index.was_missing() || self.time_index.was_missing() {
            return Ok(false);
        }
        if !offset_index::is_sane(self.offset_index.entries(), self.size_bytes.max(1)) {
            return Ok(false);
        }
        // The batches from the last index entry on decide where the segment ends: read
        // them whole and check them, re-reading before giving up on trust.
        let start = self.offset_index.last().map_or(0, |e| u64::from(e.position));
        let mut tail = None;
        for _attempt in 0..READ_ATTEMPTS {
            let buf = self.log.read_at(start, (self.size_bytes - start) as usize).await?;
            // The batch at the last index entry ends at that entry's offset; without an
            // entry the walk starts at the segment's first batch.
            tail = match self.offset_index.last() {
                Some(e) => verified_tail(&buf, None)
                    .filter(|t| t.first_last_offset == Some(self.base_offset + i64::from(e.relative_offset))),
                None => verified_tail(&buf, Some(self.base_offset)),
            };
            if tail.is_some() {
                break;
            }
        }
        let Some(tail) = tail else {
            return Ok(false);
        };
        self.next_offset = tail.last_offset.map_or(self.base_offset, |last| last + 1);
        let span = self.next_offset - self.base_offset;
        let index_in_range = self.offset_index.last().is_none_or(|e| i64::from(e.relative_offset) < span);
        if span < 0 || !index_in_range || !time_index::is_sane(self.time_index.entries(), span as u64) {
            return Ok(false);
        }
        self.max_timestamp = self.time_index.last().map_or(-1, |e| e.timestamp_ms).max(tail.max_timestamp);
        // Only the active segment rolls by age, and it is always rescanned at open; a
        // segment that becomes active again by truncation measures its age from now.
        self.first_batch_timestamp = None;
        self.check_invariants();
        Ok(true)
    }

    /// Removes every batch at or above the one that holds `offset`. Returns the new
    /// `next_offset` (below `offset` if a batch straddled it).
    pub async fn truncate_to(&mut self, offset: i64) -> LogResult<i64> {
        let Some(first_removed) = self.locate_verified(offset).await? else {
            return Ok(self.next_offset);
        };
        let position = first_removed.position;
        self.log.set_len(position).await?;
        let keep_offsets = self.offset_index.entries().partition_point(|e| u64::from(e.position) < position);
        self.offset_index.truncate_entries(keep_offsets).await?;
        let new_next_offset = first_removed.header.base_offset;
        let limit = (new_next_offset - self.base_offset) as u32;
        let keep_times = self.time_index.entries().partition_point(|e| e.relative_offset < limit);
        self.time_index.truncate_entries(keep_times).await?;
        self.size_bytes = position;
        self.next_offset = new_next_offset;
        self.bytes_since_last_index_entry = 0;
        // Recompute the largest timestamp: the time index covers up to its last entry, a
        // walk from the last offset-index entry covers the rest.
        let mut max_timestamp = self.time_index.last().map_or(-1, |e| e.timestamp_ms);
        let mut walk_from = self.offset_index.last().map_or(0, |e| u64::from(e.position));
        while walk_from < self.size_bytes {
            let found = self.walk_verified(walk_from, |_| true).await?;
            let Some(batch) = found else { break };
            max_timestamp = max_timestamp.max(batch.header.max_timestamp);
            walk_from = batch.position + batch.header.size_bytes as u64;
        }
        self.max_timestamp = max_timestamp;
        if self.size_bytes == 0 {
            self.first_batch_timestamp = None;
        }
        self.check_invariants();
        Ok(self.next_offset)
    }

    /// Writes the index entries not yet in their files, without syncing (on roll and close).
    pub async fn write_indexes(&mut self) -> LogResult<()> {
        self.offset_index.flush(false).await?;
        self.time_index.flush(false).await?;
        Ok(())
    }

    /// Writes the pending index entries and makes both indexes durable (at a roll).
    pub async fn sync_indexes(&mut self) -> LogResult<()> {
        self.offset_index.flush(true).await?;
        self.time_index.flush(true).await?;
        Ok(())
    }

    /// Writes the pending index entries and returns the log file to fsync, for a flush that
    /// syncs it without the segment borrowed (see `Log::begin_flush`). The indexes need no
    /// fsync here: recovery rescans every segment from the one holding the recovery point,
    /// rebuilding their indexes, and a rolled segment's indexes were synced at the roll.
    pub async fn file_to_sync(&mut self) -> LogResult<Arc<dyn DiskFile>> {
        self.write_indexes().await?;
        Ok(self.log.clone())
    }

    /// Makes the segment's records durable, and its indexes too when `with_indexes`
    /// (after a truncation or a recovery rewrote them).
    pub async fn flush(&mut self, with_indexes: bool) -> LogResult<()> {
        self.log.sync().await?;
        self.offset_index.flush(with_indexes).await?;
        self.time_index.flush(with_indexes).await?;
        Ok(())
    }

    /// Removes the segment's three files. Durable after the caller syncs the directory.
    pub async fn delete(self, disk: &dyn Disk) -> LogResult<()> {
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            let path = self.dir.join(file_name(self.base_offset, suffix));
            match disk.remove(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn check_invariants(&self) {
        assert!(self.base_offset <= self.next_offset, "segment ends before its base");
        assert_eq!(self.size_bytes == 0, self.next_offset == self.base_offset, "empty iff no offsets");
        debug_assert!(offset_index::is_sane(self.offset_index.entries(), self.size_bytes.max(1)));
        debug_assert!(time_index::is_sane(self.time_index.entries(), (self.next_offset - self.base_offset) as u64));
    }
}

/// What the first batch of a [`verified_run`] must satisfy.
#[derive(Clone, Copy, Debug)]
enum Expected {
    BaseOffset(i64),
    LastOffset(i64),
}

/// The headers of the run of whole, valid batches at the start of `buf`, the first
/// satisfying `expected`, each next one continuing the offsets, all below `next_offset`.
/// Stops at the first batch that is cut off or fails.
fn verified_run(buf: &[u8], expected: Expected, next_offset: i64) -> Vec<BatchHeader> {
    let mut run: Vec<BatchHeader> = Vec::new();
    let mut position = 0;
    while let Ok(header) = record_batch::parse_batch(&buf[position..], buf.len() - position, CrcCheck::Verify) {
        let continues = match run.last() {
            Some(previous) => header.base_offset == previous.last_offset() + 1,
            None => match expected {
                Expected::BaseOffset(base) => header.base_offset == base,
                Expected::LastOffset(last) => header.last_offset() == last,
            },
        };
        if !continues || header.last_offset() >= next_offset {
            break;
        }
        position += header.size_bytes;
        run.push(header);
    }
    run
}

/// What [`verified_tail`] found.
struct Tail {
    first_last_offset: Option<i64>,
    last_offset: Option<i64>,
    max_timestamp: i64,
}

/// Checks that `buf` is a run of whole, valid, contiguous batches to its end, the first
/// one starting at `first_base_offset` if given.
fn verified_tail(buf: &[u8], first_base_offset: Option<i64>) -> Option<Tail> {
    let mut tail = Tail { first_last_offset: None, last_offset: None, max_timestamp: -1 };
    let mut position = 0;
    while position < buf.len() {
        let header = record_batch::parse_batch(&buf[position..], buf.len() - position, CrcCheck::Verify).ok()?;
        let expected_base = tail.last_offset.map(|last| last + 1).or(first_base_offset);
        if expected_base.is_some_and(|base| header.base_offset != base) {
            return None;
        }
        tail.first_last_offset = tail.first_last_offset.or(Some(header.last_offset()));
        tail.last_offset = Some(header.last_offset());
        tail.max_timestamp = tail.max_timestamp.max(header.max_timestamp);
        position += header.size_bytes;
    }
    Some(tail)
}
