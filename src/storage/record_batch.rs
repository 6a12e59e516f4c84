//! Kafka v2 record batches, as stored: the 61-byte header is parsed and checked, the
//! records after it are never re-encoded (see DESIGN.md, "Wire protocol").
//!
//! ```text
//! baseOffset: int64            0   rewritten in place on append; outside the CRC
//! batchLength: int32           8   bytes after this field
//! partitionLeaderEpoch: int32 12   outside the CRC
//! magic: int8                 16   must be 2
//! crc: uint32                 17   CRC32C of bytes 21..end
//! attributes: int16           21
//! lastOffsetDelta: int32      23
//! baseTimestamp: int64        27
//! maxTimestamp: int64         35
//! producerId: int64           43
//! producerEpoch: int16        51
//! baseSequence: int32         53
//! recordsCount: int32         57
//! records                     61
//! ```

use std::fmt;

/// Bytes before `batchLength`'s payload starts: baseOffset + batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the v2 batch header, up to the first record.
pub const HEADER_BYTES: usize = 61;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const CURRENT_MAGIC: i8 = 2;

/// The parsed header of one stored v2 record batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Total size of the batch on disk, header included.
    pub size_bytes: usize,
    pub partition_leader_epoch: i32,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Offsets this batch spans (`lastOffsetDelta + 1`).
    pub fn offset_count(&self) -> i64 {
        i64::from(self.last_offset_delta) + 1
    }

    /// The compression codec id (attributes bits 0-2): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & 0x07
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// Why bytes are not a valid stored batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or than `batchLength` claims: a torn or cut batch.
    Truncated {
        needed: usize,
        available: usize,
    },
    /// `batchLength` smaller than a header or beyond the allowed maximum.
    InvalidLength(i32),
    UnsupportedMagic(i8),
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// Header fields that contradict each other (negative deltas or counts, count and
    /// offset range disagreeing in a producer batch).
    InvalidHeader(&'static str),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Truncated { needed, available } => {
                write!(f, "truncated batch: needs {needed} bytes, {available} available")
            }
            BatchError::InvalidLength(len) => write!(f, "invalid batchLength {len}"),
            BatchError::UnsupportedMagic(magic) => write!(f, "unsupported magic {magic}"),
            BatchError::CrcMismatch { stored, computed } => {
                write!(f, "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")
            }
            BatchError::InvalidHeader(why) => write!(f, "invalid batch header: {why}"),
        }
    }
}

impl std::error::Error for BatchError {}

/// Whether [`parse_batch`] recomputes the CRC.
///
/// `Verify` wherever the broker acts on the bytes (appends, recovery, truncation,
/// producer-state rebuild, record lookups). `Skip` only where whole batches are handed to a
/// reader that checks each CRC itself — consumer fetches, as in Kafka — and for the
/// deliberately broken recovery the log's property test must catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrcCheck {
    Verify,
    Skip,
}

/// Reads the total size of the batch starting at `buf[0]` from its `batchLength`, without
/// validating anything else. `None` if fewer than 12 bytes are available.
pub fn peek_size(buf: &[u8]) -> Option<Result<usize, BatchError>> {
    if buf.len() < LOG_OVERHEAD {
        return None;
    }
    let batch_length = read_i32(buf, 8);
    let min_length = (HEADER_BYTES - LOG_OVERHEAD) as i32;
    if batch_length < min_length {
        return Some(Err(BatchError::InvalidLength(batch_length)));
    }
    Some(Ok(LOG_OVERHEAD + batch_length as usize))
}

/// Parses and validates the batch at the start of `buf`: length, magic, CRC and header
/// consistency. `max_size_bytes` bounds `batchLength` so a corrupt length cannot make a
/// caller read (or allocate) more than it allows.
pub fn parse_batch(buf: &[u8], max_size_bytes: usize, crc: CrcCheck) -> Result<BatchHeader, BatchError> {
    let size_bytes = match peek_size(buf) {
        None => return Err(BatchError::Truncated { needed: LOG_OVERHEAD, available: buf.len() }),
        Some(size) => size?,
    };
    if size_bytes > max_size_bytes {
        return Err(BatchError::InvalidLength(read_i32(buf, 8)));
    }
    if buf.len() < size_bytes {
        return Err(BatchError::Truncated { needed: size_bytes, available: buf.len() });
    }
    let magic = buf[MAGIC_OFFSET] as i8;
    if magic != CURRENT_MAGIC {
        return Err(BatchError::UnsupportedMagic(magic));
    }
    let header = read_header(buf);
    if crc == CrcCheck::Verify {
        let computed = crc32c::crc32c(&buf[ATTRIBUTES_OFFSET..size_bytes]);
        if computed != header.crc {
            return Err(BatchError::CrcMismatch { stored: header.crc, computed });
        }
    }
    if header.last_offset_delta < 0 {
        return Err(BatchError::InvalidHeader("negative lastOffsetDelta"));
    }
    if header.records_count < 0 {
        return Err(BatchError::InvalidHeader("negative recordsCount"));
    }
    if header.base_offset < 0 || header.base_offset.checked_add(header.offset_count()).is_none() {
        return Err(BatchError::InvalidHeader("baseOffset out of range"));
    }
    Ok(header)
}

