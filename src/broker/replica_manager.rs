//! The layer between request handlers and partitions (Kafka's `ReplicaManager`): appends
//! records to the partitions this broker leads, waits for acks=all to be answerable
//! (Kafka's DelayedProduce), and reads for fetches with long polling (DelayedFetch).
//! Handlers only translate between the wire and these calls; the partitions' cores decide.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use super::config::{BrokerConfig, TimestampType};
use super::errors::log_error_code;
use super::partition::{AppendError, Partition};
use super::topics::Topics;
use crate::runtime::{BuggifyPoint, Clock, FaultPoints};
use crate::storage::record_batch::{self, peek_size};

/// A Kafka error code and its message, for one partition of an answer.
pub type PartitionError = (i16, String);

/// One partition's records, appended as leader.
#[derive(Clone, Debug)]
pub struct Appended {
    pub partition: Arc<Partition>,
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker's append time with `LogAppendTime`, else -1.
    pub log_append_time_ms: i64,
    pub log_start_offset: i64,
    /// The leader epoch the records were written in: an acks=all answer waits in it.
    pub leader_epoch: i32,
}

/// What a fetch asks of one partition.
#[derive(Clone, Copy, Debug)]
pub struct FetchTarget {
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    /// The leader epoch the consumer believes current (KIP-320); -1: no check.
    pub current_leader_epoch: i32,
}

/// What a fetch read from one partition.
#[derive(Clone, Debug)]
pub struct FetchedPartition {
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub result: Result<Bytes, i16>,
}

/// What a follower asks of one partition (Fetch v12 with a replica id).
#[derive(Clone, Copy, Debug)]
pub struct FollowerTarget {
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
    pub last_fetched_epoch: i32,
    pub log_start_offset: i64,
}

/// The broker's partitions, as produce and fetch see them.
///
/// Invariants: every AlterPartition a partition's core proposed is in `alter_partitions`
/// until the controller channel takes it (one per partition in flight, the core's rule).
#[derive(Debug)]
pub struct ReplicaManager {
    topics: Arc<Topics>,
    config: Arc<BrokerConfig>,
    clock: Clock,
    /// ISR changes proposed by leaders, with their partitions, for the controller channel
    /// to send.
    alter_partitions: std::sync::Mutex<Vec<(Arc<Partition>, crate::replication::AlterPartitionRequest)>>,
    /// The node's buggify points: follower answers emptied, cut short or late; early rolls.
    fault_points: FaultPoints,
}

impl ReplicaManager {
    pub fn new(topics: Arc<Topics>, config: Arc<BrokerConfig>, clock: Clock, fault_points: FaultPoints) -> Self {
        let alter_partitions = std::sync::Mutex::new(Vec::new());
        ReplicaManager { topics, config, clock, alter_partitions, fault_points }
    }

    /// Ticks every partition's replica core; ISR changes they propose join the outbox.
    pub async fn tick(&self) {
        for topic in self.topics.all().await {
            for partition in topic.partitions.values() {
                if let Some(proposal) = partition.tick().await {
                    self.alter_partitions.lock().unwrap_or_else(|p| p.into_inner()).push((partition.clone(), proposal));
                }
            }
        }
    }

