//! The node's owned tasks: the periodic work expires idle producers on schedule, and a clean
//! shutdown stops every flusher and closes every log with a producer snapshot.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{Node, NodeEnv, NodeExit};
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
    let node =
        Node::build(NodeEnv { config, disk, clock, rng: seeded(3), fault_points: Default::default() }).await.unwrap();
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

/// Three combined nodes on loopback form a cluster: the quorum elects, the brokers
/// register, a topic of three replicas is created through the controller, and an acks=all
/// record is acknowledged by the replicated partition and read back through another broker's
/// metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_form_a_cluster_and_replicate_a_topic() {
    use crate::client::{
        Admin, ConnectionConfig, Consumer, ConsumerConfig, NewTopic as ClientTopic, Producer, ProducerConfig,
        ProducerRecord, StartOffset,
    };
    // Free ports: bound and released (the nodes bind them again at once).
    let mut ports = Vec::new();
    for _ in 0..6 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.push(listener.local_addr().unwrap().port());
    }
    let voters: Vec<String> = (0..3).map(|i| format!("{}@127.0.0.1:{}", i + 1, ports[3 + i])).collect();
    let mut stops = Vec::new();
    let mut runs = Vec::new();
    let mut disks = Vec::new();
    let mut configs = Vec::new();
    for i in 0..3 {
        let text = format!(
            "node.id={}\nprocess.roles=broker,controller\ncontroller.listener.names=CONTROLLER\n\
             listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}\ncontroller.quorum.voters={}\n\
             log.dirs=/data\nmin.insync.replicas=2",
            i + 1,
            ports[i],
            ports[3 + i],
            voters.join(",")
        );
        let config = BrokerConfig::from_properties(&text, &[]).unwrap();
        let disk = Arc::new(MemDisk::new(10 + i as u64));
        disks.push(disk.clone());
        configs.push(config.clone());
        let env =
            NodeEnv { config, disk, clock: Clock::system(), rng: seeded(i as u64), fault_points: Default::default() };
        let node = Node::build(env).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        runs.push(crate::runtime::spawn(node.run(async move {
            let _ = stopped.await;
        })));
    }
    let bootstrap = format!("127.0.0.1:{}", ports[0]);
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).unwrap();
    let topic = ClientTopic { name: "r".into(), partitions: Some(1), replication_factor: Some(3), configs: Vec::new() };
    let mut created = false;
    for _ in 0..200 {
        // Until the quorum has a leader and all three brokers are registered and unfenced.
        if admin.create_topic(&topic).await.is_ok() {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "the cluster never created a topic of three replicas");
    let config = ProducerConfig { delivery_timeout_ms: 30_000, ..ProducerConfig::default() };
    let producer = Producer::new(&bootstrap, config, Clock::system(), seeded(9)).unwrap();
    let acked = producer.send(ProducerRecord::new("r", Bytes::from_static(b"replicated"))).await.unwrap();
    assert_eq!(acked.offset, 0);
    let mut consumer = Consumer::new(&format!("127.0.0.1:{}", ports[2]), ConsumerConfig::default()).unwrap();
    consumer.assign("r", &[0], StartOffset::Earliest);
    let mut read = Vec::new();
    for _ in 0..100 {
        read.extend(consumer.poll(Duration::from_millis(100)).await.unwrap_or_default());
        if !read.is_empty() {
            break;
        }
    }
    assert_eq!(read.first().and_then(|r| r.value.clone()), Some(Bytes::from_static(b"replicated")));

    // CreatePartitions goes through the controller: the new partition has three replicas, a
    // leader, and takes an acks=all record that another node serves.
    let grow = kafka_protocol::messages::CreatePartitionsRequest::default().with_timeout_ms(10_000).with_topics(vec![
        kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
            .with_name(kafka_protocol::messages::TopicName("r".into()))
            .with_count(2)
            .with_assignments(None),
    ]);
    let connection = crate::client::Connection::connect(&bootstrap, ConnectionConfig::default()).await.unwrap();
    let grown = connection.send(&grow, 3).await.unwrap();
    assert_eq!(grown.results[0].error_code, 0, "{grown:?}");
    let description = admin.wait_for_leaders("r", Duration::from_secs(30)).await.unwrap();
    assert_eq!(description.partitions.len(), 2);
    assert!(description.partitions.iter().all(|p| p.replicas.len() == 3), "{description:?}");
    let acked = producer.send(ProducerRecord::new("r", Bytes::from_static(b"grown")).with_partition(1)).await.unwrap();
    assert_eq!((acked.partition, acked.offset), (1, 0));
    consumer.assign("r", &[1], StartOffset::Earliest);
    let mut read = Vec::new();
    for _ in 0..100 {
        read.extend(consumer.poll(Duration::from_millis(100)).await.unwrap_or_default());
        if read.iter().any(|r| r.partition == 1) {
            break;
        }
    }
    assert!(read.iter().any(|r| r.partition == 1 && r.value.as_deref() == Some(b"grown".as_slice())), "{read:?}");

    // Node 3 stops cleanly: its last act is the clean-shutdown marker with its broker epoch.
    let marker = std::path::Path::new("/data/.kafka_cleanshutdown");
    let _ = stops.pop().unwrap().send(());
    let stopped = tokio::time::timeout(Duration::from_secs(30), runs.pop().unwrap()).await;
    assert!(matches!(stopped, Ok(Ok(NodeExit::Shutdown))), "{stopped:?}");
    assert!(disks[2].exists(marker).await.unwrap(), "a clean stop leaves the marker");
    // It starts again on the same disk: the marker is taken (a crash from now on is unclean),
    // it registers as a clean restart and serves the partition again.
    let env = NodeEnv {
        config: configs[2].clone(),
        disk: disks[2].clone(),
        clock: Clock::system(),
        rng: seeded(30),
        fault_points: Default::default(),
    };
    let node = Node::build(env).await.unwrap();
    assert!(!disks[2].exists(marker).await.unwrap(), "the marker is taken at start");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    stops.push(stop);
    runs.push(crate::runtime::spawn(node.run(async move {
        let _ = stopped.await;
    })));
    let acked = producer.send(ProducerRecord::new("r", Bytes::from_static(b"after"))).await.unwrap();
    assert_eq!(acked.offset, 1);
    // A liveness wait on real time: alone it takes about 15 s here; under a loaded `cargo
    // test` (every test binary at once on two cores) it took longer than 20 s.
    let mut rejoined = false;
    for _ in 0..600 {
        let isr = admin.describe_topic("r").await.ok().and_then(|t| t.partitions.first().map(|p| p.isr.clone()));
        if isr.is_some_and(|isr| isr.contains(&3)) {
            rejoined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejoined, "node 3 never registered again and rejoined the ISR");
    for stop in stops {
        let _ = stop.send(());
    }
    for run in runs {
        let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    }
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

/// Three combined nodes that snapshot their metadata every few hundred bytes: each node's
/// metadata dir holds a `.checkpoint`, and a node restarted on its disk (from its snapshot and
/// the log after it) serves the same topics, ids and replica sets as before, and goes on
/// applying what the quorum commits after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_after_a_metadata_snapshot_serves_the_same_metadata() {
    use crate::client::{Admin, ConnectionConfig, NewTopic as ClientTopic};
    let mut ports = Vec::new();
    for _ in 0..6 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.push(listener.local_addr().unwrap().port());
    }
    let voters: Vec<String> = (0..3).map(|i| format!("{}@127.0.0.1:{}", i + 1, ports[3 + i])).collect();
    let disks: Vec<Arc<MemDisk>> = (0..3).map(|i| Arc::new(MemDisk::new(40 + i as u64))).collect();
    let start = |i: usize| {
        let text = format!(
            "node.id={}\nprocess.roles=broker,controller\ncontroller.listener.names=CONTROLLER\n\
             listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}\ncontroller.quorum.voters={}\n\
             log.dirs=/data\nmetadata.log.max.record.bytes.between.snapshots=300",
            i + 1,
            ports[i],
            ports[3 + i],
            voters.join(",")
        );
        let disk = disks[i].clone();
        async move {
            let config = BrokerConfig::from_properties(&text, &[]).unwrap();
            // A restart binds the ports its previous run is letting go of.
            let mut node = None;
            for _ in 0..100 {
                let env = NodeEnv {
                    config: config.clone(),
                    disk: disk.clone(),
                    clock: Clock::system(),
                    rng: seeded(i as u64),
                    fault_points: Default::default(),
                };
                match Node::build(env).await {
                    Ok(built) => {
                        node = Some(built);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            let node = node.expect("the node starts");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let run = crate::runtime::spawn(node.run(async move {
                let _ = stopped.await;
            }));
            (stop, run)
        }
    };
    let mut running = Vec::new();
    for i in 0..3 {
        running.push(start(i).await);
    }
    let admin = Admin::new(&format!("127.0.0.1:{}", ports[0]), ConnectionConfig::default()).unwrap();
    let topic = |name: &str| ClientTopic {
        name: name.into(),
        partitions: Some(2),
        replication_factor: Some(1),
        configs: Vec::new(),
    };
    for name in ["a", "b", "c", "d"] {
        let mut created = false;
        for _ in 0..200 {
            if admin.create_topic(&topic(name)).await.is_ok() {
                created = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(created, "topic {name} was never created");
    }
    let metadata_dir = std::path::Path::new("/data/__cluster_metadata-0");
    let has_checkpoint = |disk: &MemDisk| disk.file_names(metadata_dir).iter().any(|f| f.ends_with(".checkpoint"));
    for _ in 0..200 {
        if disks.iter().all(|d| has_checkpoint(d)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(disks.iter().all(|d| has_checkpoint(d)), "every node snapshots its metadata");

    let through_three = Admin::new(&format!("127.0.0.1:{}", ports[2]), ConnectionConfig::default()).unwrap();
    let before = described_topics(&through_three).await;
    assert_eq!(before.len(), 4, "{before:?}");

    let (stop, run) = running.pop().unwrap();
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    disks[2].crash();
    running.push(start(2).await);
    let through_three = Admin::new(&format!("127.0.0.1:{}", ports[2]), ConnectionConfig::default()).unwrap();
    assert_eq!(described_topics(&through_three).await, before, "the restarted node's metadata");
    // It goes on from there: a topic created after the restart reaches it too.
    let mut created = false;
    for _ in 0..200 {
        if admin.create_topic(&topic("e")).await.is_ok() {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created);
    let mut seen = false;
    for _ in 0..100 {
        if through_three.list_topics(false).await.is_ok_and(|t| t.contains(&"e".to_string())) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the restarted node never applied the topic created after its restart");
    for (stop, run) in running {
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    }
}

/// Topics a–d's names, ids and replica sets, as `admin`'s node serves them in its metadata
/// (once every partition has a leader).
async fn described_topics(admin: &crate::client::Admin) -> Vec<(String, uuid::Uuid, Vec<Vec<i32>>)> {
    let mut topics = Vec::new();
    for name in ["a", "b", "c", "d"] {
        if let Ok(info) = admin.wait_for_leaders(name, Duration::from_secs(20)).await {
            topics.push((info.name, info.topic_id, info.partitions.into_iter().map(|p| p.replicas).collect()));
        }
    }
    topics
}
