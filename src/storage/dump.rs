//! `seedlog dump-log`: prints what a segment file holds, in the spirit of Kafka's
//! `kafka-dump-log.sh` (DumpLogSegments): one line per batch of a `.log` file, one line per
//! entry of a `.index` or `.timeindex` file.

use std::fmt::Write as _;
use std::path::Path;

use super::index_file::IndexEntry;
use super::offset_index::OffsetPosition;
use super::record_batch::{self, BatchError, BatchHeader, CrcCheck};
use super::segment::{self, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use super::time_index::TimestampOffset;
use crate::runtime::{Disk, OpenMode};

/// Bytes read at a time while walking a `.log` file.
const CHUNK_BYTES: usize = 1 << 20;

/// Describes the segment file at `path`, one line per batch or index entry.
pub async fn dump_file(disk: &dyn Disk, path: &Path) -> std::io::Result<Vec<String>> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let base_offset = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]
        .iter()
        .find_map(|suffix| segment::parse_file_name(name, suffix).map(|base| (base, *suffix)));
    let Some((base_offset, suffix)) = base_offset else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: not a segment file (expected <20-digit offset>.log, .index or .timeindex)", path.display()),
        ));
    };
    let mut lines = vec![format!("Dumping {}", path.display()), format!("Log starting offset: {base_offset}")];
    match suffix {
        LOG_SUFFIX => lines.extend(dump_log(disk, path).await?),
        INDEX_SUFFIX => lines.extend(
            dump_index::<OffsetPosition>(disk, path, |e| {
                format!("offset: {} position: {}", base_offset + i64::from(e.relative_offset), e.position)
            })
            .await?,
        ),
        _ => lines.extend(
            dump_index::<TimestampOffset>(disk, path, |e| {
                format!("timestamp: {} offset: {}", e.timestamp_ms, base_offset + i64::from(e.relative_offset))
            })
            .await?,
        ),
    }
    Ok(lines)
}

async fn dump_log(disk: &dyn Disk, path: &Path) -> std::io::Result<Vec<String>> {
    let file = disk.open(path, OpenMode::Existing).await?;
    let len = file.len().await?;
    let mut lines = Vec::new();
    let mut position = 0u64;
    while position < len {
        let remaining = (len - position) as usize;
        let mut buf = file.read_at(position, CHUNK_BYTES.min(remaining)).await?;
        if let Some(Ok(size)) = record_batch::peek_size(&buf) {
            if size > buf.len() && size <= remaining {
                buf = file.read_at(position, size).await?;
            }
        }
        let (header, valid) = match record_batch::parse_batch(&buf, remaining, CrcCheck::Verify) {
            Ok(header) => (header, "true".to_string()),
            // The length is sane, only the content is corrupt: describe it and go on.
            Err(BatchError::CrcMismatch { computed, .. }) => {
                (record_batch::read_header(&buf), format!("false (computed crc {computed})"))
            }
            Err(error) => {
                lines.push(format!("position: {position} the remaining {remaining} bytes are not a batch: {error}"));
                break;
            }
        };
        lines.push(describe(position, &header, &valid));
        position += header.size_bytes as u64;
    }
    Ok(lines)
}

fn describe(position: u64, h: &BatchHeader, valid: &str) -> String {
    let last_sequence = if h.base_sequence < 0 { -1 } else { h.base_sequence.wrapping_add(h.last_offset_delta) };
    let codec = match h.compression() {
        0 => "none",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown",
    };
    let mut line = String::new();
    let _ = write!(
        line,
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {last_sequence} \
         producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} \
         isControl: {} position: {position} {}: {} size: {} magic: 2 \
         compresscodec: {codec} crc: {} isvalid: {valid}",
        h.base_offset,
        h.last_offset(),
        h.records_count,
        h.base_sequence,
        h.producer_id,
        h.producer_epoch,
        h.partition_leader_epoch,
        h.is_transactional(),
        h.is_control(),
        // Attributes bit 3, as Kafka's DumpLogSegments names it.
        if h.attributes & 0x08 != 0 { "LogAppendTime" } else { "CreateTime" },
        h.max_timestamp,
        h.size_bytes,
        h.crc,
    );
    line
}

