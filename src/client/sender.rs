//! The producer's background task: takes records from `Producer::send`, batches them in the
//! [`Accumulator`], seals ready batches (producer id, base sequence, encoded bytes), sends
//! them to partition leaders, and resolves each record's future from the answers.
//!
//! Invariants: a sealed batch keeps its bytes (so its producer id, epoch and sequence)
//! through every retry; a batch is resolved exactly once; with idempotence a partition has
//! one batch between sealing and resolution.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, ProduceRequest, ProducerId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::accumulator::{Accumulator, Batch, TopicPartition};
use super::cluster::Cluster;
use super::error::{code, ClientError, Result};
use super::idempotence::{classify_produce_error, BatchOutcome, ProducerIdentity, SequenceTracker};
use super::metadata::topic_name;
use super::partitioner::Partitioner;
use super::producer::{ProducerConfig, ProducerRecord, RecordMetadata};
use super::records::{encode_batch, OutgoingRecord};
use crate::runtime::{Clock, NodeRng};

type Reply = oneshot::Sender<Result<RecordMetadata>>;

/// What the producer handle asks of the sender.
pub(crate) enum Command {
    Send { record: ProducerRecord, reply: Reply },
    Flush { done: oneshot::Sender<()> },
}

pub(crate) struct PendingRecord {
    record: OutgoingRecord,
    reply: Reply,
}

