//! storage-crash-recovery
//!
//! Story: one node appends record batches to a partition log under a flush policy
//! (`flush.messages`, `flush.ms`) and retention, on a disk with latency, read errors, bit
//! flips and failing fsyncs. At seeded random times the machine crashes: the node dies and
//! its disk loses, tears or zero-fills whatever was not synced, and may forget directory
//! entries that were not synced. The node restarts, recovers the log and reads it all back.
//!
//! What must hold (checker `SyncedPrefixIntact`): after every restart, every batch below
//! the recovery point at the crash is read back byte-identical at its offset; every batch
//! read back is one that was written at that offset; offsets run contiguously from the log
//! start to the log end. At the end, with the faults healed, a last restart reads the whole
//! log back.
//!
//! Variant `lying_fsync` (tests only): a disk whose fsync does nothing. The checker must
//! catch the synced batches it loses.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use seedlog::broker::partition::SINGLE_BROKER_LEADER_EPOCH;
use seedlog::events::Event;
use seedlog::runtime::{Clock, Disk, MemDiskFaults, NodeRng};
use seedlog::storage::record_batch::{self, build::batch, build::ProducerFields, build::Record};
use seedlog::storage::{Log, LogConfig, LogError};
use tracing::{info, warn};

use crate::checker::Checker;
use crate::checkers::SyncedPrefixIntact;
use crate::events::{BatchAppending, BatchRead, ReadBackDone};
use crate::fnv::Fnv64;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::{NodeEnv, World};

const NODE: &str = "storage";

/// The scenario; `lying_fsync` turns on the broken-disk variant.
#[derive(Clone, Copy, Debug, Default)]
pub struct StorageCrashRecovery {
    pub lying_fsync: bool,
}

impl Scenario for StorageCrashRecovery {
    fn name(&self) -> &'static str {
        "storage-crash-recovery"
    }

    fn story(&self) -> &'static str {
        "a node appends under a flush policy and crashes at random times (torn, lost, \
         zero-filled writes); the synced prefix survives every restart, nothing corrupt is read"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        vec![Box::new(SyncedPrefixIntact::new(NODE))]
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let lying_fsync = self.lying_fsync;
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let read_backs = Arc::new(AtomicU64::new(0));
            let done = read_backs.clone();
            let faults = MemDiskFaults { lying_fsync, ..MemDiskFaults::typical() };
            world.add_node_with_faults(NODE, faults, move |env| node(env, done.clone()));

            let crashes = rng.random_range(6..14);
            for _ in 0..crashes {
                let uptime_ms = rng.random_range(20..600);
                tokio::time::sleep(Duration::from_millis(uptime_ms)).await;
                world.kill(NODE);
                let downtime_ms = rng.random_range(0..50);
                tokio::time::sleep(Duration::from_millis(downtime_ms)).await;
                world.restart(NODE);
            }
            // Heal the disk (keeping the lie, which is the variant's point), crash once more
            // and wait for the node to read everything back.
            let healed = MemDiskFaults { lying_fsync, ..MemDiskFaults::none() };
            tokio::time::sleep(Duration::from_millis(rng.random_range(20..600))).await;
            world.kill(NODE);
            world.disk(NODE).set_faults(healed);
            let before = read_backs.load(Ordering::SeqCst);
            world.restart(NODE);
            while read_backs.load(Ordering::SeqCst) == before {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            info!(name: "scenario_finished", crashes);
        })
    }
}

/// The log's settings: small segments and frequent flushes so a short run rolls, flushes,
/// checkpoints and deletes by retention many times.
fn log_config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 << 10,
        index_interval_bytes: 4096,
        flush_interval_messages: 200,
        flush_interval_ms: 150,
        flush_offset_checkpoint_interval_ms: 500,
        retention_bytes: 256 << 10,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

/// The node: recover the log, read it all back, then append until the machine dies or the
/// disk fails.
async fn node(env: NodeEnv, read_backs: Arc<AtomicU64>) {
    let NodeEnv { disk, clock, mut rng, .. } = env;
    let disk: Arc<dyn Disk> = disk;
    let dir = PathBuf::from("/data/events-0");
    let mut log = loop {
        match Log::open(disk.clone(), dir.clone(), log_config(), clock.now_ms()).await {
            Ok(log) => break log,
            Err(error) => {
                warn!(name: "log_open_failed", error = %error);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    if let Err(error) = read_back(&log).await {
        warn!(name: "read_back_failed", error = %error);
        return std::future::pending().await;
    }
    read_backs.fetch_add(1, Ordering::SeqCst);
    if let Err(error) = append_forever(&mut log, &clock, &mut rng).await {
        warn!(name: "workload_stopped", error = %error);
    }
    std::future::pending().await
}

/// Reads every batch from the log start to the log end, reporting each.
async fn read_back(log: &Log) -> Result<(), LogError> {
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let bytes = log.read(offset, 64 << 10, end, true).await?;
        let mut position = 0;
        while position < bytes.len() {
            let header = record_batch::read_header(&bytes[position..]);
            let batch = bytes.slice(position..position + header.size_bytes);
            BatchRead { base_offset: header.base_offset, last_offset: header.last_offset(), digest: digest(&batch) }
                .emit();
            offset = header.last_offset() + 1;
            position += header.size_bytes;
        }
    }
    ReadBackDone { log_end_offset: end }.emit();
    Ok(())
}

/// Appends random batches, flushing and applying retention by policy. Each batch is
/// reported (`batch_appending`) before the append starts: a crash may make it durable
/// before the append returns, so the checker must know it as soon as it may exist.
async fn append_forever(log: &mut Log, clock: &Clock, rng: &mut NodeRng) -> Result<(), LogError> {
    loop {
        let now_ms = clock.now_ms();
        let records = random_batch(rng, now_ms);
        let base_offset = log.log_end_offset();
        let mut stored = records.to_vec();
        record_batch::set_base_offset(&mut stored, base_offset);
        let last_offset = base_offset + i64::from(record_batch::read_header(&stored).last_offset_delta);
        BatchAppending { base_offset, last_offset, digest: digest(&stored) }.emit();
        let appended = log.append(now_ms, records, SINGLE_BROKER_LEADER_EPOCH).await?;
        assert_eq!(appended.first_offset, base_offset, "a leader append starts at the log end");
        log.maybe_flush(clock.now_ms()).await?;
        log.delete_old_segments(clock.now_ms(), log.log_end_offset()).await?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(1..15))).await;
    }
}

/// One batch of 1 to 20 keyed records of up to 2 KiB each.
fn random_batch(rng: &mut NodeRng, now_ms: i64) -> Bytes {
    let count = rng.random_range(1..=20);
    let values: Vec<Vec<u8>> = (0..count)
        .map(|_| {
            let len = rng.random_range(0..2048);
            (0..len).map(|_| rng.random()).collect()
        })
        .collect();
    let keys: Vec<[u8; 8]> = (0..count).map(|_| rng.random::<u64>().to_be_bytes()).collect();
    let records: Vec<Record<'_>> =
        (0..count).map(|i| Record { timestamp_ms: now_ms, key: Some(&keys[i]), value: Some(&values[i]) }).collect();
    batch(&records, ProducerFields::NONE)
}

/// The batch's fingerprint: every byte but `partitionLeaderEpoch` (bytes 12..16), which no
/// CRC covers and a read-path flip can change undetected; see docs/storage.md.
fn digest(batch: &[u8]) -> u64 {
    let mut hash = Fnv64::new();
    hash.write(&batch[..12]);
    hash.write(&batch[16..]);
    hash.finish()
}
