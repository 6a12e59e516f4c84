//! Version negotiation: the client's own supported range per API, and the highest version
//! both sides support, learned from the broker's ApiVersions response on connect.
//!
//! The client's ranges stop where kafka-protocol's message types change shape in ways the
//! client does not speak: Produce 13 and Fetch 13 address topics by id only.

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

/// Every API the client uses, with the inclusive version range it can encode and decode.
pub const CLIENT_VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
];

/// The ApiVersions version the client tries first.
pub const API_VERSIONS_FIRST_TRY: i16 = 3;

/// The client's inclusive range for `api_key`, if it uses that API.
pub fn client_range(api_key: ApiKey) -> Option<(i16, i16)> {
    CLIENT_VERSIONS.iter().find(|(key, _, _)| *key == api_key).map(|&(_, min, max)| (min, max))
}

/// The versions agreed with one broker: for each API, the highest version both support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiVersionTable {
    broker: BTreeMap<i16, (i16, i16)>,
}

impl ApiVersionTable {
    /// The broker's ranges, from its ApiVersions response.
    pub fn from_response(response: &ApiVersionsResponse) -> Self {
        let broker = response.api_keys.iter().map(|api| (api.api_key, (api.min_version, api.max_version))).collect();
        ApiVersionTable { broker }
    }

    /// A table from `(api, min, max)` triples (tests, and brokers known in advance).
    pub fn from_ranges(ranges: &[(ApiKey, i16, i16)]) -> Self {
        let broker = ranges.iter().map(|&(key, min, max)| (key as i16, (min, max))).collect();
        ApiVersionTable { broker }
    }

    /// The broker's own range for `api_key`, if it advertised one.
    pub fn broker_range(&self, api_key: ApiKey) -> Option<(i16, i16)> {
        self.broker.get(&(api_key as i16)).copied()
    }

    /// The highest version of `api_key` both the client and the broker support.
    pub fn pick(&self, api_key: ApiKey) -> Option<i16> {
        let (client_min, client_max) = client_range(api_key)?;
        let (broker_min, broker_max) = self.broker_range(api_key)?;
        let max = client_max.min(broker_max);
        (max >= client_min.max(broker_min)).then_some(max)
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::api_versions_response::ApiVersion;

    use super::*;

    #[test]
    fn client_ranges_are_within_what_kafka_protocol_encodes() {
        for &(key, min, max) in CLIENT_VERSIONS {
            let valid = key.valid_versions();
            assert!(min <= max && valid.min <= min && max <= valid.max, "{key:?}");
        }
        assert!(client_range(ApiKey::ApiVersions).unwrap().1 >= API_VERSIONS_FIRST_TRY);
    }

    #[test]
    fn picks_the_highest_common_version() {
        let response = ApiVersionsResponse::default().with_api_keys(vec![
            ApiVersion::default().with_api_key(0).with_min_version(3).with_max_version(9),
            ApiVersion::default().with_api_key(1).with_min_version(4).with_max_version(17),
            ApiVersion::default().with_api_key(3).with_min_version(0).with_max_version(12),
            ApiVersion::default().with_api_key(19).with_min_version(0).with_max_version(1),
        ]);
        let table = ApiVersionTable::from_response(&response);
        assert_eq!(table.pick(ApiKey::Produce), Some(9)); // broker's max is lower
        assert_eq!(table.pick(ApiKey::Fetch), Some(12)); // client's max is lower
        assert_eq!(table.pick(ApiKey::Metadata), Some(12));
        assert_eq!(table.pick(ApiKey::CreateTopics), None); // no overlap: broker 0..=1, client 2..=7
        assert_eq!(table.pick(ApiKey::DeleteTopics), None); // not advertised
        assert_eq!(table.pick(ApiKey::JoinGroup), None); // not used by the client
    }

    #[test]
    fn from_ranges_matches_from_response() {
        let table = ApiVersionTable::from_ranges(&[(ApiKey::Produce, 3, 9), (ApiKey::Fetch, 4, 12)]);
        assert_eq!(table.broker_range(ApiKey::Produce), Some((3, 9)));
        assert_eq!(table.pick(ApiKey::Fetch), Some(12));
    }
}
