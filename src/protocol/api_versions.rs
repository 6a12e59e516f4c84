//! What the broker advertises: the single table of supported (api, version range).
//!
//! [`SUPPORTED`] is the one source of truth. The ApiVersions response is built from it, the
//! header decoder reports anything outside it as unsupported, and `decode_request` refuses
//! to decode outside it — so the broker can never advertise a version it cannot read, nor
//! read one it did not advertise. The table itself is declared with the decoders, in
//! `requests/mod.rs`, so an API and its versions are one line.

use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kafka_protocol::messages::ApiKey;

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
