//! Two brokers on loopback: broker 2's fetcher replicates broker 1's partition over TCP, and
//! an acks=all produce to broker 1 is answered only once broker 2 has the records.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{FetcherConfig, FetcherHandle};
use crate::broker::config::BrokerConfig;
use crate::broker::context::BrokerContext;
use crate::broker::node::{Node, NodeEnv};
use crate::broker::topics::NewTopic;
use crate::client::{Producer, ProducerConfig, ProducerRecord};
use crate::replication::{LeaderRecoveryState, PartitionState};
use crate::runtime::{seeded, Clock, MemDisk};

async fn broker(node_id: i32) -> (Arc<BrokerContext>, String) {
    let text = format!("node.id={node_id}\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs=/data");
    let config = BrokerConfig::from_properties(&text, &[]).unwrap();
    let env = NodeEnv {
        config,
        disk: Arc::new(MemDisk::new(node_id as u64)),
        clock: Clock::system(),
        rng: seeded(node_id as u64),
        fault_points: Default::default(),
    };
    let node = Node::build(env).await.unwrap();
    let address = node.local_addr().unwrap().to_string();
    let ctx = node.context();
    let topic = NewTopic { name: "t".into(), partitions: 1, replication_factor: 1, configs: Vec::new() };
    ctx.topics.create(topic).await.unwrap();
    crate::runtime::spawn(node.run(std::future::pending()));
    (ctx, address)
}

fn two_replicas(leader: i32) -> PartitionState {
    PartitionState::new(vec![1, 2], vec![1, 2], leader, 1, 1, LeaderRecoveryState::Recovered, Vec::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_replicates_over_tcp_and_acks_all_waits_for_it() {
    let (leader_ctx, leader_address) = broker(1).await;
    let (follower_ctx, _) = broker(2).await;
    let leader = leader_ctx.topics.partition("t", 0).await.unwrap();
    let follower = follower_ctx.topics.partition("t", 0).await.unwrap();
    leader.make_leader(two_replicas(1)).await.unwrap();
    follower.make_follower(0, two_replicas(1)).await.unwrap();

    let producer_config = ProducerConfig { acks: -1, request_timeout_ms: 1_000, ..ProducerConfig::default() };
    let producer = Producer::new(&leader_address, producer_config, Clock::system(), seeded(3)).unwrap();
    let first = producer.send(ProducerRecord::new("t", Bytes::from_static(b"one")).with_partition(0));
    // Without the follower the HW cannot move: the acks=all produce waits.
    let waited = tokio::time::timeout(Duration::from_millis(300), first).await;
    assert!(waited.is_err(), "acks=all answered before the follower had the record");

    let config = FetcherConfig {
        broker_id: 2,
        max_wait_ms: 100,
        partition_max_bytes: 1 << 20,
        response_max_bytes: 10 << 20,
        backoff_ms: 50,
    };
    let fetcher = FetcherHandle::start(config, leader_address.clone(), vec![follower.clone()], Clock::system());
    let acked = producer.send(ProducerRecord::new("t", Bytes::from_static(b"two")).with_partition(0)).await.unwrap();
    assert_eq!(acked.offset, 1, "the second record, after the first that waited");
    for _ in 0..100 {
        if follower.high_watermark() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(follower.high_watermark(), 2, "the follower learned the HW");
    let copied = follower.log().await.read(0, 1 << 20, 2, true).await.unwrap();
    let original = leader.log().await.read(0, 1 << 20, 2, true).await.unwrap();
    assert_eq!(copied, original, "byte for byte");
    fetcher.stop().await;
}
