//! A fetch reads the disk without the partition's log borrowed: appends do not queue behind
//! it. And a read that a truncation raced is planned again, so it never returns bytes that
//! are no longer the log's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::Partition;
use crate::runtime::{MemDisk, MemDiskFaults};
use crate::storage::record_batch::build::{batch, ProducerFields, Record};
use crate::storage::{Log, LogConfig};

fn records(value: &[u8]) -> Bytes {
    batch(&[Record { timestamp_ms: 0, key: None, value: Some(value) }], ProducerFields::NONE)
}

#[tokio::test]
async fn appends_do_not_wait_for_a_fetch_reading_the_disk() {
    let disk = Arc::new(MemDisk::new(5));
    let log = Log::open(disk.clone(), PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
    let partition = Partition::lead_alone("t", 0, log, 1, 1, 0).await;
    partition.append_as_leader(0, records(b"first"), 1).await.unwrap();
    partition.scheduled_flush(i64::MAX).await.unwrap();
    assert_eq!(partition.high_watermark(), 1, "the flush moved the HW");
    // From now on every disk operation takes 200 ms: a fetch (walk the headers, then read)
    // takes two, an append one.
    let slow = Duration::from_millis(200);
    disk.set_faults(MemDiskFaults { latency: Some((slow, slow)), ..MemDiskFaults::none() });

    let finished = Mutex::new(Vec::new());
    let fetch = async {
        let read = partition.read_for_fetch(0, 1 << 20, true).await.unwrap();
        finished.lock().unwrap().push("fetch");
        read
    };
    let append = async {
        // Starts once the fetch has planned and is reading.
        tokio::time::sleep(Duration::from_millis(50)).await;
        partition.append_as_leader(0, records(b"second"), 1).await.unwrap();
        finished.lock().unwrap().push("append");
    };
    let (read, ()) = tokio::join!(fetch, append);
    assert_eq!(*finished.lock().unwrap(), ["append", "fetch"], "the append waited for the fetch's disk reads");
    assert_eq!(read.high_watermark, 1);
    // The first batch as stored (its partitionLeaderEpoch stamped by the append), nothing
    // past the high watermark.
    let first = records(b"first");
    assert_eq!(read.records.len(), first.len(), "the fetch read the first batch, nothing past the HW");
    assert_eq!((&read.records[..12], &read.records[16..]), (&first[..12], &first[16..]));
}

#[tokio::test]
async fn a_read_raced_by_truncation_is_not_current() {
    let disk = Arc::new(MemDisk::new(6));
    let mut log = Log::open(disk, PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
    log.append(0, records(b"a"), 0).await.unwrap();
    log.append(0, records(b"b"), 0).await.unwrap();
    let reader = log.reader(1, 2).unwrap();
    assert!(reader.is_current());
    log.truncate_to(0, 1).await.unwrap();
    assert!(!reader.is_current(), "a truncation after the plan must void the read");
    let fresh = log.reader(1, 1).unwrap();
    assert!(fresh.is_current());
    assert!(fresh.read(1 << 20, true, crate::storage::record_batch::CrcCheck::Verify).await.unwrap().is_empty());
}
