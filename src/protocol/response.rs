//! Encoding a response: size prefix, response header, body.
//!
//! The response header is the correlation id (v0), plus an empty tagged-field section in
//! v1 (flexible versions; never for ApiVersions — see
//! [`RequestHeader::response_header_version`]). The body is kafka-protocol's own encoder
//! at the request's version: the broker builds responses itself, so there is nothing
//! untrusted to guard against on this side.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::Encodable;

use super::header::RequestHeader;

/// A response (or request) that kafka-protocol refused to encode, typically because a
/// field is set that does not exist at the chosen version. A broker bug, not a client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    pub message: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode: {}", self.message)
    }
}

impl std::error::Error for EncodeError {}

impl EncodeError {
    pub(crate) fn new(message: impl fmt::Display) -> Self {
        EncodeError { message: format!("{message:#}") }
    }
}

/// Encodes a complete response frame: 4-byte size, response header at `header_version`
/// (0 or 1) with `correlation_id`, and `body` encoded at `version`. Write it as-is.
pub fn encode_response<R: Encodable>(
    header_version: i16,
    correlation_id: i32,
    body: &R,
    version: i16,
) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    buf.put_i32(0); // the size, patched below
    buf.put_i32(correlation_id);
    if header_version >= 1 {
        buf.put_u8(0); // no tagged fields
    }
    body.encode(&mut buf, version).map_err(EncodeError::new)?;
    patch_size(&mut buf)?;
    Ok(buf.freeze())
}

/// [`encode_response`] for the request `header` answers: its version, its correlation id.
pub fn encode_response_to<R: Encodable>(header: &RequestHeader, body: &R) -> Result<Bytes, EncodeError> {
    encode_response(header.response_header_version(), header.correlation_id, body, header.api_version)
}

/// Writes the frame length (everything after the 4-byte prefix) into the prefix.
pub(crate) fn patch_size(buf: &mut BytesMut) -> Result<(), EncodeError> {
    let size = i32::try_from(buf.len() - 4).map_err(|_| EncodeError::new("frame larger than 2 GiB"))?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{ApiKey, MetadataResponse, ResponseHeader};
    use kafka_protocol::protocol::Decodable;

    use super::*;
    use crate::protocol::api_versions_response;

    #[test]
    fn api_versions_responses_use_header_v0() {
        let header = RequestHeader { api_key: ApiKey::ApiVersions, api_version: 3, correlation_id: 7, client_id: None };
        let frame = encode_response_to(&header, &api_versions_response()).unwrap();
        let size = i32::from_be_bytes(frame[..4].try_into().unwrap());
        assert_eq!(size as usize, frame.len() - 4);
        let mut rest = frame.slice(4..);
        let wire = ResponseHeader::decode(&mut rest, 0).unwrap();
        assert_eq!(wire.correlation_id, 7);
        let body = kafka_protocol::messages::ApiVersionsResponse::decode(&mut rest, 3).unwrap();
        assert_eq!(body, api_versions_response());
    }

    #[test]
    fn flexible_responses_carry_header_tagged_fields() {
        let body = MetadataResponse::default().with_cluster_id(Some("c".into()));
        let frame = encode_response(1, -5, &body, 12).unwrap();
        let mut rest = frame.slice(4..);
        assert_eq!(ResponseHeader::decode(&mut rest, 1).unwrap().correlation_id, -5);
        assert_eq!(MetadataResponse::decode(&mut rest, 12).unwrap(), body);
    }

    #[test]
    fn fields_missing_at_a_version_are_encode_errors() {
        // Cluster authorized operations exist in Metadata responses from v8 only.
        let body = MetadataResponse::default().with_cluster_authorized_operations(5);
        assert!(encode_response(0, 1, &body, 1).is_err());
    }
}
