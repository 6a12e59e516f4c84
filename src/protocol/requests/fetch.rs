//! Fetch (api key 1), versions 4..=12; flexible from 12.
//!
//! `replica_id`, `max_wait_ms`, `min_bytes`, `max_bytes` int32, `isolation_level` int8;
//! v7+ `session_id`, `session_epoch` int32; `topics[]`: `topic`, `partitions[]`:
//! `partition` int32, v9+ `current_leader_epoch` int32, `fetch_offset` int64, v12+
//! `last_fetched_epoch` int32, v5+ `log_start_offset` int64, `partition_max_bytes` int32;
//! v7+ `forgotten_topics_data[]`: `topic`, `partitions` []int32; v11+ `rack_id`.
//! Tagged (v12+): `cluster_id` (tag 0, nullable string). Tags that only later versions
//! define (replica state, directory id, high watermark) are unknown here and skipped.

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{BrokerId, TopicName};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "FetchRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 12;

const CLUSTER_ID_TAG: u32 = 0;

pub(super) fn decode(body: Bytes, version: i16) -> Result<FetchRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let mut req = FetchRequest::default()
        .with_replica_id(BrokerId(r.int32("replica_id")?))
        .with_max_wait_ms(r.int32("max_wait_ms")?)
        .with_min_bytes(r.int32("min_bytes")?)
        .with_max_bytes(r.int32("max_bytes")?)
        .with_isolation_level(r.int8("isolation_level")?);
    if version >= 7 {
        req = req.with_session_id(r.int32("session_id")?).with_session_epoch(r.int32("session_epoch")?);
    }
    req = req.with_topics(r.array("topics", |r| topic(r, version))?);
    if version >= 7 {
        req = req.with_forgotten_topics_data(r.array("forgotten_topics_data", forgotten)?);
    }
    if version >= 11 {
        req = req.with_rack_id(r.string("rack_id")?);
    }
    let mut cluster_id = None;
    r.tagged_fields("tagged_fields", |tag, value| {
        if tag == CLUSTER_ID_TAG {
            cluster_id = value.nullable_string("cluster_id")?;
        }
        Ok(())
    })?;
    Ok(req.with_cluster_id(cluster_id))
}

fn topic(r: &mut Reader, version: i16) -> Result<FetchTopic, DecodeError> {
    let name = TopicName(r.string("topics[].topic")?);
    let partitions = r.array("topics[].partitions", |r| partition(r, version))?;
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(FetchTopic::default().with_topic(name).with_partitions(partitions))
}

fn partition(r: &mut Reader, version: i16) -> Result<FetchPartition, DecodeError> {
    let mut p = FetchPartition::default().with_partition(r.int32("topics[].partitions[].partition")?);
    if version >= 9 {
        p = p.with_current_leader_epoch(r.int32("topics[].partitions[].current_leader_epoch")?);
    }
    p = p.with_fetch_offset(r.int64("topics[].partitions[].fetch_offset")?);
    if version >= 12 {
        p = p.with_last_fetched_epoch(r.int32("topics[].partitions[].last_fetched_epoch")?);
    }
    if version >= 5 {
        p = p.with_log_start_offset(r.int64("topics[].partitions[].log_start_offset")?);
    }
    p = p.with_partition_max_bytes(r.int32("topics[].partitions[].partition_max_bytes")?);
    r.skip_tagged_fields("topics[].partitions[].tagged_fields")?;
    Ok(p)
}

fn forgotten(r: &mut Reader) -> Result<ForgottenTopic, DecodeError> {
    let name = TopicName(r.string("forgotten_topics_data[].topic")?);
    let partitions =
        r.array("forgotten_topics_data[].partitions", |r| r.int32("forgotten_topics_data[].partitions[]"))?;
    r.skip_tagged_fields("forgotten_topics_data[].tagged_fields")?;
    Ok(ForgottenTopic::default().with_topic(name).with_partitions(partitions))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<FetchRequest> {
        let partition = |index: i32| {
            let mut p = FetchPartition::default()
                .with_partition(index)
                .with_fetch_offset(1 << 40)
                .with_partition_max_bytes(1 << 20)
                .with_unknown_tagged_fields(unknown_tags(tags));
            if version >= 9 {
                p = p.with_current_leader_epoch(index + 3);
            }
            if version >= 12 {
                p = p.with_last_fetched_epoch(index + 2);
            }
            if version >= 5 {
                p = p.with_log_start_offset(-1 - i64::from(index));
            }
            p
        };
        let topic = |name: &'static str, partitions| {
            FetchTopic::default()
                .with_topic(TopicName(name.into()))
                .with_partitions(partitions)
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let mut full = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_isolation_level(1)
            .with_topics(vec![topic("orders", vec![partition(0), partition(5)]), topic("t", vec![])])
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 7 {
            let forgotten = |name: &'static str, partitions| {
                ForgottenTopic::default()
                    .with_topic(TopicName(name.into()))
                    .with_partitions(partitions)
                    .with_unknown_tagged_fields(unknown_tags(tags))
            };
            full = full
                .with_session_id(77)
                .with_session_epoch(3)
                .with_forgotten_topics_data(vec![forgotten("gone", vec![1, 2, 3]), forgotten("x", vec![])]);
        }
        if version >= 11 {
            full = full.with_rack_id("rack-a".into());
        }
        let mut all = vec![FetchRequest::default(), full.clone()];
        if version >= 12 {
            all.push(full.with_cluster_id(Some("cluster-1".into())));
        }
        all
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::Fetch, fixtures, Request::Fetch);
    }

    #[test]
    fn a_malformed_cluster_id_tag_is_an_error() {
        // v12 body of a default request, whose tagged section holds tag 0 = a compact string
        // claiming 5 bytes inside a 2-byte field.
        let mut body = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0];
        body.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 1, 1]);
        body.extend_from_slice(&[1, 0, 2, 6, b'x']);
        let err = decode(Bytes::from(body), 12).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { field: "cluster_id", .. }), "{err}");
    }
}
