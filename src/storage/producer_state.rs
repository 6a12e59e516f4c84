//! The idempotent producer's per-partition state (Kafka's `ProducerStateManager` and
//! `ProducerStateEntry`), without IO: what a leader checks a produced batch against, how
//! an appended batch updates it, expiry, and the snapshot format.
//!
//! Kafka 4.x's rules for a client batch with a producer id, in the order they apply
//! (GROUPS-AND-TRANSACTIONS.md §5):
//!
//! 1. same epoch and exactly the `(firstSeq, lastSeq)` of one of the producer's last five
//!    batches: a duplicate, answered with the original offsets and written nowhere;
//! 2. a lower epoch: `INVALID_PRODUCER_EPOCH` (a fenced zombie);
//! 4. a higher epoch: `firstSeq` must be 0, else `OUT_OF_ORDER_SEQUENCE_NUMBER`;
//! 5. the same epoch: `firstSeq` must be `lastSeq + 1` (`i32::MAX` wraps to 0), else
//!    `OUT_OF_ORDER_SEQUENCE_NUMBER`, so a stale duplicate older than the five cached
//!    batches fails instead of being written twice; a producer without state may start
//!    at any sequence.
//!
//! Rules 3 and 6 (KIP-890 verification entries; a non-transactional batch during an open
//! transaction) and everything else about transactions (coordinator epoch, the current
//! transaction's first offset, markers) arrive with transactions; until then a
//! transactional batch is checked like any idempotent one, control batches (markers)
//! leave the state alone, and snapshots write `coordinatorEpoch = -1` and
//! `currentTxnFirstOffset = -1`.
//!
//! Batches without a producer id (`producerId < 0`), and replica batches carrying a
//! producer id but no sequence (`baseSequence < 0`, which a leader rejects), are not
//! idempotent: no checks, no state.
//!
//! Snapshot file layout (Kafka's `ProducerStateManager.writeSnapshot`, version 1; all
//! big-endian):
//!
//! ```text
//! version: int16                     1
//! crc: uint32                        CRC-32C of every byte after this field
//! count: int32                       producer entries, sorted by producer id
//! entries[count]:
//!   producerId: int64
//!   epoch: int16
//!   lastSequence: int32              of the producer's newest batch
//!   lastOffset: int64                of the producer's newest batch
//!   offsetDelta: int32               lastOffset - firstOffset of that batch
//!   timestamp: int64                 the producer's last timestamp (that batch's max)
//!   coordinatorEpoch: int32          -1 (transactions)
//!   currentTxnFirstOffset: int64     -1 (transactions)
//! ```
//!
//! Only the newest batch of each producer is kept, as in Kafka: after loading a snapshot,
//! a re-send of an older one of the five is out of order, not a duplicate.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::record_batch::BatchHeader;

/// Batches remembered per producer (Kafka's `NUM_BATCHES_TO_RETAIN`): an idempotent client
/// has at most five requests in flight per partition.
pub const BATCHES_PER_PRODUCER: usize = 5;
/// The snapshot format version (Kafka's `PRODUCER_SNAPSHOT_VERSION`).
pub const SNAPSHOT_VERSION: i16 = 1;
/// Bytes before the CRC-covered part: version and CRC.
const SNAPSHOT_CRC_START: usize = 6;
/// Bytes of the fixed snapshot header: version, CRC, entry count.
const SNAPSHOT_HEADER_BYTES: usize = SNAPSHOT_CRC_START + 4;
/// Bytes of one snapshot entry.
const SNAPSHOT_ENTRY_BYTES: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

/// `sequence + increment` in the sequence space `[0, i32::MAX]`, wrapping to 0 (Kafka's
/// `DefaultRecordBatch.incrementSequence`). `sequence` and `increment` are non-negative.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    debug_assert!(sequence >= 0 && increment >= 0);
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// `sequence - decrement` in the sequence space, wrapping below 0 to `i32::MAX` (Kafka's
/// `DefaultRecordBatch.decrementSequence`). Both non-negative.
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    debug_assert!(sequence >= 0 && decrement >= 0);
    if sequence < decrement {
        i32::MAX - (decrement - sequence) + 1
    } else {
        sequence - decrement
    }
}

/// What the state remembers of one appended batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

impl BatchMetadata {
    fn of(header: &BatchHeader) -> Self {
        BatchMetadata {
            first_seq: header.base_sequence,
            last_seq: increment_sequence(header.base_sequence, header.last_offset_delta),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
        }
    }
}