/// A batch with its final bytes, sent (and maybe re-sent) as is.
struct SealedBatch {
    partition: TopicPartition,
    replies: Vec<Reply>,
    timestamps: Vec<i64>,
    encoded: Bytes,
    attempts: u32,
    created: Instant,
    retry_at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct PartitionAck {
    base_offset: i64,
    log_append_time_ms: i64,
}

struct Completion {
    batch: SealedBatch,
    result: Result<PartitionAck>,
}

/// What the sender's own tasks report back.
enum Event {
    Completion(Completion),
    /// A topic's metadata arrived (or never will): its waiting records can be placed.
    TopicResolved {
        topic: String,
        result: Result<i32>,
    },
}

/// A record waiting for its topic's partition count.
struct Unplaced {
    record: ProducerRecord,
    timestamp_ms: i64,
    reply: Reply,
}

/// Commands handled between two dispatches, at most.
const COMMANDS_PER_ROUND: usize = 1024;

pub(crate) struct Sender {
    cluster: Arc<Cluster>,
    config: ProducerConfig,
    clock: Clock,
    partitioner: Partitioner,
    accumulator: Accumulator<PendingRecord>,
    identity: Option<ProducerIdentity>,
    identity_retry_at: Option<Instant>,
    identity_failing_since: Option<Instant>,
    sequences: SequenceTracker,
    retries: Vec<SealedBatch>,
    /// Records of topics whose metadata is being fetched, in send order per topic.
    unplaced: BTreeMap<String, Vec<Unplaced>>,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    commands: mpsc::UnboundedReceiver<Command>,
    flush_waiters: Vec<oneshot::Sender<()>>,
    closing: bool,
}

impl Sender {
    pub(crate) fn new(
        cluster: Arc<Cluster>,
        config: ProducerConfig,
        clock: Clock,
        rng: NodeRng,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Sender {
        let per_partition = if config.idempotence { 1 } else { config.max_in_flight.max(1) };
        let accumulator =
            Accumulator::new(config.batch_size_bytes, Duration::from_millis(config.linger_ms), per_partition);
        let identity = (!config.idempotence).then_some(ProducerIdentity::NONE);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        Sender {
            cluster,
            config,
            clock,
            partitioner: Partitioner::new(rng),
            accumulator,
            identity,
            identity_retry_at: None,
            identity_failing_since: None,
            sequences: SequenceTracker::default(),
            retries: Vec::new(),
            unplaced: BTreeMap::new(),
            events_tx,
            events_rx,
            commands,
            flush_waiters: Vec::new(),
            closing: false,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.dispatch().await;
            self.resolve_flush_waiters();
            if self.closing && self.idle() {
                break;
            }
            let wake = self.next_wakeup();
            tokio::select! {
                biased;
                Some(event) = self.events_rx.recv() => match event {
                    Event::Completion(completion) => self.on_completion(completion),
                    Event::TopicResolved { topic, result } => self.on_topic_resolved(topic, result),
                },
                command = self.commands.recv(), if !self.closing => {
                    self.on_command(command);
                    for _ in 1..COMMANDS_PER_ROUND {
                        match self.commands.try_recv() {
                            Ok(command) => self.on_command(Some(command)),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
        debug!(name: "producer_closed", closed = true);
    }

    fn idle(&self) -> bool {
        self.accumulator.is_empty()
            && self.accumulator.in_flight() == 0
            && self.retries.is_empty()
            && self.unplaced.is_empty()
    }

    fn next_wakeup(&self) -> Instant {
        let retry = self.retries.iter().map(|b| b.retry_at).min();
        [self.accumulator.next_deadline(), retry, self.identity_retry_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| crate::runtime::now() + Duration::from_secs(3600))
    }

    fn resolve_flush_waiters(&mut self) {
        if !self.flush_waiters.is_empty() && self.idle() {
            for done in self.flush_waiters.drain(..) {
                let _ = done.send(());
            }
            self.accumulator.set_flushing(self.closing);
        }
    }

    fn on_command(&mut self, command: Option<Command>) {
        match command {
            Some(Command::Send { record, reply }) => self.on_send(record, reply),
            Some(Command::Flush { done }) => {
                self.flush_waiters.push(done);
                self.accumulator.set_flushing(true);
            }
            None => {
                self.closing = true;
                self.accumulator.set_flushing(true);
            }
        }
    }

    /// Queues the record in its partition's batch, or behind its topic's metadata lookup.
    fn on_send(&mut self, record: ProducerRecord, reply: Reply) {
        let timestamp_ms = record.timestamp_ms.unwrap_or_else(|| self.clock.now_ms());
        let unplaced = Unplaced { record, timestamp_ms, reply };
        if let Some(waiting) = self.unplaced.get_mut(&unplaced.record.topic) {
            waiting.push(unplaced); // behind earlier records of the topic
            return;
        }
        let topic = unplaced.record.topic.clone();
        let known = self.cluster.with_metadata(|m| {
            m.fresh_topic(&topic).filter(|t| t.error_code == code::NONE).map(|t| t.partitions.len() as i32)
        });
        match known {
            Some(partitions) => self.place(unplaced, partitions),
            None => {
                self.unplaced.insert(topic.clone(), vec![unplaced]);
                let cluster = self.cluster.clone();
                let events = self.events_tx.clone();
                let max_block = Duration::from_millis(self.config.max_block_ms);
                crate::runtime::spawn(async move {
                    let result = cluster.wait_for_topic(&topic, max_block).await.map(|t| t.partitions.len() as i32);
                    let _ = events.send(Event::TopicResolved { topic, result });
                });
            }
        }
    }

    fn on_topic_resolved(&mut self, topic: String, result: Result<i32>) {
        let waiting = self.unplaced.remove(&topic).unwrap_or_default();
        for unplaced in waiting {
            match &result {
                Ok(partitions) => self.place(unplaced, *partitions),
                Err(error) => {
                    let _ = unplaced.reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// Picks the record's partition among `partitions` and appends it to its batch.
    fn place(&mut self, unplaced: Unplaced, partitions: i32) {
        let Unplaced { record, timestamp_ms, reply } = unplaced;
        let partition = match record.partition {
            Some(p) if (0..partitions).contains(&p) => p,
            Some(p) => {
                let context = format!("partition {p} of {} ({partitions} partitions)", record.topic);
                let _ = reply.send(Err(ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, context)));
                return;
            }
            None if partitions == 0 => {
                let _ = reply.send(Err(ClientError::kafka(code::LEADER_NOT_AVAILABLE, record.topic)));
                return;
            }
            None => self.partitioner.partition(&record.topic, record.key.as_deref(), partitions),
        };
        let outgoing = OutgoingRecord { key: record.key, value: record.value, headers: record.headers, timestamp_ms };
        let size = outgoing.estimated_size();
        let pending = PendingRecord { record: outgoing, reply };
        self.accumulator.append(TopicPartition::new(record.topic, partition), pending, size, crate::runtime::now());
    }

    /// Seals ready batches and sends them, with due retries, to their leaders.
    async fn dispatch(&mut self) {
        let now = crate::runtime::now();
        if !self.ensure_identity(now).await {
            return;
        }
        let mut ready = Vec::new();
        for (partition, batch) in self.accumulator.drain_ready(now) {
            if let Some(sealed) = self.seal(partition, batch, now) {
                ready.push(sealed);
            }
        }
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.retries).into_iter().partition(|b| b.retry_at <= now);
        self.retries = later;
        ready.extend(due);
        // One request per leader holds at most one batch per partition.
        let mut requests: BTreeMap<i32, Vec<Vec<SealedBatch>>> = BTreeMap::new();
        for mut batch in ready {
            let leader = self.cluster.leader(&batch.partition.topic, batch.partition.partition).await;
            match leader {
                Ok(leader) => {
                    batch.attempts += 1;
                    let groups = requests.entry(leader).or_default();
                    match groups.iter_mut().find(|g| g.iter().all(|b| b.partition != batch.partition)) {
                        Some(group) => group.push(batch),
                        None => groups.push(vec![batch]),
                    }
                }
                Err(error) => {
                    batch.attempts += 1;
                    self.on_failure(batch, error);
                }
            }
        }
        for (leader, groups) in requests {
            for batches in groups {
                let task = produce_to(
                    self.cluster.clone(),
                    leader,
                    batches,
                    self.config.acks,
                    i32::try_from(self.config.request_timeout_ms).unwrap_or(i32::MAX),
                    self.events_tx.clone(),
                );
                crate::runtime::spawn(task);
            }
        }
    }

    /// With idempotence, makes sure a producer id is held before sealing batches.
    async fn ensure_identity(&mut self, now: Instant) -> bool {
        if self.identity.is_some() {
            return true;
        }
        if self.accumulator.is_empty() && self.retries.is_empty() {
            return false; // nothing to send yet
        }
        if self.identity_retry_at.is_some_and(|at| at > now) {
            return false;
        }
        match init_producer_id(&self.cluster).await {
            Ok(identity) => {
                info!(name: "producer_id_assigned", producer_id = identity.producer_id, producer_epoch = identity.producer_epoch);
                self.identity = Some(identity);
                self.sequences.reset();
                self.identity_retry_at = None;
                self.identity_failing_since = None;
                true
            }
            Err(error) => {
                let since = *self.identity_failing_since.get_or_insert(now);
                let expired = now >= since + Duration::from_millis(self.config.delivery_timeout_ms);
                if error.is_retriable() && !expired {
                    self.identity_retry_at = Some(now + Duration::from_millis(self.config.retry_backoff_ms));
                } else {
                    warn!(name: "producer_id_failed", error = %error);
                    self.identity_failing_since = None;
                    for (partition, batch) in self.accumulator.take_all_queued() {
                        fail_replies(batch.items.into_iter().map(|p| p.reply), &partition, &error);
                    }
                }
                false
            }
        }
    }

    fn seal(&mut self, partition: TopicPartition, batch: Batch<PendingRecord>, now: Instant) -> Option<SealedBatch> {
        let identity = self.identity.unwrap_or(ProducerIdentity::NONE);
        let count = batch.items.len() as i32;
        let base_sequence = if self.config.idempotence { self.sequences.assign(&partition, count) } else { -1 };
        let (records, replies): (Vec<_>, Vec<_>) = batch.items.into_iter().map(|p| (p.record, p.reply)).unzip();
        let timestamps = records.iter().map(|r| r.timestamp_ms).collect();
        match encode_batch(&records, identity, base_sequence, self.config.compression) {
            Ok(encoded) => Some(SealedBatch {
                partition,
                replies,
                timestamps,
                encoded,
                attempts: 0,
                created: batch.created,
                retry_at: now,
            }),
            Err(error) => {
                fail_replies(replies.into_iter(), &partition, &error);
                self.accumulator.complete(&partition);
                None
            }
        }
    }

    fn on_completion(&mut self, Completion { batch, result }: Completion) {
        match result {
            Ok(ack) => {
                let partition = batch.partition.clone();
                acknowledge(batch, ack);
                self.accumulator.complete(&partition);
            }
            Err(error) => self.on_failure(batch, error),
        }
    }

    /// Retries a failed batch, or fails its records for good.
    fn on_failure(&mut self, mut batch: SealedBatch, error: ClientError) {
        let now = crate::runtime::now();
        let outcome = classify_produce_error(error.code(), batch.attempts, self.config.retries);
        let expired = now >= batch.created + Duration::from_millis(self.config.delivery_timeout_ms);
        if error.invalidates_metadata() {
            self.cluster.mark_stale(&batch.partition.topic);
        }
        if outcome == BatchOutcome::Retry && !expired {
            debug!(name: "producer_batch_retry", partition = %batch.partition, attempts = batch.attempts, error = %error);
            batch.retry_at = now + Duration::from_millis(self.config.retry_backoff_ms);
            self.retries.push(batch);
            return;
        }
        let partition = batch.partition.clone();
        fail_replies(batch.replies.into_iter(), &partition, &error);
        self.accumulator.complete(&partition);
        if self.config.idempotence {
            // The broker's idea of this partition's next sequence is unknown now: start over
            // with a new producer id, whose sequences all begin at 0.
            self.identity = None;
            self.sequences.reset();
        }
    }
}

fn acknowledge(batch: SealedBatch, ack: PartitionAck) {
    let SealedBatch { partition, replies, timestamps, .. } = batch;
    debug!(
        name: "producer_batch_acked",
        topic = %partition.topic,
        partition = partition.partition,
        base_offset = ack.base_offset,
        records = replies.len()
    );
    for (i, (reply, timestamp)) in replies.into_iter().zip(timestamps).enumerate() {
        let offset = if ack.base_offset >= 0 { ack.base_offset + i as i64 } else { -1 };
        let timestamp = if ack.log_append_time_ms >= 0 { ack.log_append_time_ms } else { timestamp };
        let metadata =
            RecordMetadata { topic: partition.topic.clone(), partition: partition.partition, offset, timestamp };
        let _ = reply.send(Ok(metadata));
    }
}

fn fail_replies(replies: impl Iterator<Item = Reply>, partition: &TopicPartition, error: &ClientError) {
    warn!(name: "producer_batch_failed", partition = %partition, error = %error);
    for reply in replies {
        let _ = reply.send(Err(error.clone()));
    }
}

async fn init_producer_id(cluster: &Cluster) -> Result<ProducerIdentity> {
    let connection = cluster.any_connection().await?;
    let version = connection.version(ApiKey::InitProducerId)?;
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let response = connection.send(&request, version).await?;
    if response.error_code != code::NONE {
        return Err(ClientError::kafka(response.error_code, "InitProducerId"));
    }
    Ok(ProducerIdentity { producer_id: response.producer_id.0, producer_epoch: response.producer_epoch })
}

/// Sends one Produce request to `leader` and reports each batch's outcome.
async fn produce_to(
    cluster: Arc<Cluster>,
    leader: i32,
    batches: Vec<SealedBatch>,
    acks: i16,
    timeout_ms: i32,
    events: mpsc::UnboundedSender<Event>,
) {
    match send_produce(&cluster, leader, &batches, acks, timeout_ms).await {
        Ok(mut results) => {
            for batch in batches {
                let result = results.remove(&batch.partition).unwrap_or_else(|| {
                    Err(ClientError::Protocol(format!("no produce answer for {}", batch.partition)))
                });
                let _ = events.send(Event::Completion(Completion { batch, result }));
            }
        }
        Err(error) => {
            for batch in batches {
                let _ = events.send(Event::Completion(Completion { batch, result: Err(error.clone()) }));
            }
        }
    }
}

async fn send_produce(
    cluster: &Cluster,
    leader: i32,
    batches: &[SealedBatch],
    acks: i16,
    timeout_ms: i32,
) -> Result<HashMap<TopicPartition, Result<PartitionAck>>> {
    let connection = cluster.broker_connection(leader).await?;
    let version = connection.version(ApiKey::Produce)?;
    let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
    for batch in batches {
        let data = PartitionProduceData::default()
            .with_index(batch.partition.partition)
            .with_records(Some(batch.encoded.clone()));
        topics.entry(&batch.partition.topic).or_default().push(data);
    }
    let topic_data = topics
        .into_iter()
        .map(|(topic, partitions)| {
            TopicProduceData::default().with_name(topic_name(topic)).with_partition_data(partitions)
        })
        .collect();
    let request = ProduceRequest::default().with_acks(acks).with_timeout_ms(timeout_ms).with_topic_data(topic_data);
    if acks == 0 {
        connection.send_without_response(&request, version).await?;
        let unknown = PartitionAck { base_offset: -1, log_append_time_ms: -1 };
        return Ok(batches.iter().map(|b| (b.partition.clone(), Ok(unknown))).collect());
    }
    let response = connection.send(&request, version).await?;
    let mut results = HashMap::new();
    for topic in &response.responses {
        for p in &topic.partition_responses {
            let partition = TopicPartition::new(topic.name.0.to_string(), p.index);
            let result = match p.error_code {
                code::NONE | code::DUPLICATE_SEQUENCE_NUMBER => {
                    Ok(PartitionAck { base_offset: p.base_offset, log_append_time_ms: p.log_append_time_ms })
                }
                error_code => Err(ClientError::kafka_with_message(
                    error_code,
                    p.error_message.as_deref(),
                    format!("produce to {partition}"),
                )),
            };
            results.insert(partition, result);
        }
    }
    Ok(results)
}
