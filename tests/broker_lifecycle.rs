//! The production binary's lifecycle: SIGTERM flushes and checkpoints every log and exits
//! cleanly; a restart serves everything, and a bad config names its key.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // test scaffolding: real processes, files

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use seedlog::client::{Admin, ConnectionConfig, Consumer, ConsumerConfig, NewTopic, Producer, ProducerConfig, ProducerRecord, StartOffset};
use seedlog::runtime::{seeded, Clock};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_seedlog"))
        .args(["broker", "--override"])
        .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"))
        .arg("--override")
        .arg(format!("log.dirs={}", dir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seedlog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flushes_and_a_restart_serves_every_record() {
    let dir = scratch("sigterm");
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let mut broker = start(&dir, port);
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).unwrap();
    let topic = NewTopic { name: "lifecycle".into(), partitions: Some(1), replication_factor: Some(1), configs: Vec::new() };
    admin.create_topic(&topic).await.unwrap();
    // acks=1: answered before any fsync, so only the shutdown's flush makes them durable.
    let config = ProducerConfig { acks: 1, idempotence: false, ..ProducerConfig::default() };
    let producer = Producer::new(&bootstrap, config, Clock::system(), seeded(1)).unwrap();
    let sends: Vec<_> = (0..500).map(|i| producer.send(ProducerRecord::new("lifecycle", Bytes::from(format!("v{i}"))).with_partition(0))).collect();
    for send in sends {
        send.await.unwrap();
    }
    producer.close().await;

    let status = Command::new("kill").args(["-TERM", &broker.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = broker.wait().unwrap();
    assert!(exit.success(), "the broker exits cleanly on SIGTERM: {exit}");
    let checkpoint = std::fs::read_to_string(dir.join("lifecycle-0").join("partition.checkpoint")).unwrap();
    assert!(checkpoint.contains("recovery-point 500"), "checkpoint after shutdown: {checkpoint}");

    let mut broker = start(&dir, port);
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
    broker.kill().unwrap();
    let _ = broker.wait();
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
