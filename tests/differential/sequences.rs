//! Property-based sequences: proptest draws a short story of creates (some with a config),
//! partition growth, deletes, produces (in every codec), fetches and list-offsets over a few
//! topics; both brokers play it and must answer every step alike. Each case has topics of
//! its own (`s<case>-t<i>`), so cases start clean; two of them exist from the start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use kafka_protocol::messages::ApiKey;

use proptest::prelude::*;
use seedlog::client::idempotence::ProducerIdentity;
use seedlog::client::Compression;

use crate::cases::Outcome;
use crate::observe::{self, same};
use crate::pair::Pair;
use crate::requests::{self, compressed_batch, values};

/// One step of a sequence. Topics are indexes into the case's three names.
#[derive(Debug, Clone)]
pub enum Op {
    Create {
        topic: usize,
        partitions: i32,
        config: Option<usize>,
    },
    CreatePartitions {
        topic: usize,
        count: i32,
    },
    Delete {
        topic: usize,
    },
    Produce {
        topic: usize,
        partition: i32,
        records: usize,
        acks: i16,
        codec: usize,
    },
    Fetch {
        topic: usize,
        partition: i32,
        offset: i64,
        max_bytes: i32,
    },
    ListOffsets {
        topic: usize,
        partition: i32,
        timestamp: i64,
        read_committed: bool,
    },
    /// An idempotent producer's batch: in order (`shift` 0), a re-send of its last batch to
    /// the partition (`shift` -1), or a gap (`shift` > 0).
    Idempotent {
        topic: usize,
        partition: i32,
        records: usize,
        shift: i32,
    },
    /// The idempotent producer moves to its next epoch (KIP-360), its sequences from 0.
    BumpEpoch,
    Metadata {
        topic: usize,
    },
    DescribeConfigs {
        topic: usize,
    },
}

/// Topic configs a created topic may carry: each changes what a later step sees.
const CONFIGS: [(&str, &str); 4] = [
    ("message.timestamp.type", "LogAppendTime"),
    ("max.message.bytes", "300"),
    ("retention.ms", "-1"),
    ("message.timestamp.type", "Something"),
];

