//! A fetch reads the disk without the partition's log borrowed: appends do not queue behind
//! it. And a read that a truncation raced is planned again, so it never returns bytes that
//! are no longer the log's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::{AppendError, FollowerRead, Partition};
use crate::replication::ReplicaConfig;
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
    let partition = Partition::lead_alone("t", 0, log, ReplicaConfig::new(1, -1)).await;
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

/// A new leader epoch that cannot be written to the epoch checkpoint takes the log offline,
/// and the partition with it (so a cluster broker halts), rather than leaving a replica the
/// controller names leader but that never took leadership.
#[tokio::test]
async fn a_failed_epoch_checkpoint_at_make_leader_takes_the_partition_offline() {
    use crate::replication::{LeaderRecoveryState, PartitionState};
    for failing in [false, true] {
        let disk = Arc::new(MemDisk::new(7));
        let log = Log::open(disk.clone(), PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
        let partition = Partition::new("t", 0, log, ReplicaConfig::new(1, 10));
        if failing {
            disk.set_faults(MemDiskFaults { sync_error_rate: 1.0, ..MemDiskFaults::none() });
        }
        let state =
            PartitionState::new(vec![1, 2], vec![1, 2], 1, 3, 0, LeaderRecoveryState::Recovered, Vec::new()).unwrap();
        let made = partition.make_leader(state).await;
        assert_eq!(made.is_err(), failing, "{made:?}");
        assert_eq!(partition.is_offline(), failing, "the partition is offline iff the checkpoint failed");
    }
}

/// The group-commit flusher serves `high.watermark.fsync.enable` only: under Kafka's rule a
/// leader's appends are not fsynced by it (the log follows `log.flush.*` alone), so a power
/// loss takes back what it would take from Kafka; by default each append is made durable.
#[tokio::test]
async fn only_the_fsync_rule_wakes_the_flusher_on_append() {
    for fsync_before_ack in [true, false] {
        let disk = Arc::new(MemDisk::new(8));
        let log = Log::open(disk.clone(), PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
        let config = ReplicaConfig { fsync_before_ack, ..ReplicaConfig::new(1, -1) };
        let partition = Partition::lead_alone("t", 0, log, config).await;
        let flusher = tokio::spawn(partition.clone().run_flusher(crate::runtime::Clock::system()));
        partition.append_as_leader(0, records(b"a"), 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let recovery_point = partition.log().await.recovery_point();
        assert_eq!(recovery_point, i64::from(fsync_before_ack), "fsync_before_ack={fsync_before_ack}");
        assert_eq!(partition.high_watermark(), 1, "the HW moved either way (durable, or Kafka's rule)");
        partition.stop_flusher();
        flusher.await.unwrap();
    }
}

mod leading_a_follower {
    //! The leader's side of replication, in-process: broker 1 leads, broker 2 fetches.

    use super::*;
    use crate::replication::{FollowerFetch, LeaderRecoveryState, PartitionState, ReplicaConfig};

    const EPOCH: i32 = 1;

    async fn leader_of_two() -> Arc<Partition> {
        let disk = Arc::new(MemDisk::new(9));
        let log = Log::open(disk, PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
        let config = ReplicaConfig { min_insync_replicas: 2, ..ReplicaConfig::new(1, 10) };
        let partition = Partition::new("t", 0, log, config);
        let state =
            PartitionState::new(vec![1, 2], vec![1, 2], 1, EPOCH, 0, LeaderRecoveryState::Recovered, Vec::new())
                .unwrap();
        partition.make_leader(state).await.unwrap();
        partition
    }

    fn fetch(fetch_offset: i64, current_leader_epoch: i32, last_fetched_epoch: i32) -> FollowerFetch {
        FollowerFetch {
            replica_id: 2,
            replica_epoch: -1,
            fetch_offset,
            last_fetched_epoch,
            current_leader_epoch,
            log_start_offset: 0,
        }
    }

    #[tokio::test]
    async fn an_acks_all_write_is_answered_once_the_follower_has_fetched_past_it() {
        let partition = leader_of_two().await;
        let first = partition.append_as_leader(1, records(b"a"), -1).await.unwrap();
        partition.append_as_leader(1, records(b"b"), -1).await.unwrap();
        partition.scheduled_flush(i64::MAX).await.unwrap();
        assert_eq!(partition.high_watermark(), 0, "the follower has not fetched in this epoch yet");

        let read = partition.read_for_follower(fetch(0, EPOCH, -1), 1 << 20).await;
        assert_eq!((read.error_code, read.high_watermark), (0, 0));
        assert_eq!(read.records.len(), 2 * records(b"a").len(), "both batches, below the leader's end");
        assert_eq!(partition.high_watermark(), 0, "fetching from 0 acknowledges nothing yet");

        let waiting = partition.wait_for_ack(first.leader_epoch, first.info.last_offset);
        let read = partition.read_for_follower(fetch(2, EPOCH, EPOCH), 1 << 20).await;
        assert!(read.records.is_empty());
        assert_eq!(partition.high_watermark(), 2, "the follower's fetch at 2 moved the HW");
        waiting.await.unwrap();
    }

    #[tokio::test]
    async fn a_follower_fetch_in_another_leader_epoch_is_fenced() {
        let partition = leader_of_two().await;
        assert_eq!(partition.read_for_follower(fetch(0, EPOCH - 1, -1), 100).await.error_code, 74);
        assert_eq!(partition.read_for_follower(fetch(0, EPOCH + 1, -1), 100).await.error_code, 75);
    }

    #[tokio::test]
    async fn a_diverging_follower_is_told_where_to_truncate() {
        let partition = leader_of_two().await;
        partition.append_as_leader(1, records(b"a"), 1).await.unwrap();
        // The follower has 5 records of epoch 0 that this leader never had: its epoch 1
        // began at offset 0, so epoch 0 ends there.
        let read = partition.read_for_follower(fetch(5, EPOCH, 0), 100).await;
        assert_eq!((read.error_code, read.diverging), (0, Some((0, 0))));
        assert!(read.records.is_empty());
    }

    #[tokio::test]
    async fn acks_all_is_refused_below_min_insync_replicas() {
        let partition = leader_of_two().await;
        let alone =
            PartitionState::new(vec![1, 2], vec![1], 1, EPOCH, 1, LeaderRecoveryState::Recovered, Vec::new()).unwrap();
        partition.make_leader(alone).await.unwrap();
        let refused = partition.append_as_leader(1, records(b"a"), -1).await.unwrap_err();
        assert!(matches!(refused, AppendError::Replica(crate::replication::ProduceError::NotEnoughReplicas)));
        assert!(partition.append_as_leader(1, records(b"a"), 1).await.is_ok(), "acks=1 still writes");
    }
}

mod replicating_in_process {
    //! Two replicas of one partition, the follower fetching from the leader through the same
    //! calls the network path makes, without the network: replication, the HW, and
    //! truncation by leader epoch after a change of leader (KIP-101's divergence).

    use super::*;
    use crate::replication::{LeaderRecoveryState, PartitionState, ReplicaConfig};

    async fn replica(broker_id: i32, seed: u64) -> Arc<Partition> {
        let disk = Arc::new(MemDisk::new(seed));
        let log = Log::open(disk, PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
        Partition::new("t", 0, log, ReplicaConfig::new(broker_id, 10 + i64::from(broker_id)))
    }

    pub(super) fn state(leader: i32, isr: &[i32], leader_epoch: i32, partition_epoch: i32) -> PartitionState {
        PartitionState::new(
            vec![1, 2],
            isr.to_vec(),
            leader,
            leader_epoch,
            partition_epoch,
            LeaderRecoveryState::Recovered,
            vec![],
        )
        .unwrap()
    }

    /// One fetch round trip from `follower` to `leader`.
    pub(super) async fn fetch_once(leader: &Partition, follower: &Partition) -> FollowerRead {
        let request = follower.follower_fetch().await.expect("following");
        let answer = leader.read_for_follower(request, 1 << 20).await;
        follower.apply_leader_answer(0, follower.leader_epoch().unwrap(), &answer).await.unwrap();
        answer
    }

    async fn values(partition: &Partition) -> Vec<Vec<u8>> {
        let log = partition.log().await;
        let bytes = log.read(0, 1 << 20, log.log_end_offset(), true).await.unwrap();
        let decoded = crate::client::records::decode_fetched(bytes, 0, false, &[]).unwrap();
        decoded.records.iter().map(|r| r.value.as_deref().unwrap_or_default().to_vec()).collect()
    }

    #[tokio::test]
    async fn a_follower_copies_the_leader_and_both_high_watermarks_follow() {
        let (leader, follower) = (replica(1, 21).await, replica(2, 22).await);
        leader.make_leader(state(1, &[1, 2], 1, 0)).await.unwrap();
        follower.make_follower(0, state(1, &[1, 2], 1, 0)).await.unwrap();
        for value in [b"a", b"b", b"c"] {
            leader.append_as_leader(0, records(value), 1).await.unwrap();
        }
        leader.scheduled_flush(i64::MAX).await.unwrap();
        fetch_once(&leader, &follower).await;
        assert_eq!(follower.log().await.log_end_offset(), 3);
        assert_eq!(leader.high_watermark(), 0, "the follower has not acknowledged yet");
        fetch_once(&leader, &follower).await;
        assert_eq!(leader.high_watermark(), 3, "its fetch at 3 acknowledged all three");
        fetch_once(&leader, &follower).await;
        assert_eq!(follower.high_watermark(), 3, "the follower learns the HW a fetch later");
        assert_eq!(values(&follower).await, values(&leader).await);
    }

    /// A restarted replica's HW comes from its checkpoint, not from its log end: a follower
    /// that has records beyond the HW must not take them for committed.
    #[tokio::test]
    async fn a_restarted_follower_starts_from_its_checkpointed_high_watermark() {
        let disk = Arc::new(MemDisk::new(25));
        let open = || Log::open(disk.clone(), PathBuf::from("/data/t-0"), LogConfig::default(), 0);
        let leader = replica(1, 26).await;
        let follower = Partition::new("t", 0, open().await.unwrap(), ReplicaConfig::new(2, 12));
        leader.make_leader(state(1, &[1, 2], 1, 0)).await.unwrap();
        follower.make_follower(0, state(1, &[1, 2], 1, 0)).await.unwrap();
        for value in [b"a", b"b"] {
            leader.append_as_leader(0, records(value), 1).await.unwrap();
        }
        leader.scheduled_flush(i64::MAX).await.unwrap();
        for _ in 0..3 {
            fetch_once(&leader, &follower).await;
        }
        assert_eq!(follower.high_watermark(), 2);
        leader.append_as_leader(0, records(b"c"), 1).await.unwrap();
        fetch_once(&leader, &follower).await;
        assert_eq!(follower.log().await.log_end_offset(), 3, "c is on the follower, not yet committed");
        follower.close(0).await.unwrap();

        let restarted = Partition::new("t", 0, open().await.unwrap(), ReplicaConfig::new(2, 13));
        assert_eq!(restarted.high_watermark(), 2, "the checkpointed HW, not the log end 3");
    }

    /// KIP-101 sequence 2: A leads epoch 1 and writes m0, m1; only m0 reaches B. B leads
    /// epoch 2 and writes m2 at offset 1. A follows B: its m1 diverges and must go.
    #[tokio::test]
    async fn a_replica_with_a_divergent_tail_truncates_by_leader_epoch() {
        let (a, b) = (replica(1, 23).await, replica(2, 24).await);
        a.make_leader(state(1, &[1, 2], 1, 0)).await.unwrap();
        b.make_follower(0, state(1, &[1, 2], 1, 0)).await.unwrap();
        a.append_as_leader(0, records(b"m0"), 1).await.unwrap();
        fetch_once(&a, &b).await;
        a.append_as_leader(0, records(b"m1"), 1).await.unwrap();

        b.make_leader(state(2, &[2], 2, 1)).await.unwrap();
        b.append_as_leader(0, records(b"m2"), 1).await.unwrap();
        a.make_follower(0, state(2, &[2], 2, 1)).await.unwrap();

        let answer = fetch_once(&b, &a).await;
        assert_eq!(answer.diverging, Some((1, 1)), "B says epoch 1 ended at offset 1");
        assert_eq!(a.log().await.log_end_offset(), 1, "A dropped m1");
        fetch_once(&b, &a).await;
        assert_eq!(values(&a).await, vec![b"m0".to_vec(), b"m2".to_vec()]);
        assert_eq!(values(&a).await, values(&b).await, "one record per offset on both replicas");
    }

    /// A leader change whose epoch-cache write fails takes the partition offline, not only
    /// its log: a cluster broker halts on an offline partition, instead of staying the
    /// leader of one it can no longer serve.
    #[tokio::test]
    async fn a_failed_epoch_cache_write_on_becoming_leader_takes_the_partition_offline() {
        let disk = Arc::new(MemDisk::new(23));
        let log = Log::open(disk.clone(), PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
        let partition = Partition::new("t", 0, log, ReplicaConfig::new(1, 11));
        partition.make_leader(state(1, &[1, 2], 1, 0)).await.unwrap();
        assert!(!partition.is_offline());

        disk.set_faults(MemDiskFaults { sync_error_rate: 1.0, ..MemDiskFaults::none() });
        let failed = partition.make_leader(state(1, &[1, 2], 2, 1)).await;

        assert!(failed.is_err(), "the epoch-cache write failed");
        assert!(partition.is_offline(), "the partition stays online on an offline log");
    }
}

mod historical_truncation {
    //! KIP-101 sequence 1 (HISTORICAL-BUGS.md), in-process: a follower that truncates to its
    //! stale high watermark when it restarts loses an acknowledged record once it becomes
    //! leader. With truncation by leader epoch (the default) the record survives.

    use super::replicating_in_process::{fetch_once, state};
    use super::*;
    use crate::replication::ReplicaConfig;

    /// Runs the sequence and returns the log of the replica that ends as leader.
    async fn new_leaders_log_after_the_sequence(pre_kip_101: bool) -> Vec<(i64, Vec<u8>)> {
        let config = |id: i32| ReplicaConfig {
            truncate_to_high_watermark_on_follow: pre_kip_101,
            ..ReplicaConfig::new(id, 10 + i64::from(id))
        };
        let leader_disk = Arc::new(MemDisk::new(31));
        let follower_disk = Arc::new(MemDisk::new(32));
        let open = |disk: &Arc<MemDisk>| Log::open(disk.clone(), PathBuf::from("/data/t-0"), LogConfig::default(), 0);
        let b = Partition::new("t", 0, open(&leader_disk).await.unwrap(), config(1));
        let a = Partition::new("t", 0, open(&follower_disk).await.unwrap(), config(2));
        b.make_leader(state(1, &[1, 2], 1, 0)).await.unwrap();
        a.make_follower(0, state(1, &[1, 2], 1, 0)).await.unwrap();
        // 1. B appends m0, m1. 2. A fetches both. 3. A fetches from 2: B's HW moves to 2 and
        // m1 is acknowledged.
        b.append_as_leader(0, records(b"m0"), -1).await.unwrap();
        let m1 = b.append_as_leader(0, records(b"m1"), -1).await.unwrap();
        b.scheduled_flush(i64::MAX).await.unwrap();
        fetch_once(&b, &a).await;
        fetch_once(&b, &a).await;
        b.wait_for_ack(m1.leader_epoch, m1.info.last_offset).await.expect("m1 is acknowledged");
        // 4. A crashes before it learns HW=2; 5. it restarts and follows B again.
        follower_disk.crash();
        let a = Partition::new("t", 0, open(&follower_disk).await.unwrap(), config(2));
        a.make_follower(0, state(1, &[1, 2], 1, 0)).await.unwrap();
        // 6. B crashes; A, in the ISR, leads epoch 2, and the next write lands.
        a.make_leader(state(2, &[2], 2, 1)).await.unwrap();
        a.append_as_leader(0, records(b"m2"), 1).await.unwrap();
        let log = a.log().await;
        let bytes = log.read(0, 1 << 20, log.log_end_offset(), true).await.unwrap();
        let decoded = crate::client::records::decode_fetched(bytes, 0, false, &[]).unwrap();
        decoded.records.iter().map(|r| (r.offset, r.value.as_deref().unwrap_or_default().to_vec())).collect()
    }

    #[tokio::test]
    async fn truncation_by_leader_epoch_keeps_the_acknowledged_record() {
        let log = new_leaders_log_after_the_sequence(false).await;
        assert_eq!(log, [(0, b"m0".to_vec()), (1, b"m1".to_vec()), (2, b"m2".to_vec())]);
    }

    #[tokio::test]
    async fn truncation_to_the_high_watermark_loses_it() {
        let log = new_leaders_log_after_the_sequence(true).await;
        assert!(!log.contains(&(1, b"m1".to_vec())), "the pre-KIP-101 design must lose the acknowledged m1: {log:?}");
    }
}
