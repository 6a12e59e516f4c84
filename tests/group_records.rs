//! seedlog's `__consumer_offsets` records are Kafka's, byte for byte (issue 10): the Java
//! program tests/java/GroupRecordBytes.java prints the key and value Kafka 4.1's own
//! GroupCoordinatorRecordHelpers and GroupCoordinatorRecordSerde write for a few fixed records;
//! seedlog's `record_codec::encode` must produce the same bytes, and `decode` must read
//! Kafka's bytes back as the same records (including a commit with a topic id, which Kafka
//! writes as tagged field 0 of OffsetCommitValue v4 and seedlog drops).
//!
//! Kafka's jars come from `scripts/install-kafka.sh` (via `kafka()`); a missing java or javac
//! fails the test, it never skips it.

// Test scaffolding: it runs a JVM and waits on the wall clock.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::kafka::kafka;
use common::process::run;
use seedlog::coordinator::group::record_codec::{decode, encode};
use seedlog::coordinator::group::{GroupMetadataValue, GroupRecord, MemberMetadata, OffsetCommitValue};

/// The records GroupRecordBytes.java writes, by its case names.
fn seedlog_records() -> Vec<(&'static str, GroupRecord)> {
    let commit = |leader_epoch, metadata: &str| GroupRecord::OffsetCommit {
        group_id: "group-1".into(),
        topic: "topic-a".into(),
        partition: 5,
        value: Some(OffsetCommitValue {
            offset: 42,
            leader_epoch,
            metadata: metadata.into(),
            commit_timestamp_ms: 1_700_000_000_000,
        }),
    };
    let metadata = |value| GroupRecord::GroupMetadata { group_id: "group-1".into(), value };
    vec![
        ("offset_commit", commit(7, "meta")),
        ("offset_commit_no_epoch", commit(-1, "")),
        (
            "offset_commit_tombstone",
            GroupRecord::OffsetCommit {
                group_id: "group-1".into(),
                topic: "topic-a".into(),
                partition: 5,
                value: None,
            },
        ),
        (
            "group_metadata",
            metadata(Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation_id: 3,
                protocol_name: Some("range".into()),
                leader: Some("m1".into()),
                current_state_timestamp_ms: 1_700_000_000_123,
                members: vec![
                    MemberMetadata {
                        member_id: "m1".into(),
                        group_instance_id: Some("i1".into()),
                        client_id: "client-1".into(),
                        client_host: "/127.0.0.1".into(),
                        rebalance_timeout_ms: 300_000,
                        session_timeout_ms: 45_000,
                        subscription: vec![0, 1, 2],
                        assignment: vec![3, 4],
                    },
                    MemberMetadata {
                        member_id: "m2".into(),
                        group_instance_id: None,
                        client_id: "client-2".into(),
                        client_host: "/10.0.0.2".into(),
                        rebalance_timeout_ms: 60_000,
                        session_timeout_ms: 10_000,
                        subscription: vec![],
                        assignment: vec![],
                    },
                ],
            })),
        ),
        (
            "group_metadata_empty",
            metadata(Some(GroupMetadataValue {
                protocol_type: "".into(),
                generation_id: 0,
                protocol_name: None,
                leader: None,
                current_state_timestamp_ms: 1_700_000_000_000,
                members: vec![],
            })),
        ),
        ("group_metadata_tombstone", metadata(None)),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Kafka's (key hex, value hex or None) by case name.
fn kafka_bytes() -> BTreeMap<String, (String, Option<String>)> {
    let mut command = kafka().java_test_program("GroupRecordBytes");
    let run = run(&mut command, None, Duration::from_secs(180));
    assert!(run.success(), "GroupRecordBytes failed:\n{}", run.report());
    run.stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "unexpected line from GroupRecordBytes: {line}");
            let value = (fields[2] != "null").then(|| fields[2].to_string());
            (fields[0].to_string(), (fields[1].to_string(), value))
        })
        .collect()
}

#[test]
fn seedlog_writes_and_reads_kafka_4_1_group_records() {
    let kafka = kafka_bytes();
    for (case, record) in seedlog_records() {
        let (kafka_key, kafka_value) = kafka.get(case).unwrap_or_else(|| panic!("GroupRecordBytes printed no {case}"));
        let (key, value) = encode(&record).unwrap();
        assert_eq!(&hex(&key), kafka_key, "{case}: key differs from Kafka's");
        assert_eq!(value.as_deref().map(hex).as_ref(), kafka_value.as_ref(), "{case}: value differs from Kafka's");
        let kafka_value = kafka_value.as_deref().map(unhex);
        assert_eq!(
            decode(&unhex(kafka_key), kafka_value.as_deref()).unwrap(),
            Some(record),
            "{case}: decoding Kafka's bytes"
        );
    }
    // Kafka keeps a commit's topic id as tagged field 0 of OffsetCommitValue v4; seedlog reads
    // the commit and drops the id.
    let (key, value) = &kafka["offset_commit_with_topic_id"];
    let value = unhex(value.as_deref().unwrap());
    let expected = seedlog_records().into_iter().find(|(case, _)| *case == "offset_commit").unwrap().1;
    assert_eq!(decode(&unhex(key), Some(&value)).unwrap(), Some(expected));
}
