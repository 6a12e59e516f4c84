//! `seedlog console-producer`: each input line becomes a record, like
//! kafka-console-producer.sh. With `parse.key=true` (or `--key-separator`) a line is
//! `KEY<separator>VALUE`. acks=all by default; at end of input every record is awaited.
//! A failed record is reported on the error stream and makes the exit code 1.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::properties::{parse_acks, parse_bool, parse_key_value, parse_number, to_map};
use super::{Output, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::client::records::parse_compression;
use crate::client::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use crate::runtime::{Clock, NodeRng};

/// Records awaited before reading on, so memory stays bounded on long inputs.
const MAX_UNACKED: usize = 10_000;

/// Arguments of `seedlog console-producer` (kafka-console-producer.sh's names).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ConsoleProducerArgs {
    /// The broker(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT[,HOST:PORT...]")]
    pub bootstrap_server: String,
    /// The topic to produce to.
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// Line reader properties: parse.key, key.separator, ignore.error; repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub property: Vec<(String, String)>,
    /// Producer configs (acks, linger.ms, batch.size, compression.type, enable.idempotence,
    /// retries, request.timeout.ms, delivery.timeout.ms, client.id); repeatable.
    #[arg(long = "producer-property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub producer_property: Vec<(String, String)>,
    /// Lines are KEY<SEP>VALUE (the same as parse.key=true and key.separator=SEP).
    #[arg(long = "key-separator", value_name = "SEP")]
    pub key_separator: Option<String>,
    /// acks: all (-1), 1 or 0.
    #[arg(long = "request-required-acks", value_name = "ACKS")]
    pub request_required_acks: Option<String>,
    /// none, gzip, snappy, lz4 or zstd.
    #[arg(long = "compression-codec", value_name = "CODEC")]
    pub compression_codec: Option<String>,
}

/// How lines become records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LineFormat {
    key_separator: Option<String>,
    ignore_error: bool,
}

impl LineFormat {
    fn from_args(args: &ConsoleProducerArgs) -> Result<LineFormat, String> {
        let properties = to_map(&args.property);
        let parse_key = match properties.get("parse.key") {
            Some(value) => parse_bool("parse.key", value)?,
            None => args.key_separator.is_some(),
        };
        let separator = args.key_separator.clone().or_else(|| properties.get("key.separator").cloned());
        let ignore_error = properties.get("ignore.error").map(|v| parse_bool("ignore.error", v)).transpose()?;
        Ok(LineFormat {
            key_separator: parse_key.then(|| separator.unwrap_or_else(|| "\t".to_owned())),
            ignore_error: ignore_error.unwrap_or(false),
        })
    }

    /// Splits a line into key and value; `Err` when a key is expected and missing.
    fn split(&self, line: &str) -> Result<(Option<Bytes>, Bytes), ()> {
        let Some(separator) = &self.key_separator else {
            return Ok((None, Bytes::copy_from_slice(line.as_bytes())));
        };
        match line.split_once(separator.as_str()) {
            Some((key, value)) => {
                Ok((Some(Bytes::copy_from_slice(key.as_bytes())), Bytes::copy_from_slice(value.as_bytes())))
            }
            None if self.ignore_error => Ok((None, Bytes::copy_from_slice(line.as_bytes()))),
            None => Err(()),
        }
    }
}

