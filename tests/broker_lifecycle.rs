//! The production binary's lifecycle: SIGTERM flushes and checkpoints every log and exits
//! cleanly; a restart serves everything, and a bad config names its key.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // test scaffolding: real processes, files

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{free_port, scratch_dir, BrokerProcess};
use seedlog::client::{
    Admin, ConnectionConfig, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord, StartOffset,
};
use seedlog::runtime::{seeded, Clock};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flushes_and_a_restart_serves_every_record() {
    let dir = scratch_dir("sigterm");
    let port = free_port();
    let mut broker = BrokerProcess::start(&dir, port);
    let bootstrap = broker.bootstrap();
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).unwrap();
    let topic =
        NewTopic { name: "lifecycle".into(), partitions: Some(1), replication_factor: Some(1), configs: Vec::new() };
    admin.create_topic(&topic).await.unwrap();
    // acks=1: answered before any fsync, so only the shutdown's flush makes them durable.
    let config = ProducerConfig { acks: 1, idempotence: false, ..ProducerConfig::default() };
    let producer = Producer::new(&bootstrap, config, Clock::system(), seeded(1)).unwrap();
    let sends: Vec<_> = (0..500)
        .map(|i| producer.send(ProducerRecord::new("lifecycle", Bytes::from(format!("v{i}"))).with_partition(0)))
        .collect();
    for send in sends {
        send.await.unwrap();
    }
    producer.close().await;

    let status = Command::new("kill").args(["-TERM", &broker.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = broker.child.wait().unwrap();
    assert!(exit.success(), "the broker exits cleanly on SIGTERM: {exit}");
    let checkpoint = std::fs::read_to_string(dir.join("lifecycle-0").join("partition.checkpoint")).unwrap();
    assert!(checkpoint.contains("recovery-point 500"), "checkpoint after shutdown: {checkpoint}");

    let broker = BrokerProcess::start(&dir, port);
    let mut consumer = Consumer::new(&bootstrap, ConsumerConfig::default()).unwrap();
    consumer.assign("lifecycle", &[0], StartOffset::Earliest);
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while values.len() < 500 && Instant::now() < deadline {
        for record in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
        }
    }
    let expected: Vec<String> = (0..500).map(|i| format!("v{i}")).collect();
    assert_eq!(values, expected);
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_config_names_its_key_and_exits_with_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_seedlog"))
        .args(["broker", "--override", "log.segmnet.bytes=1000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("log.segmnet.bytes"));
    let output = Command::new(env!("CARGO_BIN_EXE_seedlog"))
        .args(["broker", "--override", "num.partitions=many"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("num.partitions"));
}
