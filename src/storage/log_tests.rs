//! The log's rules, one test each, on a fault-free `MemDisk`.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::record_batch::build::{batch, ProducerFields, Record};
use super::record_batch::{self, CrcCheck};
use super::*;
use crate::runtime::{Disk, MemDisk, MemDiskFaults};

const NOW_MS: i64 = 1_700_000_000_000;
/// The leader epoch these tests append in (`log_epoch_tests.rs` varies it).
const LEADER_EPOCH: i32 = 0;

fn dir() -> PathBuf {
    PathBuf::from("/data/topic-0")
}

/// A batch of `records` records of `value_bytes` each, all stamped `timestamp_ms`.
fn records(records: usize, value_bytes: usize, timestamp_ms: i64) -> Bytes {
    let value = vec![b'x'; value_bytes];
    let list: Vec<Record<'_>> = (0..records).map(|_| Record { timestamp_ms, key: None, value: Some(&value) }).collect();
    batch(&list, ProducerFields::NONE)
}

fn small_segments() -> LogConfig {
    LogConfig { segment_bytes: 4_000, index_interval_bytes: 500, ..LogConfig::default() }
}

async fn open(disk: &MemDisk, config: LogConfig) -> Log {
    Log::open(Arc::new(disk.clone()) as Arc<dyn Disk>, dir(), config, NOW_MS).await.unwrap()
}

/// Reads every batch from the log start to the end, one read call per batch.
async fn read_all(log: &Log) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let bytes = log.read(offset, 1, log.log_end_offset(), true).await.unwrap();
        let header = record_batch::parse_batch(&bytes, bytes.len(), CrcCheck::Verify).unwrap();
        assert!(header.base_offset <= offset && offset <= header.last_offset());
        offset = header.last_offset() + 1;
        out.push(bytes);
    }
    out
}

