//! Record batches on the client: encoding a producer batch (v2, any codec) with
//! kafka-protocol's `RecordBatchEncoder`, and turning a Fetch response's record bytes back
//! into records with `RecordBatchDecoder`.
//!
//! Fetched bytes may end in a partial batch (the broker cuts at the byte limit); it is left
//! for the next fetch. Batches ending before the fetch offset (a compressed batch starts
//! before the offset asked for) are skipped, as are records below it. Control batches are
//! never returned. With `read_committed`, batches of aborted transactions are dropped using
//! the response's aborted-transaction list, as Kafka's fetcher does.

use std::collections::{BTreeSet, VecDeque};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::error::{ClientError, Result};
use super::idempotence::ProducerIdentity;

/// Bytes of a v2 batch header, up to and including the record count.
pub const BATCH_HEADER_BYTES: usize = 61;
/// Bytes before a batch's length field ends (base offset and length).
const LOG_OVERHEAD: usize = 12;
/// Uncompressed records take at least this many bytes each.
const MIN_RECORD_BYTES: usize = 7;
/// The most records accepted from one compressed batch (decoding reserves room for them).
const MAX_COMPRESSED_RECORDS: usize = 1 << 20;

/// A header of a record: key and optional value.
pub type Header = (String, Option<Bytes>);

/// One record to encode into a producer batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    pub timestamp_ms: i64,
}

impl OutgoingRecord {
    /// About how many bytes the record takes in a batch (Kafka's `DefaultRecord` size, with
    /// varints counted at their largest).
    pub fn estimated_size(&self) -> usize {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, Bytes::len);
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + len(v) + 10).sum();
        21 + len(&self.key) + len(&self.value) + headers
    }
}

/// Encodes `records` as one v2 batch stamped with `identity` and `base_sequence` (-1 for a
/// producer without idempotence).
pub fn encode_batch(
    records: &[OutgoingRecord],
    identity: ProducerIdentity,
    base_sequence: i32,
    compression: Compression,
) -> Result<Bytes> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, record)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: identity.producer_id,
            producer_epoch: identity.producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is constant.
            sequence: base_sequence.wrapping_add(i as i32),
            timestamp: record.timestamp_ms,
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record.headers.iter().map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone())).collect(),
        })
        .collect();
    // Sized up front: a batch of hundreds of KiB grown by doubling is copied several times,
    // and each new block above the allocator's mmap threshold page-faults in afresh.
    let estimate = 61
        + records
            .iter()
            .map(|r| 32 + r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len))
            .sum::<usize>();
    let mut buf = BytesMut::with_capacity(estimate);
    let options = RecordEncodeOptions { version: 2, compression };
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .map_err(|e| ClientError::Protocol(format!("cannot encode a record batch: {e}")))?;
    Ok(buf.freeze())
}

/// Where a v2 batch's producer fields start (producer id, epoch, base sequence), and where
/// the CRC32C and the bytes it covers start.
const PRODUCER_FIELDS_AT: usize = 43;
const CRC_AT: usize = 17;
const CRC_COVERS_FROM: usize = 21;
const MAGIC_AT: usize = 16;

/// A copy of an encoded v2 `batch` stamped with another producer identity and base
/// sequence, its CRC32C recomputed. An idempotent producer re-sends a batch this way after
/// bumping its epoch (KIP-360); the records inside carry only deltas, so nothing else changes.
pub fn restamp_batch(batch: &[u8], identity: ProducerIdentity, base_sequence: i32) -> Result<Bytes> {
    if batch.len() < BATCH_HEADER_BYTES || batch[MAGIC_AT] != 2 {
        return Err(ClientError::Protocol(format!("cannot restamp a {}-byte batch that is not v2", batch.len())));
    }
    let mut out = BytesMut::from(batch);
    let mut at = PRODUCER_FIELDS_AT;
    for field in
        [&identity.producer_id.to_be_bytes()[..], &identity.producer_epoch.to_be_bytes(), &base_sequence.to_be_bytes()]
    {
        out[at..at + field.len()].copy_from_slice(field);
        at += field.len();
    }
    let crc = crc32c::crc32c(&out[CRC_COVERS_FROM..]);
    out[CRC_AT..CRC_COVERS_FROM].copy_from_slice(&crc.to_be_bytes());
    Ok(out.freeze())
}

/// A record read from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    pub leader_epoch: i32,
}

/// The records of one partition's fetched bytes, and where the next fetch starts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DecodedFetch {
    pub records: Vec<FetchedRecord>,
    /// One past the last complete batch read; `None` when no complete batch was there.
    pub next_offset: Option<i64>,
}

/// An aborted transaction from a Fetch response: its producer and first offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTransaction {
    pub producer_id: i64,
    pub first_offset: i64,
}

