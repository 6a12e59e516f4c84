//! What is compared: each answer reduced to what a client can rightly rely on.
//!
//! Taken out, because it may rightly differ between two brokers: cluster and node ids
//! (seedlog's and Kafka's node are both 1, but the cluster ids are random), topic ids and
//! producer ids (random or allocated: only "set" or "unset" is kept), append timestamps
//! (only "the broker's clock" is kept), throttle times, error message text, and a trailing partial batch
//! in a Fetch answer (a broker may cut the last batch at the byte limit; clients drop it).
//! Everything else in these answers is compared as is.

use std::fmt::Debug;

use bytes::Bytes;
use kafka_protocol::messages::{
    CreatePartitionsResponse, CreateTopicsResponse, DeleteTopicsResponse, DescribeConfigsResponse, FetchResponse,
    InitProducerIdResponse, ListOffsetsResponse, MetadataResponse, ProduceResponse,
};
use seedlog::client::records::decode_fetched;

/// Ok when seedlog's observable equals Kafka's; Err showing both otherwise.
pub fn same<T: Debug + PartialEq>(what: &str, ours: &T, theirs: &T) -> Result<(), String> {
    if ours == theirs {
        Ok(())
    } else {
        Err(format!("{what} differs\n  seedlog: {ours:?}\n  Kafka:   {theirs:?}"))
    }
}

/// An append time stamped by a broker's clock (now), as opposed to one the test wrote.
pub const BROKER_CLOCK: i64 = -100;
/// Times the test writes lie within a day of its base timestamp; a broker's clock is later.
const BROKER_CLOCK_AFTER: i64 = crate::requests::BASE_TIMESTAMP_MS + 86_400_000;

/// `time_ms` as compared: `BROKER_CLOCK` when a broker's clock stamped it (a
/// LogAppendTime topic's record, or an append time), else as the test wrote it.
fn stamped(time_ms: i64) -> i64 {
    if time_ms > BROKER_CLOCK_AFTER {
        BROKER_CLOCK
    } else {
        time_ms
    }
}

/// A partition's Produce answer.
#[derive(Debug, PartialEq)]
pub struct Produced {
    pub topic: String,
    pub partition: i32,
    pub error_code: i16,
    pub base_offset: i64,
    /// The answer's append time: a record time the test wrote (Kafka answers a duplicate
    /// with its batch's timestamp), -1, or `BROKER_CLOCK` for a time the broker stamped.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// The indexes of the records refused (KIP-467), in order.
    pub record_errors: Vec<i32>,
}

pub fn produced(response: &ProduceResponse) -> Vec<Produced> {
    let mut out = Vec::new();
    for topic in &response.responses {
        for p in &topic.partition_responses {
            out.push(Produced {
                topic: topic.name.0.to_string(),
                partition: p.index,
                error_code: p.error_code,
                base_offset: p.base_offset,
                log_append_time: stamped(p.log_append_time_ms),
                log_start_offset: p.log_start_offset,
                record_errors: p.record_errors.iter().map(|e| e.batch_index).collect(),
            });
        }
    }
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    out
}

