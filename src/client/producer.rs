//! The producer: `send` hands a record to a background sender task and returns a future
//! that resolves when the broker acknowledges it (acks=0: when it is written; offset -1).
//!
//! The sender batches records per partition (`batch_size_bytes`, `linger_ms`), sends each
//! leader one Produce request at a time per batch set (pipelined on the connection up to
//! `max_in_flight`), and retries retriable errors with the same batch bytes. With
//! idempotence it takes a producer id from InitProducerId and numbers each partition's
//! batches; it keeps one batch per partition in flight, so retries never reorder a
//! partition (a simpler guarantee than the Java client's five with broker-side reordering).
//!
//! When leaders move (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH, a
//! dropped connection, ...) the sender refreshes metadata, backs off (KIP-580) and sends the
//! retry to the new leader, until `delivery_timeout_ms` after `send`; then the record fails
//! with the last error. See the sender's module docs.
//!
//! Record timestamps come from the [`Clock`] handed in; keyless records are spread from a
//! start drawn from the [`NodeRng`] handed in.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::Compression;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::cluster::Cluster;
use super::connection::ConnectionConfig;
use super::error::{ClientError, Result};
use super::records::Header;
use super::sender::{Command, Sender};
use crate::runtime::{Clock, NodeRng};

/// How the producer behaves (Kafka's producer configs, in Rust units).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// 0 (no answer), 1 (leader) or -1 (all in-sync replicas).
    pub acks: i16,
    /// Producer id and per-partition sequences, so retries never duplicate (needs acks=-1).
    pub idempotence: bool,
    /// How long a partial batch waits for more records.
    pub linger_ms: u64,
    /// The size at which a batch is sent without waiting.
    pub batch_size_bytes: usize,
    pub compression: Compression,
    /// Requests in flight per broker connection.
    pub max_in_flight: usize,
    /// How long a request waits for its answer.
    pub request_timeout_ms: u64,
    /// Retries of a batch after its first attempt.
    pub retries: u32,
    /// The wait before the first retry; it doubles per retry up to `retry_backoff_max_ms`,
    /// with 20% jitter (KIP-580).
    pub retry_backoff_ms: u64,
    pub retry_backoff_max_ms: u64,
    /// How long a record may take from `send` to a final answer, retries included; then it
    /// fails with the last error its batch saw.
    pub delivery_timeout_ms: u64,
    /// How long `send` waits for an unknown topic's metadata.
    pub max_block_ms: u64,
    pub client_id: String,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            idempotence: true,
            linger_ms: 5,
            batch_size_bytes: 16 * 1024,
            compression: Compression::None,
            max_in_flight: 5,
            request_timeout_ms: 30_000,
            retries: u32::MAX,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1000,
            delivery_timeout_ms: 120_000,
            max_block_ms: 60_000,
            client_id: "seedlog-producer".to_owned(),
        }
    }
}

impl ProducerConfig {
    fn validate(&self) -> Result<()> {
        if ![-1, 0, 1].contains(&self.acks) {
            return Err(ClientError::Config(format!("acks must be 0, 1 or -1, not {}", self.acks)));
        }
        if self.idempotence && self.acks != -1 {
            return Err(ClientError::Config("idempotence needs acks=-1 (all)".into()));
        }
        Ok(())
    }

    pub(crate) fn connection_config(&self) -> ConnectionConfig {
        ConnectionConfig {
            client_id: self.client_id.clone(),
            max_in_flight: self.max_in_flight.max(1),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            ..ConnectionConfig::default()
        }
    }
}

/// A record to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerRecord {
    pub topic: String,
    /// `None`: chosen by the partitioner.
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    /// `None`: the producer's clock at `send`.
    pub timestamp_ms: Option<i64>,
}

impl ProducerRecord {
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> Self {
        ProducerRecord { topic: topic.into(), value: Some(value.into()), ..Default::default() }
    }

    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    pub fn with_header(mut self, key: impl Into<String>, value: Option<Bytes>) -> Self {
        self.headers.push((key.into(), value));
        self
    }

    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }
}

/// Where an acknowledged record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    /// -1 with acks=0.
    pub offset: i64,
    /// The record's timestamp, or the broker's append time for LogAppendTime topics.
    pub timestamp: i64,
}