/// One producer's state in a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerEntry {
    epoch: i16,
    /// The newest batches appended at `epoch`, oldest first.
    batches: VecDeque<BatchMetadata>,
    /// The newest batch's max record timestamp; expiry measures idleness from it.
    last_timestamp: i64,
}

impl ProducerEntry {
    pub fn epoch(&self) -> i16 {
        self.epoch
    }

    /// The remembered batches, oldest first.
    pub fn batches(&self) -> impl Iterator<Item = &BatchMetadata> {
        self.batches.iter()
    }

    pub fn last_batch(&self) -> &BatchMetadata {
        self.batches.back().expect("an entry holds at least one batch")
    }

    pub fn last_timestamp(&self) -> i64 {
        self.last_timestamp
    }

    /// The sequence the producer's next batch at this epoch must start with.
    pub fn next_sequence(&self) -> i32 {
        increment_sequence(self.last_batch().last_seq, 1)
    }

    fn check_invariants(&self, producer_id: i64, end_offset: i64) {
        assert!(producer_id >= 0, "state kept for producer id {producer_id}");
        assert!(
            (1..=BATCHES_PER_PRODUCER).contains(&self.batches.len()),
            "producer {producer_id} holds {} batches",
            self.batches.len()
        );
        let mut previous_last = None::<i64>;
        for batch in &self.batches {
            assert!(0 <= batch.first_offset && batch.first_offset <= batch.last_offset, "{batch:?}");
            assert!(previous_last.is_none_or(|last| last < batch.first_offset), "batches out of order");
            assert!(batch.first_seq >= 0 && batch.last_seq >= 0, "negative sequence in {batch:?}");
            let delta = i32::try_from(batch.last_offset - batch.first_offset).expect("batch span fits in i32");
            assert_eq!(batch.last_seq, increment_sequence(batch.first_seq, delta), "sequences disagree with offsets");
            previous_last = Some(batch.last_offset);
        }
        assert!(self.last_batch().last_offset < end_offset, "producer {producer_id} batch at or above the state's end");
        assert_eq!(self.last_timestamp, self.last_batch().max_timestamp, "last timestamp is the newest batch's");
    }
}

/// What [`ProducerStateManager::check`] decided for a client batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// No producer id (or no sequence): nothing to check.
    NotIdempotent,
    /// The batch continues the producer's sequence (or starts one): append it.
    InSequence,
    /// The batch was already appended: answer with its original offsets, write nothing.
    Duplicate { first_offset: i64, last_offset: i64, max_timestamp: i64 },
}

/// Why a client batch is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerError {
    /// Kafka's `OUT_OF_ORDER_SEQUENCE_NUMBER` (45).
    OutOfOrderSequence { producer_id: i64, expected_sequence: i32, found_sequence: i32 },
    /// Kafka's `INVALID_PRODUCER_EPOCH` (47): a newer producer instance fenced this one.
    InvalidProducerEpoch { producer_id: i64, current_epoch: i16, found_epoch: i16 },
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProducerError::OutOfOrderSequence { producer_id, expected_sequence, found_sequence } => write!(
                f,
                "out of order sequence for producer {producer_id}: expected {expected_sequence}, found {found_sequence}"
            ),
            ProducerError::InvalidProducerEpoch { producer_id, current_epoch, found_epoch } => {
                write!(f, "producer {producer_id} epoch {found_epoch} is older than the current epoch {current_epoch}")
            }
        }
    }
}

impl std::error::Error for ProducerError {}

