//! The request header: which API, which version, which correlation id, which client.
//!
//! Header v1 is `api_key: int16, api_version: int16, correlation_id: int32, client_id:
//! nullable string`; v2 (an API's flexible versions) adds tagged fields — while the client
//! id stays a classic int16-length string. Which header version applies depends on the api
//! key and version, so the first three fixed-width fields are read *before* anything is
//! judged: an unknown api key or unsupported version is reported with them
//! ([`RequestError::Unsupported`]) so the broker can still answer — ApiVersions with
//! UNSUPPORTED_VERSION (Kafka's rule, so a newer client can fall back), any other API by
//! closing the connection.

use std::fmt;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::StrBytes;

use super::api_versions::is_supported;
use super::error::DecodeError;
use super::reader::Reader;

/// A decoded request header for a supported (api, version).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestHeader {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<StrBytes>,
}

impl RequestHeader {
    /// The request header version (1, or 2 for flexible versions) this request used.
    pub fn header_version(&self) -> i16 {
        self.api_key.request_header_version(self.api_version)
    }

    /// The response header version to answer with: 0, or 1 for flexible versions — except
    /// ApiVersions, always 0, so a client that does not yet know the broker's versions can
    /// read the answer.
    pub fn response_header_version(&self) -> i16 {
        self.api_key.response_header_version(self.api_version)
    }
}

/// Why a request frame cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The api key is unknown or its version is outside [`SUPPORTED`](super::SUPPORTED).
    /// The fields are as the client sent them. For ApiVersions, answer with error
    /// UNSUPPORTED_VERSION at version 0; for anything else, close the connection.
    Unsupported { api_key: i16, api_version: i16, correlation_id: i32 },
    /// The header or body does not decode. Close the connection, as Kafka does.
    Malformed(DecodeError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Unsupported { api_key, api_version, correlation_id } => write!(
                f,
                "unsupported api key {api_key} version {api_version} \
                 (correlation id {correlation_id})"
            ),
            RequestError::Malformed(e) => write!(f, "malformed request: {e}"),
        }
    }
}

impl std::error::Error for RequestError {}

impl From<DecodeError> for RequestError {
    fn from(e: DecodeError) -> Self {
        RequestError::Malformed(e)
    }
}

/// Decodes the header at the front of a request frame (the frame without its size prefix)
/// and returns it with the rest of the frame, the request body.
pub fn decode_request_header(frame: Bytes) -> Result<(RequestHeader, Bytes), RequestError> {
    let in_header = |e: DecodeError| RequestError::Malformed(e.in_request("RequestHeader", 1));
    let mut r = Reader::new(frame, false);
    let api_key = r.int16("request_api_key").map_err(in_header)?;
    let api_version = r.int16("request_api_version").map_err(in_header)?;
    let correlation_id = r.int32("correlation_id").map_err(in_header)?;
    let Some(key) = ApiKey::try_from(api_key).ok().filter(|k| is_supported(*k, api_version)) else {
        return Err(RequestError::Unsupported { api_key, api_version, correlation_id });
    };
    let header_version = key.request_header_version(api_version);
    let in_header = |e: DecodeError| RequestError::Malformed(e.in_request("RequestHeader", header_version));
    let client_id = r.classic_nullable_string("client_id").map_err(in_header)?;
    let mut r = Reader::new(r.into_rest(), header_version >= 2);
    r.skip_tagged_fields("tagged_fields").map_err(in_header)?;
    let header = RequestHeader { api_key: key, api_version, correlation_id, client_id };
    Ok((header, r.into_rest()))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::messages::RequestHeader as WireHeader;
    use kafka_protocol::protocol::{Decodable, Encodable};

    use super::*;
    use crate::protocol::SUPPORTED;

    fn wire_header(key: ApiKey, version: i16, client_id: Option<&'static str>) -> WireHeader {
        WireHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(0x0102_0304)
            .with_client_id(client_id.map(StrBytes::from_static_str))
    }

    #[test]
    fn decodes_what_kafka_protocol_encodes_for_every_supported_version() {
        for &(key, min, max) in SUPPORTED {
            for version in min..=max {
                for client_id in [None, Some(""), Some("rdkafka")] {
                    let header_version = key.request_header_version(version);
                    let mut wire = wire_header(key, version, client_id);
                    if header_version >= 2 {
                        wire = wire.with_unknown_tagged_field(5, Bytes::from_static(b"xyz"));
                    }
                    let mut buf = BytesMut::new();
                    wire.encode(&mut buf, header_version).unwrap();
                    buf.extend_from_slice(b"body");
                    let frame = buf.freeze();
                    let (header, body) = decode_request_header(frame.clone()).unwrap();
                    assert_eq!(header.api_key, key);
                    assert_eq!(header.api_version, version);
                    assert_eq!(header.correlation_id, 0x0102_0304);
                    assert_eq!(header.client_id.as_deref(), client_id);
                    assert_eq!(&body[..], b"body");
                    let theirs = WireHeader::decode(&mut frame.clone(), header_version).unwrap();
                    assert_eq!(theirs.client_id, header.client_id);
                }
            }
        }
    }

    #[test]
    fn unsupported_versions_and_unknown_keys_still_report_the_correlation_id() {
        let cases: [(i16, i16); 5] = [
            (ApiKey::ApiVersions as i16, 4),
            (ApiKey::Produce as i16, 2),
            (ApiKey::JoinGroup as i16, 0),
            (999, 0),
            (-1, 7),
        ];
        for (api_key, api_version) in cases {
            let mut frame = Vec::new();
            frame.extend_from_slice(&api_key.to_be_bytes());
            frame.extend_from_slice(&api_version.to_be_bytes());
            frame.extend_from_slice(&42i32.to_be_bytes());
            let err = decode_request_header(Bytes::from(frame)).unwrap_err();
            assert_eq!(err, RequestError::Unsupported { api_key, api_version, correlation_id: 42 });
        }
    }

    #[test]
    fn truncated_or_malformed_headers_are_errors() {
        let mut buf = BytesMut::new();
        wire_header(ApiKey::Metadata, 12, Some("client")).encode(&mut buf, 2).unwrap();
        let frame = buf.freeze();
        for len in 0..frame.len() {
            let err = decode_request_header(frame.slice(..len)).unwrap_err();
            assert!(matches!(err, RequestError::Malformed(_)), "{len}: {err}");
        }
        // A client id claiming more bytes than remain.
        let frame = [0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, b'x'];
        let err = decode_request_header(Bytes::copy_from_slice(&frame)).unwrap_err();
        assert!(err.to_string().contains("client_id"), "{err}");
    }

    #[test]
    fn response_header_versions_follow_kafka() {
        let header = |api_key, api_version| RequestHeader { api_key, api_version, correlation_id: 0, client_id: None };
        assert_eq!(header(ApiKey::ApiVersions, 3).response_header_version(), 0);
        assert_eq!(header(ApiKey::Metadata, 8).response_header_version(), 0);
        assert_eq!(header(ApiKey::Metadata, 9).response_header_version(), 1);
        assert_eq!(header(ApiKey::DescribeCluster, 0).response_header_version(), 1);
        assert_eq!(header(ApiKey::Metadata, 9).header_version(), 2);
    }
}
