//! What the broker advertises: the single table of supported (api, version range).
//!
//! [`SUPPORTED`] is the one source of truth. The ApiVersions response is built from it, the
//! header decoder reports anything outside it as unsupported, and `decode_request` refuses
//! to decode outside it — so the broker can never advertise a version it cannot read, nor
//! read one it did not advertise. The table itself is declared with the decoders, in
//! `requests/mod.rs`, so an API and its versions are one line.

use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::ResponseError;

pub use super::requests::SUPPORTED;

/// The inclusive version range the broker supports for `api_key`, if any.
pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED.iter().find(|(key, _, _)| *key == api_key).map(|&(_, min, max)| (min, max))
}

/// Whether the broker accepts `api_key` at `api_version`.
pub fn is_supported(api_key: ApiKey, api_version: i16) -> bool {
    supported_versions(api_key).is_some_and(|(min, max)| (min..=max).contains(&api_version))
}

/// An ApiVersions response listing [`SUPPORTED`], with error code 0. For a request at an
/// unsupported ApiVersions version, set `error_code` to UNSUPPORTED_VERSION (35) and send
/// it at version 0, as Kafka does, so the client can retry with a version it finds here.
pub fn api_versions_response() -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .map(|&(key, min, max)| {
            ApiVersion::default().with_api_key(key as i16).with_min_version(min).with_max_version(max)
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(api_keys)
}

/// The answer to ApiVersions `request`: [`api_versions_response`], or, when a v3+ request
/// names its client software in a way Kafka refuses (KIP-511: a letter or digit at each end,
/// letters, digits, `-` and `.` between), INVALID_REQUEST with no versions listed.
pub fn answer_api_versions(request: &ApiVersionsRequest, version: i16) -> ApiVersionsResponse {
    let valid = |field: &str| {
        let bytes = field.as_bytes();
        let end_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
        end_ok(bytes.first())
            && end_ok(bytes.last())
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
    };
    // v0-2 requests carry neither field.
    if version < 3 || valid(&request.client_software_name) && valid(&request.client_software_version) {
        api_versions_response()
    } else {
        ApiVersionsResponse::default().with_error_code(ResponseError::InvalidRequest.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_range_is_within_what_kafka_protocol_can_encode() {
        for &(key, min, max) in SUPPORTED {
            let valid = key.valid_versions();
            assert!(min <= max, "{key:?}");
            assert!(valid.min <= min && max <= valid.max, "{key:?} {min}..={max} vs {valid}");
        }
    }

    #[test]
    fn v3_requests_must_name_their_software_as_kip_511_says() {
        let request = |name: &str, version: &str| {
            ApiVersionsRequest::default()
                .with_client_software_name(name.to_string().into())
                .with_client_software_version(version.to_string().into())
        };
        let code = |r: ApiVersionsRequest, v| answer_api_versions(&r, v).error_code;
        assert_eq!(code(request("librdkafka", "2.10.0"), 3), 0);
        assert_eq!(code(request("a", "1"), 3), 0);
        let invalid = ResponseError::InvalidRequest.code();
        for (name, version) in [("", "1.0"), ("x", ""), ("-x", "1"), ("x.", "1"), ("x y", "1"), ("x", "1.0_b")] {
            let answer = answer_api_versions(&request(name, version), 3);
            assert_eq!(answer.error_code, invalid, "{name:?} {version:?}");
            assert!(answer.api_keys.is_empty());
        }
        assert_eq!(code(request("", ""), 2), 0, "v2 has no such fields");
    }

    #[test]
    fn each_api_appears_once() {
        for (i, (key, _, _)) in SUPPORTED.iter().enumerate() {
            assert!(SUPPORTED[i + 1..].iter().all(|(other, _, _)| other != key), "{key:?}");
        }
    }

    #[test]
    fn lookups_follow_the_table() {
        assert!(is_supported(ApiKey::Metadata, 0));
        assert!(is_supported(ApiKey::Metadata, 12));
        assert!(!is_supported(ApiKey::Metadata, 13));
        assert!(!is_supported(ApiKey::Produce, 2));
        assert!(!is_supported(ApiKey::JoinGroup, 0));
        let response = api_versions_response();
        assert_eq!(response.api_keys.len(), SUPPORTED.len());
        assert_eq!(response.error_code, 0);
    }
}
