//! The clients scenarios run: producers (by default one, idempotent, acks=all), consumers
//! and an auditor, on seedlog's Rust client in their own simulated nodes. Each reports what
//! it saw as the events the data-plane checkers read (`RecordAcked`, `RecordConsumed`,
//! `RecordAudited`, `AuditDone`).
//!
//! Every record's value is unique in the run (`p<producer>.<incarnation>-<seq>`, padded to
//! its drawn size): the record checkers tell records apart by value.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use seedlog::client::{
    Admin, ConnectionConfig, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord, StartOffset,
};
use seedlog::events::{AuditDone, Event, RecordAcked, RecordAudited, RecordConsumed};
use tracing::info;

use crate::world::{Halts, NodeEnv as SimEnv, World};

/// How one topic is written and read.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Producers, each on its own node.
    pub producers: Vec<ProducerSpec>,
    /// Consumers reading every partition from the start (by assignment).
    pub consumers: usize,
}

impl Default for Workload {
    /// One idempotent acks=all producer and one consumer.
    fn default() -> Self {
        Workload { producers: vec![ProducerSpec::default()], consumers: 1 }
    }
}

/// One producer's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerSpec {
    /// 0, 1 or -1 (all).
    pub acks: i16,
    pub idempotence: bool,
    /// Records per second, roughly; `None`: a window of 1–7 records every 1–29 ms.
    pub rate_per_s: Option<u32>,
    /// How keys are drawn.
    pub keys: Keys,
    /// Each value is padded to a size drawn from this range (inclusive), in bytes.
    pub record_bytes: (usize, usize),
}

impl Default for ProducerSpec {
    fn default() -> Self {
        ProducerSpec { acks: -1, idempotence: true, rate_per_s: None, keys: Keys::Cycle(17), record_bytes: (0, 0) }
    }
}

/// A producer's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// No key: the producer spreads records over the partitions.
    None,
    /// `k0`…`k(n-1)` in turn.
    Cycle(u32),
    /// One of `n` keys drawn uniformly.
    Uniform(u32),
    /// One of `n` keys, most often the first ones (each key half as likely as the one before).
    Hot(u32),
}

/// A scenario's producers and consumers of one topic, each on its own node, and the audit at
/// the end.
pub struct Clients {
    control: Arc<Control>,
    bootstrap: String,
    topic: String,
    partitions: i32,
    /// Appended to this topic's node names (`producer`, `consumer`, `auditor`): "" or `-N`.
    suffix: String,
}

impl Clients {
    /// Adds the `producer` node (it creates `topic` first) and the `consumer` node.
    pub fn start(world: &World, bootstrap: &str, topic: NewTopic) -> Clients {
        Clients::start_with(world, bootstrap, topic, &Workload::default(), 1)
    }

    /// Adds the nodes of `workload` on `topic` (every producer creates the topic first), the
    /// `index`-th topic's: node names `producer`, `producer-2`, …, `consumer`, … for the first
    /// topic, `producer-t2`, `producer-t2-2`, … for the second.
    pub fn start_with(world: &World, bootstrap: &str, topic: NewTopic, workload: &Workload, index: usize) -> Clients {
        let partitions = topic.partitions.expect("a scenario's topic names its partition count");
        let suffix = if index == 1 { String::new() } else { format!("-t{index}") };
        let clients = Clients {
            control: Arc::default(),
            bootstrap: bootstrap.to_string(),
            topic: topic.name.clone(),
            partitions,
            suffix,
        };
        for (i, spec) in workload.producers.iter().enumerate() {
            let (producer_bootstrap, control, topic, spec) =
                (clients.bootstrap.clone(), clients.control.clone(), topic.clone(), spec.clone());
            let id = format!("{index}.{}", i + 1);
            clients.control.producers_running.fetch_add(1, Ordering::SeqCst);
            world.add_node(&clients.node_name("producer", i), move |env| {
                produce(env, producer_bootstrap.clone(), topic.clone(), spec.clone(), id.clone(), control.clone())
            });
        }
        for i in 0..workload.consumers {
            let (consumer_bootstrap, control) = (clients.bootstrap.clone(), clients.control.clone());
            let name = clients.topic.clone();
            world.add_node(&clients.node_name("consumer", i), move |env| {
                let (bootstrap, name, control) = (consumer_bootstrap.clone(), name.clone(), control.clone());
                async move { consume(env, bootstrap, &name, partitions, control).await }
            });
        }
        clients
    }