/// Reads the header fields of the batch at the start of `buf` (at least [`HEADER_BYTES`]
/// long) as they are, validating nothing; `size_bytes` comes from `batchLength`.
pub fn read_header(buf: &[u8]) -> BatchHeader {
    BatchHeader {
        base_offset: read_i64(buf, 0),
        size_bytes: LOG_OVERHEAD.saturating_add_signed(read_i32(buf, 8) as isize),
        partition_leader_epoch: read_i32(buf, 12),
        crc: read_u32(buf, CRC_OFFSET),
        attributes: read_i16(buf, ATTRIBUTES_OFFSET),
        last_offset_delta: read_i32(buf, 23),
        base_timestamp: read_i64(buf, 27),
        max_timestamp: read_i64(buf, 35),
        producer_id: read_i64(buf, 43),
        producer_epoch: read_i16(buf, 51),
        base_sequence: read_i32(buf, 53),
        records_count: read_i32(buf, 57),
    }
}

/// Checks what a producer may send beyond [`parse_batch`]: Kafka's `LogValidator` requires
/// a producer batch to hold at least one record and its offset range to match its count
/// (only compaction may leave gaps, and compaction happens on the broker).
pub fn validate_producer_batch(header: &BatchHeader) -> Result<(), BatchError> {
    if header.records_count == 0 {
        return Err(BatchError::InvalidHeader("batch holds no records"));
    }
    if header.offset_count() != i64::from(header.records_count) {
        return Err(BatchError::InvalidHeader("recordsCount does not match lastOffsetDelta + 1"));
    }
    Ok(())
}

/// Rewrites `baseOffset` in place. It lies outside the CRC, so the batch stays valid.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Rewrites `partitionLeaderEpoch` in place (also outside the CRC).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Stamps a batch with the broker's time (`message.timestamp.type=LogAppendTime`): sets the
/// timestamp-type attribute bit and `maxTimestamp`, then recomputes the CRC, which covers
/// both. Records keep their own deltas; readers use `maxTimestamp` for every record of a
/// log-append-time batch. `batch` must be a whole batch that passed [`parse_batch`].
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attributes = read_i16(batch, ATTRIBUTES_OFFSET) | 0x08;
    batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

fn read_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([buf[at], buf[at + 1]])
}