/// A handle on a producer; dropping it flushes what was sent in the background.
pub struct Producer {
    commands: mpsc::UnboundedSender<Command>,
    task: Mutex<Option<JoinHandle<()>>>,
    cluster: Arc<Cluster>,
}

impl Producer {
    /// A producer for the cluster at `bootstrap` (`host:port[,...]`). Connects lazily; must
    /// be called inside the runtime (it spawns the sender task).
    pub fn new(bootstrap: &str, config: ProducerConfig, clock: Clock, rng: NodeRng) -> Result<Producer> {
        config.validate()?;
        let cluster = Cluster::new(bootstrap, config.connection_config())?;
        let (commands, receiver) = mpsc::unbounded_channel();
        let sender = Sender::new(cluster.clone(), config, clock, rng, receiver);
        let task = crate::runtime::spawn(sender.run());
        Ok(Producer { commands, task: Mutex::new(Some(task)), cluster })
    }

    /// Queues `record`; the future resolves with its offset once acknowledged.
    pub fn send(&self, record: ProducerRecord) -> DeliveryFuture {
        let (reply, receiver) = oneshot::channel();
        match self.commands.send(Command::Send { record, reply }) {
            Ok(()) => DeliveryFuture { state: DeliveryState::Waiting(receiver) },
            Err(_) => DeliveryFuture { state: DeliveryState::Failed(Some(ClientError::Closed)) },
        }
    }

    /// Sends every queued record now and waits until all records sent so far (and any sent
    /// meanwhile) are answered.
    pub async fn flush(&self) -> Result<()> {
        let (done, receiver) = oneshot::channel();
        self.commands.send(Command::Flush { done }).map_err(|_| ClientError::Closed)?;
        receiver.await.map_err(|_| ClientError::Closed)
    }

    /// Flushes, then stops the sender task.
    pub async fn close(self) {
        let Producer { commands, task, cluster } = self;
        drop(commands);
        let task = task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        cluster.close();
    }

    /// The cluster view this producer uses (metadata, connections).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }
}

/// Resolves when the broker acknowledges a record (see [`Producer::send`]).
#[must_use = "a record's outcome is only known by awaiting its future"]
pub struct DeliveryFuture {
    state: DeliveryState,
}

enum DeliveryState {
    Waiting(oneshot::Receiver<Result<RecordMetadata>>),
    Failed(Option<ClientError>),
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            DeliveryState::Waiting(receiver) => match Pin::new(receiver).poll(cx) {
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(_)) => Poll::Ready(Err(ClientError::Closed)),
                Poll::Pending => Poll::Pending,
            },
            DeliveryState::Failed(error) => Poll::Ready(Err(error.take().unwrap_or(ClientError::Closed))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_checked() {
        assert!(ProducerConfig::default().validate().is_ok());
        let acks_one = ProducerConfig { acks: 1, ..ProducerConfig::default() };
        assert!(acks_one.validate().is_err(), "idempotence needs acks=all");
        assert!(ProducerConfig { idempotence: false, ..acks_one }.validate().is_ok());
        assert!(ProducerConfig { acks: 2, idempotence: false, ..ProducerConfig::default() }.validate().is_err());
    }

    #[test]
    fn records_build_up() {
        let record = ProducerRecord::new("t", "v").with_key("k").with_partition(2).with_timestamp(5);
        assert_eq!(record.key.as_deref(), Some(&b"k"[..]));
        assert_eq!((record.partition, record.timestamp_ms), (Some(2), Some(5)));
    }

    #[tokio::test]
    async fn a_closed_producer_fails_sends() {
        let producer =
            Producer::new("127.0.0.1:1", ProducerConfig::default(), Clock::system(), crate::runtime::seeded(1));
        producer.unwrap().close().await; // nothing queued: the sender stops at once
        let (commands, receiver) = mpsc::unbounded_channel::<Command>();
        drop(receiver);
        let cluster = Cluster::new("a:1", ConnectionConfig::default()).unwrap();
        let closed = Producer { commands, task: Mutex::new(None), cluster };
        assert_eq!(closed.send(ProducerRecord::new("t", "v")).await, Err(ClientError::Closed));
    }
}
