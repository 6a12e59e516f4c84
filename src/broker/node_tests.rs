//! The node's owned tasks: the periodic work expires idle producers on schedule, and a clean
//! shutdown stops every flusher and closes every log with a producer snapshot.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{Node, NodeEnv};
use crate::broker::config::BrokerConfig;
use crate::broker::partition::AppendError;
use crate::broker::topics::NewTopic;
use crate::runtime::{seeded, Clock, Disk, MemDisk};
use crate::storage::record_batch::build::{batch, ProducerFields, Record};

const PRODUCER_ID: i64 = 7;

/// A batch of idempotent producer 7; a producer's idleness counts from its last batch's
/// timestamp, as in Kafka.
fn idempotent_batch(timestamp_ms: i64, base_sequence: i32) -> Bytes {
    let producer = ProducerFields { producer_id: PRODUCER_ID, producer_epoch: 0, base_sequence };
    batch(&[Record { timestamp_ms, key: None, value: Some(b"v") }], producer)
}

async fn node_with_topic(disk: Arc<MemDisk>, clock: Clock, extra: &str) -> Node {
    let text = format!("listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=/data\n{extra}");
    let config = BrokerConfig::from_properties(&text, &[]).unwrap();
    let node = Node::build(NodeEnv { config, disk, clock, rng: seeded(3) }).await.unwrap();
    let topic = NewTopic { name: "t".into(), partitions: 1, replication_factor: 1, configs: Vec::new() };
    node.context().topics.create(topic).await.unwrap();
    node
}

#[tokio::test]
async fn idle_producers_expire_on_schedule() {
    let clock = Clock::system();
    let extra = "producer.id.expiration.ms=1000\nproducer.id.expiration.check.interval.ms=20";
    let node = node_with_topic(Arc::new(MemDisk::new(1)), clock.clone(), extra).await;
    let ctx = node.context();
    let partition = ctx.topics.partition("t", 0).await.unwrap();
    partition.append_as_leader(clock.now_ms(), idempotent_batch(clock.now_ms(), 0), 1).await.unwrap();
    assert!(partition.log().await.producer_state().get(PRODUCER_ID).is_some());
    let running = crate::runtime::spawn(node.run(std::future::pending()));
    // Still fresh: a few checks pass without expiring it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(partition.log().await.producer_state().get(PRODUCER_ID).is_some(), "expired while fresh");
    clock.jump(2_000);
    let mut expired = false;
    for _ in 0..250 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if partition.log().await.producer_state().get(PRODUCER_ID).is_none() {
            expired = true;
            break;
        }
    }
    running.abort();
    assert!(expired, "an idle producer outlived producer.id.expiration.ms");
}

#[tokio::test]
async fn clean_shutdown_closes_every_log_with_a_producer_snapshot() {
    let disk = Arc::new(MemDisk::new(2));
    let clock = Clock::system();
    let node = node_with_topic(disk.clone(), clock.clone(), "").await;
    let ctx = node.context();
    let partition = ctx.topics.partition("t", 0).await.unwrap();
    partition.append_as_leader(clock.now_ms(), idempotent_batch(clock.now_ms(), 0), 1).await.unwrap();
    partition.append_as_leader(clock.now_ms(), idempotent_batch(clock.now_ms(), 1), 1).await.unwrap();
    node.run(async {}).await;
    assert!(partition.log().await.is_closed());
    assert!(ctx.topics.flushers_running() == 0, "a flusher outlived the shutdown");
    let files = disk.list_dir(std::path::Path::new("/data/t-0")).await.unwrap();
    assert!(files.iter().any(|f| f == "00000000000000000002.snapshot"), "no snapshot at the log end: {files:?}");
    // An append after the close is refused, not written to a closed log.
    let refused = partition.append_as_leader(clock.now_ms(), idempotent_batch(clock.now_ms(), 2), 1).await;
    assert!(matches!(refused, Err(AppendError::Log(crate::storage::LogError::Closed))), "{refused:?}");
}

#[tokio::test]
async fn a_node_of_a_multi_node_quorum_is_refused_rather_than_run_alone() {
    let text = "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0\nlog.dirs=/data\n\
                process.roles=broker,controller\nnode.id=1\ncontroller.listener.names=CONTROLLER\n\
                controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095";
    let config = BrokerConfig::from_properties(text, &[]).unwrap();
    let env = NodeEnv { config, disk: Arc::new(MemDisk::new(4)), clock: Clock::system(), rng: seeded(4) };
    let refused = Node::build(env).await.err().expect("refused").to_string();
    assert!(refused.contains("process.roles") && refused.contains("3 voters"), "{refused}");
}

/// `high.watermark.fsync.enable`: by default an appended record counts toward the high
/// watermark only once fsynced; with it off (Kafka's rule) as soon as it is in the log.
#[tokio::test]
async fn the_high_watermark_waits_for_fsync_unless_told_otherwise() {
    for (fsync, expected_high_watermark) in [(true, 0), (false, 1)] {
        let extra = format!("high.watermark.fsync.enable={fsync}");
        let disk = Arc::new(MemDisk::new(5));
        let node = node_with_topic(disk.clone(), Clock::system(), &extra).await;
        let partition = node.context().topics.partition("t", 0).await.unwrap();
        // Every disk operation now takes 50 ms, so the flusher has not synced yet when the
        // append returns (this test runs on one thread: nothing else runs meanwhile).
        let slow = Duration::from_millis(50);
        disk.set_faults(crate::runtime::MemDiskFaults {
            latency: Some((slow, slow)),
            ..crate::runtime::MemDiskFaults::none()
        });
        partition.append_as_leader(0, idempotent_batch(0, 0), -1).await.unwrap();
        assert_eq!(partition.high_watermark(), expected_high_watermark, "high.watermark.fsync.enable={fsync}");
    }
}
