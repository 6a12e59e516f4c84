//! The records inside one stored batch, read only where the broker needs them: ListOffsets
//! by timestamp must answer with the exact record, not its batch.
//!
//! Decompression is bounded: a batch that inflates past the cap is refused, so a
//! compression bomb a producer stored cannot make the broker allocate without limit.

use std::io::Read;

use crate::storage::record_batch::{read_header, HEADER_BYTES};

/// The most bytes one batch may inflate to here.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;
const TIMESTAMP_TYPE_LOG_APPEND: i16 = 0x08;
/// The xerial framing the Java client (and librdkafka) put around snappy data.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";

/// One record's position in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordTime {
    pub offset: i64,
    pub timestamp_ms: i64,
}

/// Offsets and timestamps of every record of the whole, valid `batch`, in order.
pub fn record_times(batch: &[u8]) -> Result<Vec<RecordTime>, String> {
    let header = read_header(batch);
    let body = &batch[HEADER_BYTES..header.size_bytes.min(batch.len())];
    let records = decompress(header.compression(), body)?;
    let count = usize::try_from(header.records_count).map_err(|_| "negative record count".to_string())?;
    let log_append_time = header.attributes & TIMESTAMP_TYPE_LOG_APPEND != 0;
    let mut out = Vec::with_capacity(count.min(records.len()));
    let mut reader = VarReader { buf: &records, at: 0 };
    for _ in 0..count {
        let length = usize::try_from(reader.varlong()?).map_err(|_| "negative record length".to_string())?;
        let end =
            reader.at.checked_add(length).filter(|end| *end <= records.len()).ok_or("record runs past the batch")?;
        reader.byte()?; // attributes
        let timestamp_delta = reader.varlong()?;
        let offset_delta = reader.varlong()?;
        reader.at = end;
        let timestamp_ms =
            if log_append_time { header.max_timestamp } else { header.base_timestamp.saturating_add(timestamp_delta) };
        out.push(RecordTime { offset: header.base_offset + offset_delta, timestamp_ms });
    }
    Ok(out)
}

fn decompress(codec: i16, body: &[u8]) -> Result<Vec<u8>, String> {
    let cap = MAX_DECOMPRESSED_BYTES;
    match codec {
        0 => Ok(body.to_vec()),
        1 => read_capped(flate2::read::GzDecoder::new(body), cap),
        2 => snappy(body, cap),
        3 => read_capped(lz4::Decoder::new(body).map_err(|e| e.to_string())?, cap),
        4 => read_capped(zstd::stream::read::Decoder::new(body).map_err(|e| e.to_string())?, cap),
        other => Err(format!("unknown compression codec {other}")),
    }
}

fn read_capped(reader: impl Read, cap: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader.take(cap as u64 + 1).read_to_end(&mut out).map_err(|e| e.to_string())?;
    if out.len() > cap {
        return Err(format!("batch inflates past {cap} bytes"));
    }
    Ok(out)
}

/// Snappy as Kafka clients write it: xerial-framed blocks, or one raw block.
fn snappy(body: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    if !body.starts_with(XERIAL_MAGIC) {
        return snappy_block(body, cap);
    }
    // Magic, then int32 version and int32 compatible version, then [int32 length, block]*.
    let mut at = XERIAL_MAGIC.len() + 8;
    let mut out = Vec::new();
    while at < body.len() {
        let len_bytes: [u8; 4] =
            body.get(at..at + 4).and_then(|b| b.try_into().ok()).ok_or("truncated snappy frame")?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let block = body.get(at + 4..at + 4 + len).ok_or("truncated snappy block")?;
        out.extend(snappy_block(block, cap - out.len())?);
        at += 4 + len;
    }
    Ok(out)
}

fn snappy_block(block: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    let len = snap::raw::decompress_len(block).map_err(|e| e.to_string())?;
    if len > cap {
        return Err(format!("batch inflates past {cap} bytes"));
    }
    snap::raw::Decoder::new().decompress_vec(block).map_err(|e| e.to_string())
}

/// Kafka's zig-zag varints.
struct VarReader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl VarReader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.buf.get(self.at).ok_or("record truncated")?;
        self.at += 1;
        Ok(b)
    }

    fn varlong(&mut self) -> Result<i64, String> {
        let mut raw = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            raw |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
            }
        }
        Err("varint too long".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record_batch::build::{batch, ProducerFields, Record};

    #[test]
    fn uncompressed_record_times_follow_their_deltas() {
        let records: Vec<Record<'_>> =
            (0..3).map(|i| Record { timestamp_ms: 1_000 + i * 10, key: None, value: Some(b"v") }).collect();
        let mut bytes = batch(&records, ProducerFields::NONE).to_vec();
        crate::storage::record_batch::set_base_offset(&mut bytes, 40);
        let times = record_times(&bytes).unwrap();
        assert_eq!(
            times,
            vec![
                RecordTime { offset: 40, timestamp_ms: 1_000 },
                RecordTime { offset: 41, timestamp_ms: 1_010 },
                RecordTime { offset: 42, timestamp_ms: 1_020 },
            ]
        );
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(MAX_DECOMPRESSED_BYTES >> 20) + 1 {
            encoder.write_all(&zeros).unwrap();
        }
        let compressed = encoder.finish().unwrap();
        assert!(decompress(1, &compressed).unwrap_err().contains("inflates past"));
    }
}