/// The producer config the arguments ask for.
fn producer_config(args: &ConsoleProducerArgs) -> Result<(ProducerConfig, Vec<String>), String> {
    let mut properties: BTreeMap<String, String> = to_map(&args.producer_property);
    if let Some(acks) = &args.request_required_acks {
        properties.insert("acks".into(), acks.clone());
    }
    if let Some(codec) = &args.compression_codec {
        properties.insert("compression.type".into(), codec.clone());
    }
    let mut config = ProducerConfig { client_id: "seedlog-console-producer".into(), ..ProducerConfig::default() };
    let mut idempotence = None;
    let mut unknown = Vec::new();
    for (key, value) in &properties {
        match key.as_str() {
            "acks" => config.acks = parse_acks(value)?,
            "enable.idempotence" => idempotence = Some(parse_bool(key, value)?),
            "linger.ms" => config.linger_ms = parse_number(key, value)?,
            "batch.size" => config.batch_size_bytes = parse_number(key, value)?,
            "compression.type" => config.compression = parse_compression(value).map_err(|e| e.to_string())?,
            "retries" => config.retries = parse_number(key, value)?,
            "retry.backoff.ms" => config.retry_backoff_ms = parse_number(key, value)?,
            "request.timeout.ms" => config.request_timeout_ms = parse_number(key, value)?,
            "delivery.timeout.ms" => config.delivery_timeout_ms = parse_number(key, value)?,
            "max.block.ms" => config.max_block_ms = parse_number(key, value)?,
            "max.in.flight.requests.per.connection" => config.max_in_flight = parse_number(key, value)?,
            "client.id" => config.client_id = value.clone(),
            _ => unknown.push(key.clone()),
        }
    }
    // As in the Java producer: idempotence follows acks=all unless set explicitly.
    config.idempotence = idempotence.unwrap_or(config.acks == -1);
    Ok((config, unknown))
}

/// Runs `seedlog console-producer` over `input`; returns the exit code.
pub async fn run<R: AsyncBufRead + Unpin + Send>(
    args: &ConsoleProducerArgs,
    input: R,
    clock: Clock,
    rng: NodeRng,
    err: Output<'_>,
) -> i32 {
    let prepared = LineFormat::from_args(args).and_then(|format| Ok((format, producer_config(args)?)));
    let (format, (config, unknown)) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return EXIT_USAGE;
        }
    };
    for key in unknown {
        let _ = writeln!(err, "WARN The configuration '{key}' was supplied but isn't a known config.");
    }
    let producer = match Producer::new(&args.bootstrap_server, config, clock, rng) {
        Ok(producer) => producer,
        Err(error) => {
            let _ = writeln!(err, "{error}");
            return EXIT_USAGE;
        }
    };
    let mut failed = false;
    let mut unacked: VecDeque<(Option<Bytes>, usize, DeliveryFuture)> = VecDeque::new();
    let mut lines = input.lines();
    let mut line_number = 0u64;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(error) => {
                let _ = writeln!(err, "ERROR reading input: {error}");
                failed = true;
                break;
            }
        };
        line_number += 1;
        let Ok((key, value)) = format.split(&line) else {
            let _ = writeln!(err, "ERROR No key separator found on line number {line_number}: '{line}'");
            failed = true;
            break;
        };
        let mut record = ProducerRecord::new(args.topic.clone(), value.clone());
        record.key = key.clone();
        unacked.push_back((key, value.len(), producer.send(record)));
        while unacked.len() > MAX_UNACKED {
            let (key, size, delivery) = unacked.pop_front().expect("not empty");
            failed |= report(&args.topic, key, size, delivery.await, err);
        }
    }
    let _ = producer.flush().await;
    for (key, size, delivery) in unacked {
        failed |= report(&args.topic, key, size, delivery.await, err);
    }
    producer.close().await;
    if failed {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// Reports a failed record as Kafka's ErrorLoggingCallback does; returns whether it failed.
fn report(
    topic: &str,
    key: Option<Bytes>,
    value_size: usize,
    result: crate::client::Result<crate::client::RecordMetadata>,
    err: Output<'_>,
) -> bool {
    let Err(error) = result else { return false };
    let key = key.map_or("null".to_owned(), |k| format!("{} bytes", k.len()));
    let _ = writeln!(
        err,
        "ERROR Error when sending message to topic {topic} with key: {key}, value: {value_size} bytes with error: {error}"
    );
    true
}

#[cfg(test)]
#[path = "console_producer_tests.rs"]
mod tests;
