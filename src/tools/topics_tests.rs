//! Argument parsing and output format of `seedlog topics` (no broker needed).

use clap::Parser;

use super::*;
use crate::client::{ConfigEntry, PartitionInfo};

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: TopicsArgs,
}

fn parse(args: &[&str]) -> Result<TopicsArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("topics").chain(args.iter().copied())).map(|cli| cli.args)
}

#[test]
fn create_takes_partitions_replication_and_configs() {
    let args = parse(&[
        "--bootstrap-server",
        "localhost:9092",
        "--create",
        "--topic",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
        "--config",
        "cleanup.policy=compact",
        "--config",
        "retention.ms=1000",
    ])
    .unwrap();
    assert!(args.create && !args.list);
    assert_eq!(args.topic.as_deref(), Some("orders"));
    assert_eq!((args.partitions, args.replication_factor), (Some(3), Some(1)));
    assert_eq!(args.config, vec![("cleanup.policy".into(), "compact".into()), ("retention.ms".into(), "1000".into())]);
    assert_eq!(args.command_timeout_ms, 30_000);
}

#[test]
fn exactly_one_action_is_required() {
    assert!(parse(&["--bootstrap-server", "h:1"]).is_err());
    assert!(parse(&["--bootstrap-server", "h:1", "--list", "--delete"]).is_err());
    assert!(parse(&["--list"]).is_err(), "bootstrap server is required");
    assert!(parse(&["--bootstrap-server", "h:1", "--create", "--config", "novalue"]).is_err());
    let describe = parse(&["--bootstrap-server", "h:1", "--describe"]).unwrap();
    assert!(describe.describe && describe.topic.is_none());
}

#[tokio::test]
async fn create_and_delete_need_a_topic() {
    for action in ["--create", "--delete"] {
        let args = parse(&["--bootstrap-server", "h:1", action]).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args, &mut out, &mut err).await, EXIT_USAGE);
        assert_eq!(String::from_utf8(err).unwrap(), "Missing required argument \"[topic]\"\n");
    }
}

#[tokio::test]
async fn a_bad_bootstrap_address_is_a_usage_error() {
    let args = parse(&["--bootstrap-server", "nohostport", "--list"]).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(run(&args, &mut out, &mut err).await, EXIT_USAGE);
}

#[test]
fn topic_ids_print_as_kafka_does() {
    assert_eq!(kafka_uuid(&Uuid::nil()), "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(kafka_uuid(&Uuid::from_u64_pair(0, 1)), "AAAAAAAAAAAAAAAAAAAAAQ"); // Kafka's Uuid.ONE_UUID
    assert_eq!(kafka_uuid(&Uuid::from_u64_pair(u64::MAX, u64::MAX)), "_____________________w");
}

#[test]
fn describe_prints_kafkas_layout() {
    let partition = |index: i32, leader: i32| PartitionInfo {
        partition: index,
        leader,
        leader_epoch: 0,
        replicas: vec![1, 2],
        isr: vec![1],
        offline_replicas: vec![],
        error_code: 0,
    };
    let config = |name: &str, value: &str, source: i8| ConfigEntry {
        name: name.into(),
        value: Some(value.into()),
        source,
        read_only: false,
        is_sensitive: false,
    };
    let topic = TopicDescription {
        name: "orders".into(),
        topic_id: Uuid::from_u64_pair(0, 1),
        is_internal: false,
        partitions: vec![partition(0, 1), partition(1, -1)],
        configs: vec![config("cleanup.policy", "compact", 1), config("segment.bytes", "1024", 5)],
    };
    assert_eq!(
        describe_lines(&topic),
        vec![
            "Topic: orders\tTopicId: AAAAAAAAAAAAAAAAAAAAAQ\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact",
            "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1",
            "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 1,2\tIsr: 1",
        ]
    );
}