    /// `role`, this topic's suffix, and `-N` for the N-th (from 2) of the role.
    fn node_name(&self, role: &str, i: usize) -> String {
        if i == 0 {
            format!("{role}{}", self.suffix)
        } else {
            format!("{role}{}-{}", self.suffix, i + 1)
        }
    }

    /// Stops both and waits (restarting halted nodes) until every send is answered: an
    /// audit before that could miss a record acknowledged after it.
    pub async fn stop(&self, world: &World, halts: &Halts) {
        self.control.stop();
        while !self.control.producer_done() {
            world.sleep_restarting(halts, 50).await;
        }
    }

    /// Adds the `auditor` node and waits (restarting halted nodes) until it has read every
    /// partition to its end.
    pub async fn audit(&self, world: &World, halts: &Halts) {
        let done = Arc::new(AtomicBool::new(false));
        let (bootstrap, name, partitions, audit_done) =
            (self.bootstrap.clone(), self.topic.clone(), self.partitions, done.clone());
        let acked_ends = self.control.acked_ends();
        world.add_node(&self.node_name("auditor", 0), move |_env| {
            let (bootstrap, name, audit_done, acked_ends) =
                (bootstrap.clone(), name.clone(), audit_done.clone(), acked_ends.clone());
            async move { audit(bootstrap, &name, partitions, &acked_ends, audit_done).await }
        });
        while !done.load(Ordering::SeqCst) {
            world.sleep_restarting(halts, 50).await;
        }
    }
}

/// How the supervisor stops the clients, and learns that the producer has settled.
#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    /// Producers that have not yet settled every send since the stop.
    producers_running: AtomicUsize,
    /// Per partition, the offset after the highest record acknowledged.
    acked_ends: Mutex<BTreeMap<i32, i64>>,
}

impl Control {
    /// Asks the producer and the consumer to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether the producer stopped and every send it made has its answer (an audit before
    /// that could miss a record acknowledged after it).
    pub fn producer_done(&self) -> bool {
        self.producers_running.load(Ordering::SeqCst) == 0
    }

    fn record_acked(&self, partition: i32, offset: i64) {
        let mut ends = self.acked_ends.lock().unwrap_or_else(|p| p.into_inner());
        let end = ends.entry(partition).or_insert(0);
        *end = (*end).max(offset + 1);
    }

