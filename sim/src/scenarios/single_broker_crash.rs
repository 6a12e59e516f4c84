//! single-broker-crash
//!
//! Story: one broker (built by the same `Node::build(env)` as production) serves a topic of
//! three partitions to an idempotent producer (acks=all) and a consumer, both on seedlog's
//! Rust client in their own simulated nodes. At seeded random times the broker's machine
//! crashes — SIGKILL plus a disk that loses, tears or zero-fills everything not yet synced —
//! and restarts after a short while. The clients reconnect and carry on. At the end the
//! disk is healed, the broker restarts a last time, and an auditor reads every partition
//! from the start to its end.
//!
//! What must hold — the true single-broker guarantee (and every data-plane invariant of
//! REPLICATION.md §6 that applies to a replica set of one, through `replication_checkers`):
//! - `AckedRecordsSurvive`: every record acknowledged with acks=all (durable) is read back
//!   by the auditor at its offset;
//! - `OneRecordPerOffset`: no offset of a partition ever holds two different records, in
//!   acks, consumer reads and the audit;
//! - `NoVanishingReads`: every record a consumer saw is still there for the auditor.
//!
//! Variant `lying_fsync` (tests only): the broker's disk acknowledges fsyncs it never does;
//! acknowledged records vanish and the checkers must say so.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use seedlog::broker::config::BrokerConfig;
use seedlog::broker::{Node, NodeEnv};
use seedlog::client::{
    Admin, ConnectionConfig, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord, StartOffset,
};
use seedlog::events::{AuditDone, Event, RecordAcked, RecordAudited, RecordConsumed};
use seedlog::runtime::{Disk, MemDiskFaults};
use tracing::{info, warn};

use crate::checker::Checker;
use crate::checkers::{AckedRecordsSurvive, NoVanishingReads, OneRecordPerOffset};
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::{NodeEnv as SimEnv, World};

const BROKER: &str = "broker";
const TOPIC: &str = "events";
const PARTITIONS: i32 = 3;
const PORT: u16 = 9092;

/// The scenario; `lying_fsync` (tests only) gives the broker a disk whose fsync does
/// nothing, which the checkers must catch.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleBrokerCrash {
    pub lying_fsync: bool,
}

impl Scenario for SingleBrokerCrash {
    fn name(&self) -> &'static str {
        "single-broker-crash"
    }

    fn story(&self) -> &'static str {
        "a broker serving an idempotent acks=all producer and a consumer crashes and restarts at \
         random times, losing unsynced writes; nothing acked is lost and no read is taken back"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let mut checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(AckedRecordsSurvive::default()),
            Box::new(OneRecordPerOffset::default()),
            Box::new(NoVanishingReads::default()),
        ];
        // A standalone broker leads every partition alone through the same replica core a
        // cluster uses: the data-plane invariants hold for it too.
        checkers.extend(crate::checkers::replication_checkers());
        checkers
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let lying_fsync = self.lying_fsync;
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let faults = MemDiskFaults { read_error_rate: 0.0, lying_fsync, ..MemDiskFaults::typical() };
            world.add_node_with_faults(BROKER, faults, broker);
            let bootstrap = SocketAddr::new(world.ip(BROKER), PORT).to_string();
            let stop = Arc::new(AtomicBool::new(false));
            let (producer_bootstrap, producer_stop) = (bootstrap.clone(), stop.clone());
            world.add_node("producer", move |env| produce(env, producer_bootstrap.clone(), producer_stop.clone()));
            let (consumer_bootstrap, consumer_stop) = (bootstrap.clone(), stop.clone());
            world.add_node("consumer", move |env| consume(env, consumer_bootstrap.clone(), consumer_stop.clone()));

            let crashes = rng.random_range(3..8);
            for _ in 0..crashes {
                tokio::time::sleep(Duration::from_millis(rng.random_range(200..1_500))).await;
                world.kill(BROKER);
                tokio::time::sleep(Duration::from_millis(rng.random_range(10..500))).await;
                world.restart(BROKER);
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(200..1_000))).await;
            stop.store(true, Ordering::SeqCst);
            // Let in-flight sends settle, then heal the disk and audit after a last crash.
            tokio::time::sleep(Duration::from_secs(3)).await;
            world.kill(BROKER);
            world.disk(BROKER).set_faults(MemDiskFaults { lying_fsync, ..MemDiskFaults::none() });
            world.restart(BROKER);
            let done = Arc::new(AtomicBool::new(false));
            let (audit_bootstrap, audit_done) = (bootstrap.clone(), done.clone());
            world.add_node("auditor", move |_env| audit(audit_bootstrap.clone(), audit_done.clone()));
            while !done.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            info!(name: "scenario_finished", crashes);
        })
    }
}

