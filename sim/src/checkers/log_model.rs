//! A checker's model of one log, batch by batch, rebuilt from append and truncate events;
//! shared by the checkers that compare logs across replicas (Raft's metadata log and the
//! data-plane partitions). Not a checker itself.
//!
//! A model is only as good as the events: it holds what the node reported appending and
//! not truncating. A crash that loses an unflushed tail leaves stale batches above the
//! real log end; they go as soon as the node appends at or below them (an append replaces
//! everything from its base offset on), which it must do before its log can grow past them.

use std::collections::BTreeMap;
use std::fmt;

/// One batch: its offsets, the epoch that wrote it and a checksum of its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub epoch: i32,
    pub checksum: u64,
}

impl fmt::Display for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={} (epoch {}, checksum {:x})", self.base_offset, self.last_offset, self.epoch, self.checksum)
    }
}

/// A log as a map of batches by base offset, from a start offset (0, or the end of a snapshot
/// that replaced what came before).
///
/// Invariants: batches do not overlap, each has `base_offset <= last_offset`, and none lies
/// wholly below `start_offset`.
#[derive(Clone, Debug, Default)]
pub struct LogModel {
    batches: BTreeMap<i64, Batch>,
    start_offset: i64,
}

impl LogModel {
    /// Appends `batch`: whatever the model held from its base offset on is replaced.
    pub fn append(&mut self, batch: Batch) {
        self.truncate(batch.base_offset);
        self.batches.insert(batch.base_offset, batch);
        self.check_invariants();
    }

    /// Removes every batch that reaches `offset` or beyond (a batch cut in the middle goes
    /// whole: its checksum no longer describes what is left) and returns them in order.
    pub fn truncate(&mut self, offset: i64) -> Vec<Batch> {
        let from = self.covering(offset).map_or(offset, |b| b.base_offset);
        let removed = self.batches.split_off(&from);
        removed.into_values().collect()
    }

    /// The batch holding `offset`.
    pub fn covering(&self, offset: i64) -> Option<Batch> {
        self.batches.range(..=offset).next_back().map(|(_, b)| *b).filter(|b| b.last_offset >= offset)
    }

    /// The batches holding any offset in `from..to`.
    pub fn overlapping(&self, from: i64, to: i64) -> impl Iterator<Item = Batch> + '_ {
        let start = self.covering(from).map_or(from, |b| b.base_offset);
        let range = if start < to { Some(self.batches.range(start..to)) } else { None };
        range.into_iter().flatten().map(|(_, b)| *b)
    }

    /// The offset after the last batch (the start offset for an empty model).
    pub fn end_offset(&self) -> i64 {
        self.batches.values().next_back().map_or(self.start_offset, |b| b.last_offset + 1)
    }

    /// A snapshot ending at `offset` replaced the whole log: the model is empty from there.
    pub fn reset_to(&mut self, offset: i64) {
        self.batches.clear();
        self.start_offset = offset;
    }

    /// A snapshot ending at `offset` covers what lies below it: batches wholly below go (the
    /// node may have dropped or never had them), what follows stays.
    pub fn delete_below(&mut self, offset: i64) {
        self.batches.retain(|_, b| b.last_offset >= offset);
        self.start_offset = self.start_offset.max(offset);
        self.check_invariants();
    }

    /// The first batch of this model that overlaps `batch` without being it: what a log
    /// that must agree with this one would contradict by holding `batch`.
    pub fn conflict(&self, batch: &Batch) -> Option<Batch> {
        self.overlapping(batch.base_offset, batch.last_offset + 1).find(|b| b != batch)
    }

    /// Records `batch` unless it overlaps one already held (what is recorded first stays).
    pub fn record(&mut self, batch: Batch) {
        if self.overlapping(batch.base_offset, batch.last_offset + 1).next().is_none() {
            self.batches.insert(batch.base_offset, batch);
        }
        self.check_invariants();
    }

    fn check_invariants(&self) {
        let mut end = i64::MIN;
        for b in self.batches.values() {
            assert!(b.base_offset <= b.last_offset, "batch {b} ends before it starts");
            assert!(b.base_offset >= end, "batch {b} overlaps the one before it");
            end = b.last_offset + 1;
            assert!(b.last_offset >= self.start_offset, "batch {b} lies below the log start {}", self.start_offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(base_offset: i64, last_offset: i64, checksum: u64) -> Batch {
        Batch { base_offset, last_offset, epoch: 0, checksum }
    }

    #[test]
    fn an_append_replaces_the_tail_from_its_base() {
        let mut log = LogModel::default();
        log.append(batch(0, 1, 1));
        log.append(batch(2, 4, 2));
        log.append(batch(5, 5, 3));
        log.append(batch(3, 3, 9));
        assert_eq!(log.end_offset(), 4);
        assert_eq!(log.covering(3), Some(batch(3, 3, 9)));
        assert_eq!(log.covering(2), None, "the batch cut at 3 went whole");
        assert_eq!(log.covering(1), Some(batch(0, 1, 1)));
    }

    #[test]
    fn truncate_returns_what_it_removed() {
        let mut log = LogModel::default();
        log.append(batch(0, 1, 1));
        log.append(batch(2, 4, 2));
        assert_eq!(log.truncate(3), vec![batch(2, 4, 2)]);
        assert_eq!(log.truncate(7), vec![]);
        assert_eq!(log.end_offset(), 2);
    }

    #[test]
    fn snapshots_move_the_start() {
        let mut log = LogModel::default();
        log.append(batch(0, 1, 1));
        log.append(batch(2, 4, 2));
        log.delete_below(3);
        assert_eq!((log.covering(1), log.covering(3)), (None, Some(batch(2, 4, 2))));
        log.reset_to(9);
        assert_eq!(log.end_offset(), 9);
        log.append(batch(9, 9, 3));
        assert_eq!(log.end_offset(), 10);
    }

    #[test]
    fn overlapping_and_conflict() {
        let mut log = LogModel::default();
        log.record(batch(0, 1, 1));
        log.record(batch(2, 4, 2));
        log.record(batch(1, 2, 7));
        assert_eq!(log.overlapping(1, 3).collect::<Vec<_>>(), vec![batch(0, 1, 1), batch(2, 4, 2)]);
        assert_eq!(log.overlapping(9, 3).count(), 0);
        assert_eq!(log.conflict(&batch(2, 4, 2)), None);
        assert_eq!(log.conflict(&batch(2, 4, 3)), Some(batch(2, 4, 2)));
        assert_eq!(log.conflict(&batch(4, 6, 2)), Some(batch(2, 4, 2)), "other bounds conflict too");
        assert_eq!(log.conflict(&batch(5, 6, 2)), None);
    }
}
