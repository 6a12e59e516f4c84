//! Differential checks shared by the decoders' tests: kafka-protocol encodes a fixture, our
//! decoder must read back exactly the struct, and so must kafka-protocol's own decoder
//! (safe here: the fixtures are valid, so no wire count lies).

use std::collections::BTreeMap;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};

use super::{decode_request, first_flexible, Request};
use crate::protocol::api_versions::supported_versions;
use crate::protocol::RequestHeader;

/// Unknown tagged fields to sprinkle over every struct of a flexible fixture (tags chosen
/// to collide with no known tag; 10000 needs a two-byte varint). Empty when `on` is false.
pub(crate) fn unknown_tags(on: bool) -> BTreeMap<i32, Bytes> {
    let mut tags = BTreeMap::new();
    if on {
        tags.insert(90, Bytes::from_static(b"zz"));
        tags.insert(10_000, Bytes::new());
    }
    tags
}

/// A 16-byte id in kafka-protocol's `Uuid`, whatever type the context wants.
pub(crate) fn uuid<U: std::str::FromStr>(last: u8) -> U
where
    U::Err: Debug,
{
    format!("0123456789abcdef01234567890abc{last:02x}").parse().unwrap()
}

/// For every supported version of `key`: encodes `fixtures(version, true)` (with unknown
/// tagged fields where the version is flexible) and checks that we decode each into the
/// matching `fixtures(version, false)`.
pub(crate) fn check_every_version<R>(key: ApiKey, fixtures: impl Fn(i16, bool) -> Vec<R>, wrap: impl Fn(R) -> Request)
where
    R: Encodable + Decodable + Clone + PartialEq + Debug,
{
    let (min, max) = supported_versions(key).expect("supported");
    let first_flexible = first_flexible(key).expect("has a decoder");
    for version in min..=max {
        let tags = version >= first_flexible;
        let sent = fixtures(version, tags);
        let expected = fixtures(version, false);
        assert!(!sent.is_empty());
        for (sent, expected) in sent.iter().zip(expected) {
            check_one(key, version, sent, wrap(expected));
        }
    }
}

fn check_one<R>(key: ApiKey, version: i16, sent: &R, expected: Request)
where
    R: Encodable + Decodable + PartialEq + Debug,
{
    let mut buf = BytesMut::new();
    sent.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("{key:?} v{version}: kafka-protocol cannot encode {sent:?}: {e}"));
    let body = buf.freeze();
    let header = RequestHeader { api_key: key, api_version: version, correlation_id: 1, client_id: None };
    let ours = decode_request(&header, body.clone()).unwrap_or_else(|e| panic!("{key:?} v{version}: {e} for {sent:?}"));
    assert_eq!(ours, expected, "{key:?} v{version}");
    let theirs = R::decode(&mut body.clone(), version).unwrap();
    assert_eq!(&theirs, sent, "{key:?} v{version}: kafka-protocol's own round trip");

    // Every strict prefix is an error, never a panic.
    for len in 0..body.len() {
        assert!(decode_request(&header, body.slice(..len)).is_err(), "{key:?} v{version} prefix {len}");
    }
    // Trailing bytes after a complete request are ignored.
    let mut longer = BytesMut::from(&body[..]);
    longer.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(decode_request(&header, longer.freeze()).unwrap(), expected, "{key:?} v{version}");
}