const CODECS: [Compression; 5] =
    [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

pub fn op() -> impl Strategy<Value = Op> {
    let topic = 0..3usize;
    // Mostly partitions that exist (the prelude's topics have 2 and 1), sometimes not.
    let partition = prop_oneof![8 => 0..2i32, 1 => Just(-1i32), 1 => 2..4i32];
    prop_oneof![
        2 => (topic.clone(), 0..4i32, proptest::option::of(0..CONFIGS.len()))
            .prop_map(|(topic, partitions, config)| Op::Create { topic, partitions, config }),
        1 => (topic.clone(), 0..5i32).prop_map(|(topic, count)| Op::CreatePartitions { topic, count }),
        1 => topic.clone().prop_map(|topic| Op::Delete { topic }),
        4 => (topic.clone(), partition.clone(), 1..6usize, prop_oneof![Just(1i16), Just(-1i16)], 0..CODECS.len())
            .prop_map(|(topic, partition, records, acks, codec)| Op::Produce { topic, partition, records, acks, codec }),
        3 => (topic.clone(), partition.clone(), -1..12i64, prop_oneof![Just(1), Just(200), Just(1 << 20)])
            .prop_map(|(topic, partition, offset, max_bytes)| Op::Fetch { topic, partition, offset, max_bytes }),
        2 => (topic.clone(), partition.clone(), prop_oneof![Just(-1i64), Just(-2), Just(-3), (0..8i64).prop_map(|i| requests::BASE_TIMESTAMP_MS + i)], any::<bool>())
            .prop_map(|(topic, partition, timestamp, read_committed)| Op::ListOffsets { topic, partition, timestamp, read_committed }),
        3 => (topic.clone(), partition.clone(), 1..4usize, prop_oneof![4 => Just(0), 1 => Just(-1), 1 => 1..3i32])
            .prop_map(|(topic, partition, records, shift)| Op::Idempotent { topic, partition, records, shift }),
        1 => Just(Op::BumpEpoch),
        1 => topic.clone().prop_map(|topic| Op::Metadata { topic }),
        1 => topic.prop_map(|topic| Op::DescribeConfigs { topic }),
    ]
}

/// The case number, for fresh topic names (proptest runs cases one after another, and
/// shrinking reruns them: each run gets a new number).
static CASE: AtomicU32 = AtomicU32::new(0);

/// What the sequences did, for the summary line: steps played, topics created, and batches
/// Kafka accepted (plain and idempotent). A run whose steps all hit missing topics would
/// compare little; these figures show that it does not.
pub static STEPS: AtomicU32 = AtomicU32::new(0);
pub static CREATED: AtomicU32 = AtomicU32::new(0);
pub static ACCEPTED: AtomicU32 = AtomicU32::new(0);
pub static ACCEPTED_IDEMPOTENT: AtomicU32 = AtomicU32::new(0);

/// The case's idempotent producer: each broker gave it its own id; the epoch and the
/// sequences are the same on both, advanced by what Kafka accepted.
#[derive(Default)]
struct Producer {
    /// (seedlog's id, Kafka's id), once InitProducerId answered.
    ids: Option<(i64, i64)>,
    epoch: i16,
    /// (topic, partition) → the next sequence, and the last batch sent (sequence, records).
    next: BTreeMap<(usize, i32), i32>,
    last: BTreeMap<(usize, i32), (i32, usize)>,
}

impl Producer {
    /// The producer ids, asking both brokers the first time.
    async fn ids(&mut self, pair: &Pair) -> Result<(i64, i64), String> {
        if let Some(ids) = self.ids {
            return Ok(ids);
        }
        let (ours, theirs) = pair.init_producer_ids().await?;
        same("InitProducerId", &observe::producer_id(&ours), &observe::producer_id(&theirs))?;
        let ids = (ours.producer_id.0, theirs.producer_id.0);
        self.ids = Some(ids);
        Ok(ids)
    }
}

/// Plays `ops` on both brokers; Err at the first step they answer differently.
pub async fn play(pair: &Pair, ops: &[Op]) -> Outcome {
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let names: Vec<String> = (0..3).map(|i| format!("s{case}-t{i}")).collect();
    let mut producer = Producer::default();
    // The prelude: two topics exist from the start (t0 with 2 partitions, t1 with 1 and
    // LogAppendTime), so most steps act on real partitions; t2 only if a step creates it.
    let prelude = requests::create(
        vec![
            requests::topic(&names[0], 2, -1, &[]),
            requests::topic(&names[1], 1, -1, &[("message.timestamp.type", "LogAppendTime")]),
        ],
        false,
    );
    let (ours, theirs) = pair.both(&prelude).await?;
    same("CreateTopics (prelude)", &observe::created(&ours), &observe::created(&theirs))?;
    pair.settle(&names[..2], &[]).await?;
    for (step, op) in ops.iter().enumerate() {
        let at = |what: String| format!("step {step} ({op:?}): {what}");
        STEPS.fetch_add(1, Ordering::Relaxed);
        match *op {
            Op::Create { topic, partitions, config } => {
                let configs: Vec<(&str, &str)> = config.map(|i| CONFIGS[i]).into_iter().collect();
                let request = requests::create(vec![requests::topic(&names[topic], partitions, -1, &configs)], false);
                let (ours, theirs) = pair.both(&request).await?;
                let (ours, theirs) = (observe::created(&ours), observe::created(&theirs));
                same("CreateTopics", &ours, &theirs).map_err(at)?;
                if theirs.iter().all(|t| t.1 == 0) {
                    CREATED.fetch_add(1, Ordering::Relaxed);
                    pair.settle(&[names[topic].clone()], &[]).await.map_err(at)?;
                }
            }
            Op::CreatePartitions { topic, count } => {
                let (ours, theirs) = pair.both(&requests::create_partitions(&names[topic], count)).await?;
                let (ours, theirs) = (observe::partitions_created(&ours), observe::partitions_created(&theirs));
                same("CreatePartitions", &ours, &theirs).map_err(at)?;
                if theirs.iter().all(|t| t.1 == 0) {
                    pair.settle(&[names[topic].clone()], &[]).await.map_err(at)?;
                }
            }
            Op::Delete { topic } => {
                let (ours, theirs) = pair.both(&requests::delete(&[&names[topic]])).await?;
                let (ours, theirs) = (observe::deleted(&ours), observe::deleted(&theirs));
                same("DeleteTopics", &ours, &theirs).map_err(at)?;
                pair.settle(&[], &[names[topic].clone()]).await.map_err(at)?;
            }
            Op::Produce { topic, partition, records, acks, codec } => {
                let records = compressed_batch(&values(records), ProducerIdentity::NONE, -1, CODECS[codec]);
                let request = requests::produce(&names[topic], partition, records, acks);
                let (ours, theirs) = pair.both(&request).await?;
                let theirs = observe::produced(&theirs);
                same("Produce", &observe::produced(&ours), &theirs).map_err(at)?;
                if theirs.iter().all(|p| p.error_code == 0) {
                    ACCEPTED.fetch_add(1, Ordering::Relaxed);
                }
            }
            Op::Fetch { topic, partition, offset, max_bytes } => {
                let request = requests::fetch(&names[topic], partition, offset, max_bytes, max_bytes);
                let (ours, theirs) = pair.both(&request).await?;
                same("Fetch", &observe::fetched(&ours, offset)?, &observe::fetched(&theirs, offset)?).map_err(at)?;
            }
            Op::ListOffsets { topic, partition, timestamp, read_committed } => {
                let request = requests::list_offsets(&names[topic], partition, timestamp)
                    .with_isolation_level(i8::from(read_committed));
                let (ours, theirs) = pair.both(&request).await?;
                same("ListOffsets", &observe::listed(&ours), &observe::listed(&theirs)).map_err(at)?;
            }
            Op::Idempotent { topic, partition, records, shift } => {
                let (seedlog_id, kafka_id) = producer.ids(pair).await?;
                let key = (topic, partition);
                let next = producer.next.get(&key).copied().unwrap_or(0);
                let (sequence, records) = match (shift, producer.last.get(&key)) {
                    (-1, Some(&(sequence, records))) => (sequence, records),
                    (-1, None) => (next, records),
                    (shift, _) => (next + shift, records),
                };
                let version = pair.version(ApiKey::Produce)?;
                let mut answers = Vec::new();
                for (connection, id) in [(&pair.seedlog, seedlog_id), (&pair.kafka, kafka_id)] {
                    let identity = ProducerIdentity { producer_id: id, producer_epoch: producer.epoch };
                    let batch = compressed_batch(&values(records), identity, sequence, Compression::None);
                    let request = requests::produce(&names[topic], partition, batch, -1);
                    answers.push(connection.send(&request, version).await.map_err(|e| e.to_string())?);
                }
                let (ours, theirs) = (observe::produced(&answers[0]), observe::produced(&answers[1]));
                same("idempotent Produce", &ours, &theirs).map_err(at)?;
                if theirs.iter().all(|p| p.error_code == 0) {
                    ACCEPTED_IDEMPOTENT.fetch_add(1, Ordering::Relaxed);
                }
                if theirs.iter().all(|p| p.error_code == 0) && sequence == next {
                    producer.next.insert(key, next + records as i32);
                    producer.last.insert(key, (sequence, records));
                }
            }
            Op::BumpEpoch => {
                producer.epoch += 1;
                producer.next.clear();
                producer.last.clear();
            }
            Op::Metadata { topic } => {
                let (ours, theirs) = pair.both(&requests::metadata(&[&names[topic]])).await?;
                same("Metadata", &observe::metadata(&ours), &observe::metadata(&theirs)).map_err(at)?;
            }
            Op::DescribeConfigs { topic } => {
                let (ours, theirs) = pair.both(&requests::describe_configs(2, &names[topic])).await?;
                let (ours, theirs) = (observe::described(&ours), observe::described(&theirs));
                same("DescribeConfigs", &observe::described_heads(&ours), &observe::described_heads(&theirs))
                    .map_err(at)?;
                if let (Some(o), Some(t)) = (ours.first(), theirs.first()) {
                    observe::same_configs("DescribeConfigs", &o.3, &t.3).map_err(at)?;
                }
            }
        }
    }
    Ok(())
}
