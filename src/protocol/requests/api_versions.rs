//! ApiVersions (api key 18), versions 0..=3; flexible from 3.
//!
//! v0..=2 have an empty body; v3+ `client_software_name`, `client_software_version`.

use bytes::Bytes;
use kafka_protocol::messages::ApiVersionsRequest;

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "ApiVersionsRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 3;

pub(super) fn decode(body: Bytes, version: i16) -> Result<ApiVersionsRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let mut req = ApiVersionsRequest::default();
    if version >= 3 {
        req = req
            .with_client_software_name(r.string("client_software_name")?)
            .with_client_software_version(r.string("client_software_version")?);
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

    fn fixtures(version: i16, tags: bool) -> Vec<ApiVersionsRequest> {
        let mut full = ApiVersionsRequest::default().with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 3 {
            full = full.with_client_software_name("librdkafka".into()).with_client_software_version("2.10.0".into());
        }
        vec![ApiVersionsRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::ApiVersions, fixtures, Request::ApiVersions);
    }
}
