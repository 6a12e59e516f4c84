//! The core's view of the replicated log (`__cluster_metadata`-0): entries in memory from a
//! start offset, the leader-epoch lookup used for divergence, truncation, and the snapshot
//! that lets the start move up.
//!
//! The core never writes a file. It changes this value and tells the shell, through
//! [`super::Ready`], which appends and truncations to make durable. The epoch of every
//! offset is read from the entries themselves (epochs never decrease along the log), so there
//! is no separate leader-epoch cache to keep in step: `end_offset_for_epoch` is a binary
//! search.

use super::messages::{Entry, Epoch, Offset, SnapshotId};
use std::fmt;

/// The replicated log as the core sees it.
///
/// Invariants:
/// - `start_offset >= 0`, and `start_offset == snapshot.end_offset` when a snapshot exists;
/// - `entries[i].offset == start_offset + i` (contiguous, no gaps);
/// - epochs never decrease along the log, and the first entry's epoch is at least the
///   snapshot's.
#[derive(Debug, Clone, Default)]
pub struct RaftLog {
    start_offset: Offset,
    snapshot: Option<SnapshotId>,
    entries: Vec<Entry>,
}

/// A recovered log that breaks the invariants above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLog(pub String);

impl fmt::Display for InvalidLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid raft log: {}", self.0)
    }
}

impl std::error::Error for InvalidLog {}

impl RaftLog {
    /// An empty log starting at offset 0.
    pub fn new() -> RaftLog {
        RaftLog::default()
    }

    /// The log as recovered from disk: an optional snapshot and the entries after it.
    pub fn recovered(snapshot: Option<SnapshotId>, entries: Vec<Entry>) -> Result<RaftLog, InvalidLog> {
        let start_offset = snapshot.map_or(0, |s| s.end_offset);
        if start_offset < 0 {
            return Err(InvalidLog(format!("snapshot end offset {start_offset} is negative")));
        }
        let mut log = RaftLog { start_offset, snapshot, entries: Vec::with_capacity(entries.len()) };
        for entry in entries {
            if entry.offset != log.end_offset() {
                return Err(InvalidLog(format!(
                    "entry at offset {} where {} was expected",
                    entry.offset,
                    log.end_offset()
                )));
            }
            if entry.epoch < log.last_epoch() {
                return Err(InvalidLog(format!(
                    "entry at offset {} has epoch {} below the previous epoch {}",
                    entry.offset,
                    entry.epoch,
                    log.last_epoch()
                )));
            }
            log.entries.push(entry);
        }
        Ok(log)
    }

    /// The first offset held in the log (the snapshot's end offset, or 0).
    pub fn start_offset(&self) -> Offset {
        self.start_offset
    }

    /// The latest snapshot, if any.
    pub fn snapshot(&self) -> Option<SnapshotId> {
        self.snapshot
    }

    /// The offset the next entry will get.
    pub fn end_offset(&self) -> Offset {
        self.start_offset + self.entries.len() as Offset
    }

    /// The epoch of the last entry (of the snapshot if the log is empty; 0 if neither).
    /// Kafka's `lastFetchedEpoch`.
    pub fn last_epoch(&self) -> Epoch {
        match self.entries.last() {
            Some(e) => e.epoch,
            None => self.snapshot.map_or(0, |s| s.epoch),
        }
    }

    /// The entry at `offset`, if held.
    pub fn entry(&self, offset: Offset) -> Option<&Entry> {
        if offset < self.start_offset {
            return None;
        }
        self.entries.get((offset - self.start_offset) as usize)
    }

    /// Entries from `offset` (which must be in `[start_offset, end_offset]`), at most
    /// `max_bytes` of payload but always at least one entry when there is one.
    pub fn read(&self, offset: Offset, max_bytes: usize) -> Vec<Entry> {
        assert!(offset >= self.start_offset && offset <= self.end_offset(), "read at {offset} outside the log");
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for entry in &self.entries[(offset - self.start_offset) as usize..] {
            if !out.is_empty() && bytes + entry.payload.len() > max_bytes {
                break;
            }
            bytes += entry.payload.len();
            out.push(entry.clone());
        }
        out
    }

