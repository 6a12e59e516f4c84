//! `seedlog topics`: create, list, describe and delete topics, like kafka-topics.sh.

use std::time::Duration;

use clap::ArgGroup;
use uuid::Uuid;

use super::properties::parse_key_value;
use super::{Output, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::client::admin::CONFIG_SOURCE_DEFAULT;
use crate::client::error::code;
use crate::client::{Admin, ClientError, ConnectionConfig, NewTopic, TopicDescription};

/// Arguments of `seedlog topics` (kafka-topics.sh's names).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
#[command(group(ArgGroup::new("action").required(true).args(["create", "list", "describe", "delete"])))]
pub struct TopicsArgs {
    /// The broker(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT[,HOST:PORT...]")]
    pub bootstrap_server: String,
    /// Create a topic (needs --topic).
    #[arg(long)]
    pub create: bool,
    /// List the topics.
    #[arg(long)]
    pub list: bool,
    /// Describe one topic (--topic) or all.
    #[arg(long)]
    pub describe: bool,
    /// Delete a topic (needs --topic).
    #[arg(long)]
    pub delete: bool,
    /// The topic to create, describe or delete.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Partitions of a new topic (default: the broker's num.partitions).
    #[arg(long, value_name = "N")]
    pub partitions: Option<i32>,
    /// Replication factor of a new topic (default: the broker's default.replication.factor).
    #[arg(long = "replication-factor", value_name = "R")]
    pub replication_factor: Option<i16>,
    /// A topic config override for --create; repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// With --create: succeed quietly if the topic exists.
    #[arg(long = "if-not-exists")]
    pub if_not_exists: bool,
    /// With --describe or --delete: succeed quietly if the topic does not exist.
    #[arg(long = "if-exists")]
    pub if_exists: bool,
    /// With --list or --describe: leave out internal topics.
    #[arg(long = "exclude-internal")]
    pub exclude_internal: bool,
    /// How long to wait for each request.
    #[arg(long = "command-timeout-ms", value_name = "MS", default_value_t = 30_000)]
    pub command_timeout_ms: u64,
}

/// Runs `seedlog topics`; returns the exit code.
pub async fn run(args: &TopicsArgs, out: Output<'_>, err: Output<'_>) -> i32 {
    let topic = args.topic.as_deref();
    if (args.create || args.delete) && topic.is_none() {
        let _ = writeln!(err, "Missing required argument \"[topic]\"");
        return EXIT_USAGE;
    }
    let config = ConnectionConfig {
        client_id: "seedlog-topics".to_owned(),
        request_timeout: Duration::from_millis(args.command_timeout_ms),
        ..ConnectionConfig::default()
    };
    let admin = match Admin::new(&args.bootstrap_server, config) {
        Ok(admin) => admin,
        Err(error) => {
            let _ = writeln!(err, "{error}");
            return EXIT_USAGE;
        }
    };
    let result = match (args.create, args.list, args.describe, topic) {
        (true, _, _, Some(topic)) => create(&admin, args, topic, out).await,
        (_, true, _, _) => list(&admin, args, out).await,
        (_, _, true, _) => describe(&admin, args, out).await,
        (_, _, _, Some(topic)) => delete(&admin, args, topic).await,
        _ => Ok(()),
    };
    admin.cluster().close();
    match result {
        Ok(()) => EXIT_OK,
        Err(error) => {
            let _ = writeln!(err, "Error while executing topic command : {}", kafka_style(&error));
            EXIT_FAILED
        }
    }
}

async fn create(admin: &Admin, args: &TopicsArgs, topic: &str, out: Output<'_>) -> Result<(), ClientError> {
    let new_topic = NewTopic {
        name: topic.to_owned(),
        partitions: args.partitions,
        replication_factor: args.replication_factor,
        configs: args.config.clone(),
    };
    match admin.create_topic(&new_topic).await {
        Ok(_) => {
            let _ = writeln!(out, "Created topic {topic}.");
            Ok(())
        }
        Err(error) if error.code() == code::TOPIC_ALREADY_EXISTS && args.if_not_exists => Ok(()),
        Err(error) => Err(error),
    }
}

async fn list(admin: &Admin, args: &TopicsArgs, out: Output<'_>) -> Result<(), ClientError> {
    for name in admin.list_topics(!args.exclude_internal).await? {
        let _ = writeln!(out, "{name}");
    }
    Ok(())
}

async fn describe(admin: &Admin, args: &TopicsArgs, out: Output<'_>) -> Result<(), ClientError> {
    let names = args.topic.as_ref().map(|t| vec![t.clone()]);
    let descriptions = match admin.describe_topics(names.as_deref()).await {
        Ok(descriptions) => descriptions,
        Err(error) if error.code() == code::UNKNOWN_TOPIC_OR_PARTITION && args.if_exists => return Ok(()),
        Err(error) if error.code() == code::UNKNOWN_TOPIC_OR_PARTITION => {
            let topic = args.topic.as_deref().unwrap_or_default();
            return Err(ClientError::Config(format!("Topic '{topic}' does not exist as expected")));
        }
        Err(error) => return Err(error),
    };
    for description in descriptions.iter().filter(|d| !(args.exclude_internal && d.is_internal)) {
        for line in describe_lines(description) {
            let _ = writeln!(out, "{line}");
        }
    }
    Ok(())
}

async fn delete(admin: &Admin, args: &TopicsArgs, topic: &str) -> Result<(), ClientError> {
    match admin.delete_topic(topic).await {
        Ok(()) => Ok(()),
        Err(error) if error.code() == code::UNKNOWN_TOPIC_OR_PARTITION && args.if_exists => Ok(()),
        Err(error) if error.code() == code::UNKNOWN_TOPIC_OR_PARTITION => {
            Err(ClientError::Config(format!("Topic '{topic}' does not exist as expected")))
        }
        Err(error) => Err(error),
    }
}

/// The lines kafka-topics.sh --describe prints for a topic.
pub fn describe_lines(topic: &TopicDescription) -> Vec<String> {
    let replication_factor = topic.partitions.first().map_or(0, |p| p.replicas.len());
    let configs: Vec<String> = topic
        .configs
        .iter()
        .filter(|c| c.source != CONFIG_SOURCE_DEFAULT)
        .map(|c| match (c.is_sensitive, &c.value) {
            (true, _) => format!("{}=sensitive=true", c.name),
            (false, Some(value)) => format!("{}={value}", c.name),
            (false, None) => format!("{}=null", c.name),
        })
        .collect();
    let mut lines = vec![format!(
        "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        topic.name,
        kafka_uuid(&topic.topic_id),
        topic.partitions.len(),
        replication_factor,
        configs.join(",")
    )];
    for p in &topic.partitions {
        let leader = if p.leader >= 0 { p.leader.to_string() } else { "none".to_owned() };
        let mut line = format!(
            "\tTopic: {}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}",
            topic.name,
            p.partition,
            join_ids(&p.replicas),
            join_ids(&p.isr)
        );
        if !p.offline_replicas.is_empty() {
            line.push_str(&format!("\tOffline: {}", join_ids(&p.offline_replicas)));
        }
        lines.push(line);
    }
    lines
}

fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Kafka prints a topic id as its 16 bytes in URL-safe base64 without padding.
pub fn kafka_uuid(id: &Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

/// The broker's own message when it sent one (as Kafka's tools print), else ours.
fn kafka_style(error: &ClientError) -> String {
    match error {
        ClientError::Kafka { message: Some(message), .. } if !message.is_empty() => message.clone(),
        ClientError::Config(message) => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
