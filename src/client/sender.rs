//! The producer's background task: takes records from `Producer::send`, batches them in the
//! [`Accumulator`], seals ready batches (producer id, base sequence, encoded bytes), sends
//! them to partition leaders, and resolves each record's future from the answers.
//!
//! # Leader changes (as Kafka's Java producer behaves)
//!
//! A retriable error (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
//! UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS[_AFTER_APPEND], REQUEST_TIMED_OUT,
//! KAFKA_STORAGE_ERROR, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH) or a dropped connection
//! sends the batch back to the retry queue: errors that mean stale metadata mark the topic
//! stale, the batch waits an exponential backoff with jitter (KIP-580: `retry_backoff_ms`
//! doubling up to `retry_backoff_max_ms`), and its next attempt looks the leader up afresh
//! — so it goes to the new leader. The metadata cache never moves a leader back to an
//! older epoch (see [`super::metadata`]). Lookups never block the sender: a batch whose
//! leader is unknown waits while a background task refreshes its topic.
//!
//! `delivery_timeout_ms` runs from `send` (the record's batch is as old as its first
//! record). A batch past it fails with the last error it saw: waiting in the accumulator
//! (nothing sent yet: a timeout), waiting for a retry, or in flight (the request is given up
//! at the deadline; the answer, if any, is ignored). Kafka's Java client fails such records
//! with a `TimeoutException` naming the expiry; the last error says more about why.
//!
//! With idempotence, one batch per partition is unresolved at a time, and a retry keeps
//! its bytes — producer id, epoch and base sequence — whichever leader it goes to: the new
//! leader holds the replicated producer state and answers a batch it already has as a
//! duplicate with the original offsets. The next batch of a partition is sealed only after
//! the previous one is resolved, so order holds across retries. See
//! [`super::idempotence`] for epoch bumps (KIP-360).
//!
//! Invariants (checked after every event): a batch is resolved exactly once; with
//! idempotence a partition has at most one batch between sealing and resolution, and a
//! waiting retry that keeps its numbers is the last batch its partition's sequence counted;
//! a sealed batch keeps its bytes through every retry unless its epoch is bumped
//! (`restamp`), which renumbers it as the first batch of the new epoch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::accumulator::{Accumulator, Batch, TopicPartition};
use super::backoff::ExponentialBackoff;
use super::cluster::Cluster;
use super::error::{code, ClientError, Result};
use super::idempotence::{
    classify_produce_error, identity_after_failure, increment_sequence, BatchOutcome, IdentityAfterFailure,
    ProducerIdentity, SequenceTracker,
};
use super::partitioner::Partitioner;
use super::produce_request::{init_producer_id, produce_to};
use super::producer::{ProducerConfig, ProducerRecord, RecordMetadata};
use super::records::{encode_batch, restamp_batch, OutgoingRecord};
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
pub(super) struct SealedBatch {
    pub(super) partition: TopicPartition,
    replies: Vec<Reply>,
    timestamps: Vec<i64>,
    pub(super) encoded: Bytes,
    /// What `encoded` is stamped with (NONE and -1 without idempotence).
    identity: ProducerIdentity,
    base_sequence: i32,
    /// Sends tried so far.
    attempts: u32,
    /// When its records' delivery timeout runs out (counted from the first record's `send`).
    pub(super) deadline: Instant,
    retry_at: Instant,
    last_error: Option<ClientError>,
    /// The producer's epoch was bumped for this batch (KIP-360): renumber it before sending.
    restamp: bool,
    /// The leader a metadata refresh just named, for the next send (the cache may still
    /// call the topic stale, e.g. after a topic-level error).
    leader: Option<i32>,
}

