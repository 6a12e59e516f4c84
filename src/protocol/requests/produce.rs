//! Produce (api key 0), versions 3..=9; flexible from 9.
//!
//! `transactional_id` (nullable), `acks` int16, `timeout_ms` int32, `topic_data[]`:
//! `name`, `partition_data[]`: `index` int32, `records` (nullable bytes). The records stay
//! the raw slice of the request: the storage layer checks each batch's CRC and rewrites
//! its base offset in place, and never re-encodes records.

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_protocol::messages::{TopicName, TransactionalId};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "ProduceRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 9;

pub(super) fn decode(body: Bytes, version: i16) -> Result<ProduceRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let transactional_id = r.nullable_string("transactional_id")?.map(TransactionalId);
    let acks = r.int16("acks")?;
    let timeout_ms = r.int32("timeout_ms")?;
    let topic_data = r.array("topic_data", topic)?;
    r.skip_tagged_fields("tagged_fields")?;
    Ok(ProduceRequest::default()
        .with_transactional_id(transactional_id)
        .with_acks(acks)
        .with_timeout_ms(timeout_ms)
        .with_topic_data(topic_data))
}

fn topic(r: &mut Reader) -> Result<TopicProduceData, DecodeError> {
    let name = TopicName(r.string("topic_data[].name")?);
    let partition_data = r.array("topic_data[].partition_data", partition)?;
    r.skip_tagged_fields("topic_data[].tagged_fields")?;
    Ok(TopicProduceData::default().with_name(name).with_partition_data(partition_data))
}

fn partition(r: &mut Reader) -> Result<PartitionProduceData, DecodeError> {
    let index = r.int32("topic_data[].partition_data[].index")?;
    let records = r.nullable_bytes("topic_data[].partition_data[].records")?;
    r.skip_tagged_fields("topic_data[].partition_data[].tagged_fields")?;
    Ok(PartitionProduceData::default().with_index(index).with_records(records))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(_version: i16, tags: bool) -> Vec<ProduceRequest> {
        let partition = |index, records: Option<&'static [u8]>| {
            PartitionProduceData::default()
                .with_index(index)
                .with_records(records.map(Bytes::from_static))
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let topic = |name: &'static str, partitions| {
            TopicProduceData::default()
                .with_name(TopicName(name.into()))
                .with_partition_data(partitions)
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let batch: &'static [u8] = &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        vec![
            ProduceRequest::default().with_acks(-1).with_timeout_ms(30_000),
            ProduceRequest::default()
                .with_transactional_id(Some(TransactionalId("txn-1".into())))
                .with_acks(1)
                .with_timeout_ms(-7)
                .with_topic_data(vec![
                    topic("orders", vec![partition(0, Some(batch)), partition(7, None), partition(2, Some(&[]))]),
                    topic("empty", vec![]),
                ])
                .with_unknown_tagged_fields(unknown_tags(tags)),
        ]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::Produce, fixtures, Request::Produce);
    }

    #[test]
    fn records_are_a_slice_of_the_request_not_a_copy() {
        let req = &fixtures(3, false)[1];
        let mut buf = bytes::BytesMut::new();
        kafka_protocol::protocol::Encodable::encode(req, &mut buf, 3).unwrap();
        let body = buf.freeze();
        let decoded = decode(body.clone(), 3).unwrap();
        let records = decoded.topic_data[0].partition_data[0].records.as_ref().unwrap();
        let start = records.as_ptr() as usize - body.as_ptr() as usize;
        assert!(start + records.len() <= body.len());
    }

    #[test]
    fn a_records_length_beyond_the_body_is_refused() {
        // No transactional id, acks 1, timeout 0, one topic "t", one partition 0, records
        // claiming i32::MAX bytes.
        let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        let err = decode(Bytes::from(body), 3).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { field: "topic_data[].partition_data[].records", .. }));
    }
}
