//! The leader-epoch cache (Kafka's `LeaderEpochFileCache`), without IO: for each leader
//! epoch that wrote to this log, the offset at which it began. It answers "where did epoch
//! E end?" (`end_offset_for`, the question behind a follower's truncation, §3.9–3.10 of
//! REPLICATION.md) and "which epoch wrote offset O?" (`epoch_for_offset`).
//!
//! The rules are Kafka's, entry for entry:
//! - `assign(e, s)`: nothing if the latest entry already has epoch `e` and starts at or
//!   before `s`; otherwise every entry at the tail with an epoch `>= e` or a start `>= s` is
//!   dropped and `(e, s)` appended;
//! - `truncate_from_end(o)`: entries starting at or after `o` go;
//! - `truncate_from_start(o)`: entries starting at or before `o` go, and the last of them
//!   comes back starting at `o` (its epoch still covers the new first offset).
//!
//! The file (`leader-epoch-checkpoint`) is Kafka's text format: a version line `0`, a count
//! line, then one `epoch startOffset` line per entry. [`LeaderEpochCache::decode`] refuses
//! anything else with an error naming the problem; the log then rebuilds the cache from its
//! batches (see `log_epochs.rs`). Reading and writing the file is `leader_epoch_checkpoint.rs`.

use std::fmt;

/// Kafka's `RecordBatch.NO_PARTITION_LEADER_EPOCH` and `UNDEFINED_EPOCH`: a batch written
/// without a leader epoch, or a question about no epoch.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;

const FILE_VERSION: &str = "0";

/// One entry: `epoch` began writing at `start_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// What [`LeaderEpochCache::assign`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assign {
    /// The latest entry already covers the offset with this epoch.
    Unchanged,
    /// The entry was added after dropping `removed` from the tail (newest last).
    Inserted { removed: Vec<EpochEntry> },
}

impl Assign {
    pub fn changed(&self) -> bool {
        matches!(self, Assign::Inserted { .. })
    }
}

