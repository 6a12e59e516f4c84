//! Argument parsing and record formatting of `seedlog console-consumer` (no broker needed).

use bytes::Bytes;
use clap::Parser;

use super::*;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: ConsoleConsumerArgs,
}

fn parse(args: &[&str]) -> ConsoleConsumerArgs {
    let base = ["console-consumer", "--bootstrap-server", "localhost:9092", "--topic", "t"];
    Cli::try_parse_from(base.iter().chain(args).copied()).unwrap().args
}

fn record() -> ConsumerRecord {
    ConsumerRecord {
        topic: "t".into(),
        partition: 2,
        offset: 7,
        timestamp: 1_000,
        timestamp_type: TimestampType::Creation,
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from_static(b"v")),
        headers: vec![("h".into(), Some(Bytes::from_static(b"x")))],
        leader_epoch: 0,
    }
}

#[test]
fn flags_parse() {
    let args = parse(&["--from-beginning", "--max-messages", "10", "--timeout-ms", "500", "--partition", "1"]);
    assert!(args.from_beginning);
    assert_eq!((args.max_messages, args.timeout_ms, args.partition), (Some(10), Some(500), Some(1)));
    assert!(Cli::try_parse_from(["c", "--topic", "t"]).is_err(), "bootstrap server is required");
}

#[test]
fn values_print_alone_by_default() {
    let format = RecordFormat::from_args(&parse(&[])).unwrap();
    assert_eq!(format.format(&record()), "v\n");
    let mut null = record();
    null.value = None;
    assert_eq!(format.format(&null), "null\n");
}

#[test]
fn keys_print_with_their_separator() {
    let format =
        RecordFormat::from_args(&parse(&["--property", "print.key=true", "--property", "key.separator=:"])).unwrap();
    assert_eq!(format.format(&record()), "k:v\n");
    let format = RecordFormat::from_args(&parse(&["--print-key", "--key-separator", " => "])).unwrap();
    assert_eq!(format.format(&record()), "k => v\n");
    let format = RecordFormat::from_args(&parse(&["--print-key"])).unwrap();
    assert_eq!(format.format(&record()), "k\tv\n");
}

#[test]
fn every_field_prints_in_kafkas_order() {
    let format = RecordFormat::from_args(&parse(&[
        "--property",
        "print.timestamp=true",
        "--property",
        "print.partition=true",
        "--property",
        "print.offset=true",
        "--property",
        "print.headers=true",
        "--property",
        "print.key=true",
    ]))
    .unwrap();
    assert_eq!(format.format(&record()), "CreateTime:1000\tPartition:2\tOffset:7\th:x\tk\tv\n");
}

#[test]
fn start_follows_from_beginning_partition_and_offset() {
    assert_eq!(start_offset(&parse(&[])), Ok(StartOffset::Latest));
    assert_eq!(start_offset(&parse(&["--from-beginning"])), Ok(StartOffset::Earliest));
    assert_eq!(start_offset(&parse(&["--partition", "0", "--offset", "42"])), Ok(StartOffset::Offset(42)));
    assert_eq!(start_offset(&parse(&["--partition", "0", "--offset", "earliest"])), Ok(StartOffset::Earliest));
    assert!(start_offset(&parse(&["--offset", "42"])).is_err(), "--offset needs --partition");
    assert!(start_offset(&parse(&["--partition", "0", "--offset", "soon"])).is_err());
}

#[test]
fn consumer_properties_map_to_the_config() {
    let config = consumer_config(&parse(&[
        "--isolation-level",
        "read_committed",
        "--consumer-property",
        "fetch.max.wait.ms=100",
        "--from-beginning",
    ]))
    .unwrap();
    assert_eq!(config.isolation_level, IsolationLevel::ReadCommitted);
    assert_eq!(config.fetch_max_wait_ms, 100);
    assert_eq!(config.auto_offset_reset, OffsetReset::Earliest);
    assert!(consumer_config(&parse(&["--consumer-property", "nonsense=1"])).is_err());
}

#[tokio::test]
async fn usage_errors_exit_with_two() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(run(&parse(&["--offset", "1"]), &mut out, &mut err).await, EXIT_USAGE);
    assert!(String::from_utf8(err).unwrap().contains("partition is required"));
}
