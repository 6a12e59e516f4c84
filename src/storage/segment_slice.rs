//! A segment's readable extent frozen at one moment: its file, its size and offsets then,
//! and where the offset index put the offset asked for. Reads go through a slice so they
//! need no borrow of the segment or the log: the partition takes one under its lock and
//! reads without it (Kafka's reads are lock-free too). Appends only add bytes beyond
//! `size_bytes`, so what a slice covers does not change under it; truncation and segment
//! deletion do, and the log counts them so a reader can tell (`Log::reader`).

use std::sync::Arc;

use bytes::Bytes;

use super::error::{LogError, LogResult};
use super::record_batch::{self, BatchHeader, CrcCheck, HEADER_BYTES};
use super::segment::LocatedBatch;
use crate::runtime::DiskFile;

/// How many times a batch that fails validation is read again before it is believed
/// corrupt: a flip on the read path is transient, rot on the medium is not.
pub(super) const READ_ATTEMPTS: usize = 3;
/// Bytes read at a time when walking batch headers to find an offset.
const WALK_CHUNK_BYTES: usize = 16 << 10;

/// What a read may see of one segment.
///
/// Invariants: `base_offset <= next_offset`; `start_position <= size_bytes`.
#[derive(Clone, Debug)]
pub struct SegmentSlice {
    pub(super) base_offset: i64,
    pub(super) next_offset: i64,
    pub(super) size_bytes: u64,
    pub(super) log: Arc<dyn DiskFile>,
    /// Where walking starts: the offset index's position for the offset asked for.
    pub(super) start_position: u64,
}

impl SegmentSlice {
    /// Reads whole batches starting with the one that holds `offset`, up to `max_bytes`
    /// (or, with `min_one_batch`, the first batch even if larger), stopping before any
    /// batch whose base offset is at or above `upper_bound_offset`. Each batch returned has
    /// been checked by CRC. `None` if no batch here holds `offset` or a later one.
    pub async fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
        crc: CrcCheck,
    ) -> LogResult<Option<Bytes>> {
        // The first batch must hold `offset`, or be this segment's first batch when the
        // offset lies below it (a read that continues from an earlier segment).
        let expected_first = offset.max(self.base_offset);
        let mut why = String::new();
        for _attempt in 0..READ_ATTEMPTS {
            let first = match self.locate(offset).await {
                Ok(Some(first)) => first,
                Ok(None) => return Ok(None),
                Err(LogError::Corrupt { reason, .. }) => {
                    why = reason;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let available = (self.size_bytes - first.position) as usize;
            let want = if min_one_batch { max_bytes.max(first.header.size_bytes) } else { max_bytes };
            let buf = self.log.read_at(first.position, want.min(available)).await?;
            // The walk read the first header separately: two reads must agree on where the
            // batch starts, as `baseOffset` lies outside the CRC.
            match whole_batches(&buf, expected_first, first.header.base_offset, upper_bound_offset, crc) {
                Ok(WholeBatches::BeyondBound) => return Ok(None),
                // Nothing fit: fine when the caller capped the bytes, a bad read when it
                // asked for at least the first batch.
                Ok(WholeBatches::Bytes(0)) if min_one_batch => why = "first batch unreadable".to_string(),
                Ok(WholeBatches::Bytes(0)) => return Ok(None),
                Ok(WholeBatches::Bytes(len)) => return Ok(Some(buf.slice(..len))),
                Err(reason) => why = reason.to_string(),
            }
        }
        Err(LogError::Corrupt {
            offset_hint: offset,
            reason: format!("{why} in segment {} on every read", self.base_offset),
        })
    }

    /// Finds the first batch whose last offset is at or above `offset`, walking headers
    /// from the position the offset index gave for it. Unverified: the caller checks the batch
    /// it then reads (see [`read`](LogSegment::read)).
    pub async fn locate(&self, offset: i64) -> LogResult<Option<LocatedBatch>> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        match self.walk(|batch| batch.header.last_offset() >= offset).await? {
            None => Err(self.corrupt(self.start_position, "no batch holds an offset below the segment end")),
            found => Ok(found),
        }
    }

    /// Walks batch headers from the start position until `found` accepts one. Headers are trusted
    /// (they were validated when appended or recovered) but their lengths are bounds-checked.
    pub(super) async fn walk(&self, mut found: impl FnMut(&LocatedBatch) -> bool) -> LogResult<Option<LocatedBatch>> {
        let mut position = self.start_position;
        let mut buf = Bytes::new();
        let mut buf_start = position;
        while position < self.size_bytes {
            let at = (position - buf_start) as usize;
            if buf.len() < at + HEADER_BYTES {
                let len = WALK_CHUNK_BYTES.min((self.size_bytes - position) as usize);
                buf = self.log.read_at(position, len).await?;
                buf_start = position;
                if buf.len() < HEADER_BYTES {
                    return Err(self.corrupt(position, "segment ends inside a batch header"));
                }
                continue;
            }
            let header = peek_header(&buf[at..]).ok_or_else(|| self.corrupt(position, "bad batch header"))?;
            if position + header.size_bytes as u64 > self.size_bytes {
                return Err(self.corrupt(position, "batch runs past the end of the segment"));
            }
            let batch = LocatedBatch { position, header };
            if found(&batch) {
                return Ok(Some(batch));
            }
            position += header.size_bytes as u64;
        }
        Ok(None)
    }

    fn corrupt(&self, position: u64, reason: &str) -> LogError {
        corrupt(self.base_offset, position, reason)
    }
}