/// A record as a consumer sees it.
#[derive(Debug, PartialEq)]
pub struct Record {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A partition's Fetch answer, its records decoded (whole batches only).
#[derive(Debug, PartialEq)]
pub struct Fetched {
    pub topic: String,
    pub partition: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub preferred_read_replica: i32,
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
    pub records: Vec<Record>,
}

/// The answer's top-level error and its partitions. `fetch_offset` is where each partition
/// was asked from (records before it in the first batch are not the client's).
pub fn fetched(response: &FetchResponse, fetch_offset: i64) -> Result<(i16, Vec<Fetched>), String> {
    let mut out = Vec::new();
    for topic in &response.responses {
        for p in &topic.partitions {
            let data = p.records.clone().unwrap_or_default();
            let decoded =
                decode_fetched(data, fetch_offset, false, &[]).map_err(|e| format!("undecodable records: {e}"))?;
            out.push(Fetched {
                topic: topic.topic.0.to_string(),
                partition: p.partition_index,
                error_code: p.error_code,
                high_watermark: p.high_watermark,
                last_stable_offset: p.last_stable_offset,
                log_start_offset: p.log_start_offset,
                preferred_read_replica: p.preferred_read_replica.0,
                aborted_transactions: p
                    .aborted_transactions
                    .as_ref()
                    .map(|txns| txns.iter().map(|t| (t.producer_id.0, t.first_offset)).collect()),
                records: decoded
                    .records
                    .into_iter()
                    .map(|r| Record {
                        offset: r.offset,
                        timestamp: stamped(r.timestamp),
                        key: r.key,
                        value: r.value,
                        headers: r.headers,
                    })
                    .collect(),
            });
        }
    }
    Ok((response.error_code, out))
}

/// A partition's ListOffsets answer: (topic, partition, error, timestamp, offset, leader epoch).
pub fn listed(response: &ListOffsetsResponse) -> Vec<(String, i32, i16, i64, i64, i32)> {
    let mut out = Vec::new();
    for topic in &response.topics {
        for p in &topic.partitions {
            out.push((
                topic.name.0.to_string(),
                p.partition_index,
                p.error_code,
                stamped(p.timestamp),
                p.offset,
                p.leader_epoch,
            ));
        }
    }
    out.sort();
    out
}

/// A partition's Metadata answer: (index, error, leader, leader epoch, replicas, isr,
/// offline replicas).
pub type PartitionShape = (i32, i16, i32, i32, Vec<i32>, Vec<i32>, Vec<i32>);

/// A broker in a Metadata answer: (node id, host, rack).
pub type BrokerShape = (i32, String, Option<String>);

/// The Metadata answer: (brokers, controller, cluster id set, top-level error, topics).
pub type MetadataShape = (Vec<BrokerShape>, i32, bool, i16, Vec<TopicShape>);

/// A topic's Metadata answer: its shape, with node ids as they are (both nodes are 1).
#[derive(Debug, PartialEq)]
pub struct TopicShape {
    pub name: String,
    pub error_code: i16,
    pub is_internal: bool,
    pub topic_id_set: bool,
    pub partitions: Vec<PartitionShape>,
    pub authorized_operations: i32,
}

/// The Metadata answer, shaped.
pub fn metadata(response: &MetadataResponse) -> MetadataShape {
    let brokers = response
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.host.to_string(), b.rack.as_ref().map(|r| r.to_string())))
        .collect();
    let mut topics: Vec<TopicShape> = response
        .topics
        .iter()
        .map(|t| {
            let mut partitions: Vec<_> = t
                .partitions
                .iter()
                .map(|p| {
                    let ids = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
                    (
                        p.partition_index,
                        p.error_code,
                        p.leader_id.0,
                        p.leader_epoch,
                        ids(&p.replica_nodes),
                        ids(&p.isr_nodes),
                        ids(&p.offline_replicas),
                    )
                })
                .collect();
            partitions.sort();
            TopicShape {
                name: t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                error_code: t.error_code,
                is_internal: t.is_internal,
                topic_id_set: !t.topic_id.is_nil(),
                partitions,
                authorized_operations: t.topic_authorized_operations,
            }
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    (brokers, response.controller_id.0, response.cluster_id.is_some(), response.error_code, topics)
}

/// A topic's CreateTopics answer: (name, error, topic id set, partitions, replication
/// factor, config error). The configs it lists are compared apart, by [`configs`].
pub fn created(response: &CreateTopicsResponse) -> Vec<(String, i16, bool, i32, i16, i16)> {
    let mut out: Vec<_> = response
        .topics
        .iter()
        .map(|t| {
            (
                t.name.0.to_string(),
                t.error_code,
                !t.topic_id.is_nil(),
                t.num_partitions,
                t.replication_factor,
                t.topic_config_error_code,
            )
        })
        .collect();
    out.sort();
    out
}

/// A config entry: (name, value, read only, source, sensitive).
pub type Entry = (String, Option<String>, bool, i8, bool);

/// The configs CreateTopics (v5+) lists for `topic`.
pub fn created_configs(response: &CreateTopicsResponse, topic: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.configs.iter().flatten())
        .map(|c| {
            (c.name.to_string(), c.value.as_ref().map(|v| v.to_string()), c.read_only, c.config_source, c.is_sensitive)
        })
        .collect();
    out.sort();
    out
}