impl SealedBatch {
    fn record_count(&self) -> i32 {
        self.replies.len() as i32
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct PartitionAck {
    pub(super) base_offset: i64,
    pub(super) log_append_time_ms: i64,
}

pub(super) struct Completion {
    pub(super) batch: SealedBatch,
    pub(super) result: Result<PartitionAck>,
    /// The request was given up at a delivery deadline: its error adds nothing to what
    /// the batch saw before.
    pub(super) cut_at_deadline: bool,
}

/// What the sender's own tasks report back.
pub(super) enum Event {
    Completion(Box<Completion>),
    /// A topic's metadata arrived (or never will): its waiting records can be placed.
    TopicResolved {
        topic: String,
        result: Result<i32>,
    },
    /// A refresh of a topic's leaders finished: its batches waiting for a leader can go.
    LeadersRefreshed {
        topic: String,
        result: Result<()>,
    },
}

/// A record waiting for its topic's partition count.
struct Unplaced {
    record: ProducerRecord,
    timestamp_ms: i64,
    /// When `send` took it: its delivery timeout counts from here.
    sent_at: Instant,
    reply: Reply,
}

/// Commands handled between two dispatches, at most.
const COMMANDS_PER_ROUND: usize = 1024;

pub(crate) struct Sender {
    cluster: Arc<Cluster>,
    config: ProducerConfig,
    clock: Clock,
    partitioner: Partitioner,
    backoff: ExponentialBackoff,
    /// Draws the backoff jitter.
    rng: NodeRng,
    accumulator: Accumulator<PendingRecord>,
    /// `None` while an idempotent producer waits for InitProducerId.
    identity: Option<ProducerIdentity>,
    identity_retry_at: Option<Instant>,
    identity_failures: u32,
    sequences: SequenceTracker,
    retries: Vec<SealedBatch>,
    /// Batches whose partition's leader is being looked up (one refresh per topic at a
    /// time, in the background: a refresh that hangs on a dead broker must not stop the
    /// sender).
    awaiting_leader: Vec<SealedBatch>,
    refreshing: BTreeSet<String>,
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
        mut rng: NodeRng,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Sender {
        let per_partition = if config.idempotence { 1 } else { config.max_in_flight.max(1) };
        let accumulator =
            Accumulator::new(config.batch_size_bytes, Duration::from_millis(config.linger_ms), per_partition);
        let identity = (!config.idempotence).then_some(ProducerIdentity::NONE);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let backoff = ExponentialBackoff::new(config.retry_backoff_ms, config.retry_backoff_max_ms);
        let backoff_rng = crate::runtime::fork(&mut rng);
        Sender {
            cluster,
            config,
            clock,
            partitioner: Partitioner::new(rng),
            backoff,
            rng: backoff_rng,
            accumulator,
            identity,
            identity_retry_at: None,
            identity_failures: 0,
            sequences: SequenceTracker::default(),
            retries: Vec::new(),
            awaiting_leader: Vec::new(),
            refreshing: BTreeSet::new(),
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
            self.check_invariants();
            self.resolve_flush_waiters();
            if self.closing && self.idle() {
                break;
            }
            let wake = self.next_wakeup();
            tokio::select! {
                biased;
                Some(event) = self.events_rx.recv() => match event {
                    Event::Completion(completion) => self.on_completion(*completion),
                    Event::TopicResolved { topic, result } => self.on_topic_resolved(topic, result),
                    Event::LeadersRefreshed { topic, result } => self.on_leaders_refreshed(topic, result),
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
            self.check_invariants();
        }
        debug!(name: "producer_closed", closed = true);
    }

    fn idle(&self) -> bool {
        self.accumulator.is_empty()
            && self.accumulator.in_flight() == 0
            && self.retries.is_empty()
            && self.awaiting_leader.is_empty()
            && self.unplaced.is_empty()
    }

    fn delivery_timeout(&self) -> Duration {
        Duration::from_millis(self.config.delivery_timeout_ms)
    }

    fn next_wakeup(&self) -> Instant {
        let retry = self.retries.iter().map(|b| b.retry_at.min(b.deadline));
        let retry = retry.chain(self.awaiting_leader.iter().map(|b| b.deadline)).min();
        let expiry = self.accumulator.oldest_created().map(|created| created + self.delivery_timeout());
        [self.accumulator.next_deadline(), retry, expiry, self.identity_retry_at]
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
        let unplaced = Unplaced { record, timestamp_ms, sent_at: crate::runtime::now(), reply };
        if let Some(waiting) = self.unplaced.get_mut(&unplaced.record.topic) {
            waiting.push(unplaced); // behind earlier records of the topic
            return;
        }
        let topic = unplaced.record.topic.clone();
        // A stale topic (its leaders may have moved) still has its partitions: place the
        // record now; the leader is looked up when its batch is sent. A partition the cache
        // does not know, fresh or stale (the topic may have grown), waits for a refresh, up
        // to `max.block.ms`, as the Java producer's does.
        let asked = unplaced.record.partition;
        let known = self.cluster.with_metadata(|m| {
            m.topic(&topic)
                .filter(|t| t.error_code == code::NONE && !t.partitions.is_empty())
                .map(|t| t.partitions.len() as i32)
                .filter(|&count| match asked {
                    Some(p) => (0..count).contains(&p),
                    None => !m.is_stale(&topic),
                })
        });
        match known {
            Some(partitions) => self.place(unplaced, partitions),
            None => {
                self.unplaced.insert(topic.clone(), vec![unplaced]);
                let cluster = self.cluster.clone();
                let events = self.events_tx.clone();
                let max_block = Duration::from_millis(self.config.max_block_ms);
                crate::runtime::spawn(async move {
                    let result =
                        cluster.wait_for_topic(&topic, asked, max_block).await.map(|t| t.partitions.len() as i32);
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
        let Unplaced { record, timestamp_ms, sent_at, reply } = unplaced;
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
        // A new batch is as old as its first record's send, for linger and delivery timeout.
        self.accumulator.append(TopicPartition::new(record.topic, partition), pending, size, sent_at);
    }

    /// Expires what ran out of time, seals ready batches and sends them, with due retries,
    /// to their leaders.
    async fn dispatch(&mut self) {
        let now = crate::runtime::now();
        self.expire(now);
        let have_identity = self.ensure_identity(now).await;
        let mut ready = Vec::new();
        if have_identity {
            for (partition, batch) in self.accumulator.drain_ready(now) {
                if let Some(sealed) = self.seal(partition, batch) {
                    ready.push(sealed);
                }
            }
        }
        // A batch to renumber waits for the producer's new identity; the others go as they are.
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|b| b.retry_at <= now && (have_identity || !b.restamp));
        self.retries = later;
        ready.extend(due);
        // One request per leader holds at most one batch per partition.
        let mut requests: BTreeMap<i32, Vec<Vec<SealedBatch>>> = BTreeMap::new();
        for mut batch in ready {
            if batch.restamp {
                if let Err(error) = self.restamp(&mut batch) {
                    self.fail_batch(batch, error);
                    continue;
                }
            }
            let partition = &batch.partition;
            let leader = batch.leader.take().or_else(|| {
                self.cluster.cached_leader(&partition.topic, partition.partition).map(|(leader, _)| leader)
            });
            let Some(leader) = leader else {
                self.await_leader(batch);
                continue;
            };
            batch.attempts += 1;
            let groups = requests.entry(leader).or_default();
            match groups.iter_mut().find(|g| g.iter().all(|b| b.partition != batch.partition)) {
                Some(group) => group.push(batch),
                None => groups.push(vec![batch]),
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

    /// Parks a batch until its topic's leaders are refreshed, starting the refresh unless
    /// one is under way.
    fn await_leader(&mut self, batch: SealedBatch) {
        let topic = batch.partition.topic.clone();
        self.awaiting_leader.push(batch);
        if !self.refreshing.insert(topic.clone()) {
            return;
        }
        let cluster = self.cluster.clone();
        let events = self.events_tx.clone();
        crate::runtime::spawn(async move {
            let result = cluster.refresh_metadata(Some(std::slice::from_ref(&topic))).await;
            let _ = events.send(Event::LeadersRefreshed { topic, result });
        });
    }

    /// Sends the topic's waiting batches to the leaders the refresh named; a batch whose
    /// partition still has none counts an attempt and backs off with that error.
    fn on_leaders_refreshed(&mut self, topic: String, result: Result<()>) {
        self.refreshing.remove(&topic);
        let (ours, others): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.awaiting_leader).into_iter().partition(|b| b.partition.topic == topic);
        self.awaiting_leader = others;
        let now = crate::runtime::now();
        for mut batch in ours {
            let (topic, partition) = (&batch.partition.topic, batch.partition.partition);
            let leader = result.clone().and_then(|()| self.cluster.leader_as_last_answered(topic, partition));
            match leader {
                Ok((leader, _)) => {
                    batch.leader = Some(leader);
                    batch.retry_at = now;
                    self.retries.push(batch);
                }
                Err(error) => {
                    batch.attempts += 1;
                    self.on_failure(batch, error);
                }
            }
        }
    }

    /// Fails what reached its delivery deadline before it could be sent (again): waiting
    /// batches with a timeout, waiting retries with their last error.
    fn expire(&mut self, now: Instant) {
        if let Some(cutoff) = now.checked_sub(self.delivery_timeout()) {
            for (partition, batch) in self.accumulator.take_created_before(cutoff) {
                let waited = now.saturating_duration_since(batch.created).as_millis();
                let error = ClientError::Timeout(format!(
                    "{} record(s) for {partition}: {waited} ms passed since send before the batch could be sent",
                    batch.items.len()
                ));
                fail_replies(batch.items.into_iter().map(|p| p.reply), &partition, &error);
            }
        }
        let (mut expired, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.retries).into_iter().partition(|b| b.deadline <= now);
        self.retries = waiting;
        let (expired_awaiting, awaiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.awaiting_leader).into_iter().partition(|b| b.deadline <= now);
        self.awaiting_leader = awaiting;
        expired.extend(expired_awaiting);
        for mut batch in expired {
            let error = batch.last_error.take().unwrap_or_else(|| ClientError::Timeout("delivery timeout".into()));
            self.fail_batch(batch, error);
        }
    }

    /// With idempotence, makes sure a producer id is held before sealing batches. Returns
    /// whether one is held.
    async fn ensure_identity(&mut self, now: Instant) -> bool {
        if self.identity.is_some() {
            return true;
        }
        if self.accumulator.is_empty() && !self.retries.iter().any(|b| b.restamp) {
            return false; // nothing needs one yet
        }
        if self.identity_retry_at.is_some_and(|at| at > now) {
            return false;
        }
        match init_producer_id(&self.cluster).await {
            Ok(identity) => {
                info!(name: "producer_id_assigned", producer_id = identity.producer_id, producer_epoch = identity.producer_epoch);
                self.identity = Some(identity);
                self.identity_retry_at = None;
                self.identity_failures = 0;
                true
            }
            Err(error) if error.is_retriable() => {
                // Waiting batches expire at their own deadlines meanwhile.
                let wait = self.backoff.backoff(self.identity_failures, &mut self.rng);
                self.identity_failures += 1;
                self.identity_retry_at = Some(now + wait);
                false
            }
            Err(error) => {
                warn!(name: "producer_id_failed", error = %error);
                self.identity_retry_at = None;
                self.identity_failures = 0;
                for (partition, batch) in self.accumulator.take_all_queued() {
                    fail_replies(batch.items.into_iter().map(|p| p.reply), &partition, &error);
                }
                let (renumber, keep): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut self.retries).into_iter().partition(|b| b.restamp);
                self.retries = keep;
                for batch in renumber {
                    self.fail_batch(batch, error.clone());
                }
                false
            }
        }
    }

    fn seal(&mut self, partition: TopicPartition, batch: Batch<PendingRecord>) -> Option<SealedBatch> {
        let identity = self.identity.unwrap_or(ProducerIdentity::NONE);
        let count = batch.items.len() as i32;
        let idempotence = self.config.idempotence;
        let base_sequence = if idempotence { self.sequences.peek(&partition, identity) } else { -1 };
        let (records, replies): (Vec<_>, Vec<_>) = batch.items.into_iter().map(|p| (p.record, p.reply)).unzip();
        let timestamps = records.iter().map(|r| r.timestamp_ms).collect();
        match encode_batch(&records, identity, base_sequence, self.config.compression) {
            Ok(encoded) => {
                // Numbers are taken only by a batch that exists: no gap for the broker to see.
                if idempotence {
                    let assigned = self.sequences.assign(&partition, identity, count);
                    assert_eq!(assigned, base_sequence, "{partition}: sequence moved while sealing");
                }
                Some(SealedBatch {
                    partition,
                    replies,
                    timestamps,
                    encoded,
                    identity,
                    base_sequence,
                    attempts: 0,
                    deadline: batch.created + self.delivery_timeout(),
                    retry_at: batch.created,
                    last_error: None,
                    restamp: false,
                    leader: None,
                })
            }
            Err(error) => {
                fail_replies(replies.into_iter(), &partition, &error);
                self.accumulator.complete(&partition);
                None
            }
        }
    }

    /// Renumbers a batch as the next of its partition under the producer's current
    /// identity (the first of a new epoch: sequence 0).
    fn restamp(&mut self, batch: &mut SealedBatch) -> Result<()> {
        let identity = self.identity.expect("restamped only with an identity");
        let base_sequence = self.sequences.assign(&batch.partition, identity, batch.record_count());
        batch.encoded = restamp_batch(&batch.encoded, identity, base_sequence)?;
        info!(
            name: "producer_batch_renumbered",
            partition = %batch.partition,
            producer_id = identity.producer_id,
            producer_epoch = identity.producer_epoch,
            base_sequence,
            old_producer_epoch = batch.identity.producer_epoch,
            old_base_sequence = batch.base_sequence
        );
        batch.identity = identity;
        batch.base_sequence = base_sequence;
        batch.restamp = false;
        Ok(())
    }

    fn on_completion(&mut self, Completion { mut batch, result, cut_at_deadline }: Completion) {
        match result {
            Ok(ack) => {
                let partition = batch.partition.clone();
                acknowledge(batch, ack);
                self.accumulator.complete(&partition);
            }
            Err(_) if cut_at_deadline && batch.last_error.is_some() && crate::runtime::now() >= batch.deadline => {
                let last = batch.last_error.take().expect("checked");
                self.fail_batch(batch, last);
            }
            Err(error) => self.on_failure(batch, error),
        }
    }

    /// Retries a failed batch after a backoff, or fails its records for good.
    fn on_failure(&mut self, mut batch: SealedBatch, error: ClientError) {
        let now = crate::runtime::now();
        if error.invalidates_metadata() {
            self.cluster.mark_stale(&batch.partition.topic);
        }
        let outcome =
            classify_produce_error(error.code(), batch.attempts, self.config.retries, self.config.idempotence);
        let expired = now >= batch.deadline;
        match outcome {
            BatchOutcome::Retry | BatchOutcome::RetryWithNewEpoch if !expired => {
                if outcome == BatchOutcome::RetryWithNewEpoch {
                    self.bump_epoch(batch.identity, &batch.partition, &error);
                    batch.restamp = true;
                }
                let wait = self.backoff.backoff(batch.attempts.saturating_sub(1), &mut self.rng);
                debug!(
                    name: "producer_batch_retry",
                    partition = %batch.partition,
                    attempts = batch.attempts,
                    backoff_ms = wait.as_millis() as u64,
                    error = %error
                );
                batch.retry_at = now + wait;
                batch.last_error = Some(error);
                self.retries.push(batch);
            }
            _ => self.fail_batch(batch, error),
        }
    }

    /// Fails a batch's records for good. A numbered batch leaves its partition's sequence
    /// unknown to the producer: move on to a new epoch or producer id.
    fn fail_batch(&mut self, batch: SealedBatch, error: ClientError) {
        let partition = batch.partition.clone();
        let numbered = self.config.idempotence && batch.base_sequence >= 0 && !batch.restamp;
        let identity = batch.identity;
        fail_replies(batch.replies.into_iter(), &partition, &error);
        self.accumulator.complete(&partition);
        if !numbered {
            return;
        }
        match identity_after_failure(error.code()) {
            IdentityAfterFailure::BumpEpoch => self.bump_epoch(identity, &partition, &error),
            IdentityAfterFailure::NewProducerId if self.identity == Some(identity) => {
                warn!(name: "producer_id_reset", producer_id = identity.producer_id, partition = %partition, error = %error);
                self.identity = None;
                self.sequences.reset();
            }
            IdentityAfterFailure::NewProducerId => {}
        }
    }

    /// Moves the producer to the next epoch of its producer id, once per identity: batches
    /// stamped before an earlier bump need no further one (their partitions start over at
    /// the current epoch anyway). Past `i16::MAX`, asks for a new producer id.
    fn bump_epoch(&mut self, stamped: ProducerIdentity, partition: &TopicPartition, error: &ClientError) {
        if self.identity != Some(stamped) {
            return;
        }
        self.identity = stamped.bumped();
        if self.identity.is_none() {
            self.sequences.reset();
        }
        info!(
            name: "producer_epoch_bumped",
            producer_id = stamped.producer_id,
            producer_epoch = stamped.producer_epoch.saturating_add(1),
            partition = %partition,
            error = %error
        );
    }

    /// Asserts the invariants listed in the module docs that the sender's own state shows.
    fn check_invariants(&self) {
        if !self.config.idempotence {
            return;
        }
        let mut seen = BTreeSet::new();
        for batch in self.retries.iter().chain(&self.awaiting_leader) {
            assert!(seen.insert(&batch.partition), "{}: two unresolved batches with idempotence", batch.partition);
            assert!(
                self.accumulator.in_flight_of(&batch.partition) == 1,
                "{}: retry not counted in flight",
                batch.partition
            );
            if batch.restamp {
                continue;
            }
            assert!(
                batch.identity.producer_id >= 0 && batch.base_sequence >= 0,
                "{}: unnumbered batch",
                batch.partition
            );
            if let Some(numbering) = self.sequences.partition(&batch.partition).filter(|n| n.identity == batch.identity)
            {
                let after = increment_sequence(batch.base_sequence, batch.record_count());
                assert_eq!(
                    numbering.next_sequence, after,
                    "{}: a waiting retry at sequence {} is not the last batch numbered",
                    batch.partition, batch.base_sequence
                );
            }
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

#[cfg(test)]
#[path = "sender_tests.rs"]
mod tests;
