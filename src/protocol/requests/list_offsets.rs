//! ListOffsets (api key 2), versions 1..=10; flexible from 6.
//!
//! `replica_id` int32, v2+ `isolation_level` int8, `topics[]`: `name`, `partitions[]`:
//! `partition_index` int32, v4+ `current_leader_epoch` int32, `timestamp` int64; v10+
//! `timeout_ms` int32 (how long a tiered-storage lookup may take). v8 and v9 add no field:
//! they are the versions from which a client may ask for the earliest local offset (-4) and
//! the latest tiered offset (-5). (v0's `max_num_offsets` lies outside the supported range.)

use bytes::Bytes;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, TopicName};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "ListOffsetsRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 6;

pub(super) fn decode(body: Bytes, version: i16) -> Result<ListOffsetsRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let mut req = ListOffsetsRequest::default().with_replica_id(BrokerId(r.int32("replica_id")?));
    if version >= 2 {
        req = req.with_isolation_level(r.int8("isolation_level")?);
    }
    req = req.with_topics(r.array("topics", |r| topic(r, version))?);
    if version >= 10 {
        req = req.with_timeout_ms(r.int32("timeout_ms")?);
    }
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<ListOffsetsTopic, DecodeError> {
    let name = TopicName(r.string("topics[].name")?);
    let partitions = r.array("topics[].partitions", |r| partition(r, version))?;
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(ListOffsetsTopic::default().with_name(name).with_partitions(partitions))
}

fn partition(r: &mut Reader, version: i16) -> Result<ListOffsetsPartition, DecodeError> {
    let mut p = ListOffsetsPartition::default().with_partition_index(r.int32("topics[].partitions[].partition_index")?);
    if version >= 4 {
        p = p.with_current_leader_epoch(r.int32("topics[].partitions[].current_leader_epoch")?);
    }
    p = p.with_timestamp(r.int64("topics[].partitions[].timestamp")?);
    r.skip_tagged_fields("topics[].partitions[].tagged_fields")?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<ListOffsetsRequest> {
        let partition = |index: i32, timestamp: i64| {
            let mut p = ListOffsetsPartition::default()
                .with_partition_index(index)
                .with_timestamp(timestamp)
                .with_unknown_tagged_fields(unknown_tags(tags));
            if version >= 4 {
                p = p.with_current_leader_epoch(9);
            }
            p
        };
        let topic = |name: &'static str, partitions| {
            ListOffsetsTopic::default()
                .with_name(TopicName(name.into()))
                .with_partitions(partitions)
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let mut full = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                topic(
                    "orders",
                    vec![partition(0, -1), partition(1, -2), partition(2, 1_700_000_000_000), partition(3, -5)],
                ),
                topic("none", vec![]),
            ])
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 2 {
            full = full.with_isolation_level(1);
        }
        if version >= 10 {
            full = full.with_timeout_ms(30_000);
        }
        vec![ListOffsetsRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::ListOffsets, fixtures, Request::ListOffsets);
    }
}
