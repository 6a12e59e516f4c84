//! OffsetForLeaderEpoch (api key 23), versions 2..=4; flexible from 4.
//!
//! v3+ `replica_id` int32, `topics[]`: `topic`, `partitions[]`: `partition` int32,
//! `current_leader_epoch` int32, `leader_epoch` int32. (v0-1 lie outside the supported
//! range: Kafka 4 dropped them.)

use bytes::Bytes;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "OffsetForLeaderEpochRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 4;

pub(super) fn decode(body: Bytes, version: i16) -> Result<OffsetForLeaderEpochRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let mut req = OffsetForLeaderEpochRequest::default();
    if version >= 3 {
        req = req.with_replica_id(BrokerId(r.int32("replica_id")?));
    }
    req = req.with_topics(r.array("topics", topic)?);
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

fn topic(r: &mut Reader) -> Result<OffsetForLeaderTopic, DecodeError> {
    let name = TopicName(r.string("topics[].topic")?);
    let partitions = r.array("topics[].partitions", partition)?;
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(OffsetForLeaderTopic::default().with_topic(name).with_partitions(partitions))
}

fn partition(r: &mut Reader) -> Result<OffsetForLeaderPartition, DecodeError> {
    let p = OffsetForLeaderPartition::default()
        .with_partition(r.int32("topics[].partitions[].partition")?)
        .with_current_leader_epoch(r.int32("topics[].partitions[].current_leader_epoch")?)
        .with_leader_epoch(r.int32("topics[].partitions[].leader_epoch")?);
    r.skip_tagged_fields("topics[].partitions[].tagged_fields")?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<OffsetForLeaderEpochRequest> {
        let partition = |partition: i32, leader_epoch: i32| {
            OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(7)
                .with_leader_epoch(leader_epoch)
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let topic = |name: &'static str, partitions| {
            OffsetForLeaderTopic::default()
                .with_topic(TopicName(name.into()))
                .with_partitions(partitions)
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let mut full = OffsetForLeaderEpochRequest::default()
            .with_topics(vec![topic("orders", vec![partition(0, 3), partition(2, -1)]), topic("none", vec![])])
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 3 {
            full = full.with_replica_id(BrokerId(-1));
        }
        vec![OffsetForLeaderEpochRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::OffsetForLeaderEpoch, fixtures, Request::OffsetForLeaderEpoch);
    }
}
