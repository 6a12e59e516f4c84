//! The client half of the codec: encoding a request frame (size, header, body).
//!
//! Used by the Rust client and the simulator's workloads to talk to brokers, and by the
//! tests to build valid frames for every supported (api, version). The body is
//! kafka-protocol's encoder; only decoding untrusted bytes needs our own code.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Encodable;

use super::response::{patch_size, EncodeError};

/// Encodes a complete request frame: 4-byte size, request header (v1, or v2 for flexible
/// versions), and `body` at `api_version`.
pub fn encode_request<R: Encodable>(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &R,
) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    buf.put_i32(0); // the size, patched below
    buf.put_i16(api_key as i16);
    buf.put_i16(api_version);
    buf.put_i32(correlation_id);
    match client_id {
        None => buf.put_i16(-1),
        Some(id) => {
            let len = i16::try_from(id.len()).map_err(|_| EncodeError::new("client id too long"))?;
            buf.put_i16(len);
            buf.put_slice(id.as_bytes());
        }
    }
    if api_key.request_header_version(api_version) >= 2 {
        buf.put_u8(0); // no tagged fields
    }
    body.encode(&mut buf, api_version).map_err(EncodeError::new)?;
    patch_size(&mut buf)?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{MetadataRequest, RequestHeader};
    use kafka_protocol::protocol::Decodable;

    use super::*;

    #[test]
    fn frames_decode_with_kafka_protocols_header_decoder() {
        for (version, header_version) in [(8, 1), (9, 2)] {
            let body = MetadataRequest::default().with_topics(None);
            let frame = encode_request(ApiKey::Metadata, version, 9, Some("me"), &body).unwrap();
            assert_eq!(frame.len() - 4, i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize);
            let mut rest = frame.slice(4..);
            let header = RequestHeader::decode(&mut rest, header_version).unwrap();
            assert_eq!(header.correlation_id, 9);
            assert_eq!(header.client_id.as_deref(), Some("me"));
            assert_eq!(MetadataRequest::decode(&mut rest, version).unwrap(), body);
        }
    }
}