    /// The ISR changes leaders proposed since the last call, oldest first.
    pub fn take_alter_partitions(&self) -> Vec<(Arc<Partition>, crate::replication::AlterPartitionRequest)> {
        std::mem::take(&mut *self.alter_partitions.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A follower's fetch (REPLICATION.md §3.2) of `replica_id`, whose broker epoch is
    /// `replica_epoch` (-1 when the request carries none: Fetch below v15). Long-polls on
    /// new appends until `min_bytes` are ready, an error, or `max_wait`.
    pub async fn fetch_for_follower(
        &self,
        replica_id: i32,
        replica_epoch: i64,
        targets: &[(Option<Arc<Partition>>, FollowerTarget)],
        max_wait: Duration,
        min_bytes: i32,
        max_bytes: i32,
    ) -> Vec<crate::broker::partition::FollowerRead> {
        let deadline = crate::runtime::now() + max_wait;
        let partitions: Vec<&Partition> = targets.iter().filter_map(|(p, _)| p.as_deref()).collect();
        loop {
            let appended = armed(partitions.iter().map(|p| p.data_appended()));
            let mut remaining = i64::from(max_bytes.max(0));
            let (mut total, mut any_error, mut reads) = (0i64, false, Vec::with_capacity(targets.len()));
            for (partition, target) in targets {
                let Some(partition) = partition else {
                    any_error = true;
                    let error_code = ResponseError::UnknownTopicOrPartition.code();
                    reads.push(crate::broker::partition::FollowerRead { error_code, ..Default::default() });
                    continue;
                };
                let fetch = crate::replication::FollowerFetch {
                    replica_id,
                    replica_epoch,
                    fetch_offset: target.fetch_offset,
                    last_fetched_epoch: target.last_fetched_epoch,
                    current_leader_epoch: target.current_leader_epoch,
                    log_start_offset: target.log_start_offset,
                };
                let max = i64::from(target.partition_max_bytes.max(0)).min(remaining).max(0) as usize;
                let read = partition.read_for_follower(fetch, max).await;
                if let Some(request) = &read.alter_partition {
                    let proposal = (partition.clone(), request.clone());
                    self.alter_partitions.lock().unwrap_or_else(|p| p.into_inner()).push(proposal);
                }
                any_error |= read.error_code != 0 || read.diverging.is_some();
                total += read.records.len() as i64;
                remaining -= read.records.len() as i64;
                reads.push(read);
            }
            let now = crate::runtime::now();
            if total >= i64::from(min_bytes) || any_error || now >= deadline || appended.is_empty() {
                return self.buggify_follower_answer(reads).await;
            }
            if !notified_before(appended, deadline).await {
                // Time is up: answer with what the last pass read (nothing new arrived).
                return self.buggify_follower_answer(reads).await;
            }
        }
    }

    /// The buggify points of a follower's answer: it may leave late, and each partition's
    /// records may be dropped or cut to their first batch. All are answers a leader may give
    /// (nothing new yet, `partition_max_bytes` reached, a slow leader); the follower asks
    /// again from where it got to.
    async fn buggify_follower_answer(
        &self,
        mut reads: Vec<crate::broker::partition::FollowerRead>,
    ) -> Vec<crate::broker::partition::FollowerRead> {
        if let Some(delay) = self.fault_points.delay(BuggifyPoint::FetchAnsweredLate) {
            tokio::time::sleep(delay).await;
        }
        for read in reads.iter_mut().filter(|r| !r.records.is_empty()) {
            if self.fault_points.fires(BuggifyPoint::FetchAnsweredEmpty) {
                read.records = Bytes::new();
            } else if self.fault_points.fires(BuggifyPoint::FetchCutShort) {
                if let Some(Ok(first)) = peek_size(&read.records) {
                    read.records = read.records.slice(..first.min(read.records.len()));
                }
            }
        }
        reads
    }

    /// The partition, if this broker hosts it.
    pub async fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.topics.partition(topic, index).await
    }

    /// The hosted partitions of `topic` named by `indexes`, in their order (`None` for each
    /// one not hosted): one topic lookup for a whole request's partitions of it.
    pub async fn partitions(&self, topic: &str, indexes: impl Iterator<Item = i32>) -> Vec<Option<Arc<Partition>>> {
        let found = self.topics.get(topic).await;
        indexes.map(|index| found.as_ref().and_then(|t| t.partition(index))).collect()
    }

    /// Validates one partition's records (one batch, within `segment.bytes`) and appends
    /// them as leader, stamping the broker's time for `LogAppendTime` topics.
    pub async fn append(
        &self,
        topic_name: &str,
        index: i32,
        records: Option<Bytes>,
        acks: i16,
    ) -> Result<Appended, PartitionError> {
        let topic = self.topics.get(topic_name).await.ok_or_else(|| unknown(topic_name, index))?;
        let partition = topic.partition(index).ok_or_else(|| unknown(topic_name, index))?;
        let records = records.unwrap_or_default();
        check_one_batch(&records)?;
        let log_config = topic.config.log_config(&self.config);
        if records.len() as u64 > log_config.segment_bytes {
            let message =
                format!("batch of {} bytes is larger than segment.bytes {}", records.len(), log_config.segment_bytes);
            return Err((ResponseError::RecordListTooLarge.code(), message));
        }
        let now_ms = self.clock.now_ms();
        let (records, log_append_time_ms) = match topic.config.message_timestamp_type(&self.config) {
            TimestampType::LogAppendTime => {
                let mut stamped = BytesMut::from(&records[..]);
                record_batch::parse_batch(&stamped, stamped.len(), record_batch::CrcCheck::Verify)
                    .map_err(|e| (ResponseError::CorruptMessage.code(), e.to_string()))?;
                record_batch::set_log_append_time(&mut stamped, now_ms);
                (stamped.freeze(), now_ms)
            }
            TimestampType::CreateTime => (records, -1),
        };
        if self.fault_points.fires(BuggifyPoint::SegmentRolledEarly) {
            // A roll the segment's size and age did not call for (a failure takes the log
            // offline, and the append below reports it).
            let _ = partition.log().await.roll(now_ms).await;
        }
        let appended = partition.append_as_leader(now_ms, records, acks).await.map_err(append_error)?;
        // A duplicate is answered with its original batch's timestamp in this field, even on a
        // CreateTime topic: Kafka's rule (its `LogAppendInfo` of a duplicate), seen by the
        // differential test.
        let log_append_time_ms = if appended.info.duplicate { appended.info.max_timestamp } else { log_append_time_ms };
        Ok(Appended {
            partition: partition.clone(),
            base_offset: appended.info.first_offset,
            last_offset: appended.info.last_offset,
            log_append_time_ms,
            log_start_offset: appended.log_start_offset,
            leader_epoch: appended.leader_epoch,
        })
    }

    /// Waits until an acks=all append may be answered, or `deadline` (REQUEST_TIMED_OUT).
    pub async fn wait_for_ack(appended: &Appended, deadline: Instant) -> Result<(), PartitionError> {
        let left = deadline.saturating_duration_since(crate::runtime::now());
        let waited = appended.partition.wait_for_ack(appended.leader_epoch, appended.last_offset);
        match tokio::time::timeout(left, waited).await {
            Ok(Ok(())) => {
                appended.partition.report_acked(appended.base_offset, appended.last_offset);
                Ok(())
            }
            Ok(Err(error)) => Err(append_error(error)),
            Err(_) => Err((ResponseError::RequestTimedOut.code(), "records not replicated within timeout.ms".into())),
        }
    }

    /// Reads every target once: per partition its data or error, plus the bytes read and
    /// whether any partition answered with an error. KIP-74: the first batch of the whole
    /// answer comes back even when larger than the caps.
    async fn read_once(
        &self,
        targets: &[(Option<Arc<Partition>>, FetchTarget)],
        max_bytes: i32,
    ) -> (Vec<FetchedPartition>, i64, bool) {
        let mut remaining = i64::from(max_bytes.max(0));
        let mut total = 0i64;
        let mut any_error = false;
        let mut out = Vec::with_capacity(targets.len());
        for (partition, target) in targets {
            let Some(partition) = partition else {
                any_error = true;
                let code = ResponseError::UnknownTopicOrPartition.code();
                out.push(FetchedPartition { high_watermark: -1, log_start_offset: -1, result: Err(code) });
                continue;
            };
            if let Err(code) = partition.check_leader_epoch(target.current_leader_epoch) {
                any_error = true;
                let high_watermark = partition.high_watermark();
                out.push(FetchedPartition { high_watermark, log_start_offset: -1, result: Err(code) });
                continue;
            }
            let max = i64::from(target.partition_max_bytes.max(0)).min(remaining).max(0) as usize;
            match partition.read_for_fetch(target.fetch_offset, max, total == 0).await {
                Ok(read) => {
                    total += read.records.len() as i64;
                    remaining -= read.records.len() as i64;
                    out.push(FetchedPartition {
                        high_watermark: read.high_watermark,
                        log_start_offset: read.log_start_offset,
                        result: Ok(read.records),
                    });
                }
                Err(error) => {
                    any_error = true;
                    let high_watermark = partition.high_watermark();
                    out.push(FetchedPartition {
                        high_watermark,
                        log_start_offset: -1,
                        result: Err(log_error_code(&error)),
                    });
                }
            }
        }
        (out, total, any_error)
    }

    /// A consumer's fetch: reads below each partition's high watermark, long-polling until
    /// `min_bytes` are ready, an error, or `max_wait` (Kafka's DelayedFetch). A move of any
    /// target's high watermark wakes the wait.
    pub async fn fetch(
        &self,
        targets: &[(Option<Arc<Partition>>, FetchTarget)],
        max_wait: Duration,
        min_bytes: i32,
        max_bytes: i32,
    ) -> Vec<FetchedPartition> {
        let deadline = crate::runtime::now() + max_wait;
        let partitions: Vec<&Partition> = targets.iter().filter_map(|(p, _)| p.as_deref()).collect();
        loop {
            let moved = armed(partitions.iter().map(|p| p.high_watermark_moved()));
            let (read, bytes, any_error) = self.read_once(targets, max_bytes).await;
            let now = crate::runtime::now();
            if bytes >= i64::from(min_bytes) || any_error || now >= deadline || moved.is_empty() {
                return read;
            }
            if !notified_before(moved, deadline).await {
                return self.read_once(targets, max_bytes).await.0;
            }
        }
    }
}

/// Futures for the next notifications, registered now: one that comes before the wait (while
/// the long poll reads, say) is not missed.
fn armed<'a>(notified: impl Iterator<Item = Notified<'a>>) -> Vec<Pin<Box<Notified<'a>>>> {
    notified
        .map(|n| {
            let mut n = Box::pin(n);
            n.as_mut().enable();
            n
        })
        .collect()
}

