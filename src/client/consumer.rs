//! A simple consumer: partitions are assigned by the caller (no groups yet), each with a
//! start (earliest, latest or an offset); `poll` fetches from every assigned partition's
//! leader at once and returns the records in partition order.
//!
//! A new position is looked up with ListOffsets on the first poll. OFFSET_OUT_OF_RANGE
//! resets the position by `auto_offset_reset` (or fails with `None`). Leadership errors
//! mark the topic's metadata stale; the next round asks the new leader.
//!
//! Leader changes (KIP-320): every fetch carries the partition's leader epoch from the
//! metadata as `current_leader_epoch`, so a broker that is no longer the leader at that
//! epoch refuses it (FENCED_LEADER_EPOCH when the client is behind, UNKNOWN_LEADER_EPOCH
//! when the broker is). NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH
//! and a dropped connection mark the metadata stale and keep the position: the next round
//! fetches the same offset from the new leader. An OFFSET_OUT_OF_RANGE after the leader
//! epoch moved (the new leader's log was truncated below the position) follows
//! `auto_offset_reset` like any other, and is logged with both epochs.
//!
//! Kafka's Java consumer also validates its position after a leader change with
//! OffsetsForLeaderEpoch and detects truncation precisely (KIP-320's
//! `LogTruncationException`). This consumer does not yet (the broker now serves
//! OffsetForLeaderEpoch; validating with it is the next step), and a position above the new log end surfaces as
//! OFFSET_OUT_OF_RANGE. A truncation that leaves the position inside the new log (records
//! replaced below it) goes unnoticed, as with a Java consumer that has no committed epoch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse};
use kafka_protocol::records::TimestampType;
use tracing::{debug, warn};

use super::accumulator::TopicPartition;
use super::cluster::Cluster;
use super::connection::ConnectionConfig;
use super::error::{code, ClientError, Result};
use super::list_offsets::{list_offsets, IsolationLevel, OffsetSpec};
use super::metadata::topic_name;
use super::records::{decode_fetched, AbortedTransaction, Header};

/// How the consumer fetches (Kafka's consumer configs, in Rust units).
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub client_id: String,
    pub fetch_min_bytes: i32,
    pub fetch_max_wait_ms: i32,
    pub fetch_max_bytes: i32,
    pub max_partition_fetch_bytes: i32,
    pub isolation_level: IsolationLevel,
    pub auto_offset_reset: OffsetReset,
    pub request_timeout_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            client_id: "seedlog-consumer".to_owned(),
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            fetch_max_bytes: 50 * 1024 * 1024,
            max_partition_fetch_bytes: 1024 * 1024,
            isolation_level: IsolationLevel::ReadUncommitted,
            auto_offset_reset: OffsetReset::Latest,
            request_timeout_ms: 30_000,
        }
    }
}

/// Where an assigned partition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    Earliest,
    Latest,
    Offset(i64),
}

/// What to do when the position is out of the log's range (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    /// Fail the poll with OFFSET_OUT_OF_RANGE.
    None,
}

/// A record read by the consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone)]
struct PartitionState {
    start: StartOffset,
    position: Option<i64>,
    high_watermark: Option<i64>,
    /// The leader epoch the last answered fetch was sent with (-1 before any).
    fetched_leader_epoch: i32,
}

/// An assign-based consumer.
pub struct Consumer {
    cluster: Arc<Cluster>,
    config: ConsumerConfig,
    partitions: BTreeMap<TopicPartition, PartitionState>,
}

impl Consumer {
    /// A consumer for the cluster at `bootstrap` (`host:port[,...]`). Connects lazily.
    pub fn new(bootstrap: &str, config: ConsumerConfig) -> Result<Consumer> {
        let timeout = Duration::from_millis(config.request_timeout_ms);
        // A fetch waits up to fetch_max_wait_ms at the broker before answering.
        let request_timeout = timeout + Duration::from_millis(config.fetch_max_wait_ms.max(0) as u64);
        let connection =
            ConnectionConfig { client_id: config.client_id.clone(), request_timeout, ..ConnectionConfig::default() };
        Ok(Consumer { cluster: Cluster::new(bootstrap, connection)?, config, partitions: BTreeMap::new() })
    }

    /// Adds `partitions` of `topic` to the assignment, each starting at `start`.
    pub fn assign(&mut self, topic: &str, partitions: &[i32], start: StartOffset) {
        for &partition in partitions {
            let state = PartitionState { start, position: None, high_watermark: None, fetched_leader_epoch: -1 };
            self.partitions.insert(TopicPartition::new(topic, partition), state);
        }
    }

    /// Assigns every partition of `topic`; returns them.
    pub async fn assign_all(&mut self, topic: &str, start: StartOffset) -> Result<Vec<i32>> {
        let info = self.cluster.topic(topic).await?;
        let partitions: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
        self.assign(topic, &partitions, start);
        Ok(partitions)
    }

    pub fn unassign(&mut self, partition: &TopicPartition) {
        self.partitions.remove(partition);
    }

    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    /// The offset of the next record `poll` returns for `partition`, once known.
    pub fn position(&self, partition: &TopicPartition) -> Option<i64> {
        self.partitions.get(partition).and_then(|s| s.position)
    }

