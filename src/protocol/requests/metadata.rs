//! Metadata (api key 3), versions 0..=12; flexible from 9.
//!
//! v0: `topics` (non-null; empty means all topics). v1+: `topics` nullable (null means all,
//! empty means none). v4+: `allow_auto_topic_creation`. v8..=10:
//! `include_cluster_authorized_operations`. v8+: `include_topic_authorized_operations`.
//! Topic: v10+ `topic_id` (uuid) first, then `name` (nullable from v10).

use bytes::Bytes;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::TopicName;

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "MetadataRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 9;

pub(super) fn decode(body: Bytes, version: i16) -> Result<MetadataRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let topics = if version >= 1 {
        r.nullable_array("topics", |r| topic(r, version))?
    } else {
        Some(r.array("topics", |r| topic(r, version))?)
    };
    let mut req = MetadataRequest::default().with_topics(topics);
    if version >= 4 {
        req = req.with_allow_auto_topic_creation(r.boolean("allow_auto_topic_creation")?);
    }
    if (8..=10).contains(&version) {
        let include = r.boolean("include_cluster_authorized_operations")?;
        req = req.with_include_cluster_authorized_operations(include);
    }
    if version >= 8 {
        let include = r.boolean("include_topic_authorized_operations")?;
        req = req.with_include_topic_authorized_operations(include);
    }
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<MetadataRequestTopic, DecodeError> {
    let mut topic = MetadataRequestTopic::default();
    if version >= 10 {
        topic = topic.with_topic_id(r.uuid("topics[].topic_id")?);
    }
    let name = if version >= 10 { r.nullable_string("topics[].name")? } else { Some(r.string("topics[].name")?) };
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(topic.with_name(name.map(TopicName)))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags, uuid};
    use crate::protocol::requests::Request;

    fn topic(version: i16, tags: bool, name: Option<&'static str>, id: u8) -> MetadataRequestTopic {
        let mut topic = MetadataRequestTopic::default()
            .with_name(name.map(|n| TopicName(n.into())))
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 10 {
            topic = topic.with_topic_id(uuid(id));
        }
        topic
    }

    fn fixtures(version: i16, tags: bool) -> Vec<MetadataRequest> {
        let base = || {
            let mut req = MetadataRequest::default().with_unknown_tagged_fields(unknown_tags(tags));
            if version >= 4 {
                req = req.with_allow_auto_topic_creation(false);
            }
            if (8..=10).contains(&version) {
                req = req.with_include_cluster_authorized_operations(true);
            }
            if version >= 8 {
                req = req.with_include_topic_authorized_operations(true);
            }
            req
        };
        let mut topics = vec![topic(version, tags, Some("orders"), 1), topic(version, tags, Some(""), 2)];
        if version >= 10 {
            topics.push(topic(version, tags, None, 3));
        }
        let mut all = vec![
            base().with_topics(Some(vec![])),
            base().with_topics(Some(topics)),
            MetadataRequest::default().with_topics(Some(vec![topic(version, false, Some("ü"), 0)])),
        ];
        if version >= 1 {
            all.push(base().with_topics(None));
        }
        all
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::Metadata, fixtures, Request::Metadata);
    }

    #[test]
    fn null_topics_are_refused_in_v0_and_null_names_before_v10() {
        let null_array = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decode(null_array.clone(), 0), Err(DecodeError::UnexpectedNull { field: "topics" }));
        assert!(decode(null_array, 1).unwrap().topics.is_none());
        let null_name = Bytes::from_static(&[0, 0, 0, 1, 0xff, 0xff]);
        assert_eq!(decode(null_name, 1), Err(DecodeError::UnexpectedNull { field: "topics[].name" }));
    }

    #[test]
    fn huge_topic_counts_are_refused_before_allocating() {
        let classic = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        assert!(matches!(decode(classic, 1), Err(DecodeError::InvalidLength { field: "topics", .. })));
        // Compact: u32::MAX as the varint, i.e. u32::MAX - 1 elements.
        let compact = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
        assert!(matches!(decode(compact, 9), Err(DecodeError::InvalidLength { field: "topics", .. })));
    }
}