/// Waits until any of `armed` is notified (true) or `deadline` passes (false): the wait of
/// a long poll, for consumers and followers alike.
async fn notified_before(mut armed: Vec<Pin<Box<Notified<'_>>>>, deadline: Instant) -> bool {
    let any = std::future::poll_fn(|cx| {
        for notified in armed.iter_mut() {
            if notified.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    });
    tokio::time::timeout(deadline.saturating_duration_since(crate::runtime::now()), any).await.is_ok()
}

fn append_error(error: AppendError) -> PartitionError {
    let code = match &error {
        AppendError::Replica(e) => e.code(),
        AppendError::Log(e) => log_error_code(e),
    };
    (code, error.to_string())
}

fn unknown(topic: &str, index: i32) -> PartitionError {
    (ResponseError::UnknownTopicOrPartition.code(), format!("This server does not host {topic}-{index}."))
}

/// Produce v3+ carries exactly one record batch per partition (Kafka's LogValidator).
fn check_one_batch(records: &Bytes) -> Result<(), PartitionError> {
    let invalid = |why: &str| Err((ResponseError::InvalidRecord.code(), why.to_string()));
    match peek_size(records) {
        None => invalid("the partition's records are empty"),
        Some(Err(e)) => Err((ResponseError::CorruptMessage.code(), e.to_string())),
        Some(Ok(size)) if size < records.len() => {
            invalid("a produce request must carry exactly one record batch per partition")
        }
        Some(Ok(_)) => Ok(()),
    }
}