fn read_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn read_i64(buf: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

/// Builds valid v2 batches of uncompressed records: for tests, benchmarks, the simulator's
/// workloads and tools. Records carry a key and value and no headers.
pub mod build {
    use bytes::{BufMut, Bytes, BytesMut};

    /// One record to put in a batch.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Record<'a> {
        pub timestamp_ms: i64,
        pub key: Option<&'a [u8]>,
        pub value: Option<&'a [u8]>,
    }

    /// Producer fields of a batch; `NONE` for a non-idempotent producer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ProducerFields {
        pub producer_id: i64,
        pub producer_epoch: i16,
        pub base_sequence: i32,
    }

    impl ProducerFields {
        pub const NONE: ProducerFields = ProducerFields { producer_id: -1, producer_epoch: -1, base_sequence: -1 };
    }

    /// Encodes `records` as one uncompressed v2 batch with `baseOffset` 0.
    pub fn batch(records: &[Record<'_>], producer: ProducerFields) -> Bytes {
        assert!(!records.is_empty(), "a batch holds at least one record");
        let base_timestamp = records[0].timestamp_ms;
        let max_timestamp = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(base_timestamp);
        let mut body = BytesMut::new();
        for (delta, record) in records.iter().enumerate() {
            let mut rec = BytesMut::new();
            rec.put_i8(0); // attributes
            put_varlong(&mut rec, record.timestamp_ms - base_timestamp);
            put_varlong(&mut rec, delta as i64);
            put_bytes(&mut rec, record.key);
            put_bytes(&mut rec, record.value);
            put_varlong(&mut rec, 0); // header count
            put_varlong(&mut body, rec.len() as i64);
            body.extend_from_slice(&rec);
        }
        let mut out = BytesMut::with_capacity(super::HEADER_BYTES + body.len());
        out.put_i64(0);
        out.put_i32((super::HEADER_BYTES - super::LOG_OVERHEAD + body.len()) as i32);
        out.put_i32(-1); // partitionLeaderEpoch: set by the leader
        out.put_i8(super::CURRENT_MAGIC);
        out.put_u32(0); // crc, filled below
        out.put_i16(0); // attributes: no compression, not transactional
        out.put_i32(records.len() as i32 - 1);
        out.put_i64(base_timestamp);
        out.put_i64(max_timestamp);
        out.put_i64(producer.producer_id);
        out.put_i16(producer.producer_epoch);
        out.put_i32(producer.base_sequence);
        out.put_i32(records.len() as i32);
        out.extend_from_slice(&body);
        let crc = crc32c::crc32c(&out[super::ATTRIBUTES_OFFSET..]);
        out[super::CRC_OFFSET..super::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        out.freeze()
    }

    fn put_bytes(buf: &mut BytesMut, bytes: Option<&[u8]>) {
        match bytes {
            None => put_varlong(buf, -1),
            Some(b) => {
                put_varlong(buf, b.len() as i64);
                buf.extend_from_slice(b);
            }
        }
    }

    fn put_varlong(buf: &mut BytesMut, value: i64) {
        let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
        while zigzag >= 0x80 {
            buf.put_u8((zigzag as u8) | 0x80);
            zigzag >>= 7;
        }
        buf.put_u8(zigzag as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::build::{batch, ProducerFields, Record};
    use super::*;

    fn sample() -> Vec<u8> {
        let records = [
            Record { timestamp_ms: 1_000, key: Some(b"k"), value: Some(b"v1") },
            Record { timestamp_ms: 1_005, key: None, value: Some(b"v2") },
        ];
        batch(&records, ProducerFields::NONE).to_vec()
    }

    #[test]
    fn a_built_batch_parses_with_its_fields() {
        let buf = sample();
        let header = parse_batch(&buf, usize::MAX, CrcCheck::Verify).unwrap();
        assert_eq!(header.size_bytes, buf.len());
        assert_eq!(header.records_count, 2);
        assert_eq!(header.last_offset_delta, 1);
        assert_eq!(header.max_timestamp, 1_005);
        validate_producer_batch(&header).unwrap();
    }

    #[test]
    fn base_offset_rewrite_keeps_the_crc_valid() {
        let mut buf = sample();
        set_base_offset(&mut buf, 41);
        set_partition_leader_epoch(&mut buf, 7);
        let header = parse_batch(&buf, usize::MAX, CrcCheck::Verify).unwrap();
        assert_eq!((header.base_offset, header.last_offset()), (41, 42));
        assert_eq!(header.partition_leader_epoch, 7);
    }

    #[test]
    fn any_flipped_bit_after_the_crc_field_is_caught() {
        let clean = sample();
        for bit in (ATTRIBUTES_OFFSET * 8)..(clean.len() * 8) {
            let mut buf = clean.clone();
            buf[bit / 8] ^= 1 << (bit % 8);
            assert!(parse_batch(&buf, usize::MAX, CrcCheck::Verify).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn log_append_time_rewrites_max_timestamp_and_keeps_the_crc_valid() {
        let mut buf = sample();
        set_log_append_time(&mut buf, 99_000);
        let header = parse_batch(&buf, usize::MAX, CrcCheck::Verify).unwrap();
        assert_eq!(header.max_timestamp, 99_000);
        assert_eq!(header.attributes & 0x08, 0x08);
    }

    #[test]
    fn a_cut_batch_is_truncated_not_parsed() {
        let buf = sample();
        for len in 0..buf.len() {
            assert!(matches!(
                parse_batch(&buf[..len], usize::MAX, CrcCheck::Verify),
                Err(BatchError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn a_huge_length_is_rejected_before_reading() {
        let mut buf = sample();
        buf[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(parse_batch(&buf, 1 << 20, CrcCheck::Verify), Err(BatchError::InvalidLength(i32::MAX)));
        buf[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(parse_batch(&buf, 1 << 20, CrcCheck::Verify), Err(BatchError::InvalidLength(-5)));
    }
}
