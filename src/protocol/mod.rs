//! The Kafka wire protocol: framing, request decoding, response encoding, and what the
//! broker advertises.
//!
//! # The decision
//!
//! kafka-protocol (0.18) provides every message type, their encoders, and v2 record
//! batches, and the broker uses it for all of that. Its *decoders* are not safe on a
//! broker's request path: arrays are decoded with `Vec::with_capacity(n)` where `n` comes
//! from the wire, so one Metadata v1 request whose topic count is i32::MAX aborts the
//! process. Requests are therefore decoded by our own code, field by field from Kafka's
//! message schemas, into kafka-protocol's structs, through a [`Reader`] under one rule:
//! untrusted bytes never size an allocation (counts and lengths are checked against the
//! bytes remaining before anything happens; vectors grow as elements actually decode).
//! Frames are capped by `socket.request.max.bytes` and buffered only as bytes arrive.
//! Responses are built by the broker itself, so kafka-protocol encodes them. No
//! third-party code is copied here; kafka-protocol is called, not vendored.
//!
//! # The path of a request
//!
//! [`FrameReader`] → [`decode_request_header`] (an unknown api or unsupported version comes
//! back as [`RequestError::Unsupported`] with its correlation id, so ApiVersions can still
//! be answered) → [`decode_request`] → handler → [`encode_response_to`] → write, and one
//! `flush()` after a batch of pipelined responses. [`decode_request_frame`] chains the two
//! decoding steps. [`SUPPORTED`] is the single table of what the broker advertises.

mod api_versions;
mod client;
mod error;
mod frame;
mod header;
mod reader;
mod requests;
mod response;
pub mod topic_name;

pub use api_versions::{answer_api_versions, api_versions_response, is_supported, supported_versions, SUPPORTED};
pub use client::encode_request;
pub use error::DecodeError;
pub use frame::{write_frame, FrameReader, FrameSizeError, DEFAULT_MAX_REQUEST_BYTES};
pub use header::{decode_request_header, RequestError, RequestHeader};
pub use reader::Reader;
pub use requests::{decode_request, Request};
pub use response::{encode_response, encode_response_to, EncodeError};

/// Kafka's UNSUPPORTED_VERSION error code, for the ApiVersions answer to an unsupported
/// version ([`RequestError::Unsupported`]).
pub const UNSUPPORTED_VERSION: i16 = 35;

/// Decodes a whole request frame (without its size prefix): header, then body.
pub fn decode_request_frame(frame: bytes::Bytes) -> Result<(RequestHeader, Request), RequestError> {
    let (header, body) = decode_request_header(frame)?;
    let request = decode_request(&header, body)?;
    Ok((header, request))
}