/// The epochs of a partition's log and where each began.
///
/// Invariants:
/// - every epoch and every start offset is `>= 0`;
/// - entries strictly increase in both epoch and start offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` writes from `start_offset` on (Kafka's rule, see the module
    /// docs). Both must be `>= 0`: a batch without an epoch is never assigned.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> Assign {
        assert!(epoch >= 0 && start_offset >= 0, "assign({epoch}, {start_offset}): epoch and offset must be >= 0");
        if self.latest_entry().is_some_and(|e| e.epoch == epoch && e.start_offset <= start_offset) {
            return Assign::Unchanged;
        }
        let keep = self.entries.iter().rposition(|e| e.epoch < epoch && e.start_offset < start_offset);
        let removed = self.entries.split_off(keep.map_or(0, |i| i + 1));
        self.entries.push(EpochEntry { epoch, start_offset });
        self.check_invariants();
        Assign::Inserted { removed }
    }

    /// Drops every entry starting at or after `end_offset` (the log was truncated to it).
    /// A negative offset changes nothing, as in Kafka. Returns whether anything went.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        if end_offset < 0 {
            return false;
        }
        let keep = self.entries.partition_point(|e| e.start_offset < end_offset);
        let changed = keep < self.entries.len();
        self.entries.truncate(keep);
        self.check_invariants();
        changed
    }

    /// Drops every entry starting at or before `start_offset` (the log start moved there)
    /// and puts the last of them back starting at `start_offset`. Returns whether anything
    /// changed.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let dropped = self.entries.partition_point(|e| e.start_offset <= start_offset);
        let Some(last_dropped) = dropped.checked_sub(1).map(|i| self.entries[i]) else {
            return false;
        };
        let changed = dropped > 1 || last_dropped.start_offset != start_offset;
        self.entries.drain(..dropped);
        self.entries.insert(0, EpochEntry { epoch: last_dropped.epoch, start_offset });
        self.check_invariants();
        changed
    }

    /// Forgets every entry (the log was emptied). Returns whether there were any.
    pub fn clear(&mut self) -> bool {
        let changed = !self.entries.is_empty();
        self.entries.clear();
        self.check_invariants();
        changed
    }

    /// Kafka's `endOffsetFor`: the epoch that `requested_epoch` resolves to here and the
    /// offset where it ended, or `None` for Kafka's `(-1, -1)` (undefined):
    ///
    /// | case                                   | result                                  |
    /// |----------------------------------------|-----------------------------------------|
    /// | `requested_epoch == -1`                | `None`                                  |
    /// | `requested_epoch` is the latest epoch  | `(requested_epoch, log_end_offset)`     |
    /// | no entry with a larger epoch           | `None`                                  |
    /// | no entry at or below `requested_epoch` | `(requested_epoch, first entry's start)`|
    /// | otherwise                              | `(floor entry's epoch, next entry's start)` |
    ///
    /// The last row is KIP-279's fix: the answer names the epoch it belongs to, so a
    /// follower that lacks that epoch knows to ask again.
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if requested_epoch == NO_PARTITION_LEADER_EPOCH {
            return None;
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return Some((requested_epoch, log_end_offset));
        }
        let above = self.entries.partition_point(|e| e.epoch <= requested_epoch);
        let higher = self.entries.get(above)?;
        let floor_epoch = above.checked_sub(1).map_or(requested_epoch, |i| self.entries[i].epoch);
        Some((floor_epoch, higher.start_offset))
    }

    /// The epoch whose entry starts at or most recently before `offset`; `None` before the
    /// first entry (Kafka's `epochForOffset`).
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let after = self.entries.partition_point(|e| e.start_offset <= offset);
        after.checked_sub(1).map(|i| self.entries[i].epoch)
    }

    /// Kafka's `leader-epoch-checkpoint` text: version, count, `epoch startOffset` lines.
    pub fn encode(&self) -> String {
        let mut text = format!("{FILE_VERSION}\n{}\n", self.entries.len());
        for entry in &self.entries {
            text.push_str(&format!("{} {}\n", entry.epoch, entry.start_offset));
        }
        text
    }

    /// Parses a `leader-epoch-checkpoint` file. Whitespace between the two numbers of an
    /// entry is any run of spaces or tabs, as Kafka's reader allows; everything else must
    /// be exact, and the entries must satisfy the cache's invariants.
    pub fn decode(bytes: &[u8]) -> Result<LeaderEpochCache, EpochFileError> {
        let text = std::str::from_utf8(bytes).map_err(|_| EpochFileError::NotUtf8)?;
        let mut lines = text.lines();
        match lines.next() {
            None => return Err(EpochFileError::Empty),
            Some(FILE_VERSION) => {}
            Some(other) => return Err(EpochFileError::UnsupportedVersion(other.to_string())),
        }
        let count_line = lines.next().ok_or(EpochFileError::MissingCount)?;
        let expected: usize = count_line.parse().map_err(|_| EpochFileError::BadCount(count_line.to_string()))?;
        let mut cache = LeaderEpochCache::new();
        for (i, line) in lines.enumerate() {
            let line_number = i + 3;
            if cache.entries.len() == expected {
                return Err(EpochFileError::TooManyEntries { expected });
            }
            let entry = parse_entry(line).ok_or_else(|| EpochFileError::BadEntry { line_number, text: line.into() })?;
            if let Some(previous) = cache.latest_entry() {
                if entry.epoch <= previous.epoch || entry.start_offset <= previous.start_offset {
                    return Err(EpochFileError::NotIncreasing { line_number, previous, entry });
                }
            }
            cache.entries.push(entry);
        }
        if cache.entries.len() < expected {
            return Err(EpochFileError::TooFewEntries { expected, found: cache.entries.len() });
        }
        cache.check_invariants();
        Ok(cache)
    }

    pub(super) fn check_invariants(&self) {
        for entry in &self.entries {
            assert!(entry.epoch >= 0 && entry.start_offset >= 0, "negative epoch entry {entry:?}");
        }
        for pair in self.entries.windows(2) {
            assert!(
                pair[0].epoch < pair[1].epoch && pair[0].start_offset < pair[1].start_offset,
                "epoch entries must strictly increase in epoch and start offset: {:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

fn parse_entry(line: &str) -> Option<EpochEntry> {
    let mut fields = line.split_whitespace();
    let epoch: i32 = fields.next()?.parse().ok()?;
    let start_offset: i64 = fields.next()?.parse().ok()?;
    (fields.next().is_none() && epoch >= 0 && start_offset >= 0).then_some(EpochEntry { epoch, start_offset })
}

/// Why a `leader-epoch-checkpoint` file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochFileError {
    NotUtf8,
    Empty,
    UnsupportedVersion(String),
    MissingCount,
    BadCount(String),
    /// Line `line_number` (1-based) is not two numbers `epoch startOffset`, both `>= 0`.
    BadEntry {
        line_number: usize,
        text: String,
    },
    NotIncreasing {
        line_number: usize,
        previous: EpochEntry,
        entry: EpochEntry,
    },
    TooFewEntries {
        expected: usize,
        found: usize,
    },
    TooManyEntries {
        expected: usize,
    },
    /// Longer than the reader accepts (see `leader_epoch_checkpoint.rs`).
    TooLarge {
        len: u64,
    },
}

impl fmt::Display for EpochFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpochFileError::NotUtf8 => write!(f, "the file is not UTF-8 text"),
            EpochFileError::Empty => write!(f, "the file is empty (no version line)"),
            EpochFileError::UnsupportedVersion(v) => write!(f, "line 1: version `{v}` is not the supported `0`"),
            EpochFileError::MissingCount => write!(f, "line 2: the entry count is missing"),
            EpochFileError::BadCount(c) => write!(f, "line 2: entry count `{c}` is not a number"),
            EpochFileError::BadEntry { line_number, text } => {
                write!(f, "line {line_number}: `{text}` is not `epoch startOffset` (two numbers >= 0)")
            }
            EpochFileError::NotIncreasing { line_number, previous, entry } => write!(
                f,
                "line {line_number}: entry `{} {}` does not follow `{} {}` (epochs and start offsets must \
                 strictly increase)",
                entry.epoch, entry.start_offset, previous.epoch, previous.start_offset
            ),
            EpochFileError::TooFewEntries { expected, found } => {
                write!(f, "the count line says {expected} entries but the file holds {found}")
            }
            EpochFileError::TooManyEntries { expected } => {
                write!(f, "the count line says {expected} entries but the file holds more")
            }
            EpochFileError::TooLarge { len } => write!(f, "the file is {len} bytes, more than an epoch file can be"),
        }
    }
}

impl std::error::Error for EpochFileError {}

#[cfg(test)]
#[path = "leader_epoch_cache_tests.rs"]
mod tests;
