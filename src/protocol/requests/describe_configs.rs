//! DescribeConfigs (api key 32), versions 1..=4; flexible from 4.
//!
//! `resources[]`: `resource_type` int8, `resource_name`, `configuration_keys` (nullable)
//! []string; then `include_synonyms` bool (v1+), v3+ `include_documentation` bool.

use bytes::Bytes;
use kafka_protocol::messages::describe_configs_request::{DescribeConfigsRequest, DescribeConfigsResource};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "DescribeConfigsRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 4;

pub(super) fn decode(body: Bytes, version: i16) -> Result<DescribeConfigsRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let mut req = DescribeConfigsRequest::default()
        .with_resources(r.array("resources", resource)?)
        .with_include_synonyms(r.boolean("include_synonyms")?);
    if version >= 3 {
        req = req.with_include_documentation(r.boolean("include_documentation")?);
    }
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

fn resource(r: &mut Reader) -> Result<DescribeConfigsResource, DecodeError> {
    let resource_type = r.int8("resources[].resource_type")?;
    let resource_name = r.string("resources[].resource_name")?;
    let keys = r.nullable_array("resources[].configuration_keys", |r| r.string("resources[].configuration_keys[]"))?;
    r.skip_tagged_fields("resources[].tagged_fields")?;
    Ok(DescribeConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(resource_name)
        .with_configuration_keys(keys))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<DescribeConfigsRequest> {
        let resource = |kind, name: &'static str, keys: Option<Vec<&'static str>>| {
            DescribeConfigsResource::default()
                .with_resource_type(kind)
                .with_resource_name(name.into())
                .with_configuration_keys(keys.map(|keys| keys.into_iter().map(Into::into).collect()))
                .with_unknown_tagged_fields(unknown_tags(tags))
        };
        let mut full = DescribeConfigsRequest::default()
            .with_resources(vec![
                resource(2, "orders", None),
                resource(4, "1", Some(vec!["log.retention.ms", "num.partitions"])),
                resource(2, "", Some(vec![])),
            ])
            .with_include_synonyms(true)
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 3 {
            full = full.with_include_documentation(true);
        }
        vec![DescribeConfigsRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::DescribeConfigs, fixtures, Request::DescribeConfigs);
    }
}
