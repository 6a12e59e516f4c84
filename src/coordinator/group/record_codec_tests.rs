//! The `__consumer_offsets` codec: what seedlog writes decodes to the same record, Kafka's
//! older value versions decode with their defaults, and no input makes the decoder panic.
//! (Byte-for-byte agreement with Kafka's own classes is tests/group_records.rs.)

use proptest::prelude::*;

use super::record_codec::{decode, encode, CodecError};
use super::{GroupMetadataValue, GroupRecord, MemberMetadata, OffsetCommitValue};

fn offset_commit(value: Option<OffsetCommitValue>) -> GroupRecord {
    GroupRecord::OffsetCommit { group_id: "g".into(), topic: "t".into(), partition: 3, value }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn offset_commit_is_key_type_1_and_value_version_4_flexible() {
    let record = offset_commit(Some(OffsetCommitValue {
        offset: 7,
        leader_epoch: 2,
        metadata: "m".into(),
        commit_timestamp_ms: 9,
    }));
    let (key, value) = encode(&record).unwrap();
    assert_eq!(&key[..], &hex("0001 0001 67 0001 74 00000003")[..]);
    // version 4, offset, leaderEpoch, compact "m" (length 1 + 1), commitTimestamp, no tags.
    assert_eq!(&value.unwrap()[..], &hex("0004 0000000000000007 00000002 02 6d 0000000000000009 00")[..]);
}

#[test]
fn group_metadata_is_key_type_2_and_value_version_3_classic() {
    let record = GroupRecord::GroupMetadata {
        group_id: "g".into(),
        value: Some(GroupMetadataValue {
            protocol_type: "".into(),
            generation_id: 1,
            protocol_name: None,
            leader: None,
            current_state_timestamp_ms: 5,
            members: vec![],
        }),
    };
    let (key, value) = encode(&record).unwrap();
    assert_eq!(&key[..], &hex("0002 0001 67")[..]);
    assert_eq!(&value.unwrap()[..], &hex("0003 0000 00000001 ffff ffff 0000000000000005 00000000")[..]);
}

#[test]
fn a_tombstone_has_no_value_and_decodes_as_one() {
    let record = offset_commit(None);
    let (key, value) = encode(&record).unwrap();
    assert_eq!(value, None);
    assert_eq!(decode(&key, None).unwrap(), Some(record));
}

#[test]
fn legacy_key_type_0_is_an_offset_commit() {
    let key = hex("0000 0001 67 0001 74 00000003");
    assert_eq!(decode(&key, None).unwrap(), Some(offset_commit(None)));
}

#[test]
fn offset_commit_value_v1_has_an_expiry_and_no_leader_epoch() {
    let key = hex("0001 0001 67 0001 74 00000003");
    let value = hex("0001 0000000000000007 0001 6d 0000000000000009 0000000000000063");
    let expected = OffsetCommitValue { offset: 7, leader_epoch: -1, metadata: "m".into(), commit_timestamp_ms: 9 };
    assert_eq!(decode(&key, Some(&value)).unwrap(), Some(offset_commit(Some(expected.clone()))));
    // v0 and v2: no expiry, no leader epoch.
    for version in ["0000", "0002"] {
        let value = hex(&format!("{version} 0000000000000007 0001 6d 0000000000000009"));
        assert_eq!(decode(&key, Some(&value)).unwrap(), Some(offset_commit(Some(expected.clone()))));
    }
    // v3: the leader epoch, classic.
    let value = hex("0003 0000000000000007 00000002 0001 6d 0000000000000009");
    let v3 = OffsetCommitValue { leader_epoch: 2, ..expected };
    assert_eq!(decode(&key, Some(&value)).unwrap(), Some(offset_commit(Some(v3))));
}

#[test]
fn offset_commit_value_v4_topic_id_tag_is_skipped() {
    let key = hex("0001 0001 67 0001 74 00000003");
    // One tagged field: tag 0, size 16, a uuid.
    let value = hex("0004 0000000000000007 00000002 02 6d 0000000000000009 01 00 10 0102030405060708090a0b0c0d0e0f10");
    let expected = OffsetCommitValue { offset: 7, leader_epoch: 2, metadata: "m".into(), commit_timestamp_ms: 9 };
    assert_eq!(decode(&key, Some(&value)).unwrap(), Some(offset_commit(Some(expected))));
}

#[test]
fn group_metadata_value_older_versions_take_kafka_defaults() {
    let key = hex("0002 0001 67");
    // v0: no currentStateTimestamp, members without groupInstanceId and rebalanceTimeout.
    let value = hex("0000 0008 636f6e73756d6572 00000002 0005 72616e6765 0001 6d
         00000001 0001 6d 0001 63 0001 68 00002710 00000001 aa 00000000");
    let member = MemberMetadata {
        member_id: "m".into(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "h".into(),
        rebalance_timeout_ms: -1,
        session_timeout_ms: 10_000,
        subscription: vec![0xaa],
        assignment: vec![],
    };
    let expected = GroupMetadataValue {
        protocol_type: "consumer".into(),
        generation_id: 2,
        protocol_name: Some("range".into()),
        leader: Some("m".into()),
        current_state_timestamp_ms: -1,
        members: vec![member.clone()],
    };
    let record = |value| Some(GroupRecord::GroupMetadata { group_id: "g".into(), value: Some(value) });
    assert_eq!(decode(&key, Some(&value)).unwrap(), record(expected.clone()));
    // v4: compact strings and bytes, tagged fields after each member and the value.
    let value = hex("0004 09 636f6e73756d6572 00000002 06 72616e6765 02 6d 0000000000000005
         02 02 6d 03 6931 02 63 02 68 00000bb8 00002710 02 aa 01 00 00");
    let v4 = GroupMetadataValue {
        current_state_timestamp_ms: 5,
        members: vec![MemberMetadata { group_instance_id: Some("i1".into()), rebalance_timeout_ms: 3000, ..member }],
        ..expected
    };
    assert_eq!(decode(&key, Some(&value)).unwrap(), record(v4.clone()));
    // The same record at the v3 seedlog writes round-trips.
    let written = GroupRecord::GroupMetadata { group_id: "g".into(), value: Some(v4) };
    let (k, v) = encode(&written).unwrap();
    assert_eq!(decode(&k, v.as_deref()).unwrap(), Some(written));
}

#[test]
fn kip_848_record_types_are_not_known() {
    for record_type in [3i16, 4, 5, 6, 7, 8, 100, -1] {
        let mut key = record_type.to_be_bytes().to_vec();
        key.extend_from_slice(&hex("0001 67"));
        assert_eq!(decode(&key, Some(&[0, 0])).unwrap(), None);
    }
}

#[test]
fn unknown_value_versions_and_trailing_bytes_are_errors() {
    let key = hex("0001 0001 67 0001 74 00000003");
    assert_eq!(
        decode(&key, Some(&hex("0005 00"))),
        Err(CodecError::UnsupportedValueVersion { record: "OffsetCommitValue", version: 5 })
    );
    assert!(matches!(decode(&hex("0002 0001 67 00"), None), Err(CodecError::TrailingBytes { field: "key", .. })));
}

#[test]
fn a_string_too_long_for_int16_is_refused() {
    let record = GroupRecord::GroupMetadata { group_id: "g".repeat(40_000), value: None };
    assert!(matches!(encode(&record), Err(CodecError::StringTooLong { field: "group", .. })));
}

fn value_strategy() -> impl Strategy<Value = OffsetCommitValue> {
    (any::<i64>(), any::<i32>(), ".{0,20}", any::<i64>()).prop_map(|(offset, leader_epoch, metadata, ts)| {
        OffsetCommitValue { offset, leader_epoch, metadata, commit_timestamp_ms: ts }
    })
}

fn member_strategy() -> impl Strategy<Value = MemberMetadata> {
    (
        ".{0,12}",
        proptest::option::of(".{0,8}"),
        ".{0,8}",
        ".{0,8}",
        any::<i32>(),
        any::<i32>(),
        proptest::collection::vec(any::<u8>(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(
            |(member_id, group_instance_id, client_id, client_host, rebalance, session, subscription, assignment)| {
                MemberMetadata {
                    member_id,
                    group_instance_id,
                    client_id,
                    client_host,
                    rebalance_timeout_ms: rebalance,
                    session_timeout_ms: session,
                    subscription,
                    assignment,
                }
            },
        )
}

fn record_strategy() -> impl Strategy<Value = GroupRecord> {
    let metadata = (
        ".{0,10}",
        any::<i32>(),
        proptest::option::of(".{0,10}"),
        proptest::option::of(".{0,10}"),
        any::<i64>(),
        proptest::collection::vec(member_strategy(), 0..4),
    )
        .prop_map(|(protocol_type, generation_id, protocol_name, leader, ts, members)| GroupMetadataValue {
            protocol_type,
            generation_id,
            protocol_name,
            leader,
            current_state_timestamp_ms: ts,
            members,
        });
    prop_oneof![
        (".{0,10}", ".{0,10}", any::<i32>(), proptest::option::of(value_strategy())).prop_map(
            |(group_id, topic, partition, value)| GroupRecord::OffsetCommit { group_id, topic, partition, value }
        ),
        (".{0,10}", proptest::option::of(metadata))
            .prop_map(|(group_id, value)| GroupRecord::GroupMetadata { group_id, value }),
    ]
}

proptest! {
    #[test]
    fn every_record_round_trips(record in record_strategy()) {
        let (key, value) = encode(&record).unwrap();
        prop_assert_eq!(decode(&key, value.as_deref()).unwrap(), Some(record));
    }

    #[test]
    fn every_strict_prefix_of_a_record_is_an_error(record in record_strategy(), cut in any::<prop::sample::Index>()) {
        let (key, value) = encode(&record).unwrap();
        let key_cut = cut.index(key.len());
        prop_assert!(decode(&key[..key_cut], value.as_deref()).is_err());
        if let Some(value) = value {
            let value_cut = cut.index(value.len());
            prop_assert!(decode(&key, Some(&value[..value_cut])).is_err());
        }
    }

    #[test]
    fn garbage_never_panics(
        key_type in prop_oneof![Just(0i16), Just(1), Just(2), any::<i16>()],
        version in prop_oneof![0i16..=4, any::<i16>()],
        key in proptest::collection::vec(any::<u8>(), 0..40),
        value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
    ) {
        let mut k = key_type.to_be_bytes().to_vec();
        k.extend_from_slice(&key);
        let v = value.map(|mut bytes| {
            let mut v = version.to_be_bytes().to_vec();
            v.append(&mut bytes);
            v
        });
        // Any outcome but a panic; a decoded record re-encodes to something that decodes alike.
        if let Ok(Some(record)) = decode(&k, v.as_deref()) {
            let (key, value) = encode(&record).unwrap();
            prop_assert_eq!(decode(&key, value.as_deref()).unwrap(), Some(record));
        }
    }
}
