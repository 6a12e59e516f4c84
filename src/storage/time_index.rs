//! The time index (`.timeindex`): maps a timestamp to the offset from which records at or
//! after it can be found. An entry `(max_timestamp_so_far, offset)` is added alongside an
//! offset-index entry whenever the segment's largest timestamp has grown, so timestamps in
//! the index strictly increase even when record timestamps do not.

use bytes::{BufMut, BytesMut};

use super::index_file::IndexEntry;

/// One entry: the largest timestamp seen up to a batch, and that batch's last offset
/// relative to the segment's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp_ms: i64,
    pub relative_offset: u32,
}

impl IndexEntry for TimestampOffset {
    const BYTES: usize = 12;

    fn encode(&self, out: &mut BytesMut) {
        out.put_i64(self.timestamp_ms);
        out.put_u32(self.relative_offset);
    }

    fn decode(buf: &[u8]) -> Self {
        TimestampOffset {
            timestamp_ms: i64::from_be_bytes(buf[0..8].try_into().expect("8 bytes")),
            relative_offset: u32::from_be_bytes(buf[8..12].try_into().expect("4 bytes")),
        }
    }
}

/// The relative offset to start searching from for records with timestamp >= `target_ms`:
/// the offset of the greatest entry whose timestamp is below the target (every batch up to
/// it has only smaller timestamps), or the segment's start.
pub fn lookup(entries: &[TimestampOffset], target_ms: i64) -> u32 {
    let below = entries.partition_point(|e| e.timestamp_ms < target_ms);
    if below == 0 {
        0
    } else {
        entries[below - 1].relative_offset
    }
}

/// Whether entries loaded from disk can be trusted: timestamps and offsets increasing and
/// offsets below `next_relative_offset`.
pub fn is_sane(entries: &[TimestampOffset], next_relative_offset: u64) -> bool {
    entries.windows(2).all(|w| w[0].timestamp_ms < w[1].timestamp_ms && w[0].relative_offset <= w[1].relative_offset)
        && entries.iter().all(|e| u64::from(e.relative_offset) < next_relative_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_starts_from_the_last_entry_entirely_before_the_target() {
        let entries = [
            TimestampOffset { timestamp_ms: 100, relative_offset: 4 },
            TimestampOffset { timestamp_ms: 200, relative_offset: 9 },
        ];
        assert_eq!(lookup(&entries, 50), 0);
        assert_eq!(lookup(&entries, 100), 0);
        assert_eq!(lookup(&entries, 150), 4);
        assert_eq!(lookup(&entries, 999), 9);
    }
}