async fn dump_index<E: IndexEntry>(
    disk: &dyn Disk,
    path: &Path,
    describe: impl Fn(&E) -> String,
) -> std::io::Result<Vec<String>> {
    let file = disk.open(path, OpenMode::Existing).await?;
    let len = file.len().await? as usize;
    let bytes = file.read_at(0, len).await?;
    let mut lines: Vec<String> = bytes.chunks_exact(E::BYTES).map(|chunk| describe(&E::decode(chunk))).collect();
    if len % E::BYTES != 0 {
        lines.push(format!("{} trailing bytes are not a whole entry", len % E::BYTES));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::runtime::MemDisk;
    use crate::storage::record_batch::build::{batch, ProducerFields, Record};
    use crate::storage::{Log, LogConfig};

    #[tokio::test]
    async fn a_log_file_dumps_one_line_per_batch_with_producer_fields_and_validity() {
        let disk = MemDisk::new(1);
        let dir = PathBuf::from("/data/t-0");
        let mut log = Log::open(Arc::new(disk.clone()), dir.clone(), LogConfig::default(), 0).await.unwrap();
        let records = [Record { timestamp_ms: 7, key: None, value: Some(b"v") }];
        let producer = ProducerFields { producer_id: 42, producer_epoch: 3, base_sequence: 10 };
        log.append(0, batch(&records, producer), 4).await.unwrap();
        log.append(0, batch(&[records[0].clone(), records[0].clone()], ProducerFields::NONE), 6).await.unwrap();
        let mut stamped = batch(&records, ProducerFields::NONE).to_vec();
        record_batch::set_log_append_time(&mut stamped, 9_000);
        log.append(0, bytes::Bytes::from(stamped), 6).await.unwrap();
        log.close(0).await.unwrap();
        let path = dir.join("00000000000000000000.log");
        let lines = dump_file(&disk, &path).await.unwrap();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[2].starts_with(
            "baseOffset: 0 lastOffset: 0 count: 1 baseSequence: 10 lastSequence: 10 producerId: 42 producerEpoch: 3"
        ));
        assert!(lines[2].ends_with("isvalid: true"));
        assert!(lines[3].starts_with("baseOffset: 1 lastOffset: 2 count: 2"));
        assert!(lines[3].contains(" position: 69 CreateTime: 7 "), "{}", lines[3]);
        // The timestamp type is the batch's (attributes bit 3), named as DumpLogSegments does.
        assert!(lines[4].contains(" LogAppendTime: 9000 "), "{}", lines[4]);
        // The leader's epoch, stamped on each batch by its append.
        assert!(lines[2].contains(" partitionLeaderEpoch: 4 "), "{}", lines[2]);
        assert!(lines[3].contains(" partitionLeaderEpoch: 6 "), "{}", lines[3]);

        // Corrupt the last byte of the first batch: reported invalid, the walk goes on.
        let file = disk.open(&path, OpenMode::Existing).await.unwrap();
        let first_size = record_batch::read_header(&file.read_at(0, 61).await.unwrap()).size_bytes;
        file.write_at(first_size as u64 - 1, bytes::Bytes::from_static(&[0xEE])).await.unwrap();
        let lines = dump_file(&disk, &path).await.unwrap();
        assert!(lines[2].contains("isvalid: false"), "{}", lines[2]);
        assert!(lines[3].ends_with("isvalid: true"));
    }

    #[tokio::test]
    async fn a_torn_tail_and_a_foreign_name_are_reported() {
        let disk = MemDisk::new(2);
        disk.create_dir_all(Path::new("/d")).await.unwrap();
        let path = PathBuf::from("/d/00000000000000000005.log");
        let file = disk.open(&path, OpenMode::Create).await.unwrap();
        file.append(bytes::Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3])).await.unwrap();
        let lines = dump_file(&disk, &path).await.unwrap();
        assert_eq!(lines[1], "Log starting offset: 5");
        assert!(lines[2].contains("not a batch"), "{}", lines[2]);
        let err = dump_file(&disk, Path::new("/d/notes.txt")).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
