//! The client's side of Kafka's framing: a 4-byte big-endian size, then a request header
//! (v1, or v2 for flexible versions) and body out; a size, a response header (v0, or v1
//! for flexible versions) and body in.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::error::{ClientError, Result};

/// The default cap on a response frame (Kafka's clients have none; a broken or hostile
/// peer must not make the client allocate without bound).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

/// Encodes a whole request frame: size, header and `body` at `api_version`.
pub fn encode_request<R: Encodable>(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    client_id: &str,
    body: &R,
) -> Result<Bytes> {
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(api_version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_owned())));
    let header_version = api_key.request_header_version(api_version);
    let mut buf = BytesMut::new();
    buf.put_i32(0); // the size, patched below
    header.encode(&mut buf, header_version).map_err(|e| encode_error(api_key, e))?;
    body.encode(&mut buf, api_version).map_err(|e| encode_error(api_key, e))?;
    let size =
        i32::try_from(buf.len() - 4).map_err(|_| ClientError::Config(format!("{api_key:?} request over 2 GiB")))?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

fn encode_error(api_key: ApiKey, error: impl std::fmt::Display) -> ClientError {
    ClientError::Protocol(format!("cannot encode {api_key:?} request: {error}"))
}

/// Reads one frame (without its size prefix). `Ok(None)` at a clean end of stream between
/// frames; an error for a size outside `4..=max_bytes` or a stream cut inside a frame.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R, max_bytes: usize) -> Result<Option<Bytes>> {
    let mut size_bytes = [0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        let n = reader.read(&mut size_bytes[filled..]).await.map_err(io_error)?;
        if n == 0 {
            return match filled {
                0 => Ok(None),
                _ => Err(ClientError::Connection("stream ended inside a frame size".into())),
            };
        }
        filled += n;
    }
    let size = i32::from_be_bytes(size_bytes);
    let size = usize::try_from(size)
        .ok()
        .filter(|size| (4..=max_bytes).contains(size))
        .ok_or_else(|| ClientError::Protocol(format!("response frame size {size} outside 4..={max_bytes}")))?;
    let mut frame = BytesMut::zeroed(size);
    reader.read_exact(&mut frame).await.map_err(io_error)?;
    Ok(Some(frame.freeze()))
}

/// The correlation id at the start of a response frame.
pub fn peek_correlation_id(frame: &[u8]) -> Result<i32> {
    frame
        .get(..4)
        .map(|id| i32::from_be_bytes([id[0], id[1], id[2], id[3]]))
        .ok_or_else(|| ClientError::Protocol("response frame shorter than its header".into()))
}

/// Strips the response header of an `api_key` response at `api_version`, leaving the body.
pub fn strip_response_header(api_key: ApiKey, api_version: i16, mut frame: Bytes) -> Result<Bytes> {
    let header_version = api_key.response_header_version(api_version);
    ResponseHeader::decode(&mut frame, header_version)
        .map_err(|e| ClientError::Protocol(format!("bad {api_key:?} response header: {e}")))?;
    Ok(frame)
}

/// Decodes a response body at `api_version`, requiring that it uses every byte.
pub fn decode_body<T: Decodable>(api_key: ApiKey, api_version: i16, mut body: Bytes) -> Result<T> {
    let value = T::decode(&mut body, api_version)
        .map_err(|e| ClientError::Protocol(format!("bad {api_key:?} v{api_version} response: {e}")))?;
    if body.has_remaining() {
        return Err(ClientError::Protocol(format!(
            "{} trailing bytes after a {api_key:?} v{api_version} response",
            body.remaining()
        )));
    }
    Ok(value)
}

fn io_error(error: std::io::Error) -> ClientError {
    ClientError::Connection(error.to_string())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{MetadataRequest, MetadataResponse};

    use super::*;

    #[test]
    fn request_frames_carry_their_size_and_a_header_decodable_by_kafka_protocol() {
        for (version, header_version) in [(8, 1), (9, 2)] {
            let body = MetadataRequest::default().with_topics(None);
            let frame = encode_request(ApiKey::Metadata, version, 77, "me", &body).unwrap();
            assert_eq!(frame.len() - 4, i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize);
            let mut rest = frame.slice(4..);
            let header = RequestHeader::decode(&mut rest, header_version).unwrap();
            assert_eq!((header.request_api_key, header.request_api_version), (3, version));
            assert_eq!(header.correlation_id, 77);
            assert_eq!(header.client_id.as_deref(), Some("me"));
            assert_eq!(MetadataRequest::decode(&mut rest, version).unwrap(), body);
        }
    }

    #[test]
    fn response_headers_are_stripped_by_version() {
        for (version, header_version) in [(8, 0), (9, 1)] {
            let mut buf = BytesMut::new();
            ResponseHeader::default().with_correlation_id(5).encode(&mut buf, header_version).unwrap();
            MetadataResponse::default().encode(&mut buf, version).unwrap();
            let frame = buf.freeze();
            assert_eq!(peek_correlation_id(&frame).unwrap(), 5);
            let body = strip_response_header(ApiKey::Metadata, version, frame).unwrap();
            let decoded: MetadataResponse = decode_body(ApiKey::Metadata, version, body).unwrap();
            assert_eq!(decoded, MetadataResponse::default());
        }
    }

    #[tokio::test]
    async fn frames_outside_the_cap_are_refused() {
        let mut data: &[u8] = &[0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(
            read_frame(&mut data, 8).await,
            Err(ClientError::Protocol("response frame size 9 outside 4..=8".into()))
        );
        let mut negative: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut negative, 8).await.is_err());
        let mut ok: &[u8] = &[0, 0, 0, 4, 1, 2, 3, 4];
        assert_eq!(read_frame(&mut ok, 8).await.unwrap().unwrap().as_ref(), &[1, 2, 3, 4]);
        assert_eq!(read_frame(&mut ok, 8).await.unwrap(), None);
        let mut cut: &[u8] = &[0, 0, 0, 4, 1];
        assert!(matches!(read_frame(&mut cut, 8).await, Err(ClientError::Connection(_))));
    }
}
