//! Hand-written, bounded decoders for the requests the broker serves, one file per API.
//!
//! Each produces kafka-protocol's own request struct (built from `Default` with the
//! `with_*` builders, so fields absent at a version keep the schema's default), from the
//! field lists and versions of Kafka's message schemas, through [`Reader`](super::Reader)
//! — never through kafka-protocol's decoders, which size vectors from wire counts. Unknown
//! tagged fields are skipped, not kept. Trailing bytes after a complete request are
//! ignored, as Kafka does. Produce's `records` stay the raw bytes slice; record batches
//! are checked and decoded by the storage layer, not here.

mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offset_for_leader_epoch;
mod produce;
#[cfg(test)]
pub(crate) mod test_support;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;

use super::api_versions::is_supported;
use super::error::DecodeError;
use super::header::RequestHeader;

/// Declares every API the broker serves, once: its `Request` variant (named as kafka-protocol's
/// `ApiKey`), the module holding its decoder (`NAME`, `FIRST_FLEXIBLE`, `decode`), its
/// kafka-protocol request type, and the version range advertised. From this one table come
/// the [`Request`] enum, [`Request::api_key`], [`decode_request`]'s dispatch and
/// [`SUPPORTED`]: adding an API is a line here, a decoder file and a handler.
macro_rules! apis {
    ($( $variant:ident => $module:ident, $type:ident, $min:literal..=$max:literal; )*) => {
        /// A decoded request of one of the supported APIs.
        ///
        /// Our own enum rather than kafka-protocol's `RequestKind` (behind its non-default
        /// `messages_enums` feature, and covering every API): a match over this one is
        /// exhaustive over exactly what the broker implements.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $( $variant(kafka_protocol::messages::$type), )*
        }

        impl Request {
            /// The API this request belongs to.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $( Request::$variant(_) => ApiKey::$variant, )*
                }
            }
        }

        /// Every API the broker implements, with the inclusive version range it accepts.
        pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[ $( (ApiKey::$variant, $min, $max), )* ];

        /// Decodes a request body (the frame after its header) for the API and version
        /// `header` names. Versions outside [`SUPPORTED`] are refused; errors name the
        /// request, version and field.
        pub fn decode_request(header: &RequestHeader, body: Bytes) -> Result<Request, DecodeError> {
            let (key, version) = (header.api_key, header.api_version);
            let unsupported = DecodeError::UnsupportedVersion { api_key: key as i16, api_version: version };
            if !is_supported(key, version) {
                return Err(unsupported);
            }
            let (name, result) = match key {
                $( ApiKey::$variant => ($module::NAME, $module::decode(body, version).map(Request::$variant)), )*
                _ => return Err(unsupported),
            };
            result.map_err(|e| e.in_request(name, version))
        }

        /// The first flexible version of each API, as its decoder knows it.
        #[cfg(test)]
        pub(crate) fn first_flexible(key: ApiKey) -> Option<i16> {
            match key {
                $( ApiKey::$variant => Some($module::FIRST_FLEXIBLE), )*
                _ => None,
            }
        }
    };
}

// The ranges are what librdkafka 2.x, kafka-python 3.x, aiokafka 0.14 and kcat use, within
// what Kafka 4.0 supports (which dropped the pre-2017 versions: Produce < 3, Fetch < 4,
// ListOffsets 0, CreateTopics < 2, ...).
apis! {
    Produce => produce, ProduceRequest, 3..=9;
    Fetch => fetch, FetchRequest, 4..=12;
    ListOffsets => list_offsets, ListOffsetsRequest, 1..=10;
    Metadata => metadata, MetadataRequest, 0..=12;
    ApiVersions => api_versions, ApiVersionsRequest, 0..=3;
    CreateTopics => create_topics, CreateTopicsRequest, 2..=7;
    DeleteTopics => delete_topics, DeleteTopicsRequest, 1..=6;
    InitProducerId => init_producer_id, InitProducerIdRequest, 0..=4;
    DescribeConfigs => describe_configs, DescribeConfigsRequest, 1..=4;
    CreatePartitions => create_partitions, CreatePartitionsRequest, 0..=3;
    DescribeCluster => describe_cluster, DescribeClusterRequest, 0..=1;
    OffsetForLeaderEpoch => offset_for_leader_epoch, OffsetForLeaderEpochRequest, 2..=4;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SUPPORTED;

    #[test]
    fn every_supported_api_has_a_decoder_that_agrees_on_flexible_versions() {
        for &(key, min, max) in SUPPORTED {
            let first = first_flexible(key).unwrap_or_else(|| panic!("{key:?} has no decoder"));
            for version in min..=max {
                let flexible = key.request_header_version(version) >= 2;
                assert_eq!(flexible, version >= first, "{key:?} v{version}");
            }
        }
    }

    #[test]
    fn versions_outside_the_table_are_refused() {
        let header = |api_key, api_version| RequestHeader { api_key, api_version, correlation_id: 0, client_id: None };
        for (key, version) in
            [(ApiKey::Metadata, 13), (ApiKey::Produce, 2), (ApiKey::Fetch, 13), (ApiKey::JoinGroup, 0)]
        {
            let err = decode_request(&header(key, version), Bytes::new()).unwrap_err();
            assert_eq!(err, DecodeError::UnsupportedVersion { api_key: key as i16, api_version: version });
        }
    }

    #[test]
    fn errors_name_the_request_version_and_field() {
        let header = RequestHeader { api_key: ApiKey::Metadata, api_version: 1, correlation_id: 0, client_id: None };
        let body = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]);
        let err = decode_request(&header, body).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("MetadataRequest v1: topics"), "{text}");
    }
}