    /// The partition's high watermark from the latest fetch.
    pub fn high_watermark(&self, partition: &TopicPartition) -> Option<i64> {
        self.partitions.get(partition).and_then(|s| s.high_watermark)
    }

    /// Moves an assigned partition's position.
    pub fn seek(&mut self, partition: &TopicPartition, start: StartOffset) {
        if let Some(state) = self.partitions.get_mut(partition) {
            state.start = start;
            state.position = None;
        }
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Fetches until some records arrive or `max_wait` passes (then returns none).
    pub async fn poll(&mut self, max_wait: Duration) -> Result<Vec<ConsumerRecord>> {
        let deadline = crate::runtime::now() + max_wait;
        loop {
            self.resolve_positions().await?;
            let remaining = deadline.saturating_duration_since(crate::runtime::now());
            let wait_ms = (remaining.as_millis() as i32).min(self.config.fetch_max_wait_ms).max(0);
            let (records, progressed) = self.fetch_round(wait_ms).await?;
            if !records.is_empty() || crate::runtime::now() >= deadline {
                return Ok(records);
            }
            if !progressed {
                let backoff =
                    self.cluster.retry_backoff().min(deadline.saturating_duration_since(crate::runtime::now()));
                tokio::time::sleep(backoff).await;
            }
        }
    }

    /// Looks up positions for partitions that start at earliest or latest.
    async fn resolve_positions(&mut self) -> Result<()> {
        let mut lookups: BTreeMap<(String, bool), Vec<i32>> = BTreeMap::new();
        for (tp, state) in &mut self.partitions {
            match (state.position, state.start) {
                (Some(_), _) => {}
                (None, StartOffset::Offset(offset)) => state.position = Some(offset),
                (None, StartOffset::Earliest) => {
                    lookups.entry((tp.topic.clone(), true)).or_default().push(tp.partition)
                }
                (None, StartOffset::Latest) => lookups.entry((tp.topic.clone(), false)).or_default().push(tp.partition),
            }
        }
        for ((topic, earliest), partitions) in lookups {
            let spec = if earliest { OffsetSpec::Earliest } else { OffsetSpec::Latest };
            let listed = list_offsets(&self.cluster, &topic, &partitions, spec, self.config.isolation_level).await?;
            for offset in listed {
                if let Some(state) = self.partitions.get_mut(&TopicPartition::new(topic.clone(), offset.partition)) {
                    debug!(name: "consumer_position_reset", topic = %topic, partition = offset.partition, earliest, offset = offset.offset);
                    state.position = Some(offset.offset);
                }
            }
        }
        Ok(())
    }

    /// One fetch from every leader at once. Returns the records and whether any partition
    /// got an answer without error.
    async fn fetch_round(&mut self, wait_ms: i32) -> Result<(Vec<ConsumerRecord>, bool)> {
        let mut by_leader: BTreeMap<i32, Vec<FetchAt>> = BTreeMap::new();
        for (tp, state) in &self.partitions {
            let Some(position) = state.position else { continue };
            match self.cluster.leader_and_epoch(&tp.topic, tp.partition).await {
                Ok((leader, leader_epoch)) => {
                    by_leader.entry(leader).or_default().push(FetchAt { tp: tp.clone(), position, leader_epoch })
                }
                Err(error) if error.is_retriable() => self.cluster.mark_stale(&tp.topic),
                Err(error) => return Err(error),
            }
        }
        let mut calls = Vec::new();
        for (leader, partitions) in by_leader {
            let request = self.fetch_request(&partitions, wait_ms);
            let cluster = self.cluster.clone();
            let call = crate::runtime::spawn(async move { fetch_from(&cluster, leader, request).await });
            calls.push((leader, partitions, call));
        }
        let mut records = Vec::new();
        let mut progressed = false;
        // Positions move as partitions are taken: an error after some were taken must not
        // drop their records (the application would never see them). The error waits for
        // the next poll, which meets it again.
        let mut failure = None;
        for (leader, partitions, call) in calls {
            let response = match call.await {
                Ok(Ok(response)) => response,
                Ok(Err(error)) if error.is_retriable() => {
                    // A dropped connection or a timeout: positions stay, the leader is asked anew.
                    debug!(name: "consumer_fetch_failed", leader, error = %error);
                    partitions.iter().for_each(|at| self.cluster.mark_stale(&at.tp.topic));
                    continue;
                }
                Ok(Err(error)) => {
                    failure = Some(error);
                    break;
                }
                Err(join_error) => {
                    failure = Some(ClientError::Connection(format!("fetch task: {join_error}")));
                    break;
                }
            };
            if response.error_code != code::NONE {
                failure = Some(ClientError::kafka(response.error_code, "Fetch"));
                break;
            }
            for topic in &response.responses {
                for data in &topic.partitions {
                    let tp = TopicPartition::new(topic.topic.0.to_string(), data.partition_index);
                    let Some(at) = partitions.iter().find(|at| at.tp == tp) else { continue };
                    match self.take_partition(at, leader, data, &mut records) {
                        Ok(taken) => progressed |= taken,
                        Err(error) => failure = failure.or(Some(error)),
                    }
                }
            }
            if failure.is_some() {
                break;
            }
        }
        match failure {
            Some(error) if records.is_empty() => Err(error),
            Some(error) => {
                debug!(name: "consumer_fetch_error_deferred", error = %error, records = records.len());
                Ok((records, progressed))
            }
            None => Ok((records, progressed)),
        }
    }

    fn fetch_request(&self, partitions: &[FetchAt], wait_ms: i32) -> FetchRequest {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for at in partitions {
            let partition = FetchPartition::default()
                .with_partition(at.tp.partition)
                .with_fetch_offset(at.position)
                .with_current_leader_epoch(at.leader_epoch)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(self.config.max_partition_fetch_bytes);
            topics.entry(&at.tp.topic).or_default().push(partition);
        }
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(wait_ms)
            .with_min_bytes(self.config.fetch_min_bytes)
            .with_max_bytes(self.config.fetch_max_bytes)
            .with_isolation_level(self.config.isolation_level.wire())
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        FetchTopic::default().with_topic(topic_name(topic)).with_partitions(partitions)
                    })
                    .collect(),
            )
    }

    /// Applies one partition's fetch answer; returns whether it was free of errors.
    fn take_partition(
        &mut self,
        at: &FetchAt,
        leader: i32,
        data: &PartitionData,
        records: &mut Vec<ConsumerRecord>,
    ) -> Result<bool> {
        let (tp, fetched_at) = (&at.tp, at.position);
        let reset = self.config.auto_offset_reset;
        let Some(state) = self.partitions.get_mut(tp) else { return Ok(false) };
        if state.position != Some(fetched_at) {
            return Ok(false); // sought meanwhile
        }
        match data.error_code {
            code::NONE => {}
            code::OFFSET_OUT_OF_RANGE => {
                let previous_leader_epoch = state.fetched_leader_epoch;
                if previous_leader_epoch != at.leader_epoch {
                    warn!(
                        name: "consumer_offset_out_of_range_after_leader_change",
                        partition = %tp,
                        offset = fetched_at,
                        leader,
                        leader_epoch = at.leader_epoch,
                        previous_leader_epoch,
                        reset = ?reset
                    );
                } else {
                    debug!(name: "consumer_offset_out_of_range", partition = %tp, offset = fetched_at, reset = ?reset);
                }
                state.fetched_leader_epoch = at.leader_epoch;
                state.position = None;
                state.start = match reset {
                    OffsetReset::Earliest => StartOffset::Earliest,
                    OffsetReset::Latest => StartOffset::Latest,
                    OffsetReset::None => {
                        return Err(ClientError::kafka(
                            code::OFFSET_OUT_OF_RANGE,
                            format!("fetch {tp} at {fetched_at}"),
                        ));
                    }
                };
                return Ok(false);
            }
            error_code
                if super::error::invalidates_metadata(error_code) || super::error::is_retriable_code(error_code) =>
            {
                debug!(
                    name: "consumer_fetch_partition_error",
                    partition = %tp,
                    leader,
                    leader_epoch = at.leader_epoch,
                    error_code
                );
                self.cluster.mark_stale(&tp.topic);
                return Ok(false);
            }
            error_code => return Err(ClientError::kafka(error_code, format!("fetch {tp}"))),
        }
        state.high_watermark = Some(data.high_watermark);
        state.fetched_leader_epoch = at.leader_epoch;
        let aborted: Vec<AbortedTransaction> = data
            .aborted_transactions
            .iter()
            .flatten()
            .map(|t| AbortedTransaction { producer_id: t.producer_id.0, first_offset: t.first_offset })
            .collect();
        let read_committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
        let bytes = data.records.clone().unwrap_or_default();
        let decoded = decode_fetched(bytes, fetched_at, read_committed, &aborted)?;
        debug!(
            name: "consumer_fetched",
            partition = %tp,
            fetched_at,
            next_offset = decoded.next_offset.unwrap_or(-1),
            records = decoded.records.len(),
            high_watermark = data.high_watermark
        );
        if let Some(next) = decoded.next_offset {
            state.position = Some(next.max(fetched_at));
        }
        records.extend(decoded.records.into_iter().map(|r| ConsumerRecord {
            topic: tp.topic.clone(),
            partition: tp.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: r.timestamp_type,
            key: r.key,
            value: r.value,
            headers: r.headers,
            leader_epoch: r.leader_epoch,
        }));
        Ok(true)
    }

    /// Closes the consumer's connections.
    pub fn close(self) {
        self.cluster.close();
    }
}

/// One partition of a fetch: where it reads, and the leader epoch it expects.
#[derive(Debug, Clone)]
struct FetchAt {
    tp: TopicPartition,
    position: i64,
    leader_epoch: i32,
}

async fn fetch_from(cluster: &Cluster, leader: i32, request: FetchRequest) -> Result<FetchResponse> {
    let connection = cluster.broker_connection(leader).await?;
    let version = connection.version(ApiKey::Fetch)?;
    connection.send(&request, version).await
}