/// The broker node: the production broker on the simulated disk and network.
async fn broker(env: SimEnv) {
    let overrides: Vec<(String, String)> = [
        ("node.id", "1".to_string()),
        ("listeners", format!("PLAINTEXT://{}:{PORT}", env.ip)),
        ("log.dirs", "/data".to_string()),
        ("log.segment.bytes", (256 << 10).to_string()),
        ("log.flush.scheduler.interval.ms", "100".to_string()),
        ("num.partitions", PARTITIONS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = BrokerConfig::from_properties("", &overrides).expect("scenario config is valid");
    let disk: Arc<dyn Disk> = env.disk.clone();
    let node_env = NodeEnv { config, disk, clock: env.clock.clone(), rng: env.rng };
    match Node::build(node_env).await {
        Ok(node) => node.run(std::future::pending()).await,
        Err(error) => warn!(name: "broker_start_failed", error = %error),
    }
}

/// The producer node: creates the topic, then sends numbered records, a bounded window in
/// flight, reporting each acknowledgement.
async fn produce(env: SimEnv, bootstrap: String, stop: Arc<AtomicBool>) {
    let SimEnv { clock, mut rng, incarnation, .. } = env;
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).expect("bootstrap parses");
    let topic = NewTopic {
        name: TOPIC.to_string(),
        partitions: Some(PARTITIONS),
        replication_factor: Some(1),
        configs: Vec::new(),
    };
    // TOPIC_ALREADY_EXISTS (36) after a restart of this node; anything else: retry.
    while let Err(error) = admin.create_topic(&topic).await {
        if error.code() == 36 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config =
        ProducerConfig { request_timeout_ms: 2_000, delivery_timeout_ms: 600_000, ..ProducerConfig::default() };
    let producer =
        Producer::new(&bootstrap, config, clock, seedlog::runtime::fork(&mut rng)).expect("producer config is valid");
    let mut seq = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let window: Vec<_> = (0..rng.random_range(1..8))
            .map(|_| {
                seq += 1;
                let value = format!("p{incarnation}-{seq}");
                let key = Bytes::from(format!("k{}", seq % 17));
                (value.clone(), producer.send(ProducerRecord::new(TOPIC, Bytes::from(value)).with_key(key)))
            })
            .collect();
        for (value, delivery) in window {
            match delivery.await {
                Ok(metadata) => RecordAcked {
                    topic: TOPIC.to_string(),
                    partition: metadata.partition,
                    offset: metadata.offset,
                    acks: -1,
                    value,
                }
                .emit(),
                Err(error) => info!(name: "record_failed", value = %value, error = %error),
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(1..30))).await;
    }
}

/// The consumer node: reads every partition from the start, reporting each record.
async fn consume(_env: SimEnv, bootstrap: String, stop: Arc<AtomicBool>) {
    let mut consumer = Consumer::new(&bootstrap, ConsumerConfig::default()).expect("bootstrap parses");
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    consumer.assign(TOPIC, &partitions, StartOffset::Earliest);
    while !stop.load(Ordering::SeqCst) {
        match consumer.poll(Duration::from_millis(200)).await {
            Ok(records) => {
                for record in records {
                    RecordConsumed {
                        topic: TOPIC.to_string(),
                        partition: record.partition,
                        offset: record.offset,
                        value: String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned(),
                    }
                    .emit();
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The auditor: after the last restart, reads each partition from its start to its end.
async fn audit(bootstrap: String, done: Arc<AtomicBool>) {
    let mut consumer = Consumer::new(&bootstrap, ConsumerConfig::default()).expect("bootstrap parses");
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    consumer.assign(TOPIC, &partitions, StartOffset::Earliest);
    let mut quiet_polls = 0;
    // The end is reached when several polls in a row bring nothing and every partition's
    // position has caught up with its high watermark.
    while quiet_polls < 5 {
        match consumer.poll(Duration::from_millis(200)).await {
            Ok(records) if !records.is_empty() => {
                quiet_polls = 0;
                for record in records {
                    RecordAudited {
                        topic: TOPIC.to_string(),
                        partition: record.partition,
                        offset: record.offset,
                        value: String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned(),
                    }
                    .emit();
                }
            }
            Ok(_) => {
                let caught_up = consumer.assignment().iter().all(|tp| {
                    consumer.high_watermark(tp).is_some_and(|hw| consumer.position(tp).is_some_and(|p| p >= hw))
                });
                quiet_polls = if caught_up { quiet_polls + 1 } else { 0 };
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    for tp in consumer.assignment() {
        AuditDone {
            topic: TOPIC.to_string(),
            partition: tp.partition,
            end_offset: consumer.position(&tp).unwrap_or(0),
        }
        .emit();
    }
    done.store(true, Ordering::SeqCst);
}
