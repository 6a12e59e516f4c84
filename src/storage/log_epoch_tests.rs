//! The log's leader-epoch rules, one test each, on `MemDisk`: stamping, the cache across
//! appends, truncation, retention, reopen and crashes, and the file.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::leader_epoch_checkpoint::FILE_NAME;
use super::record_batch::build::{batch, ProducerFields, Record};
use super::record_batch::{self, CrcCheck};
use super::*;
use crate::runtime::{Disk, MemDisk, MemDiskFaults, OpenMode};

const NOW_MS: i64 = 1_700_000_000_000;

fn dir() -> PathBuf {
    PathBuf::from("/data/topic-0")
}

/// One batch of `records` records of 100 bytes, as a producer sends it (epoch -1).
fn records(records: usize) -> Bytes {
    let value = [b'x'; 100];
    let list: Vec<Record<'_>> =
        (0..records).map(|_| Record { timestamp_ms: NOW_MS, key: None, value: Some(&value) }).collect();
    batch(&list, ProducerFields::NONE)
}

/// A batch as a leader in `epoch` stored it at `base_offset`.
fn replicated(base_offset: i64, epoch: i32, count: usize) -> Bytes {
    let mut bytes = records(count).to_vec();
    record_batch::set_base_offset(&mut bytes, base_offset);
    record_batch::set_partition_leader_epoch(&mut bytes, epoch);
    Bytes::from(bytes)
}

async fn open(disk: &MemDisk, config: LogConfig) -> Log {
    Log::open(Arc::new(disk.clone()) as Arc<dyn Disk>, dir(), config, NOW_MS).await.unwrap()
}

fn small_segments() -> LogConfig {
    LogConfig { segment_bytes: 1_000, index_interval_bytes: 500, ..LogConfig::default() }
}

fn entries(log: &Log) -> Vec<(i32, i64)> {
    log.leader_epoch_cache().entries().iter().map(|e| (e.epoch, e.start_offset)).collect()
}

fn file_text(disk: &MemDisk) -> String {
    String::from_utf8(disk.file_contents(&dir().join(FILE_NAME)).expect("the file exists").to_vec()).unwrap()
}

/// The epoch of every batch, read back through `Log::read`.
async fn batch_epochs(log: &Log) -> Vec<(i64, i32)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let bytes = log.read(offset, 1, log.log_end_offset(), true).await.unwrap();
        let header = record_batch::parse_batch(&bytes, bytes.len(), CrcCheck::Verify).unwrap();
        out.push((header.base_offset, header.partition_leader_epoch));
        offset = header.last_offset() + 1;
    }
    out
}

#[tokio::test]
async fn a_leader_append_stamps_its_epoch_on_every_batch_and_assigns_it_once() {
    let disk = MemDisk::new(1);
    let mut log = open(&disk, LogConfig::default()).await;
    let two = Bytes::from([records(2).to_vec(), records(3).to_vec()].concat());
    log.append(NOW_MS, two, 3).await.unwrap();
    log.append(NOW_MS, records(1), 3).await.unwrap();
    log.append(NOW_MS, records(2), 5).await.unwrap();
    assert_eq!(batch_epochs(&log).await, [(0, 3), (2, 3), (5, 3), (6, 5)]);
    assert_eq!(entries(&log), [(3, 0), (5, 6)]);
    assert_eq!(log.latest_epoch(), Some(5));
    assert_eq!(file_text(&disk), "0\n2\n3 0\n5 6\n", "written at each new epoch");
    // The stamp lies outside the CRC: what is stored still verifies, and dump-log shows it.
    let segment = dir().join(segment_file_name(0, LOG_SUFFIX));
    let lines = dump_file(&disk, &segment).await.unwrap();
    assert!(lines[2].contains(" partitionLeaderEpoch: 3 ") && lines[2].ends_with("isvalid: true"), "{}", lines[2]);
    assert!(lines[5].contains(" partitionLeaderEpoch: 5 ") && lines[5].ends_with("isvalid: true"), "{}", lines[5]);
}

