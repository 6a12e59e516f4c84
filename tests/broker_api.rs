//! The broker's answers through the Rust client, rule by rule: Kafka's error codes for bad
//! topics and requests, ListOffsets by time and max timestamp, idempotent duplicates.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // test scaffolding

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{free_port, scratch_dir, BrokerProcess};
use seedlog::client::{
    Admin, ConnectionConfig, Consumer, ConsumerConfig, IsolationLevel, NewTopic, OffsetSpec, Producer, ProducerConfig,
    ProducerRecord, StartOffset,
};
use seedlog::runtime::{seeded, Clock};

fn topic(name: &str, partitions: i32) -> NewTopic {
    NewTopic { name: name.into(), partitions: Some(partitions), replication_factor: Some(1), configs: Vec::new() }
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_errors_use_kafkas_codes() {
    let dir = scratch_dir("api-topics");
    let broker = BrokerProcess::start(&dir, free_port());
    let admin = Admin::new(&broker.bootstrap(), ConnectionConfig::default()).unwrap();
    admin.create_topic(&topic("t", 2)).await.unwrap();
    let code = |r: seedlog::client::Result<uuid::Uuid>| r.unwrap_err().code();
    assert_eq!(code(admin.create_topic(&topic("t", 2)).await), 36, "TOPIC_ALREADY_EXISTS");
    assert_eq!(code(admin.create_topic(&topic("bad/name", 1)).await), 17, "INVALID_TOPIC_EXCEPTION");
    assert_eq!(code(admin.create_topic(&topic("zero", 0)).await), 37, "INVALID_PARTITIONS");
    let three = NewTopic { replication_factor: Some(3), ..topic("rf3", 1) };
    assert_eq!(code(admin.create_topic(&three).await), 38, "INVALID_REPLICATION_FACTOR");
    let bad_config = NewTopic { configs: vec![("retention.mss".into(), "1".into())], ..topic("cfg", 1) };
    assert_eq!(code(admin.create_topic(&bad_config).await), 40, "INVALID_CONFIG");
    assert_eq!(admin.delete_topic("nosuch").await.unwrap_err().code(), 3, "UNKNOWN_TOPIC_OR_PARTITION");
    admin.delete_topic("t").await.unwrap();
    assert!(!admin.list_topics(false).await.unwrap().contains(&"t".to_string()));
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_offsets_finds_records_by_time_and_the_max_timestamp() {
    let dir = scratch_dir("api-offsets");
    let broker = BrokerProcess::start(&dir, free_port());
    let bootstrap = broker.bootstrap();
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).unwrap();
    admin.create_topic(&topic("times", 1)).await.unwrap();
    let producer = Producer::new(&bootstrap, ProducerConfig::default(), Clock::system(), seeded(3)).unwrap();
    let base_ms = Clock::system().now_ms() - 3_600_000;
    // Timestamps 0, 10, 20, … s after base, except record 7 which is the newest of all.
    for i in 0..20i64 {
        let timestamp = if i == 7 { base_ms + 1_000_000 } else { base_ms + i * 10_000 };
        let record =
            ProducerRecord::new("times", Bytes::from(format!("v{i}"))).with_partition(0).with_timestamp(timestamp);
        producer.send(record).await.unwrap();
    }
    let at = |spec| admin.list_offsets("times", &[0], spec, IsolationLevel::ReadUncommitted);
    assert_eq!(at(OffsetSpec::Earliest).await.unwrap()[0].offset, 0);
    assert_eq!(at(OffsetSpec::Latest).await.unwrap()[0].offset, 20);
    let found = at(OffsetSpec::Timestamp(base_ms + 125_000)).await.unwrap()[0];
    assert_eq!((found.offset, found.timestamp), (7, base_ms + 1_000_000), "record 7 is the first at or after +125 s");
    let found = at(OffsetSpec::Timestamp(base_ms + 55_000)).await.unwrap()[0];
    assert_eq!((found.offset, found.timestamp), (6, base_ms + 60_000));
    assert_eq!(at(OffsetSpec::Timestamp(base_ms + 2_000_000)).await.unwrap()[0].offset, -1, "nothing that late");
    assert_eq!(at(OffsetSpec::MaxTimestamp).await.unwrap()[0].offset, 7);
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_out_of_range_and_oversized_records_are_refused() {
    let dir = scratch_dir("api-fetch");
    let broker = BrokerProcess::start(&dir, free_port());
    let bootstrap = broker.bootstrap();
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).unwrap();
    admin.create_topic(&topic("f", 1)).await.unwrap();
    let producer = Producer::new(&bootstrap, ProducerConfig::default(), Clock::system(), seeded(4)).unwrap();
    producer.send(ProducerRecord::new("f", Bytes::from_static(b"one")).with_partition(0)).await.unwrap();
    let huge = ProducerRecord::new("f", Bytes::from(vec![7u8; 2 << 20])).with_partition(0);
    assert_eq!(producer.send(huge).await.unwrap_err().code(), 10, "MESSAGE_TOO_LARGE");
    let config = ConsumerConfig { auto_offset_reset: seedlog::client::OffsetReset::None, ..ConsumerConfig::default() };
    let mut consumer = Consumer::new(&bootstrap, config).unwrap();
    consumer.assign("f", &[0], StartOffset::Offset(5));
    assert_eq!(consumer.poll(Duration::from_millis(500)).await.unwrap_err().code(), 1, "OFFSET_OUT_OF_RANGE");
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}
