//! What the replication core reads from a log: its leader-epoch cache (`EpochLookup`) and, on
//! the leader, its offsets (`LeaderLogView`). The storage's `LeaderEpochCache` and `Log`
//! implement these; the core never touches a log itself.

/// A replica's leader-epoch cache, as Kafka's `LeaderEpochFileCache` answers it.
pub trait EpochLookup {
    /// Kafka's `endOffsetFor(epoch, logEndOffset)` (REPLICATION.md §3.9): the largest epoch at or
    /// below `epoch` that this log knows and the offset where the next epoch starts (the log
    /// end offset for the latest epoch). `None` is Kafka's `(-1, -1)`: `epoch` is -1, or it is
    /// above every epoch this log knows, or the cache is empty.
    fn end_offset_for_epoch(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)>;

    /// The latest epoch in the cache; `None` when the cache is empty.
    fn latest_epoch(&self) -> Option<i32>;
}

/// The leader's log as the core needs it: its offsets, and its epoch cache for divergence.
pub trait LeaderLogView: EpochLookup {
    /// The first offset still in the log.
    fn log_start_offset(&self) -> i64;
    /// The offset the next appended record gets.
    fn log_end_offset(&self) -> i64;
    /// The offset below which the log is fsynced (the recovery point): at most the log end offset.
    fn durable_offset(&self) -> i64;
}

/// A leader-epoch cache as a list of `(epoch, start_offset)` entries, for the core's tests and
/// the property test. It answers exactly as §3.9's table says, so the tests exercise the core
/// against Kafka's lookup and not against a convenience of ours.
#[cfg(test)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EpochEntries {
    /// Strictly increasing in both epoch and start offset.
    entries: Vec<(i32, i64)>,
}

#[cfg(test)]
impl EpochEntries {
    pub(crate) fn new(entries: &[(i32, i64)]) -> Self {
        let cache = EpochEntries { entries: entries.to_vec() };
        assert!(cache.entries.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{entries:?}");
        cache
    }

    /// Builds the cache of a log given as one epoch per offset, plus an entry for `current`
    /// at `log_end_offset` when the leader is in an epoch that has no record yet.
    pub(crate) fn from_log(log: &[i32], current: Option<i32>) -> Self {
        let mut entries: Vec<(i32, i64)> = Vec::new();
        for (offset, &epoch) in log.iter().enumerate() {
            if entries.last().is_none_or(|&(e, _)| e != epoch) {
                entries.push((epoch, offset as i64));
            }
        }
        if let Some(epoch) = current {
            if entries.last().is_none_or(|&(e, _)| e < epoch) {
                entries.push((epoch, log.len() as i64));
            }
        }
        EpochEntries::new(&entries)
    }
}

#[cfg(test)]
impl EpochLookup for EpochEntries {
    fn end_offset_for_epoch(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        let &(latest, _) = self.entries.last()?;
        if epoch < 0 || epoch > latest {
            return None;
        }
        if epoch == latest {
            return Some((epoch, log_end_offset));
        }
        // The first entry above `epoch` exists, since `epoch < latest`.
        let above = self.entries.iter().position(|&(e, _)| e > epoch).expect("an entry above");
        if above == 0 {
            return Some((epoch, self.entries[0].1));
        }
        Some((self.entries[above - 1].0, self.entries[above].1))
    }

    fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|&(e, _)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offset_for_follows_kafkas_table() {
        let cache = EpochEntries::new(&[(1, 0), (3, 21)]);
        assert_eq!(cache.end_offset_for_epoch(-1, 30), None);
        assert_eq!(cache.end_offset_for_epoch(3, 30), Some((3, 30)));
        assert_eq!(cache.end_offset_for_epoch(4, 30), None);
        assert_eq!(cache.end_offset_for_epoch(2, 30), Some((1, 21)));
        assert_eq!(cache.end_offset_for_epoch(1, 30), Some((1, 21)));
        assert_eq!(cache.end_offset_for_epoch(0, 30), Some((0, 0)));
        assert_eq!(EpochEntries::default().end_offset_for_epoch(0, 0), None);
    }

    #[test]
    fn from_log_adds_the_current_epoch_at_the_log_end() {
        assert_eq!(EpochEntries::from_log(&[1, 1, 3], Some(5)), EpochEntries::new(&[(1, 0), (3, 2), (5, 3)]));
        assert_eq!(EpochEntries::from_log(&[1, 1, 3], Some(3)), EpochEntries::new(&[(1, 0), (3, 2)]));
    }

    #[test]
    #[should_panic]
    fn entries_out_of_order_are_refused() {
        EpochEntries::new(&[(3, 0), (1, 5)]);
    }
}

/// The storage's cache answers for a follower's divergence lookups.
impl EpochLookup for crate::storage::LeaderEpochCache {
    fn end_offset_for_epoch(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        self.end_offset_for(epoch, log_end_offset)
    }

    fn latest_epoch(&self) -> Option<i32> {
        crate::storage::LeaderEpochCache::latest_epoch(self)
    }
}

/// A leader's log, as the core reads it.
impl EpochLookup for crate::storage::Log {
    fn end_offset_for_epoch(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        self.leader_epoch_cache().end_offset_for(epoch, log_end_offset)
    }

    fn latest_epoch(&self) -> Option<i32> {
        crate::storage::Log::latest_epoch(self)
    }
}

impl LeaderLogView for crate::storage::Log {
    fn log_start_offset(&self) -> i64 {
        crate::storage::Log::log_start_offset(self)
    }

    fn log_end_offset(&self) -> i64 {
        crate::storage::Log::log_end_offset(self)
    }

    fn durable_offset(&self) -> i64 {
        self.recovery_point()
    }
}

#[cfg(test)]
mod storage_tests {
    use super::*;
    use crate::storage::LeaderEpochCache;

    /// The storage's cache answers the core's lookups as §3.9's table (KIP-279's example).
    #[test]
    fn the_storage_cache_answers_the_core() {
        let mut cache = LeaderEpochCache::new();
        cache.assign(1, 0);
        cache.assign(3, 21);
        let lookup: &dyn EpochLookup = &cache;
        assert_eq!(lookup.end_offset_for_epoch(2, 30), Some((1, 21)));
        assert_eq!(lookup.end_offset_for_epoch(3, 30), Some((3, 30)));
        assert_eq!(lookup.latest_epoch(), Some(3));
    }
}