/// Why snapshot bytes were not loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    Truncated {
        len: usize,
    },
    UnknownVersion(i16),
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// The CRC matched but the content contradicts itself or the snapshot's offset.
    Invalid(&'static str),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Truncated { len } => write!(f, "snapshot of {len} bytes is cut short"),
            SnapshotError::UnknownVersion(v) => write!(f, "unknown snapshot version {v}"),
            SnapshotError::CrcMismatch { stored, computed } => {
                write!(f, "snapshot CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")
            }
            SnapshotError::Invalid(why) => write!(f, "invalid snapshot: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// The producer state of one partition: every producer seen in the batches below
/// `end_offset`.
///
/// Invariants:
/// - every entry is for a producer id >= 0 and holds 1 to [`BATCHES_PER_PRODUCER`]
///   batches, all appended at the entry's epoch (the list is cleared when the epoch
///   changes), in offset order and not overlapping;
/// - every batch's `last_seq` is its `first_seq` plus its offset span in the wrapping
///   sequence space, and both are in `[0, i32::MAX]`;
/// - every batch lies below `end_offset`, the offset up to which the state describes the
///   log (the log end offset, once the log has applied an append);
/// - an entry's `last_timestamp` is its newest batch's max timestamp.
///
/// Asserted after every transition (after [`update`](Self::update), on the entry it
/// touched, the others being unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: BTreeMap<i64, ProducerEntry>,
    end_offset: i64,
}

impl ProducerStateManager {
    /// An empty state for a log whose batches start at `end_offset`.
    pub fn new(end_offset: i64) -> Self {
        ProducerStateManager { producers: BTreeMap::new(), end_offset }
    }

    /// The state describes the batches below this offset.
    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer with state, by producer id.
    pub fn producers(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> {
        self.producers.iter().map(|(id, entry)| (*id, entry))
    }

    /// Checks a client batch against the producer's state, by Kafka's rules in order (see
    /// the module docs). Reads nothing but the header's producer fields.
    pub fn check(&self, header: &BatchHeader) -> Result<Check, ProducerError> {
        if !is_idempotent(header) {
            return Ok(Check::NotIdempotent);
        }
        let producer_id = header.producer_id;
        let first_seq = header.base_sequence;
        let Some(entry) = self.producers.get(&producer_id) else {
            // No state: any sequence may start the producer's history here.
            return Ok(Check::InSequence);
        };
        // 1. A duplicate of one of the cached batches.
        if header.producer_epoch == entry.epoch {
            let last_seq = increment_sequence(first_seq, header.last_offset_delta);
            if let Some(batch) = entry.batches.iter().find(|b| b.first_seq == first_seq && b.last_seq == last_seq) {
                return Ok(Check::Duplicate {
                    first_offset: batch.first_offset,
                    last_offset: batch.last_offset,
                    max_timestamp: batch.max_timestamp,
                });
            }
        }
        // 2. A fenced epoch.
        if header.producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id,
                current_epoch: entry.epoch,
                found_epoch: header.producer_epoch,
            });
        }
        // 4. A new epoch starts at sequence 0; 5. the same epoch continues the sequence.
        let expected_sequence = if header.producer_epoch > entry.epoch { 0 } else { entry.next_sequence() };
        if first_seq != expected_sequence {
            return Err(ProducerError::OutOfOrderSequence {
                producer_id,
                expected_sequence,
                found_sequence: first_seq,
            });
        }
        Ok(Check::InSequence)
    }

    /// Records an appended batch (offsets assigned; it starts at `end_offset`). Every
    /// appended batch goes through here, idempotent or not, so `end_offset` follows the
    /// log. Unchecked: a replica's batches are taken as the leader wrote them (an epoch
    /// change, up or down, clears the cached batches).
    pub fn update(&mut self, header: &BatchHeader) {
        assert_eq!(header.base_offset, self.end_offset, "producer state updated out of offset order");
        self.end_offset = header.last_offset() + 1;
        if !is_idempotent(header) {
            return;
        }
        let batch = BatchMetadata::of(header);
        let entry = self.producers.entry(header.producer_id).or_insert_with(|| ProducerEntry {
            epoch: header.producer_epoch,
            batches: VecDeque::with_capacity(BATCHES_PER_PRODUCER),
            last_timestamp: header.max_timestamp,
        });
        if entry.epoch != header.producer_epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_PER_PRODUCER {
            entry.batches.pop_front();
        }
        entry.batches.push_back(batch);
        entry.last_timestamp = header.max_timestamp;
        entry.check_invariants(header.producer_id, self.end_offset);
    }

    /// A copy holding only the given producers' entries, to check several batches of one
    /// append in order without touching this state.
    pub fn staged(&self, producer_ids: impl IntoIterator<Item = i64>) -> Self {
        let mut staged = ProducerStateManager::new(self.end_offset);
        for id in producer_ids {
            if let Some(entry) = self.producers.get(&id) {
                staged.producers.insert(id, entry.clone());
            }
        }
        staged.check_invariants();
        staged
    }

    /// Forgets producers idle for `expiration_ms` or longer: whose last timestamp (a
    /// record timestamp) is at least that far before `now_ms` (Kafka's
    /// `producer.id.expiration.ms` check). Returns the expired producer ids.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> Vec<i64> {
        let expired: Vec<i64> = self
            .producers
            .iter()
            .filter(|(_, entry)| now_ms.saturating_sub(entry.last_timestamp) >= expiration_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            self.producers.remove(id);
        }
        self.check_invariants();
        expired
    }

    /// Encodes the state as a Kafka snapshot (see the module docs): the newest batch of
    /// each producer, sorted by producer id.
    pub fn encode_snapshot(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(SNAPSHOT_HEADER_BYTES + self.producers.len() * SNAPSHOT_ENTRY_BYTES);
        out.put_i16(SNAPSHOT_VERSION);
        out.put_u32(0); // CRC, filled below
        out.put_i32(i32::try_from(self.producers.len()).expect("producer count fits in i32"));
        for (id, entry) in &self.producers {
            let last = entry.last_batch();
            out.put_i64(*id);
            out.put_i16(entry.epoch);
            out.put_i32(last.last_seq);
            out.put_i64(last.last_offset);
            out.put_i32(i32::try_from(last.last_offset - last.first_offset).expect("batch span fits in i32"));
            out.put_i64(entry.last_timestamp);
            out.put_i32(-1); // coordinatorEpoch
            out.put_i64(-1); // currentTxnFirstOffset
        }
        let crc = crc32c::crc32c(&out[SNAPSHOT_CRC_START..]);
        out[2..SNAPSHOT_CRC_START].copy_from_slice(&crc.to_be_bytes());
        out.freeze()
    }

    /// Decodes a snapshot taken at `snapshot_offset` into a state ending there. Entries
    /// without a data batch (`lastOffset < 0`: a producer known only by a transaction
    /// marker) are skipped.
    pub fn decode_snapshot(bytes: &[u8], snapshot_offset: i64) -> Result<Self, SnapshotError> {
        if bytes.len() < SNAPSHOT_HEADER_BYTES {
            return Err(SnapshotError::Truncated { len: bytes.len() });
        }
        let version = i16::from_be_bytes([bytes[0], bytes[1]]);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnknownVersion(version));
        }
        let stored = u32::from_be_bytes(bytes[2..6].try_into().expect("4 bytes"));
        let computed = crc32c::crc32c(&bytes[SNAPSHOT_CRC_START..]);
        if stored != computed {
            return Err(SnapshotError::CrcMismatch { stored, computed });
        }
        let count = i32::from_be_bytes(bytes[6..10].try_into().expect("4 bytes"));
        let count = usize::try_from(count).map_err(|_| SnapshotError::Invalid("negative entry count"))?;
        let expected_len = count
            .checked_mul(SNAPSHOT_ENTRY_BYTES)
            .and_then(|n| n.checked_add(SNAPSHOT_HEADER_BYTES))
            .ok_or(SnapshotError::Invalid("entry count overflows"))?;
        if bytes.len() != expected_len {
            return Err(SnapshotError::Invalid("length disagrees with the entry count"));
        }
        let mut state = ProducerStateManager::new(snapshot_offset);
        let mut reader = Reader { buf: &bytes[SNAPSHOT_HEADER_BYTES..] };
        for _ in 0..count {
            let producer_id = reader.i64();
            let epoch = reader.i16();
            let last_seq = reader.i32();
            let last_offset = reader.i64();
            let offset_delta = reader.i32();
            let timestamp = reader.i64();
            let _coordinator_epoch = reader.i32();
            let _current_txn_first_offset = reader.i64();
            if last_offset < 0 {
                continue;
            }
            if producer_id < 0 || last_seq < 0 || offset_delta < 0 {
                return Err(SnapshotError::Invalid("negative producer id, sequence or offset delta"));
            }
            let first_offset = last_offset - i64::from(offset_delta);
            if first_offset < 0 || last_offset >= snapshot_offset {
                return Err(SnapshotError::Invalid("batch outside the offsets the snapshot covers"));
            }
            let batch = BatchMetadata {
                first_seq: decrement_sequence(last_seq, offset_delta),
                last_seq,
                first_offset,
                last_offset,
                max_timestamp: timestamp,
            };
            let entry = ProducerEntry { epoch, batches: VecDeque::from([batch]), last_timestamp: timestamp };
            if state.producers.insert(producer_id, entry).is_some() {
                return Err(SnapshotError::Invalid("a producer id appears twice"));
            }
        }
        state.check_invariants();
        Ok(state)
    }

    fn check_invariants(&self) {
        for (id, entry) in &self.producers {
            entry.check_invariants(*id, self.end_offset);
        }
    }
}

