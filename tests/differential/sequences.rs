//! Property-based sequences: proptest draws a short story of creates (some with a config),
//! partition growth, deletes, produces (in every codec), fetches and list-offsets over a few
//! topics; both brokers play it and must answer every step alike. Each case has topics of
//! its own (`s<case>-t<i>`), so cases start clean.

use std::sync::atomic::{AtomicU32, Ordering};

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
    Create { topic: usize, partitions: i32, config: Option<usize> },
    CreatePartitions { topic: usize, count: i32 },
    Delete { topic: usize },
    Produce { topic: usize, partition: i32, records: usize, acks: i16, codec: usize },
    Fetch { topic: usize, partition: i32, offset: i64, max_bytes: i32 },
    ListOffsets { topic: usize, partition: i32, timestamp: i64 },
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
    let partition = -1..4i32;
    prop_oneof![
        2 => (topic.clone(), 0..4i32, proptest::option::of(0..CONFIGS.len()))
            .prop_map(|(topic, partitions, config)| Op::Create { topic, partitions, config }),
        1 => (topic.clone(), 0..5i32).prop_map(|(topic, count)| Op::CreatePartitions { topic, count }),
        1 => topic.clone().prop_map(|topic| Op::Delete { topic }),
        4 => (topic.clone(), partition.clone(), 1..6usize, prop_oneof![Just(1i16), Just(-1i16)], 0..CODECS.len())
            .prop_map(|(topic, partition, records, acks, codec)| Op::Produce { topic, partition, records, acks, codec }),
        3 => (topic.clone(), partition.clone(), -1..12i64, prop_oneof![Just(1), Just(200), Just(1 << 20)])
            .prop_map(|(topic, partition, offset, max_bytes)| Op::Fetch { topic, partition, offset, max_bytes }),
        2 => (topic, partition, prop_oneof![Just(-1i64), Just(-2), Just(-3), (0..8i64).prop_map(|i| requests::BASE_TIMESTAMP_MS + i)])
            .prop_map(|(topic, partition, timestamp)| Op::ListOffsets { topic, partition, timestamp }),
    ]
}

/// The case number, for fresh topic names (proptest runs cases one after another, and
/// shrinking reruns them: each run gets a new number).
static CASE: AtomicU32 = AtomicU32::new(0);

/// Plays `ops` on both brokers; Err at the first step they answer differently.
pub async fn play(pair: &Pair, ops: &[Op]) -> Outcome {
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let names: Vec<String> = (0..3).map(|i| format!("s{case}-t{i}")).collect();
    for (step, op) in ops.iter().enumerate() {
        let at = |what: String| format!("step {step} ({op:?}): {what}");
        match *op {
            Op::Create { topic, partitions, config } => {
                let configs: Vec<(&str, &str)> = config.map(|i| CONFIGS[i]).into_iter().collect();
                let request = requests::create(vec![requests::topic(&names[topic], partitions, -1, &configs)], false);
                let (ours, theirs) = pair.both(&request).await?;
                let (ours, theirs) = (observe::created(&ours), observe::created(&theirs));
                same("CreateTopics", &ours, &theirs).map_err(at)?;
                if theirs.iter().all(|t| t.1 == 0) {
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
                same("Produce", &observe::produced(&ours), &observe::produced(&theirs)).map_err(at)?;
            }
            Op::Fetch { topic, partition, offset, max_bytes } => {
                let request = requests::fetch(&names[topic], partition, offset, max_bytes, max_bytes);
                let (ours, theirs) = pair.both(&request).await?;
                same("Fetch", &observe::fetched(&ours, offset)?, &observe::fetched(&theirs, offset)?).map_err(at)?;
            }
            Op::ListOffsets { topic, partition, timestamp } => {
                let (ours, theirs) = pair.both(&requests::list_offsets(&names[topic], partition, timestamp)).await?;
                same("ListOffsets", &observe::listed(&ours), &observe::listed(&theirs)).map_err(at)?;
            }
        }
    }
    Ok(())
}