/// Decodes the record bytes a Fetch returned for a partition asked from `fetch_offset`.
pub fn decode_fetched(
    mut data: Bytes,
    fetch_offset: i64,
    read_committed: bool,
    aborted: &[AbortedTransaction],
) -> Result<DecodedFetch> {
    let mut aborted: VecDeque<AbortedTransaction> = {
        let mut sorted = aborted.to_vec();
        sorted.sort_by_key(|txn| txn.first_offset);
        sorted.into()
    };
    let mut aborted_producers = BTreeSet::new();
    let mut decoded = DecodedFetch::default();
    while data.len() >= LOG_OVERHEAD {
        let batch_length = i32::from_be_bytes(data[8..12].try_into().expect("4 bytes"));
        let total = usize::try_from(batch_length).ok().map(|len| len + LOG_OVERHEAD);
        let total = total.ok_or_else(|| ClientError::Protocol(format!("negative batch length {batch_length}")))?;
        if data.len() < total {
            break; // a partial batch: the rest comes with the next fetch
        }
        let batch = data.split_to(total);
        let header = BatchHeader::parse(&batch)?;
        if header.last_offset() < fetch_offset {
            continue;
        }
        decoded.next_offset = Some(header.last_offset() + 1);
        if read_committed {
            while aborted.front().is_some_and(|txn| txn.first_offset <= header.last_offset()) {
                let txn = aborted.pop_front().expect("front exists");
                aborted_producers.insert(txn.producer_id);
            }
        }
        let set = RecordBatchDecoder::decode(&mut batch.clone())
            .map_err(|e| ClientError::Protocol(format!("bad record batch at offset {}: {e}", header.base_offset)))?;
        if header.control {
            if header.transactional && set.records.iter().any(is_abort_marker) {
                aborted_producers.remove(&header.producer_id);
            }
            continue;
        }
        if read_committed && header.transactional && aborted_producers.contains(&header.producer_id) {
            continue;
        }
        let kept = set.records.into_iter().filter(|record| record.offset >= fetch_offset);
        decoded.records.extend(kept.map(|record| FetchedRecord {
            offset: record.offset,
            timestamp: record.timestamp,
            timestamp_type: record.timestamp_type,
            key: record.key,
            value: record.value,
            headers: record.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            leader_epoch: record.partition_leader_epoch,
        }));
    }
    Ok(decoded)
}

/// The fields of a v2 batch header the fetcher needs, checked before decoding.
#[derive(Debug, Clone, Copy)]
struct BatchHeader {
    base_offset: i64,
    last_offset_delta: i32,
    transactional: bool,
    control: bool,
    producer_id: i64,
}

impl BatchHeader {
    fn parse(batch: &[u8]) -> Result<BatchHeader> {
        if batch.len() < BATCH_HEADER_BYTES {
            return Err(ClientError::Protocol(format!("record batch of {} bytes", batch.len())));
        }
        let mut header = &batch[..BATCH_HEADER_BYTES];
        let base_offset = header.get_i64();
        let _length = header.get_i32();
        let _leader_epoch = header.get_i32();
        let magic = header.get_i8();
        if magic != 2 {
            return Err(ClientError::Protocol(format!("record batch magic {magic} (only v2 is read)")));
        }
        let _crc = header.get_u32();
        let attributes = header.get_i16();
        let last_offset_delta = header.get_i32();
        let _first_timestamp = header.get_i64();
        let _max_timestamp = header.get_i64();
        let producer_id = header.get_i64();
        let _producer_epoch = header.get_i16();
        let _base_sequence = header.get_i32();
        let record_count = header.get_i32();
        let compressed = attributes & 0x7 != 0;
        let max_records = match compressed {
            true => MAX_COMPRESSED_RECORDS,
            false => (batch.len() - BATCH_HEADER_BYTES) / MIN_RECORD_BYTES,
        };
        if usize::try_from(record_count).map_or(true, |count| count > max_records) {
            return Err(ClientError::Protocol(format!("record batch claims {record_count} records")));
        }
        Ok(BatchHeader {
            base_offset,
            last_offset_delta,
            transactional: attributes & 0x10 != 0,
            control: attributes & 0x20 != 0,
            producer_id,
        })
    }

    fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }
}

/// A control record's key is (version: i16, type: i16); type 0 is ABORT, 1 is COMMIT.
fn is_abort_marker(record: &Record) -> bool {
    record.key.as_ref().is_some_and(|key| key.len() >= 4 && i16::from_be_bytes([key[2], key[3]]) == 0)
}

/// Parses a codec name as Kafka's `compression.type` spells it.
pub fn parse_compression(name: &str) -> Result<Compression> {
    match name.to_ascii_lowercase().as_str() {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => Err(ClientError::Config(format!("unknown compression type {other:?}"))),
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