#[tokio::test]
async fn a_leader_append_in_an_older_or_negative_epoch_is_refused_and_writes_nothing() {
    let disk = MemDisk::new(2);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(1), 5).await.unwrap();
    for epoch in [4, -1] {
        let refused = log.append(NOW_MS, records(1), epoch).await;
        assert!(
            matches!(refused, Err(LogError::InvalidLeaderEpoch { leader_epoch, latest_epoch: Some(5) }) if leader_epoch == epoch),
            "{refused:?}"
        );
    }
    assert_eq!(log.log_end_offset(), 1);
    assert_eq!(entries(&log), [(5, 0)]);
    assert!(!log.is_offline());
}

#[tokio::test]
async fn follower_appends_assign_each_batchs_own_epoch_and_skip_batches_without_one() {
    let disk = MemDisk::new(3);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append_as_follower(NOW_MS, replicated(0, -1, 2)).await.unwrap();
    assert!(log.leader_epoch_cache().is_empty(), "a batch without an epoch assigns nothing");
    let run = [replicated(2, 2, 1).to_vec(), replicated(3, 2, 2).to_vec(), replicated(5, 4, 1).to_vec()].concat();
    log.append_as_follower(NOW_MS, Bytes::from(run)).await.unwrap();
    assert_eq!(entries(&log), [(2, 2), (4, 5)]);
    assert_eq!(batch_epochs(&log).await, [(0, -1), (2, 2), (3, 2), (5, 4)]);
}

#[tokio::test]
async fn end_offsets_of_epochs_use_the_log_end_and_an_election_assigns_at_it() {
    let disk = MemDisk::new(4);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(3), 1).await.unwrap();
    log.append(NOW_MS, records(2), 3).await.unwrap();
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 3)));
    assert_eq!(log.end_offset_for_epoch(2), Some((1, 3)), "KIP-279: the answer names epoch 1");
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 5)), "the latest epoch ends at the log end");
    assert_eq!(log.end_offset_for_epoch(4), None);
    assert_eq!(log.end_offset_for_epoch(-1), None);

    log.assign_epoch_start_offset(7).await.unwrap();
    assert_eq!(entries(&log), [(1, 0), (3, 3), (7, 5)]);
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 5)));
    assert_eq!(log.end_offset_for_epoch(7), Some((7, 5)));
    assert!(matches!(log.assign_epoch_start_offset(6).await, Err(LogError::InvalidLeaderEpoch { .. })));
    log.append(NOW_MS, records(1), 7).await.unwrap();
    assert_eq!(entries(&log), [(1, 0), (3, 3), (7, 5)], "the election's entry covers the first batch");
}

#[tokio::test]
async fn truncating_at_the_log_end_drops_an_election_that_wrote_nothing() {
    // This replica led epoch 1 briefly and appended nothing; the next leader's log goes on
    // from here with epoch 0 batches. Without the truncation, assigning epoch 0 at 1 would
    // drop the entry (0, 0) too (its epoch is >= 0), leaving offset 0 without an epoch.
    let disk = MemDisk::new(12);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(1), 0).await.unwrap();
    log.assign_epoch_start_offset(1).await.unwrap();
    assert_eq!(entries(&log), [(0, 0), (1, 1)]);
    assert_eq!(log.truncate_to(NOW_MS, 5).await.unwrap(), 1, "no batch goes");
    assert_eq!(entries(&log), [(0, 0)]);
    assert_eq!(file_text(&disk), "0\n1\n0 0\n");
    log.append_as_follower(NOW_MS, replicated(1, 0, 2)).await.unwrap();
    assert_eq!(entries(&log), [(0, 0)]);
}