    /// Entries in `[from, to)`.
    pub fn slice(&self, from: Offset, to: Offset) -> &[Entry] {
        assert!(
            from >= self.start_offset && from <= to && to <= self.end_offset(),
            "slice {from}..{to} outside the log"
        );
        &self.entries[(from - self.start_offset) as usize..(to - self.start_offset) as usize]
    }

    /// Appends one entry at the end. The caller guarantees the offset and epoch order.
    pub fn append(&mut self, entry: Entry) {
        assert_eq!(entry.offset, self.end_offset(), "append must continue the log");
        assert!(entry.epoch >= self.last_epoch(), "append must not lower the epoch");
        self.entries.push(entry);
    }

    /// Removes every entry at or above `offset`.
    pub fn truncate_to(&mut self, offset: Offset) {
        assert!(offset >= self.start_offset, "truncation to {offset} below the log start {}", self.start_offset);
        if offset < self.end_offset() {
            self.entries.truncate((offset - self.start_offset) as usize);
        }
    }

    /// Kafka's `endOffsetForEpoch`: where the log's `epoch` (or the largest epoch below it
    /// that the log holds) ends, as `(that epoch, end offset)`. `None` when `epoch` is above
    /// the log's last epoch, so the log cannot say.
    ///
    /// - `epoch` is the last epoch: `(epoch, end_offset)`;
    /// - else: the floor epoch held in the log and the first offset of the next epoch;
    /// - no entry at or below `epoch`: `(epoch, first offset of the log)`.
    pub fn end_offset_for_epoch(&self, epoch: Epoch) -> Option<(Epoch, Offset)> {
        if epoch == self.last_epoch() {
            return Some((epoch, self.end_offset()));
        }
        if epoch > self.last_epoch() {
            return None;
        }
        // First entry whose epoch is above `epoch`: it exists since epoch < last_epoch, unless
        // the log is empty and the snapshot's epoch is above (then the snapshot answers).
        let next = self.entries.partition_point(|e| e.epoch <= epoch);
        let end = self.entries.get(next).map_or(self.end_offset(), |e| e.offset);
        let floor = if next > 0 {
            self.entries[next - 1].epoch
        } else {
            match self.snapshot {
                Some(s) if s.epoch <= epoch => s.epoch,
                _ => epoch,
            }
        };
        Some((floor, end))
    }

    /// Records that a snapshot covering everything below `id.end_offset` exists, and drops
    /// the entries it covers (the log start moves up to `id.end_offset`). The snapshot must
    /// end at or inside the log, on an entry of `id.epoch`; the caller guarantees it is
    /// committed.
    pub fn compact_to_snapshot(&mut self, id: SnapshotId) {
        assert!(
            id.end_offset > self.start_offset && id.end_offset <= self.end_offset(),
            "snapshot {id:?} outside the log"
        );
        let last = self.entry(id.end_offset - 1).expect("snapshot end inside the log");
        assert_eq!(last.epoch, id.epoch, "snapshot epoch must be the epoch of its last record");
        self.entries.drain(..(id.end_offset - self.start_offset) as usize);
        self.start_offset = id.end_offset;
        self.snapshot = Some(id);
    }

    /// Asserts the invariants in the type's doc comment.
    pub fn check_invariants(&self) {
        assert!(self.start_offset >= 0);
        if let Some(s) = self.snapshot {
            assert_eq!(s.end_offset, self.start_offset, "the log starts where its snapshot ends");
        }
        if let (Some(first), Some(last)) = (self.entries.first(), self.entries.last()) {
            assert_eq!(first.offset, self.start_offset, "the first entry sits at the log start");
            assert_eq!(last.offset, self.end_offset() - 1, "log offsets are contiguous");
            assert!(first.epoch >= self.snapshot.map_or(0, |s| s.epoch), "no entry is older than the snapshot");
        }
        // Only the tail changes (appends and truncations happen at the end; compaction drops
        // a prefix), so the walk covers the last entries rather than the whole log.
        let tail = self.entries.len().saturating_sub(64);
        {
            for pair in self.entries[tail..].windows(2) {
                assert_eq!(pair[1].offset, pair[0].offset + 1, "log offsets are contiguous");
                assert!(pair[1].epoch >= pair[0].epoch, "log epochs never decrease");
            }
        }
    }
}