#[tokio::test]
async fn append_assigns_offsets_and_reads_return_the_same_bytes() {
    let disk = MemDisk::new(1);
    let mut log = open(&disk, LogConfig::default()).await;
    let first = log.append(NOW_MS, records(3, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    let second = log.append(NOW_MS, records(2, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    assert_eq!((first.first_offset, first.last_offset), (0, 2));
    assert_eq!((second.first_offset, second.last_offset), (3, 4));
    assert_eq!(log.log_end_offset(), 5);
    let mut expected = records(2, 10, NOW_MS).to_vec();
    record_batch::set_base_offset(&mut expected, 3);
    record_batch::set_partition_leader_epoch(&mut expected, LEADER_EPOCH);
    assert_eq!(log.read(3, 1 << 20, 5, false).await.unwrap(), Bytes::from(expected));
    // Offset 4 lies inside the second batch: the whole batch comes back.
    assert_eq!(log.read(4, 1 << 20, 5, false).await.unwrap().len(), second.size_bytes);
}

#[tokio::test]
async fn segments_roll_at_segment_bytes_and_are_named_by_base_offset() {
    let disk = MemDisk::new(2);
    let mut log = open(&disk, small_segments()).await;
    for _ in 0..10 {
        log.append(NOW_MS, records(1, 900, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    assert!(log.segment_count() > 2);
    let names = disk.file_names(&dir());
    assert!(names.contains(&"00000000000000000000.log".to_string()));
    assert!(names.contains(&"00000000000000000000.index".to_string()));
    assert!(names.contains(&"00000000000000000000.timeindex".to_string()));
    for segment in log.segments() {
        assert!(segment.size_bytes() <= 4_000);
    }
    assert_eq!(read_all(&log).await.len(), 10);
}

#[tokio::test]
async fn segments_roll_when_older_than_segment_ms() {
    let disk = MemDisk::new(3);
    let config = LogConfig { segment_ms: 1_000, ..LogConfig::default() };
    let mut log = open(&disk, config).await;
    log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    log.append(NOW_MS + 500, records(1, 10, NOW_MS + 500), LEADER_EPOCH).await.unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(NOW_MS + 1_500, records(1, 10, NOW_MS + 1_500), LEADER_EPOCH).await.unwrap();
    assert_eq!(log.segment_count(), 2);
}

#[tokio::test]
async fn reads_respect_max_bytes_and_the_upper_bound() {
    let disk = MemDisk::new(4);
    let mut log = open(&disk, LogConfig::default()).await;
    let size = log.append(NOW_MS, records(1, 100, NOW_MS), LEADER_EPOCH).await.unwrap().size_bytes;
    for _ in 0..4 {
        log.append(NOW_MS, records(1, 100, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    assert_eq!(log.read(0, size * 2 + 10, 5, false).await.unwrap().len(), size * 2);
    assert_eq!(log.read(0, 10, 5, false).await.unwrap().len(), 0);
    assert_eq!(log.read(0, 10, 5, true).await.unwrap().len(), size, "min one batch");
    assert_eq!(log.read(0, 1 << 20, 3, false).await.unwrap().len(), size * 3, "stops at the bound");
    assert_eq!(log.read(5, 1 << 20, 5, false).await.unwrap().len(), 0, "the log end reads nothing");
    assert!(matches!(log.read(6, 100, 5, false).await, Err(LogError::OffsetOutOfRange { .. })));
}

#[tokio::test]
async fn invalid_batches_are_rejected_and_nothing_is_written() {
    let disk = MemDisk::new(5);
    let config = LogConfig { max_message_bytes: 500, ..LogConfig::default() };
    let mut log = open(&disk, config).await;
    let mut corrupt = records(1, 10, NOW_MS).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let good_then_corrupt = [records(1, 10, NOW_MS).to_vec(), corrupt.clone()].concat();
    assert!(matches!(log.append(NOW_MS, Bytes::from(corrupt), LEADER_EPOCH).await, Err(LogError::InvalidBatch(_))));
    assert!(log.append(NOW_MS, Bytes::from(good_then_corrupt), LEADER_EPOCH).await.is_err());
    assert!(matches!(
        log.append(NOW_MS, records(1, 600, NOW_MS), LEADER_EPOCH).await,
        Err(LogError::BatchTooLarge { .. })
    ));
    assert!(log.append(NOW_MS, Bytes::from_static(&[0; 5]), LEADER_EPOCH).await.is_err());
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
    assert!(!log.is_offline(), "a bad batch is the producer's fault, not the disk's");
}

#[tokio::test]
async fn lookup_by_timestamp_finds_the_first_batch_at_or_after_it() {
    let disk = MemDisk::new(6);
    let mut log = open(&disk, small_segments()).await;
    for i in 0..20 {
        log.append(NOW_MS, records(2, 300, NOW_MS + i * 10), LEADER_EPOCH).await.unwrap();
    }
    let found = log.find_offset_by_timestamp(NOW_MS + 55).await.unwrap().unwrap();
    assert_eq!(found.batch_base_offset, 12, "batch 6 is the first stamped at or after +55");
    assert_eq!(found.batch_max_timestamp, NOW_MS + 60);
    assert_eq!(log.find_offset_by_timestamp(NOW_MS).await.unwrap().unwrap().batch_base_offset, 0);
    assert_eq!(log.find_offset_by_timestamp(NOW_MS + 1_000).await.unwrap(), None);
    let max = log.find_max_timestamp().await.unwrap().unwrap();
    assert_eq!((max.batch_base_offset, max.batch_max_timestamp), (38, NOW_MS + 190));
}

#[tokio::test]
async fn unflushed_appends_are_lost_in_a_crash_and_flushed_ones_survive() {
    let disk = MemDisk::new(7);
    let config = LogConfig { flush_interval_messages: 3, ..small_segments() };
    let mut log = open(&disk, config.clone()).await;
    for _ in 0..4 {
        log.append(NOW_MS, records(1, 900, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    assert_eq!(log.recovery_point(), 3, "flushed after three messages");
    drop(log);
    disk.crash_losing_all_unsynced();
    let log = open(&disk, config).await;
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(read_all(&log).await.len(), 3);
}

#[tokio::test]
async fn truncation_removes_the_batch_holding_the_offset_and_everything_after() {
    let disk = MemDisk::new(8);
    let mut log = open(&disk, small_segments()).await;
    for _ in 0..10 {
        log.append(NOW_MS, records(3, 300, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    log.flush(NOW_MS).await.unwrap();
    assert_eq!(log.truncate_to(NOW_MS, 13).await.unwrap(), 12, "batch 12..=14 straddles 13");
    assert_eq!(log.recovery_point(), 12);
    log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    assert_eq!(log.log_end_offset(), 13);
    drop(log);
    // Truncation was durable: the old batches at 12.. cannot come back.
    disk.crash_losing_all_unsynced();
    let log = open(&disk, small_segments()).await;
    assert_eq!(log.log_end_offset(), 12);
}

#[tokio::test]
async fn truncate_fully_restarts_the_log_empty_at_the_offset() {
    let disk = MemDisk::new(9);
    let mut log = open(&disk, small_segments()).await;
    for _ in 0..5 {
        log.append(NOW_MS, records(1, 900, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    log.truncate_fully_and_start_at(NOW_MS, 100).await.unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.segment_count()), (100, 100, 1));
    assert_eq!(log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap().first_offset, 100);
    drop(log);
    disk.crash_losing_all_unsynced();
    let log = open(&disk, small_segments()).await;
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
    assert_eq!(disk.file_names(&dir()).iter().filter(|n| n.ends_with(".log")).count(), 1);
}

#[tokio::test]
async fn retention_bytes_deletes_old_segments_and_advances_the_log_start() {
    let disk = MemDisk::new(10);
    let config = LogConfig { retention_bytes: 5_000, ..small_segments() };
    let mut log = open(&disk, config.clone()).await;
    for _ in 0..20 {
        log.append(NOW_MS, records(1, 900, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    let deleted = log.delete_old_segments(NOW_MS, log.log_end_offset()).await.unwrap();
    assert!(deleted > 0);
    assert!(log.size_bytes() <= 5_000 + 4_000);
    let start = log.log_start_offset();
    assert!(start > 0);
    assert_eq!(start, log.segments().next().unwrap().base_offset());
    assert!(matches!(log.read(0, 100, 20, true).await, Err(LogError::OffsetOutOfRange { .. })));
    drop(log);
    disk.crash_losing_all_unsynced();
    assert_eq!(open(&disk, config).await.log_start_offset(), start);
}

#[tokio::test]
async fn retention_ms_deletes_expired_segments_but_never_above_the_bound() {
    let disk = MemDisk::new(11);
    let config = LogConfig { retention_ms: 60_000, ..small_segments() };
    let mut log = open(&disk, config).await;
    for _ in 0..8 {
        log.append(NOW_MS, records(1, 900, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    let later_ms = NOW_MS + 120_000;
    assert_eq!(log.delete_old_segments(later_ms, 0).await.unwrap(), 0, "nothing below the bound");
    log.delete_old_segments(later_ms, log.log_end_offset()).await.unwrap();
    assert_eq!(log.log_start_offset(), 8, "everything expired: the log rolled and kept an empty segment");
    assert_eq!(log.log_end_offset(), 8);
    assert_eq!(log.append(later_ms, records(1, 10, later_ms), LEADER_EPOCH).await.unwrap().first_offset, 8);
}

#[tokio::test]
async fn a_lost_index_is_rebuilt_on_open() {
    let disk = MemDisk::new(12);
    let mut log = open(&disk, small_segments()).await;
    for _ in 0..12 {
        log.append(NOW_MS, records(2, 400, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    log.close(NOW_MS).await.unwrap();
    let index = dir().join("00000000000000000000.index");
    disk.remove(&index).await.unwrap();
    let log = open(&disk, small_segments()).await;
    assert!(!log.segments().next().unwrap().offset_index_entries().is_empty());
    assert_eq!(read_all(&log).await.len(), 12);
}

#[tokio::test]
async fn a_corrupt_tail_batch_is_truncated_on_recovery() {
    let disk = MemDisk::new(13);
    let mut log = open(&disk, LogConfig::default()).await;
    for _ in 0..3 {
        log.append(NOW_MS, records(1, 100, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    log.flush(NOW_MS).await.unwrap();
    let size = log.size_bytes();
    drop(log);
    // Rot a byte of the last batch on the medium (after the recovery point was 3, but
    // without a checkpoint naming it the whole segment is rescanned).
    disk.remove(&dir().join("partition.checkpoint")).await.unwrap();
    let path = dir().join("00000000000000000000.log");
    let file = disk.open(&path, crate::runtime::OpenMode::Existing).await.unwrap();
    file.write_at(size - 5, Bytes::from_static(&[0xAB])).await.unwrap();
    let log = open(&disk, LogConfig::default()).await;
    assert_eq!(log.log_end_offset(), 2);
}

#[tokio::test]
async fn a_failed_fsync_takes_the_log_offline_until_reopened() {
    let disk = MemDisk::with_faults(14, MemDiskFaults { sync_error_rate: 1.0, ..MemDiskFaults::none() });
    let disk_dyn: Arc<dyn Disk> = Arc::new(disk.clone());
    // Opening syncs too: let it succeed first.
    disk.set_faults(MemDiskFaults::none());
    let mut log = Log::open(disk_dyn, dir(), LogConfig::default(), NOW_MS).await.unwrap();
    log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    disk.set_faults(MemDiskFaults { sync_error_rate: 1.0, ..MemDiskFaults::none() });
    assert!(matches!(log.flush(NOW_MS).await, Err(LogError::Io(_))));
    assert!(log.is_offline());
    assert!(matches!(log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await, Err(LogError::Offline)));
    assert!(matches!(log.read(0, 100, 1, true).await, Err(LogError::Offline)));
    disk.set_faults(MemDiskFaults::none());
    let log = open(&disk, LogConfig::default()).await;
    assert_eq!(log.log_end_offset(), 0, "the unsynced append was lost with the failed fsync");
}

#[tokio::test]
async fn follower_appends_keep_offsets_and_must_start_at_the_log_end() {
    let disk = MemDisk::new(15);
    let mut log = open(&disk, LogConfig::default()).await;
    let mut replicated = records(2, 10, NOW_MS).to_vec();
    record_batch::set_base_offset(&mut replicated, 0);
    log.append_as_follower(NOW_MS, Bytes::from(replicated.clone())).await.unwrap();
    assert!(matches!(
        log.append_as_follower(NOW_MS, Bytes::from(replicated)).await,
        Err(LogError::UnexpectedAppendOffset { first_offset: 0, log_end_offset: 2 })
    ));
}

// ---- Idempotent producers -------------------------------------------------------------

const PRODUCER: i64 = 4_000;

/// A batch of `records` records from `producer_id` at `epoch`, starting at `first_seq`.
fn produced(producer_id: i64, epoch: i16, first_seq: i32, records: usize) -> Bytes {
    let value = [b'p'; 40];
    let list: Vec<Record<'_>> = (0..records)
        .map(|i| Record { timestamp_ms: NOW_MS + i64::from(first_seq) + i as i64, key: None, value: Some(&value) })
        .collect();
    batch(&list, ProducerFields { producer_id, producer_epoch: epoch, base_sequence: first_seq })
}

fn snapshot_names(disk: &MemDisk) -> Vec<String> {
    disk.file_names(&dir()).into_iter().filter(|n| n.ends_with(SNAPSHOT_SUFFIX)).collect()
}

/// Appends `bytes` expecting a duplicate of `original`.
async fn assert_duplicate(log: &mut Log, bytes: Bytes, original: AppendInfo) {
    let end = log.log_end_offset();
    let size = log.size_bytes();
    let info = log.append(NOW_MS, bytes, LEADER_EPOCH).await.unwrap();
    assert!(info.duplicate, "not recognised as a duplicate: {info:?}");
    assert_eq!(
        (info.first_offset, info.last_offset, info.max_timestamp),
        (original.first_offset, original.last_offset, original.max_timestamp)
    );
    assert_eq!((log.log_end_offset(), log.size_bytes()), (end, size), "a duplicate writes nothing");
}

#[tokio::test]
async fn an_idempotent_resend_is_answered_with_the_original_offsets_and_not_written() {
    let disk = MemDisk::new(20);
    let mut log = open(&disk, LogConfig::default()).await;
    let first = log.append(NOW_MS, produced(PRODUCER, 0, 0, 3), LEADER_EPOCH).await.unwrap();
    let second = log.append(NOW_MS, produced(PRODUCER, 0, 3, 2), LEADER_EPOCH).await.unwrap();
    assert!(!first.duplicate && !second.duplicate);
    assert_eq!((second.first_offset, second.last_offset), (3, 4));
    assert_duplicate(&mut log, produced(PRODUCER, 0, 0, 3), first).await;
    assert_duplicate(&mut log, produced(PRODUCER, 0, 3, 2), second).await;
    assert_eq!(read_all(&log).await.len(), 2);
}

#[tokio::test]
async fn out_of_order_and_fenced_batches_are_rejected_and_nothing_is_written() {
    let disk = MemDisk::new(21);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, produced(PRODUCER, 3, 0, 2), LEADER_EPOCH).await.unwrap();
    let gap = log.append(NOW_MS, produced(PRODUCER, 3, 5, 1), LEADER_EPOCH).await;
    assert!(matches!(
        gap,
        Err(LogError::OutOfOrderSequence { producer_id: PRODUCER, expected_sequence: 2, found_sequence: 5 })
    ));
    let fenced = log.append(NOW_MS, produced(PRODUCER, 2, 2, 1), LEADER_EPOCH).await;
    assert!(matches!(
        fenced,
        Err(LogError::InvalidProducerEpoch { producer_id: PRODUCER, current_epoch: 3, found_epoch: 2 })
    ));
    let new_epoch_mid_sequence = log.append(NOW_MS, produced(PRODUCER, 4, 2, 1), LEADER_EPOCH).await;
    assert!(matches!(new_epoch_mid_sequence, Err(LogError::OutOfOrderSequence { expected_sequence: 0, .. })));
    assert_eq!(log.log_end_offset(), 2);
    assert!(!log.is_offline(), "a producer's mistake is not the disk's");
    assert_eq!(log.append(NOW_MS, produced(PRODUCER, 4, 0, 1), LEADER_EPOCH).await.unwrap().first_offset, 2);
}

#[tokio::test]
async fn several_batches_in_one_append_are_checked_in_order() {
    let disk = MemDisk::new(22);
    let mut log = open(&disk, LogConfig::default()).await;
    let two = [produced(PRODUCER, 0, 0, 2), produced(PRODUCER, 0, 2, 2)].concat();
    assert_eq!(log.append(NOW_MS, Bytes::from(two), LEADER_EPOCH).await.unwrap().batch_count, 2);
    // A duplicate among several batches cannot be answered for all of them.
    let duplicate_then_new = [produced(PRODUCER, 0, 2, 2), produced(PRODUCER, 0, 4, 1)].concat();
    assert!(matches!(
        log.append(NOW_MS, Bytes::from(duplicate_then_new), LEADER_EPOCH).await,
        Err(LogError::OutOfOrderSequence { expected_sequence: 4, found_sequence: 2, .. })
    ));
    let new_then_gap = [produced(PRODUCER, 0, 4, 1), produced(PRODUCER, 0, 6, 1)].concat();
    assert!(matches!(
        log.append(NOW_MS, Bytes::from(new_then_gap), LEADER_EPOCH).await,
        Err(LogError::OutOfOrderSequence { expected_sequence: 5, found_sequence: 6, .. })
    ));
    assert_eq!(log.log_end_offset(), 4, "nothing of a refused append is written");
}

#[tokio::test]
async fn clients_may_not_send_control_batches_or_a_producer_id_without_a_sequence() {
    let disk = MemDisk::new(23);
    let mut log = open(&disk, LogConfig::default()).await;
    let no_sequence = produced(PRODUCER, 0, -1, 1);
    assert!(matches!(log.append(NOW_MS, no_sequence, LEADER_EPOCH).await, Err(LogError::InvalidBatch(_))));
    let mut control = produced(PRODUCER, 0, 0, 1).to_vec();
    control[22] |= 0x20; // attributes bit 5
    let crc = crc32c::crc32c(&control[21..]);
    control[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(log.append(NOW_MS, Bytes::from(control), LEADER_EPOCH).await, Err(LogError::InvalidBatch(_))));
    assert_eq!(log.log_end_offset(), 0);
}

#[tokio::test]
async fn dedup_survives_a_clean_restart() {
    let disk = MemDisk::new(24);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, produced(PRODUCER, 1, 0, 2), LEADER_EPOCH).await.unwrap();
    let last = log.append(NOW_MS, produced(PRODUCER, 1, 2, 2), LEADER_EPOCH).await.unwrap();
    log.close(NOW_MS).await.unwrap();
    assert_eq!(snapshot_names(&disk), vec!["00000000000000000004.snapshot".to_string()]);
    let mut log = open(&disk, LogConfig::default()).await;
    assert_duplicate(&mut log, produced(PRODUCER, 1, 2, 2), last).await;
    // A snapshot keeps only each producer's newest batch (Kafka's format): an older re-send
    // is out of order after a restart, never written twice.
    assert!(matches!(
        log.append(NOW_MS, produced(PRODUCER, 1, 0, 2), LEADER_EPOCH).await,
        Err(LogError::OutOfOrderSequence { expected_sequence: 4, .. })
    ));
    assert_eq!(log.append(NOW_MS, produced(PRODUCER, 1, 4, 1), LEADER_EPOCH).await.unwrap().first_offset, 4);
}

#[tokio::test]
async fn dedup_of_a_flushed_batch_survives_a_crash_by_replay() {
    let disk = MemDisk::new(25);
    let mut log = open(&disk, LogConfig::default()).await;
    let first = log.append(NOW_MS, produced(PRODUCER, 0, 0, 2), LEADER_EPOCH).await.unwrap();
    let second = log.append(NOW_MS, produced(PRODUCER, 0, 2, 2), LEADER_EPOCH).await.unwrap();
    log.flush(NOW_MS).await.unwrap();
    log.append(NOW_MS, produced(PRODUCER, 0, 4, 2), LEADER_EPOCH).await.unwrap();
    drop(log);
    disk.crash_losing_all_unsynced();
    let mut log = open(&disk, LogConfig::default()).await;
    assert_eq!(log.log_end_offset(), 4);
    // No snapshot existed: the state was replayed from the log, all five slots included.
    assert_duplicate(&mut log, produced(PRODUCER, 0, 2, 2), second).await;
    assert_duplicate(&mut log, produced(PRODUCER, 0, 0, 2), first).await;
    // The lost batch is not remembered: its re-send is new, in sequence, and written.
    let resent = log.append(NOW_MS, produced(PRODUCER, 0, 4, 2), LEADER_EPOCH).await.unwrap();
    assert!(!resent.duplicate);
    assert_eq!(resent.first_offset, 4);
}

#[tokio::test]
async fn truncation_rebuilds_the_producer_state() {
    let disk = MemDisk::new(26);
    let mut log = open(&disk, small_segments()).await;
    let mut infos = Vec::new();
    for i in 0..12 {
        let bytes = produced(PRODUCER, 0, i * 2, 2);
        infos.push(log.append(NOW_MS, bytes, LEADER_EPOCH).await.unwrap());
        if i % 3 == 2 {
            log.roll(NOW_MS).await.unwrap();
        }
    }
    assert_eq!(snapshot_names(&disk).len(), 2, "the two newest snapshots are kept");
    log.flush(NOW_MS).await.unwrap();
    // Truncate into the middle: the snapshots above the new end go (here both kept ones,
    // at 18 and 24), and the state is rebuilt by replaying the log from its start.
    assert_eq!(log.truncate_to(NOW_MS, 15).await.unwrap(), 14);
    assert!(snapshot_names(&disk).iter().all(|n| segment::parse_file_name(n, SNAPSHOT_SUFFIX).unwrap() <= 14));
    assert_duplicate(&mut log, produced(PRODUCER, 0, 12, 2), infos[6]).await;
    let again = log.append(NOW_MS, produced(PRODUCER, 0, 14, 2), LEADER_EPOCH).await.unwrap();
    assert_eq!((again.duplicate, again.first_offset), (false, 14), "a truncated batch is no duplicate");
    drop(log);
    disk.crash_losing_all_unsynced();
    let mut log = open(&disk, small_segments()).await;
    assert_eq!(log.log_end_offset(), 14, "the unflushed re-append is lost, the truncation is not undone");
    assert_duplicate(&mut log, produced(PRODUCER, 0, 12, 2), infos[6]).await;
}

#[tokio::test]
async fn truncate_fully_forgets_every_producer() {
    let disk = MemDisk::new(27);
    let mut log = open(&disk, small_segments()).await;
    for i in 0..6 {
        log.append(NOW_MS, produced(PRODUCER, 0, i, 1), LEADER_EPOCH).await.unwrap();
        log.roll(NOW_MS).await.unwrap();
    }
    log.truncate_fully_and_start_at(NOW_MS, 50).await.unwrap();
    assert!(log.producer_state().is_empty());
    assert!(snapshot_names(&disk).is_empty());
    assert_eq!(log.append(NOW_MS, produced(PRODUCER, 0, 99, 1), LEADER_EPOCH).await.unwrap().first_offset, 50);
}

#[tokio::test]
async fn follower_appends_update_the_producer_state_without_checks() {
    let disk = MemDisk::new(28);
    let mut log = open(&disk, LogConfig::default()).await;
    for (offset, first_seq) in [(0, 5), (1, 10)] {
        let mut replicated = produced(PRODUCER, 1, first_seq, 1).to_vec();
        record_batch::set_base_offset(&mut replicated, offset);
        log.append_as_follower(NOW_MS, Bytes::from(replicated)).await.unwrap();
    }
    let entry = log.producer_state().get(PRODUCER).unwrap();
    assert_eq!((entry.epoch(), entry.next_sequence()), (1, 11));
    let info = log.append(NOW_MS, produced(PRODUCER, 1, 10, 1), LEADER_EPOCH).await.unwrap();
    assert!(info.duplicate && info.first_offset == 1);
}

#[tokio::test]
async fn snapshots_are_written_on_roll_and_close_and_only_the_two_newest_are_kept() {
    let disk = MemDisk::new(29);
    let mut log = open(&disk, small_segments()).await;
    log.append(NOW_MS, produced(PRODUCER, 0, 0, 1), LEADER_EPOCH).await.unwrap();
    log.roll(NOW_MS).await.unwrap();
    assert_eq!(snapshot_names(&disk), vec!["00000000000000000001.snapshot".to_string()]);
    for i in 1..5 {
        log.append(NOW_MS, produced(PRODUCER, 0, i, 1), LEADER_EPOCH).await.unwrap();
        log.roll(NOW_MS).await.unwrap();
    }
    log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    log.close(NOW_MS).await.unwrap();
    let expected: Vec<String> = [5, 6].iter().map(|o| format!("{o:020}.snapshot")).collect();
    assert_eq!(snapshot_names(&disk), expected);
}

#[tokio::test]
async fn a_corrupt_snapshot_is_deleted_and_the_older_one_used() {
    let disk = MemDisk::new(30);
    let mut log = open(&disk, small_segments()).await;
    let mut last = None;
    for i in 0..4 {
        last = Some(log.append(NOW_MS, produced(PRODUCER, 0, i, 1), LEADER_EPOCH).await.unwrap());
        if i == 1 {
            log.roll(NOW_MS).await.unwrap();
        }
    }
    log.close(NOW_MS).await.unwrap();
    assert_eq!(snapshot_names(&disk).len(), 2);
    let newest = dir().join("00000000000000000004.snapshot");
    let file = disk.open(&newest, crate::runtime::OpenMode::Existing).await.unwrap();
    file.write_at(20, Bytes::from_static(&[0xEE])).await.unwrap();
    let mut log = open(&disk, small_segments()).await;
    // Loaded from the snapshot at 2 and replayed 2..4, then snapshotted again at 4.
    assert_duplicate(&mut log, produced(PRODUCER, 0, 3, 1), last.unwrap()).await;
    let third = AppendInfo {
        first_offset: 2,
        last_offset: 2,
        max_timestamp: NOW_MS + 2,
        batch_count: 1,
        size_bytes: 0,
        duplicate: true,
    };
    assert_duplicate(&mut log, produced(PRODUCER, 0, 2, 1), third).await;
    let reread = disk.file_contents(&newest).unwrap();
    assert_eq!(
        ProducerStateManager::decode_snapshot(&reread, 4).unwrap().get(PRODUCER).unwrap().next_sequence(),
        4,
        "the corrupt file was replaced"
    );
}

#[tokio::test]
async fn retention_deletes_producer_snapshots_at_or_below_the_log_start() {
    let disk = MemDisk::new(31);
    let config = LogConfig { retention_ms: 1_000, ..small_segments() };
    let mut log = open(&disk, config.clone()).await;
    for i in 0..4 {
        log.append(NOW_MS, produced(PRODUCER, 0, i * 10, 10), LEADER_EPOCH).await.unwrap();
        log.roll(NOW_MS).await.unwrap();
    }
    assert_eq!(snapshot_names(&disk).len(), 2);
    log.delete_old_segments(NOW_MS + 10_000, log.log_end_offset()).await.unwrap();
    assert_eq!(log.log_start_offset(), 40);
    assert!(snapshot_names(&disk).is_empty(), "the snapshots at 30 and 40 lay at or below the log start");
    // The state in memory keeps the producer (as Kafka does).
    assert_eq!(log.producer_state().get(PRODUCER).unwrap().next_sequence(), 40);
}

#[tokio::test]
async fn expired_producers_are_forgotten() {
    let disk = MemDisk::new(32);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, produced(PRODUCER, 0, 0, 1), LEADER_EPOCH).await.unwrap();
    log.append(NOW_MS, produced(PRODUCER + 1, 0, 0, 1), LEADER_EPOCH).await.unwrap();
    assert_eq!(log.expire_producers(NOW_MS + 1_000, 86_400_000), 0);
    assert_eq!(log.expire_producers(NOW_MS + 86_400_000, 86_400_000), 2);
    assert!(log.producer_state().is_empty());
    // Without state any sequence is accepted again.
    assert!(!log.append(NOW_MS, produced(PRODUCER, 0, 7, 1), LEADER_EPOCH).await.unwrap().duplicate);
}

#[tokio::test]
async fn a_flush_synced_outside_the_log_covers_what_it_began_with() {
    let disk = MemDisk::new(40);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(2, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    let pending = log.begin_flush().await.unwrap().expect("something to flush");
    // Appends go on while the fsyncs run.
    log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    let synced = pending.sync().await;
    log.complete_flush(NOW_MS, pending, synced).unwrap();
    assert_eq!((log.recovery_point(), log.log_end_offset()), (2, 3));
    drop(log);
    disk.crash_losing_all_unsynced();
    assert!(open(&disk, LogConfig::default()).await.log_end_offset() >= 2);
}

#[tokio::test]
async fn a_truncation_during_a_flush_voids_it() {
    let disk = MemDisk::new(41);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(4, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    log.append(NOW_MS, records(4, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    let pending = log.begin_flush().await.unwrap().unwrap();
    log.truncate_to(NOW_MS, 4).await.unwrap();
    log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    let synced = pending.sync().await;
    log.complete_flush(NOW_MS, pending, synced).unwrap();
    assert_eq!(log.recovery_point(), 0, "a flush begun before the truncation must not move the recovery point");
}

#[tokio::test]
async fn a_fetch_read_leaves_the_crc_to_the_consumer_but_a_verified_read_refuses_it() {
    let disk = MemDisk::new(42);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(1, 100, NOW_MS), LEADER_EPOCH).await.unwrap();
    let size = log.size_bytes();
    let file = disk.open(&dir().join("00000000000000000000.log"), crate::runtime::OpenMode::Existing).await.unwrap();
    file.write_at(size - 3, Bytes::from_static(&[0xEE])).await.unwrap();
    assert!(matches!(log.read(0, 1 << 20, 1, true).await, Err(LogError::Corrupt { .. })));
    let fetched = log.read_for_fetch(0, 1 << 20, 1, true).await.unwrap();
    assert_eq!(fetched.len() as u64, size, "the batch is served whole; the consumer's CRC check catches it");
}

/// A truncation below the recorded high watermark (a follower after an unclean election)
/// takes the recorded HW down with the log: it is never beyond the log, and the checkpoint
/// a reopen reads says so.
#[tokio::test]
async fn truncation_below_the_recorded_high_watermark_lowers_it() {
    let disk = MemDisk::new(61);
    let mut log = open(&disk, LogConfig::default()).await;
    for _ in 0..3 {
        log.append(NOW_MS, records(1, 10, NOW_MS), LEADER_EPOCH).await.unwrap();
    }
    log.record_high_watermark(3);
    assert_eq!(log.truncate_to(NOW_MS, 1).await.unwrap(), 1);
    assert_eq!(log.checkpointed_high_watermark(), Some(1));
    log.close(NOW_MS).await.unwrap();
    assert_eq!(open(&disk, LogConfig::default()).await.checkpointed_high_watermark(), Some(1));
}
