//! DeleteTopics (api key 20), versions 1..=6; flexible from 4.
//!
//! v1..=5: `topic_names` []string; v6: `topics[]`: `name` (nullable), `topic_id` uuid.
//! Then `timeout_ms` int32.

use bytes::Bytes;
use kafka_protocol::messages::delete_topics_request::{DeleteTopicState, DeleteTopicsRequest};
use kafka_protocol::messages::TopicName;

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "DeleteTopicsRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 4;

pub(super) fn decode(body: Bytes, version: i16) -> Result<DeleteTopicsRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let mut req = DeleteTopicsRequest::default();
    if version >= 6 {
        req = req.with_topics(r.array("topics", topic)?);
    } else {
        let names = r.array("topic_names", |r| Ok(TopicName(r.string("topic_names[]")?)))?;
        req = req.with_topic_names(names);
    }
    req = req.with_timeout_ms(r.int32("timeout_ms")?);
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

fn topic(r: &mut Reader) -> Result<DeleteTopicState, DecodeError> {
    let name = r.nullable_string("topics[].name")?.map(TopicName);
    let topic_id = r.uuid("topics[].topic_id")?;
    r.skip_tagged_fields("topics[].tagged_fields")?;
    Ok(DeleteTopicState::default().with_name(name).with_topic_id(topic_id))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags, uuid};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<DeleteTopicsRequest> {
        let full =
            DeleteTopicsRequest::default().with_timeout_ms(15_000).with_unknown_tagged_fields(unknown_tags(tags));
        let full = if version >= 6 {
            let state = |name: Option<&'static str>, id| {
                DeleteTopicState::default()
                    .with_name(name.map(|n| TopicName(n.into())))
                    .with_topic_id(uuid(id))
                    .with_unknown_tagged_fields(unknown_tags(tags))
            };
            full.with_topics(vec![state(Some("orders"), 1), state(None, 2)])
        } else {
            full.with_topic_names(vec![TopicName("a".into()), TopicName("".into()), TopicName("c".into())])
        };
        vec![DeleteTopicsRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::DeleteTopics, fixtures, Request::DeleteTopics);
    }
}