#[tokio::test]
async fn the_cache_survives_a_clean_reopen() {
    let disk = MemDisk::new(5);
    let mut log = open(&disk, small_segments()).await;
    for epoch in [1, 1, 2, 2, 2, 6] {
        log.append(NOW_MS, records(2), epoch).await.unwrap();
    }
    let before = entries(&log);
    assert_eq!(before, [(1, 0), (2, 4), (6, 10)]);
    log.close(NOW_MS).await.unwrap();
    let log = open(&disk, small_segments()).await;
    assert_eq!(entries(&log), before);
    assert_eq!(file_text(&disk), "0\n3\n1 0\n2 4\n6 10\n");
}

#[tokio::test]
async fn after_a_crash_recovery_truncates_the_cache_to_the_recovered_log() {
    let disk = MemDisk::new(6);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(2), 1).await.unwrap();
    log.append(NOW_MS, records(2), 2).await.unwrap();
    log.flush(NOW_MS).await.unwrap();
    log.append(NOW_MS, records(2), 4).await.unwrap();
    // The file is ahead of the durable log: epoch 4 was written before its batch.
    assert_eq!(file_text(&disk), "0\n3\n1 0\n2 2\n4 4\n");
    drop(log);
    disk.crash_losing_all_unsynced();
    let log = open(&disk, LogConfig::default()).await;
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(entries(&log), [(1, 0), (2, 2)]);
    assert_eq!(file_text(&disk), "0\n2\n1 0\n2 2\n", "written back fitted to the log");
}

#[tokio::test]
async fn truncation_removes_later_epochs_durably() {
    let disk = MemDisk::new(7);
    let mut log = open(&disk, small_segments()).await;
    for epoch in [1, 1, 2, 2, 3, 3] {
        log.append(NOW_MS, records(2), epoch).await.unwrap();
    }
    log.flush(NOW_MS).await.unwrap();
    assert_eq!(log.truncate_to(NOW_MS, 7).await.unwrap(), 6, "offset 7 lies in the batch from 6");
    assert_eq!(entries(&log), [(1, 0), (2, 4)]);
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 6)));
    assert_eq!(log.end_offset_for_epoch(3), None);
    assert_eq!(file_text(&disk), "0\n2\n1 0\n2 4\n");
    // A follower now appends the new leader's epoch-2 batches: nothing changes in the
    // cache, so the truncation's own write is what keeps the file right after a crash.
    log.append_as_follower(NOW_MS, replicated(6, 2, 3)).await.unwrap();
    log.flush(NOW_MS).await.unwrap();
    drop(log);
    disk.crash_losing_all_unsynced();
    let mut log = open(&disk, small_segments()).await;
    assert_eq!(entries(&log), [(1, 0), (2, 4)]);

    log.truncate_fully_and_start_at(NOW_MS, 20).await.unwrap();
    assert!(log.leader_epoch_cache().is_empty(), "an empty log has no epochs");
    assert_eq!(file_text(&disk), "0\n0\n");
}

#[tokio::test]
async fn retention_moves_the_first_epoch_to_the_new_log_start() {
    let disk = MemDisk::new(8);
    let config = LogConfig { retention_bytes: 1_000, ..small_segments() };
    let mut log = open(&disk, config.clone()).await;
    for epoch in [1, 1, 1, 1, 2, 2, 2, 2] {
        log.append(NOW_MS, records(2), epoch).await.unwrap();
    }
    assert_eq!(entries(&log), [(1, 0), (2, 8)]);
    let deleted = log.delete_old_segments(NOW_MS, log.log_end_offset()).await.unwrap();
    assert!(deleted > 0 && log.log_start_offset() > 0);
    let start = log.log_start_offset();
    let expected = if start < 8 { vec![(1, start), (2, 8)] } else { vec![(2, start)] };
    assert_eq!(entries(&log), expected);
    log.flush(NOW_MS).await.unwrap();
    drop(log);
    disk.crash_losing_all_unsynced();
    assert_eq!(entries(&open(&disk, config).await), expected);
}

