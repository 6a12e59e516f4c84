//! CreatePartitions (api key 37), versions 0..=3; flexible from 2.
//!
//! `topics[]`: `name`, `count` int32, `assignments` (nullable) []: `broker_ids` []int32.
//! Then `timeout_ms` int32, `validate_only` bool.

use bytes::Bytes;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "CreatePartitionsRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 2;

pub(super) fn decode(body: Bytes, version: i16) -> Result<CreatePartitionsRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let topics = r.array("topics", topic)?;
    let timeout_ms = r.int32("timeout_ms")?;
    let validate_only = r.boolean("validate_only")?;
    r.skip_tagged_fields("tagged_fields")?;
    Ok(CreatePartitionsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(timeout_ms)
        .with_validate_only(validate_only))
}

fn topic(r: &mut Reader) -> Result<CreatePartitionsTopic, DecodeError> {
    let name = TopicName(r.string("topics[].name")?);
    let count = r.int32("topics[].count")?;
    let assignments = r.nullable_array("topics[].assignments", assignment)?;
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(CreatePartitionsTopic::default().with_name(name).with_count(count).with_assignments(assignments))
}

fn assignment(r: &mut Reader) -> Result<CreatePartitionsAssignment, DecodeError> {
    let broker_ids = r.array("topics[].assignments[].broker_ids", |r| {
        Ok(BrokerId(r.int32("topics[].assignments[].broker_ids[]")?))
    })?;
    r.skip_tagged_fields("topics[].assignments[].tagged_fields")?;
    Ok(CreatePartitionsAssignment::default().with_broker_ids(broker_ids))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(_version: i16, tags: bool) -> Vec<CreatePartitionsRequest> {
        let assignment = |brokers: Vec<i32>| {
            CreatePartitionsAssignment::default()
                .with_broker_ids(brokers.into_iter().map(BrokerId).collect())
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let topic = |name: &'static str, count, assignments| {
            CreatePartitionsTopic::default()
                .with_name(TopicName(name.into()))
                .with_count(count)
                .with_assignments(assignments)
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        vec![
            CreatePartitionsRequest::default(),
            CreatePartitionsRequest::default()
                .with_topics(vec![
                    topic("orders", 6, None),
                    topic("manual", 3, Some(vec![assignment(vec![1, 2]), assignment(vec![])])),
                    topic("empty", 1, Some(vec![])),
                ])
                .with_timeout_ms(1000)
                .with_validate_only(true)
                .with_unknown_tagged_fields(unknown_tags(tags)),
        ]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::CreatePartitions, fixtures, Request::CreatePartitions);
    }
}
