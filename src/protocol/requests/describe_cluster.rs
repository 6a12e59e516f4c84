//! DescribeCluster (api key 60), versions 0..=1; flexible in every version.
//!
//! `include_cluster_authorized_operations` bool; v1+ `endpoint_type` int8.

use bytes::Bytes;
use kafka_protocol::messages::DescribeClusterRequest;

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "DescribeClusterRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 0;

pub(super) fn decode(body: Bytes, version: i16) -> Result<DescribeClusterRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let include = r.boolean("include_cluster_authorized_operations")?;
    let mut req = DescribeClusterRequest::default().with_include_cluster_authorized_operations(include);
    if version >= 1 {
        req = req.with_endpoint_type(r.int8("endpoint_type")?);
    }
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<DescribeClusterRequest> {
        let mut full = DescribeClusterRequest::default()
            .with_include_cluster_authorized_operations(true)
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 1 {
            full = full.with_endpoint_type(2);
        }
        vec![DescribeClusterRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::DescribeCluster, fixtures, Request::DescribeCluster);
    }
}