    /// Per partition, the offset after the highest record acknowledged so far.
    pub fn acked_ends(&self) -> BTreeMap<i32, i64> {
        self.acked_ends.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A producer node: creates `topic`, then sends numbered records, a bounded window in
/// flight, reporting each acknowledgement, until stopped; then says it is done. `id` tells
/// its values from other producers' (the first producer's values carry none).
pub async fn produce(
    env: SimEnv,
    bootstrap: String,
    topic: NewTopic,
    spec: ProducerSpec,
    id: String,
    control: Arc<Control>,
) {
    let SimEnv { clock, mut rng, incarnation, .. } = env;
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).expect("bootstrap parses");
    let name = topic.name.clone();
    // TOPIC_ALREADY_EXISTS (36) after a restart of this node; anything else: retry.
    while let Err(error) = admin.create_topic(&topic).await {
        if error.code() == 36 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config = ProducerConfig {
        acks: spec.acks,
        idempotence: spec.idempotence,
        request_timeout_ms: 2_000,
        delivery_timeout_ms: 600_000,
        ..ProducerConfig::default()
    };
    let prefix = if id == "1.1" { "p".to_string() } else { format!("p{id}.") };
    let producer =
        Producer::new(&bootstrap, config, clock, seedlog::runtime::fork(&mut rng)).expect("producer config is valid");
    let mut seq = 0u64;
    while !control.is_stopped() {
        let window: Vec<_> = (0..rng.random_range(1..8))
            .map(|_| {
                seq += 1;
                let mut value = format!("{prefix}{incarnation}-{seq}");
                let (min, max) = spec.record_bytes;
                let size = if max > min { rng.random_range(min..=max) } else { min };
                if value.len() < size {
                    value.push_str(&".".repeat(size - value.len()));
                }
                let record = ProducerRecord::new(&name, Bytes::from(value.clone()));
                let record = match key(spec.keys, seq, &mut rng) {
                    Some(key) => record.with_key(Bytes::from(key)),
                    None => record,
                };
                (value, producer.send(record))
            })
            .collect();
        let records = window.len() as u64;
        for (value, delivery) in window {
            match delivery.await {
                // With acks=0 no offset comes back: nothing to report.
                Ok(metadata) if metadata.offset >= 0 => {
                    control.record_acked(metadata.partition, metadata.offset);
                    RecordAcked {
                        topic: name.clone(),
                        partition: metadata.partition,
                        offset: metadata.offset,
                        acks: i32::from(spec.acks),
                        value,
                    }
                    .emit()
                }
                Ok(_) => {}
                Err(error) => info!(name: "record_failed", value = %value, error = %error),
            }
        }
        let pause_ms = match spec.rate_per_s {
            Some(rate) => (records * 1_000 / u64::from(rate.max(1))).max(1),
            None => rng.random_range(1..30),
        };
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
    }
    control.producers_running.fetch_sub(1, Ordering::SeqCst);
}

/// The key of record `seq`, drawn as `keys` says.
fn key(keys: Keys, seq: u64, rng: &mut seedlog::runtime::NodeRng) -> Option<String> {
    match keys {
        Keys::None => None,
        Keys::Cycle(n) => Some(format!("k{}", seq % u64::from(n.max(1)))),
        Keys::Uniform(n) => Some(format!("k{}", rng.random_range(0..n.max(1)))),
        Keys::Hot(n) => {
            let mut k = 0;
            while k + 1 < n && rng.random_bool(0.5) {
                k += 1;
            }
            Some(format!("k{k}"))
        }
    }
}

/// The consumer node: reads every partition from the start, reporting each record.
pub async fn consume(_env: SimEnv, bootstrap: String, topic: &str, partitions: i32, control: Arc<Control>) {
    let mut consumer = Consumer::new(&bootstrap, ConsumerConfig::default()).expect("bootstrap parses");
    let partitions: Vec<i32> = (0..partitions).collect();
    consumer.assign(topic, &partitions, StartOffset::Earliest);
    while !control.is_stopped() {
        match consumer.poll(Duration::from_millis(200)).await {
            Ok(records) => {
                for record in records {
                    RecordConsumed {
                        topic: topic.to_string(),
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

/// How long the auditor waits for a partition's high watermark to pass its acknowledged
/// records. A leader elected with a follower whose fetch a healed partition still holds (a
/// held stream may take up to 10 s to drain, see `network.rs`) keeps its high watermark below
/// records every replica has until that follower fetches again; a consumer reads only up to
/// the high watermark, so an audit that stopped at it would call those records lost
/// (swarm-combined seed 15). Records still unreadable after this bound are reported.
const AUDIT_ACKED_BOUND: Duration = Duration::from_secs(20);

/// The auditor: after the last restart, reads each partition from its start to its end: its
/// high watermark, once that passes every acknowledged record (or [`AUDIT_ACKED_BOUND`]
/// passed).
pub async fn audit(
    bootstrap: String,
    topic: &str,
    partitions: i32,
    acked_ends: &BTreeMap<i32, i64>,
    done: Arc<AtomicBool>,
) {
    let mut consumer = Consumer::new(&bootstrap, ConsumerConfig::default()).expect("bootstrap parses");
    let partitions: Vec<i32> = (0..partitions).collect();
    consumer.assign(topic, &partitions, StartOffset::Earliest);
    let mut quiet_polls = 0;
    let acked_deadline = seedlog::runtime::now() + AUDIT_ACKED_BOUND;
    // The end is reached when several polls in a row bring nothing and every partition's
    // position has caught up with its high watermark, past its acknowledged records (until
    // the bound).
    while quiet_polls < 5 {
        match consumer.poll(Duration::from_millis(200)).await {
            Ok(records) if !records.is_empty() => {
                quiet_polls = 0;
                for record in records {
                    RecordAudited {
                        topic: topic.to_string(),
                        partition: record.partition,
                        offset: record.offset,
                        value: String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned(),
                    }
                    .emit();
                }
            }
            Ok(_) => {
                let waiting_for_acked = seedlog::runtime::now() < acked_deadline;
                let caught_up = consumer.assignment().iter().all(|tp| {
                    let acked_end = if waiting_for_acked { acked_ends.get(&tp.partition).copied() } else { None };
                    consumer
                        .high_watermark(tp)
                        .is_some_and(|hw| consumer.position(tp).is_some_and(|p| p >= hw && p >= acked_end.unwrap_or(0)))
                });
                quiet_polls = if caught_up { quiet_polls + 1 } else { 0 };
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    for tp in consumer.assignment() {
        AuditDone {
            topic: topic.to_string(),
            partition: tp.partition,
            end_offset: consumer.position(&tp).unwrap_or(0),
        }
        .emit();
    }
    done.store(true, Ordering::SeqCst);
}
