//! The sparse offset index (`.index`): maps an offset to the file position of the batch
//! that holds it, so a read scans at most `index.interval.bytes` of the segment.
//!
//! Like Kafka, an entry is written for the *last* offset of a batch and the *start*
//! position of that batch: the largest entry at or below a target offset gives a position
//! from which a forward scan reaches the batch containing the target.

use bytes::{BufMut, BytesMut};

use super::index_file::IndexEntry;

/// One index entry: an offset relative to the segment's base and a byte position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPosition {
    pub relative_offset: u32,
    pub position: u32,
}

impl IndexEntry for OffsetPosition {
    const BYTES: usize = 8;

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.relative_offset);
        out.put_u32(self.position);
    }

    fn decode(buf: &[u8]) -> Self {
        OffsetPosition {
            relative_offset: u32::from_be_bytes(buf[0..4].try_into().expect("4 bytes")),
            position: u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes")),
        }
    }
}

/// The position to start scanning from for `relative_offset`: the greatest entry at or
/// below it, or the segment's start.
pub fn lookup(entries: &[OffsetPosition], relative_offset: u32) -> u32 {
    let after = entries.partition_point(|e| e.relative_offset <= relative_offset);
    if after == 0 {
        0
    } else {
        entries[after - 1].position
    }
}

/// Whether entries loaded from disk can be trusted: offsets and positions strictly
/// increasing, and every position inside the segment's `size_bytes`.
pub fn is_sane(entries: &[OffsetPosition], size_bytes: u64) -> bool {
    entries.windows(2).all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position)
        && entries.iter().all(|e| u64::from(e.position) < size_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_returns_the_greatest_entry_at_or_below_the_target() {
        let entries = [
            OffsetPosition { relative_offset: 9, position: 0 },
            OffsetPosition { relative_offset: 19, position: 4100 },
            OffsetPosition { relative_offset: 29, position: 8300 },
        ];
        assert_eq!(lookup(&entries, 5), 0);
        assert_eq!(lookup(&entries, 19), 4100);
        assert_eq!(lookup(&entries, 25), 4100);
        assert_eq!(lookup(&entries, 1000), 8300);
        assert_eq!(lookup(&[], 3), 0);
    }

    #[test]
    fn an_index_pointing_past_the_segment_is_not_sane() {
        let entries = [OffsetPosition { relative_offset: 1, position: 5000 }];
        assert!(!is_sane(&entries, 4000));
        assert!(is_sane(&entries, 6000));
    }
}
