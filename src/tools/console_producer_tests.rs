//! Argument parsing and line splitting of `seedlog console-producer` (no broker needed).

use clap::Parser;
use kafka_protocol::records::Compression;

use super::*;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: ConsoleProducerArgs,
}

fn parse(args: &[&str]) -> ConsoleProducerArgs {
    let base = ["console-producer", "--bootstrap-server", "localhost:9092", "--topic", "t"];
    Cli::try_parse_from(base.iter().chain(args).copied()).unwrap().args
}

#[test]
fn lines_are_values_unless_keys_are_parsed() {
    let format = LineFormat::from_args(&parse(&[])).unwrap();
    assert_eq!(format.split("a:b"), Ok((None, Bytes::from_static(b"a:b"))));
    let format =
        LineFormat::from_args(&parse(&["--property", "parse.key=true", "--property", "key.separator=:"])).unwrap();
    assert_eq!(format.split("k:v:w"), Ok((Some(Bytes::from_static(b"k")), Bytes::from_static(b"v:w"))));
    assert_eq!(format.split("no separator"), Err(()));
}

#[test]
fn the_short_flag_implies_parse_key_and_tab_is_the_default_separator() {
    let format = LineFormat::from_args(&parse(&["--key-separator", "::"])).unwrap();
    assert_eq!(format.split("k::v"), Ok((Some(Bytes::from_static(b"k")), Bytes::from_static(b"v"))));
    let format = LineFormat::from_args(&parse(&["--property", "parse.key=true"])).unwrap();
    assert_eq!(format.key_separator.as_deref(), Some("\t"));
    let lenient = LineFormat::from_args(&parse(&["--property", "parse.key=true", "--property", "ignore.error=true"]));
    assert_eq!(lenient.unwrap().split("plain"), Ok((None, Bytes::from_static(b"plain"))));
}

#[test]
fn acks_default_to_all_with_idempotence() {
    let (config, unknown) = producer_config(&parse(&[])).unwrap();
    assert_eq!((config.acks, config.idempotence), (-1, true));
    assert!(unknown.is_empty());
    let (config, _) = producer_config(&parse(&["--request-required-acks", "1"])).unwrap();
    assert_eq!((config.acks, config.idempotence), (1, false));
}

#[test]
fn producer_properties_map_to_the_config() {
    let (config, unknown) = producer_config(&parse(&[
        "--producer-property",
        "linger.ms=20",
        "--producer-property",
        "batch.size=1000",
        "--compression-codec",
        "zstd",
        "--producer-property",
        "retries=3",
        "--producer-property",
        "bogus=1",
    ]))
    .unwrap();
    assert_eq!((config.linger_ms, config.batch_size_bytes, config.retries), (20, 1000, 3));
    assert_eq!(config.compression, Compression::Zstd);
    assert_eq!(unknown, vec!["bogus".to_owned()]);
    assert!(producer_config(&parse(&["--producer-property", "acks=2"])).is_err());
}

#[tokio::test]
async fn bad_properties_are_usage_errors() {
    let args = parse(&["--property", "parse.key=maybe"]);
    let mut err = Vec::new();
    let code = run(&args, &b""[..], Clock::system(), crate::runtime::seeded(1), &mut err).await;
    assert_eq!(code, EXIT_USAGE);
    assert!(String::from_utf8(err).unwrap().contains("parse.key"));
}

#[tokio::test]
async fn empty_input_sends_nothing_and_succeeds() {
    // Nothing to send: the producer never connects (the address is unreachable).
    let args = parse(&[]);
    let mut err = Vec::new();
    let code = run(&args, &b""[..], Clock::system(), crate::runtime::seeded(1), &mut err).await;
    assert_eq!(code, EXIT_OK, "{}", String::from_utf8_lossy(&err));
}
