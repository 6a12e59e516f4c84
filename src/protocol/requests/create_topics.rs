//! CreateTopics (api key 19), versions 2..=7; flexible from 5.
//!
//! `topics[]`: `name`, `num_partitions` int32, `replication_factor` int16,
//! `assignments[]`: `partition_index` int32, `broker_ids` []int32; `configs[]`: `name`,
//! `value` (nullable). Then `timeout_ms` int32, `validate_only` bool.

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use kafka_protocol::messages::{BrokerId, TopicName};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "CreateTopicsRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 5;

pub(super) fn decode(body: Bytes, version: i16) -> Result<CreateTopicsRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let topics = r.array("topics", topic)?;
    let timeout_ms = r.int32("timeout_ms")?;
    let validate_only = r.boolean("validate_only")?;
    r.skip_tagged_fields("tagged_fields")?;
    Ok(CreateTopicsRequest::default().with_topics(topics).with_timeout_ms(timeout_ms).with_validate_only(validate_only))
}

fn topic(r: &mut Reader) -> Result<CreatableTopic, DecodeError> {
    let name = TopicName(r.string("topics[].name")?);
    let num_partitions = r.int32("topics[].num_partitions")?;
    let replication_factor = r.int16("topics[].replication_factor")?;
    let assignments = r.array("topics[].assignments", assignment)?;
    let configs = r.array("topics[].configs", config)?;
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(CreatableTopic::default()
        .with_name(name)
        .with_num_partitions(num_partitions)
        .with_replication_factor(replication_factor)
        .with_assignments(assignments)
        .with_configs(configs))
}

fn assignment(r: &mut Reader) -> Result<CreatableReplicaAssignment, DecodeError> {
    let partition_index = r.int32("topics[].assignments[].partition_index")?;
    let broker_ids = r.array("topics[].assignments[].broker_ids", |r| {
        Ok(BrokerId(r.int32("topics[].assignments[].broker_ids[]")?))
    })?;
    r.skip_tagged_fields("topics[].assignments[].tagged_fields")?;
    Ok(CreatableReplicaAssignment::default().with_partition_index(partition_index).with_broker_ids(broker_ids))
}

fn config(r: &mut Reader) -> Result<CreatableTopicConfig, DecodeError> {
    let name = r.string("topics[].configs[].name")?;
    let value = r.nullable_string("topics[].configs[].value")?;
    r.skip_tagged_fields("topics[].configs[].tagged_fields")?;
    Ok(CreatableTopicConfig::default().with_name(name).with_value(value))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(_version: i16, tags: bool) -> Vec<CreateTopicsRequest> {
        let assignment = |index, brokers: Vec<i32>| {
            CreatableReplicaAssignment::default()
                .with_partition_index(index)
                .with_broker_ids(brokers.into_iter().map(BrokerId).collect())
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let config = |name: &'static str, value: Option<&'static str>| {
            CreatableTopicConfig::default()
                .with_name(name.into())
                .with_value(value.map(Into::into))
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let topics = vec![
            CreatableTopic::default()
                .with_name(TopicName("orders".into()))
                .with_num_partitions(3)
                .with_replication_factor(3)
                .with_configs(vec![config("cleanup.policy", Some("compact")), config("retention.ms", None)])
                .with_unknown_tagged_fields(unknown_tags(tags)),
            CreatableTopic::default()
                .with_name(TopicName("manual".into()))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_assignments(vec![assignment(0, vec![1, 2]), assignment(1, vec![]), assignment(2, vec![3])])
                .with_unknown_tagged_fields(unknown_tags(tags)),
        ];
        vec![
            CreateTopicsRequest::default(),
            CreateTopicsRequest::default()
                .with_topics(topics)
                .with_timeout_ms(30_000)
                .with_validate_only(true)
                .with_unknown_tagged_fields(unknown_tags(tags)),
        ]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::CreateTopics, fixtures, Request::CreateTopics);
    }
}