/// A corrupt-segment error at `position` of the segment at `base_offset`.
pub(super) fn corrupt(base_offset: i64, position: u64, reason: &str) -> LogError {
    LogError::Corrupt {
        offset_hint: base_offset,
        reason: format!("{reason} at position {position} of segment {base_offset}"),
    }
}

/// The header fields of the batch at the start of `buf` without checking the CRC, or
/// `None` if the bytes cannot be a batch header.
fn peek_header(buf: &[u8]) -> Option<BatchHeader> {
    if buf.len() < HEADER_BYTES {
        return None;
    }
    record_batch::peek_size(buf)?.ok()?;
    Some(record_batch::read_header(buf))
}

/// What [`whole_batches`] found at the start of a buffer.
enum WholeBatches {
    /// This many bytes of whole, valid batches (0 if the first is not whole).
    Bytes(usize),
    /// The first batch starts at or above the upper bound: there is nothing to read yet.
    BeyondBound,
}

/// The longest run of whole, valid batches at the start of `buf` whose base offsets are
/// below `upper_bound_offset`. The first must hold `offset` and each next one continue the
/// offsets; anything else is an error (a flipped read, to be retried).
fn whole_batches(
    buf: &[u8],
    offset: i64,
    first_base_offset: i64,
    upper_bound_offset: i64,
    crc: CrcCheck,
) -> Result<WholeBatches, &'static str> {
    let mut len = 0;
    let mut expected_base = None::<i64>;
    while let Some(Ok(size)) = record_batch::peek_size(&buf[len..]) {
        if len + size > buf.len() {
            break;
        }
        let header = record_batch::parse_batch(&buf[len..], size, crc).map_err(|_| "batch fails validation")?;
        match expected_base {
            None if header.base_offset > offset || header.last_offset() < offset => {
                return Err("first batch does not hold the offset");
            }
            None if header.base_offset != first_base_offset => return Err("reads disagree on the first batch"),
            Some(base) if header.base_offset != base => return Err("offsets are not contiguous"),
            _ => {}
        }
        if header.base_offset >= upper_bound_offset {
            return Ok(if len == 0 { WholeBatches::BeyondBound } else { WholeBatches::Bytes(len) });
        }
        expected_base = Some(header.last_offset() + 1);
        len += size;
    }
    Ok(WholeBatches::Bytes(len))
}
