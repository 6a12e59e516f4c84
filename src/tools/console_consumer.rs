//! `seedlog console-consumer`: prints a topic's records one per line, like
//! kafka-console-consumer.sh (assign-based: every partition, or one with `--partition`).
//! Stops after `--max-messages`, or when no record came for `--timeout-ms`; otherwise runs
//! until the caller drops the future (Ctrl-C in the binary).

use std::time::Duration;

use kafka_protocol::records::TimestampType;

use super::properties::{parse_bool, parse_key_value, parse_number, to_map};
use super::{Output, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::client::{Consumer, ConsumerConfig, ConsumerRecord, IsolationLevel, OffsetReset, StartOffset};

/// How long one poll waits when no --timeout-ms is given.
const POLL_WAIT: Duration = Duration::from_secs(1);

/// Arguments of `seedlog console-consumer` (kafka-console-consumer.sh's names).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConsumerArgs {
    /// The broker(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT[,HOST:PORT...]")]
    pub bootstrap_server: String,
    /// The topic to consume.
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// Start at the earliest offset instead of the latest.
    #[arg(long = "from-beginning")]
    pub from_beginning: bool,
    /// Consume only this partition (default: all).
    #[arg(long, value_name = "N")]
    pub partition: Option<i32>,
    /// With --partition: earliest, latest or an offset.
    #[arg(long, value_name = "OFFSET")]
    pub offset: Option<String>,
    /// Exit after this many records.
    #[arg(long = "max-messages", value_name = "N")]
    pub max_messages: Option<u64>,
    /// Exit when no record arrived for this long.
    #[arg(long = "timeout-ms", value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// Formatter properties: print.key, print.value, print.timestamp, print.partition,
    /// print.offset, print.headers, key.separator, line.separator, headers.separator,
    /// null.literal; repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub property: Vec<(String, String)>,
    /// Consumer configs (fetch.min.bytes, fetch.max.wait.ms, fetch.max.bytes,
    /// max.partition.fetch.bytes, isolation.level, client.id); repeatable.
    #[arg(long = "consumer-property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub consumer_property: Vec<(String, String)>,
    /// Print keys (the same as print.key=true).
    #[arg(long = "print-key")]
    pub print_key: bool,
    /// Between key and value when printing keys (default: a tab).
    #[arg(long = "key-separator", value_name = "SEP")]
    pub key_separator: Option<String>,
    /// read_uncommitted (default) or read_committed.
    #[arg(long = "isolation-level", value_name = "LEVEL")]
    pub isolation_level: Option<String>,
}

/// How records are printed (Kafka's DefaultMessageFormatter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFormat {
    pub print_key: bool,
    pub print_value: bool,
    pub print_timestamp: bool,
    pub print_partition: bool,
    pub print_offset: bool,
    pub print_headers: bool,
    pub key_separator: String,
    pub line_separator: String,
    pub headers_separator: String,
    pub null_literal: String,
}

impl RecordFormat {
    fn from_args(args: &ConsoleConsumerArgs) -> Result<RecordFormat, String> {
        let properties = to_map(&args.property);
        let flag = |key: &str, default: bool| properties.get(key).map_or(Ok(default), |v| parse_bool(key, v));
        let text = |key: &str, default: &str| properties.get(key).cloned().unwrap_or_else(|| default.to_owned());
        Ok(RecordFormat {
            print_key: args.print_key || flag("print.key", false)?,
            print_value: flag("print.value", true)?,
            print_timestamp: flag("print.timestamp", false)?,
            print_partition: flag("print.partition", false)?,
            print_offset: flag("print.offset", false)?,
            print_headers: flag("print.headers", false)?,
            key_separator: args.key_separator.clone().unwrap_or_else(|| text("key.separator", "\t")),
            line_separator: text("line.separator", "\n"),
            headers_separator: text("headers.separator", ","),
            null_literal: text("null.literal", "null"),
        })
    }

    /// The record as one printed line (with its line separator).
    pub fn format(&self, record: &ConsumerRecord) -> String {
        let text = |bytes: &Option<bytes::Bytes>| match bytes {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => self.null_literal.clone(),
        };
        let mut fields = Vec::new();
        if self.print_timestamp {
            fields.push(match (record.timestamp_type, record.timestamp) {
                (_, -1) => "NO_TIMESTAMP".to_owned(),
                (TimestampType::Creation, ts) => format!("CreateTime:{ts}"),
                (TimestampType::LogAppend, ts) => format!("LogAppendTime:{ts}"),
            });
        }
        if self.print_partition {
            fields.push(format!("Partition:{}", record.partition));
        }
        if self.print_offset {
            fields.push(format!("Offset:{}", record.offset));
        }
        if self.print_headers {
            let headers: Vec<String> = record.headers.iter().map(|(k, v)| format!("{k}:{}", text(v))).collect();
            fields.push(if headers.is_empty() {
                "NO_HEADERS".to_owned()
            } else {
                headers.join(&self.headers_separator)
            });
        }
        if self.print_key {
            fields.push(text(&record.key));
        }
        if self.print_value {
            fields.push(text(&record.value));
        }
        let mut line = fields.join(&self.key_separator);
        line.push_str(&self.line_separator);
        line
    }
}

