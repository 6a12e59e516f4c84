//! The requests the cases send, built the same way for both brokers.

use bytes::Bytes;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, FetchRequest,
    ListOffsetsRequest, MetadataRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use seedlog::client::idempotence::ProducerIdentity;
use seedlog::client::records::{encode_batch, OutgoingRecord};
use seedlog::client::Compression;

/// A fixed CreateTime for every record: 2026-01-01T00:00:00Z, plus the record's index.
pub const BASE_TIMESTAMP_MS: i64 = 1_767_225_600_000;

pub fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// One v2 batch of `values` (keys `k0`, `k1`, …; one header on each), stamped with
/// `identity` from `base_sequence`.
pub fn batch(values: &[Bytes], identity: ProducerIdentity, base_sequence: i32) -> Bytes {
    compressed_batch(values, identity, base_sequence, Compression::None)
}

/// [`batch`] in `compression`.
pub fn compressed_batch(
    values: &[Bytes],
    identity: ProducerIdentity,
    base_sequence: i32,
    compression: Compression,
) -> Bytes {
    let records: Vec<OutgoingRecord> = values
        .iter()
        .enumerate()
        .map(|(i, value)| OutgoingRecord {
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(value.clone()),
            headers: vec![("h".to_owned(), Some(Bytes::from_static(b"v")))],
            timestamp_ms: BASE_TIMESTAMP_MS + i as i64,
        })
        .collect();
    encode_batch(&records, identity, base_sequence, compression).expect("a batch encodes")
}

/// A plain batch of `n` small values.
pub fn values(n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(format!("value-{i}"))).collect()
}

pub fn produce(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default().with_acks(acks).with_timeout_ms(10_000).with_topic_data(vec![TopicProduceData::default()
        .with_name(name(topic))
        .with_partition_data(vec![PartitionProduceData::default().with_index(partition).with_records(Some(records))])])
}

/// A sessionless Fetch of one partition from `offset`, waiting at most 10 ms.
pub fn fetch(topic: &str, partition: i32, offset: i64, max_bytes: i32, partition_max_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(10)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(vec![
            FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(partition_max_bytes)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1),
        ])])
}

pub fn list_offsets(topic: &str, partition: i32, timestamp: i64) -> ListOffsetsRequest {
    ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
        .with_name(name(topic))
        .with_partitions(vec![ListOffsetsPartition::default()
            .with_partition_index(partition)
            .with_current_leader_epoch(-1)
            .with_timestamp(timestamp)])])
}

pub fn metadata(topics: &[&str]) -> MetadataRequest {
    MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(topics.iter().map(|t| MetadataRequestTopic::default().with_name(Some(name(t)))).collect()))
}

/// A topic to create: `partitions` and `replication_factor` as given (-1 for the
/// broker's default), with `configs`.
pub fn topic(topic: &str, partitions: i32, replication_factor: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(replication_factor)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string((*k).to_owned()))
                        .with_value(Some(StrBytes::from_string((*v).to_owned())))
                })
                .collect(),
        )
}

/// Grows `topic` to `count` partitions.
pub fn create_partitions(topic: &str, count: i32) -> CreatePartitionsRequest {
    CreatePartitionsRequest::default().with_timeout_ms(10_000).with_topics(vec![CreatePartitionsTopic::default()
        .with_name(name(topic))
        .with_count(count)
        .with_assignments(None)])
}

pub fn create(topics: Vec<CreatableTopic>, validate_only: bool) -> CreateTopicsRequest {
    CreateTopicsRequest::default().with_timeout_ms(10_000).with_validate_only(validate_only).with_topics(topics)
}

pub fn delete(topics: &[&str]) -> DeleteTopicsRequest {
    DeleteTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topic_names(topics.iter().map(|t| name(t)).collect())
        .with_topics(topics.iter().map(|t| DeleteTopicState::default().with_name(Some(name(t)))).collect())
}

/// DescribeConfigs of one resource (2 = topic, 4 = broker), every key.
pub fn describe_configs(resource_type: i8, resource_name: &str) -> DescribeConfigsRequest {
    DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(StrBytes::from_string(resource_name.to_owned()))
        .with_configuration_keys(None)])
}