/// A resource's DescribeConfigs answer: (type, name, error, entries sorted by name).
pub fn described(response: &DescribeConfigsResponse) -> Vec<(i8, String, i16, Vec<Entry>)> {
    response
        .results
        .iter()
        .map(|r| {
            let mut entries: Vec<Entry> = r
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.value.as_ref().map(|v| v.to_string()),
                        c.read_only,
                        c.config_source,
                        c.is_sensitive,
                    )
                })
                .collect();
            entries.sort();
            (r.resource_type, r.resource_name.to_string(), r.error_code, entries)
        })
        .collect()
}

/// The answer's resources without their entries: (type, name, error).
pub fn described_heads(described: &[(i8, String, i16, Vec<Entry>)]) -> Vec<(i8, String, i16)> {
    described.iter().map(|r| (r.0, r.1.clone(), r.2)).collect()
}

/// Compares two config listings on the keys seedlog lists: each must be in Kafka's with
/// the same value, read-only flag, source and sensitivity. Keys only Kafka lists are
/// returned (seedlog does not implement them: issue 12), not failed.
pub fn same_configs(what: &str, ours: &[Entry], theirs: &[Entry]) -> Result<Vec<String>, String> {
    let mut differences = Vec::new();
    for entry in ours {
        match theirs.iter().find(|t| t.0 == entry.0) {
            Some(t) if t == entry => {}
            Some(t) if documented_config_difference(entry, t) => {}
            Some(t) => differences.push(format!("  {}: seedlog {entry:?}, Kafka {t:?}", entry.0)),
            None => differences.push(format!("  {}: seedlog lists it, Kafka does not: {entry:?}", entry.0)),
        }
    }
    if !differences.is_empty() {
        return Err(format!("{what}: {} config entries differ\n{}", differences.len(), differences.join("\n")));
    }
    Ok(theirs.iter().filter(|t| !ours.iter().any(|o| o.0 == t.0)).map(|t| t.0.clone()).collect())
}

/// The config differences docs/compatibility.md lists as deliberate.
fn documented_config_difference(ours: &Entry, theirs: &Entry) -> bool {
    // Kafka 4.x's controller writes a cluster-wide `min.insync.replicas` when it enables
    // eligible leader replicas, so Kafka names its source DYNAMIC_DEFAULT_BROKER_CONFIG (3);
    // seedlog has no dynamic broker configs yet (issue 11) and names the default (5).
    ours.0 == "min.insync.replicas" && ours.3 == 5 && theirs.3 == 3 && (&ours.1, ours.2) == (&theirs.1, theirs.2)
}

/// A topic's CreatePartitions answer: (name, error).
pub fn partitions_created(response: &CreatePartitionsResponse) -> Vec<(String, i16)> {
    let mut out: Vec<_> = response.results.iter().map(|r| (r.name.0.to_string(), r.error_code)).collect();
    out.sort();
    out
}

/// A topic's DeleteTopics answer: (name, error).
pub fn deleted(response: &DeleteTopicsResponse) -> Vec<(String, i16)> {
    let mut out: Vec<_> = response
        .responses
        .iter()
        .map(|r| (r.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(), r.error_code))
        .collect();
    out.sort();
    out
}

/// An InitProducerId answer: (error, producer id set, epoch).
pub fn producer_id(response: &InitProducerIdResponse) -> (i16, bool, i16) {
    (response.error_code, response.producer_id.0 >= 0, response.producer_epoch)
}
