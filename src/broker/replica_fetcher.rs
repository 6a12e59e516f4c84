//! A follower's fetcher (Kafka's `ReplicaFetcherThread`): one task per leader broker that
//! fetches every partition this broker follows from that leader, one Fetch (v12, with this
//! broker's id as `replica_id`) per round, and applies each answer to its partition —
//! truncating on divergence, appending, fsyncing before the next fetch acknowledges the
//! records (REPLICATION.md §3.1, §3.10; the partition's core decides).
//!
//! The fetcher is owned by whoever started it (the replica manager, once metadata drives
//! roles), which stops it through its [`FetcherHandle`] and awaits the task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tracing::{debug, warn};

use super::partition::{FollowerRead, Partition};
use crate::client::{Connection, ConnectionConfig};
use crate::runtime::Clock;

/// The Fetch version followers send: the first that carries `diverging_epoch` answers.
const FOLLOWER_FETCH_VERSION: i16 = 12;

/// How a fetcher fetches (Kafka's `replica.fetch.*` keys).
#[derive(Clone, Debug)]
pub struct FetcherConfig {
    /// This broker's `node.id`, sent as `replica_id`.
    pub broker_id: i32,
    /// `replica.fetch.wait.max.ms`.
    pub max_wait_ms: i32,
    /// `replica.fetch.max.bytes`, per partition.
    pub partition_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`.
    pub response_max_bytes: i32,
    /// `replica.fetch.backoff.ms`: the pause after a failed round.
    pub backoff_ms: u64,
}

/// The partitions a fetcher follows and the switch that stops it.
#[derive(Default)]
struct Shared {
    partitions: Mutex<Vec<Arc<Partition>>>,
    stopping: AtomicBool,
}

/// The owner's handle on a running fetcher.
pub struct FetcherHandle {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FetcherHandle {
    /// Starts fetching `partitions` from the leader at `leader_address`.
    pub fn start(config: FetcherConfig, leader_address: String, partitions: Vec<Arc<Partition>>, clock: Clock) -> Self {
        let shared = Arc::new(Shared { partitions: Mutex::new(partitions), stopping: AtomicBool::new(false) });
        let task = crate::runtime::spawn(run(config, leader_address, shared.clone(), clock));
        FetcherHandle { shared, task }
    }

    /// Follows `partition` from now on (after a leader change to this fetcher's leader).
    pub fn add(&self, partition: Arc<Partition>) {
        let mut partitions = self.shared.partitions.lock().unwrap_or_else(|p| p.into_inner());
        if !partitions.iter().any(|p| Arc::ptr_eq(p, &partition)) {
            partitions.push(partition);
        }
    }

    /// Stops following `partition` (it has another leader now, or none). An answer already
    /// in flight for it is ignored by the partition, which checks the fetch's leader epoch.
    /// Returns whether the fetcher follows nothing any more.
    pub fn remove(&self, partition: &Arc<Partition>) -> bool {
        let mut partitions = self.shared.partitions.lock().unwrap_or_else(|p| p.into_inner());
        partitions.retain(|p| !Arc::ptr_eq(p, partition));
        partitions.is_empty()
    }

    /// Stops the fetcher and waits for its task: no answer is applied after this returns.
    pub async fn stop(self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn run(config: FetcherConfig, leader_address: String, shared: Arc<Shared>, clock: Clock) {
    let backoff = Duration::from_millis(config.backoff_ms);
    let mut connection: Option<Connection> = None;
    while !shared.stopping.load(Ordering::Acquire) {
        let conn = match connection.take().filter(|c| !c.is_closed()) {
            Some(conn) => conn,
            None => match Connection::connect(&leader_address, ConnectionConfig::default()).await {
                Ok(conn) => conn,
                Err(error) => {
                    debug!(name: "replica_fetcher_connect_failed", leader = %leader_address, error = %error);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            },
        };
        let partitions: Vec<Arc<Partition>> = shared.partitions.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut asked = Vec::new();
        let mut topics: Vec<FetchTopic> = Vec::new();
        for partition in partitions {
            let Some(fetch) = partition.follower_fetch().await else { continue };
            let request_partition = FetchPartition::default()
                .with_partition(partition.index())
                .with_current_leader_epoch(fetch.current_leader_epoch)
                .with_fetch_offset(fetch.fetch_offset)
                .with_last_fetched_epoch(fetch.last_fetched_epoch)
                .with_log_start_offset(fetch.log_start_offset)
                .with_partition_max_bytes(config.partition_max_bytes);
            match topics.iter_mut().find(|t| t.topic.as_str() == partition.topic()) {
                Some(topic) => topic.partitions.push(request_partition),
                None => topics.push(
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(partition.topic().to_string())))
                        .with_partitions(vec![request_partition]),
                ),
            }
            asked.push((partition, fetch.current_leader_epoch));
        }
        if asked.is_empty() {
            connection = Some(conn);
            tokio::time::sleep(backoff).await;
            continue;
        }
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(config.broker_id))
            .with_max_wait_ms(config.max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(config.response_max_bytes)
            .with_topics(topics);
        let response = match conn.send(&request, FOLLOWER_FETCH_VERSION).await {
            Ok(response) => response,
            Err(error) => {
                warn!(name: "replica_fetch_failed", leader = %leader_address, error = %error);
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let mut any_error = false;
        for topic in response.responses {
            for data in topic.partitions {
                let Some((partition, fetched_in_epoch)) =
                    asked.iter().find(|(p, _)| p.topic() == topic.topic.as_str() && p.index() == data.partition_index)
                else {
                    continue;
                };
                let diverging = (data.diverging_epoch.epoch >= 0)
                    .then_some((data.diverging_epoch.epoch, data.diverging_epoch.end_offset));
                let answer = FollowerRead {
                    error_code: data.error_code,
                    diverging,
                    high_watermark: data.high_watermark,
                    log_start_offset: data.log_start_offset,
                    records: data.records.unwrap_or_default(),
                    alter_partition: None,
                };
                if answer.error_code != 0 {
                    any_error = true;
                    debug!(name: "replica_fetch_partition_error", topic = partition.topic(), partition = partition.index(), code = answer.error_code);
                }
                if let Err(error) = partition.apply_leader_answer(clock.now_ms(), *fetched_in_epoch, &answer).await {
                    any_error = true;
                    warn!(name: "replica_fetch_apply_failed", topic = partition.topic(), partition = partition.index(), error = %error);
                }
            }
        }
        connection = Some(conn);
        if any_error {
            tokio::time::sleep(backoff).await;
        }
    }
}

#[cfg(test)]
#[path = "replica_fetcher_tests.rs"]
mod tests;