/// Where to start, from --from-beginning, --partition and --offset.
fn start_offset(args: &ConsoleConsumerArgs) -> Result<StartOffset, String> {
    match (&args.offset, args.partition) {
        (Some(_), None) => Err("The partition is required when offset is specified.".to_owned()),
        (Some(offset), Some(_)) => match offset.as_str() {
            "earliest" => Ok(StartOffset::Earliest),
            "latest" => Ok(StartOffset::Latest),
            n => n
                .parse()
                .map(StartOffset::Offset)
                .map_err(|_| format!("--offset must be earliest, latest or a number, not {n:?}")),
        },
        (None, _) if args.from_beginning => Ok(StartOffset::Earliest),
        (None, _) => Ok(StartOffset::Latest),
    }
}

fn consumer_config(args: &ConsoleConsumerArgs) -> Result<ConsumerConfig, String> {
    let mut config = ConsumerConfig {
        client_id: "seedlog-console-consumer".into(),
        auto_offset_reset: if args.from_beginning { OffsetReset::Earliest } else { OffsetReset::Latest },
        ..ConsumerConfig::default()
    };
    let mut properties = to_map(&args.consumer_property);
    if let Some(level) = &args.isolation_level {
        properties.insert("isolation.level".into(), level.clone());
    }
    for (key, value) in &properties {
        match key.as_str() {
            "fetch.min.bytes" => config.fetch_min_bytes = parse_number(key, value)?,
            "fetch.max.wait.ms" => config.fetch_max_wait_ms = parse_number(key, value)?,
            "fetch.max.bytes" => config.fetch_max_bytes = parse_number(key, value)?,
            "max.partition.fetch.bytes" => config.max_partition_fetch_bytes = parse_number(key, value)?,
            "request.timeout.ms" => config.request_timeout_ms = parse_number(key, value)?,
            "client.id" => config.client_id = value.clone(),
            "isolation.level" => {
                config.isolation_level = match value.as_str() {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    other => {
                        return Err(format!(
                            "isolation.level must be read_committed or read_uncommitted, not {other:?}"
                        ))
                    }
                }
            }
            "auto.offset.reset" => {
                config.auto_offset_reset = match value.as_str() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    "none" => OffsetReset::None,
                    other => return Err(format!("auto.offset.reset must be earliest, latest or none, not {other:?}")),
                }
            }
            other => return Err(format!("unknown consumer property {other:?}")),
        }
    }
    Ok(config)
}

/// Runs `seedlog console-consumer`, printing records to `out`; returns the exit code.
pub async fn run(args: &ConsoleConsumerArgs, out: Output<'_>, err: Output<'_>) -> i32 {
    let prepared =
        (|| Ok::<_, String>((RecordFormat::from_args(args)?, start_offset(args)?, consumer_config(args)?)))();
    let (format, start, config) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return EXIT_USAGE;
        }
    };
    let mut consumer = match Consumer::new(&args.bootstrap_server, config) {
        Ok(consumer) => consumer,
        Err(error) => {
            let _ = writeln!(err, "{error}");
            return EXIT_USAGE;
        }
    };
    let (consumed, result) = consume(&mut consumer, args, start, &format, out).await;
    let code = match result {
        Ok(()) => EXIT_OK,
        Err(error) => {
            let _ = writeln!(err, "ERROR Error processing message, terminating consumer process: {error}");
            EXIT_FAILED
        }
    };
    let _ = writeln!(err, "Processed a total of {consumed} messages");
    consumer.close();
    code
}

async fn consume(
    consumer: &mut Consumer,
    args: &ConsoleConsumerArgs,
    start: StartOffset,
    format: &RecordFormat,
    out: Output<'_>,
) -> (u64, crate::client::Result<()>) {
    let mut consumed = 0u64;
    let assigned = match args.partition {
        Some(partition) => {
            consumer.assign(&args.topic, &[partition], start);
            Ok(())
        }
        None => consumer.assign_all(&args.topic, start).await.map(|_| ()),
    };
    if let Err(error) = assigned {
        return (consumed, Err(error));
    }
    let timeout = args.timeout_ms.map(Duration::from_millis);
    let mut last_record = crate::runtime::now();
    loop {
        if args.max_messages.is_some_and(|max| consumed >= max) {
            return (consumed, Ok(()));
        }
        let wait = match timeout {
            Some(timeout) => (last_record + timeout).saturating_duration_since(crate::runtime::now()),
            None => POLL_WAIT,
        };
        if wait.is_zero() {
            return (consumed, Ok(()));
        }
        let records = match consumer.poll(wait).await {
            Ok(records) => records,
            Err(error) => return (consumed, Err(error)),
        };
        if !records.is_empty() {
            last_record = crate::runtime::now();
        }
        for record in &records {
            if args.max_messages.is_some_and(|max| consumed >= max) {
                break;
            }
            let _ = out.write_all(format.format(record).as_bytes());
            consumed += 1;
        }
        let _ = out.flush();
    }
}

#[cfg(test)]
#[path = "console_consumer_tests.rs"]
mod tests;