/// Whether a batch takes part in the idempotent producer's checks and state.
fn is_idempotent(header: &BatchHeader) -> bool {
    header.producer_id >= 0 && header.base_sequence >= 0 && !header.is_control()
}

/// Big-endian reads over a buffer whose length was checked beforehand.
struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.buf.split_at(N);
        self.buf = rest;
        head.try_into().expect("length checked")
    }

    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take())
    }

    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take())
    }

    fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCER: i64 = 7;

    /// A client batch of `records` records from `PRODUCER` (offsets unassigned: 0).
    fn batch(epoch: i16, first_seq: i32, records: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            size_bytes: 100,
            partition_leader_epoch: 0,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 1_000,
            max_timestamp: 1_000 + i64::from(first_seq),
            producer_id: PRODUCER,
            producer_epoch: epoch,
            base_sequence: first_seq,
            records_count: records,
        }
    }

    /// Appends `header` at the state's end, as the log does after a successful write.
    fn append(state: &mut ProducerStateManager, header: BatchHeader) -> BatchHeader {
        let appended = BatchHeader { base_offset: state.end_offset(), ..header };
        state.update(&appended);
        appended
    }

    /// Checks, then appends if in sequence.
    fn produce(state: &mut ProducerStateManager, header: BatchHeader) -> Result<Check, ProducerError> {
        let check = state.check(&header)?;
        if check == Check::InSequence {
            append(state, header);
        }
        Ok(check)
    }

    fn out_of_order(expected_sequence: i32, found_sequence: i32) -> Result<Check, ProducerError> {
        Err(ProducerError::OutOfOrderSequence { producer_id: PRODUCER, expected_sequence, found_sequence })
    }

    #[test]
    fn a_producer_without_state_may_start_at_any_sequence() {
        let mut state = ProducerStateManager::new(0);
        assert_eq!(produce(&mut state, batch(3, 42, 2)), Ok(Check::InSequence));
        assert_eq!(produce(&mut state, batch(3, 44, 1)), Ok(Check::InSequence));
        assert_eq!(state.get(PRODUCER).unwrap().next_sequence(), 45);
    }

    #[test]
    fn a_duplicate_of_one_of_the_last_five_batches_returns_its_original_offsets() {
        let mut state = ProducerStateManager::new(100);
        let mut appended = Vec::new();
        for i in 0..5 {
            appended.push(append(&mut state, batch(0, i * 3, 3)));
        }
        // Other producers' batches in between do not matter.
        append(&mut state, BatchHeader { producer_id: 8, ..batch(0, 0, 1) });
        for original in &appended {
            let resent = BatchHeader { base_offset: 0, ..*original };
            assert_eq!(
                state.check(&resent),
                Ok(Check::Duplicate {
                    first_offset: original.base_offset,
                    last_offset: original.last_offset(),
                    max_timestamp: original.max_timestamp,
                })
            );
        }
        assert_eq!(state.end_offset(), 116, "a check changes nothing");
    }

    #[test]
    fn a_duplicate_must_match_both_first_and_last_sequence() {
        let mut state = ProducerStateManager::new(0);
        append(&mut state, batch(0, 0, 3));
        append(&mut state, batch(0, 3, 3));
        // Same first sequence, different length: not the batch that was appended.
        assert_eq!(produce(&mut state, batch(0, 3, 2)), out_of_order(6, 3));
    }

    #[test]
    fn a_batch_older_than_the_five_cached_is_out_of_order_not_duplicate() {
        let mut state = ProducerStateManager::new(0);
        for i in 0..6 {
            append(&mut state, batch(0, i, 1));
        }
        assert_eq!(produce(&mut state, batch(0, 0, 1)), out_of_order(6, 0), "sequence 0 fell out of the cache");
        assert!(matches!(produce(&mut state, batch(0, 1, 1)), Ok(Check::Duplicate { first_offset: 1, .. })));
    }

    #[test]
    fn a_sequence_gap_is_out_of_order() {
        let mut state = ProducerStateManager::new(0);
        produce(&mut state, batch(0, 0, 2)).unwrap();
        assert_eq!(produce(&mut state, batch(0, 3, 1)), out_of_order(2, 3));
        assert_eq!(produce(&mut state, batch(0, 1, 1)), out_of_order(2, 1), "overlapping, not a duplicate");
        assert_eq!(state.end_offset(), 2);
        assert_eq!(produce(&mut state, batch(0, 2, 1)), Ok(Check::InSequence));
    }

    #[test]
    fn a_lower_epoch_is_fenced() {
        let mut state = ProducerStateManager::new(0);
        produce(&mut state, batch(5, 0, 1)).unwrap();
        let fenced =
            Err(ProducerError::InvalidProducerEpoch { producer_id: PRODUCER, current_epoch: 5, found_epoch: 4 });
        assert_eq!(produce(&mut state, batch(4, 1, 1)), fenced);
        // Fencing comes before the sequence rules, and a duplicate needs the same epoch.
        assert_eq!(produce(&mut state, batch(4, 0, 1)), fenced);
    }

    #[test]
    fn a_new_epoch_must_start_at_sequence_zero() {
        let mut state = ProducerStateManager::new(0);
        for i in 0..3 {
            produce(&mut state, batch(0, i, 1)).unwrap();
        }
        assert_eq!(produce(&mut state, batch(1, 3, 1)), out_of_order(0, 3));
        assert_eq!(produce(&mut state, batch(1, 0, 2)), Ok(Check::InSequence));
        let entry = state.get(PRODUCER).unwrap();
        assert_eq!((entry.epoch(), entry.batches().count()), (1, 1), "the epoch change cleared the cache");
        // The old epoch's batches are no duplicates now, and the old epoch is fenced.
        assert!(matches!(produce(&mut state, batch(0, 1, 1)), Err(ProducerError::InvalidProducerEpoch { .. })));
    }

    #[test]
    fn sequence_wraps_after_i32_max() {
        let mut state = ProducerStateManager::new(0);
        produce(&mut state, batch(0, i32::MAX - 1, 2)).unwrap();
        assert_eq!(state.get(PRODUCER).unwrap().last_batch().last_seq, i32::MAX);
        assert_eq!(produce(&mut state, batch(0, 0, 3)), Ok(Check::InSequence));
        // A batch spanning the wrap: last sequence 1.
        produce(&mut state, batch(0, 3, 1)).unwrap();
        let mut wrapping = ProducerStateManager::new(0);
        produce(&mut wrapping, batch(0, i32::MAX - 1, 4)).unwrap();
        assert_eq!(wrapping.get(PRODUCER).unwrap().last_batch().last_seq, 1);
        assert!(matches!(wrapping.check(&batch(0, i32::MAX - 1, 4)), Ok(Check::Duplicate { .. })));
        assert_eq!(produce(&mut wrapping, batch(0, 3, 1)), out_of_order(2, 3));
        assert_eq!(produce(&mut wrapping, batch(0, 2, 1)), Ok(Check::InSequence));
        assert_eq!(decrement_sequence(1, 3), i32::MAX - 1);
    }

    #[test]
    fn batches_without_a_producer_id_are_not_checked_and_leave_no_state() {
        let mut state = ProducerStateManager::new(0);
        let plain = BatchHeader { producer_id: -1, producer_epoch: -1, base_sequence: -1, ..batch(0, 0, 4) };
        assert_eq!(state.check(&plain), Ok(Check::NotIdempotent));
        append(&mut state, plain);
        assert!(state.is_empty());
        assert_eq!(state.end_offset(), 4, "the end still follows the log");
    }

    #[test]
    fn replica_updates_are_not_checked() {
        let mut state = ProducerStateManager::new(0);
        append(&mut state, batch(2, 0, 1));
        // A gap, then a lower epoch: a follower copies what its leader accepted.
        append(&mut state, batch(2, 10, 1));
        append(&mut state, batch(1, 4, 1));
        let entry = state.get(PRODUCER).unwrap();
        assert_eq!((entry.epoch(), entry.next_sequence(), entry.batches().count()), (1, 5, 1));
    }

    #[test]
    fn expiry_forgets_producers_idle_for_the_expiration() {
        let mut state = ProducerStateManager::new(0);
        append(&mut state, BatchHeader { max_timestamp: 1_000, ..batch(0, 0, 1) });
        append(&mut state, BatchHeader { producer_id: 9, max_timestamp: 5_000, ..batch(0, 0, 1) });
        assert_eq!(state.expire(10_999, 10_000), Vec::<i64>::new());
        assert_eq!(state.expire(11_000, 10_000), vec![PRODUCER]);
        assert_eq!(state.producers().map(|(id, _)| id).collect::<Vec<_>>(), vec![9]);
        // An expired producer has no state: any sequence starts it again.
        assert_eq!(state.check(&batch(0, 77, 1)), Ok(Check::InSequence));
    }

    #[test]
    fn several_batches_are_checked_in_order_on_a_staged_copy() {
        let mut state = ProducerStateManager::new(0);
        append(&mut state, batch(0, 0, 1));
        let mut staged = state.staged([PRODUCER]);
        assert_eq!(produce(&mut staged, batch(0, 1, 1)), Ok(Check::InSequence));
        assert_eq!(produce(&mut staged, batch(0, 2, 1)), Ok(Check::InSequence));
        assert_eq!(state.get(PRODUCER).unwrap().next_sequence(), 1, "the state itself is untouched");
    }

    #[test]
    fn snapshot_round_trips_the_newest_batch_per_producer() {
        let mut state = ProducerStateManager::new(10);
        for i in 0..3 {
            append(&mut state, batch(4, i * 2, 2));
        }
        append(&mut state, BatchHeader { producer_id: 3, ..batch(0, i32::MAX, 3) });
        let bytes = state.encode_snapshot();
        assert_eq!(bytes.len(), SNAPSHOT_HEADER_BYTES + 2 * SNAPSHOT_ENTRY_BYTES);
        let loaded = ProducerStateManager::decode_snapshot(&bytes, state.end_offset()).unwrap();
        assert_eq!(loaded.end_offset(), 19);
        let entry = loaded.get(PRODUCER).unwrap();
        assert_eq!(entry.epoch(), 4);
        assert_eq!(entry.batches().copied().collect::<Vec<_>>(), vec![*state.get(PRODUCER).unwrap().last_batch()]);
        let wrapped = loaded.get(3).unwrap().last_batch();
        assert_eq!((wrapped.first_seq, wrapped.last_seq, wrapped.first_offset), (i32::MAX, 1, 16));
        // The newest batch is still a duplicate after loading; an older one is not.
        assert!(matches!(loaded.check(&batch(4, 4, 2)), Ok(Check::Duplicate { first_offset: 14, .. })));
        assert!(loaded.check(&batch(4, 2, 2)).is_err());
        assert_eq!(loaded.encode_snapshot(), bytes, "encoding is deterministic");
    }

    #[test]
    fn snapshot_layout_is_kafkas() {
        let mut state = ProducerStateManager::new(0);
        append(&mut state, BatchHeader { max_timestamp: 77, ..batch(2, 5, 3) });
        let bytes = state.encode_snapshot();
        let mut expected = vec![0, 1]; // version 1
        expected.extend_from_slice(&crc32c::crc32c(&bytes[6..]).to_be_bytes());
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&PRODUCER.to_be_bytes());
        expected.extend_from_slice(&2i16.to_be_bytes());
        expected.extend_from_slice(&7i32.to_be_bytes()); // last sequence
        expected.extend_from_slice(&2i64.to_be_bytes()); // last offset
        expected.extend_from_slice(&2i32.to_be_bytes()); // offset delta
        expected.extend_from_slice(&77i64.to_be_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(&bytes[..], &expected[..]);
    }

    #[test]
    fn a_snapshot_with_a_bad_crc_is_rejected() {
        let mut state = ProducerStateManager::new(0);
        append(&mut state, batch(0, 0, 1));
        let clean = state.encode_snapshot().to_vec();
        for bit in 0..clean.len() * 8 {
            let mut bytes = clean.clone();
            bytes[bit / 8] ^= 1 << (bit % 8);
            assert!(ProducerStateManager::decode_snapshot(&bytes, 1).is_err(), "bit {bit}");
        }
        assert!(matches!(
            ProducerStateManager::decode_snapshot(&clean[..clean.len() - 1], 1),
            Err(SnapshotError::CrcMismatch { .. })
        ));
        assert!(matches!(ProducerStateManager::decode_snapshot(&clean[..5], 1), Err(SnapshotError::Truncated { .. })));
        assert_eq!(
            ProducerStateManager::decode_snapshot(&clean, 0),
            Err(SnapshotError::Invalid("batch outside the offsets the snapshot covers"))
        );
    }
}