#[tokio::test]
async fn a_missing_or_corrupt_file_is_rebuilt_from_the_batches() {
    let disk = MemDisk::new(9);
    let mut log = open(&disk, small_segments()).await;
    for epoch in [1, 1, 4, 4, 4, 9] {
        log.append(NOW_MS, records(2), epoch).await.unwrap();
    }
    // An election without a batch: the one entry a rebuild cannot know, dropped at any
    // reopen anyway (it starts at the log end).
    log.assign_epoch_start_offset(11).await.unwrap();
    log.close(NOW_MS).await.unwrap();
    let expected = [(1, 0), (4, 4), (9, 10)];
    let path = dir().join(FILE_NAME);

    disk.remove(&path).await.unwrap();
    let mut log = open(&disk, small_segments()).await;
    assert_eq!(entries(&log), expected, "rebuilt when missing");
    assert_eq!(file_text(&disk), "0\n3\n1 0\n4 4\n9 10\n");
    log.close(NOW_MS).await.unwrap();

    for garbage in ["0\n3\n1 0\n4 4\n", "0\n2\n4 4\n1 0\n", "1\n0\n", "", "0\n1\n1 x\n"] {
        let file = disk.open(&path, OpenMode::Existing).await.unwrap();
        file.set_len(0).await.unwrap();
        file.append(Bytes::from(garbage)).await.unwrap();
        file.sync().await.unwrap();
        let mut log = open(&disk, small_segments()).await;
        assert_eq!(entries(&log), expected, "rebuilt from {garbage:?}");
        assert_eq!(file_text(&disk), "0\n3\n1 0\n4 4\n9 10\n");
        log.close(NOW_MS).await.unwrap();
    }
}

#[tokio::test]
async fn a_rebuild_is_not_fooled_by_a_flip_in_an_epoch_on_the_read_path() {
    // `partitionLeaderEpoch` lies outside the CRC: one scan can read a flipped epoch and
    // believe it. The rebuild scans until two scans agree.
    let disk = MemDisk::new(13);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(1), 5).await.unwrap();
    log.append(NOW_MS, records(1), 7).await.unwrap();
    log.flush(NOW_MS).await.unwrap();
    let expected = log.leader_epoch_cache().clone();
    disk.set_faults(MemDiskFaults { bit_flip_rate: 0.3, ..MemDiskFaults::none() });
    let (mut wrong_single_scans, mut rebuilds) = (0, 0);
    for _ in 0..300 {
        if log.scan_epochs().await.is_ok_and(|scanned| scanned != expected) {
            wrong_single_scans += 1;
        }
        // A scan fails outright when a batch's CRC fails on every re-read; retried here.
        if let Ok(rebuilt) = log.rebuild_leader_epoch_cache().await {
            assert_eq!(rebuilt, expected);
            rebuilds += 1;
        }
    }
    assert!(wrong_single_scans > 0, "the faults never hit an epoch: the test shows nothing");
    assert!(rebuilds > 200, "{rebuilds}");
}

#[tokio::test]
#[should_panic(expected = "past the log end")]
async fn the_log_invariant_check_fires_on_an_epoch_starting_past_the_log_end() {
    let disk = MemDisk::new(10);
    let mut log = open(&disk, LogConfig::default()).await;
    log.append(NOW_MS, records(2), 1).await.unwrap();
    log.leader_epoch_cache.assign(2, 3);
    log.check_invariants();
}

#[tokio::test]
#[should_panic(expected = "before the log start")]
async fn the_log_invariant_check_fires_on_an_epoch_starting_before_the_log_start() {
    let disk = MemDisk::new(11);
    let mut log = open(&disk, LogConfig::default()).await;
    log.truncate_fully_and_start_at(NOW_MS, 10).await.unwrap();
    log.leader_epoch_cache.assign(2, 5);
    log.check_invariants();
}
