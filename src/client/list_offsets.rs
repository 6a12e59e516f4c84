//! ListOffsets: a partition's earliest or latest offset, the first offset at or after a
//! timestamp, or the offset of its largest timestamp. Shared by the consumer (to place a
//! new position) and the admin client. Each request goes to the partition's leader;
//! leadership errors refresh the metadata and try again.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, ListOffsetsRequest};

use super::cluster::Cluster;
use super::error::{ClientError, Result};
use super::metadata::topic_name;

/// Which offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the high watermark under read_uncommitted).
    Latest,
    /// The offset of the record with the largest timestamp (ListOffsets v7+).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this (ms).
    Timestamp(i64),
}

impl OffsetSpec {
    /// The timestamp field Kafka uses to ask for this spec.
    pub fn wire_timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(ms) => ms,
        }
    }
}

/// Isolation level: what a reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    #[default]
    ReadUncommitted,
    ReadCommitted,
}

impl IsolationLevel {
    pub fn wire(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// One partition's answer. `offset` is -1 when no record matches a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: i32,
}

const ATTEMPTS: usize = 5;

/// Looks up `spec` for `partitions` of `topic`, in the order given.
pub async fn list_offsets(
    cluster: &Cluster,
    topic: &str,
    partitions: &[i32],
    spec: OffsetSpec,
    isolation: IsolationLevel,
) -> Result<Vec<ListedOffset>> {
    let mut found: BTreeMap<i32, ListedOffset> = BTreeMap::new();
    let mut last_error = None;
    for attempt in 0..ATTEMPTS {
        let missing: Vec<i32> = partitions.iter().copied().filter(|p| !found.contains_key(p)).collect();
        if missing.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(cluster.retry_backoff()).await;
        }
        let mut by_leader: BTreeMap<i32, Vec<(i32, i32)>> = BTreeMap::new();
        for partition in missing {
            match cluster.leader_and_epoch(topic, partition).await {
                Ok((leader, leader_epoch)) => by_leader.entry(leader).or_default().push((partition, leader_epoch)),
                Err(error) if error.is_retriable() => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        for (leader, partitions) in by_leader {
            match ask_leader(cluster, leader, topic, &partitions, spec, isolation).await {
                Ok(answers) => {
                    for answer in answers {
                        match answer {
                            Ok(listed) => {
                                found.insert(listed.partition, listed);
                            }
                            Err(error) if error.is_retriable() => last_error = Some(error),
                            Err(error) => return Err(error),
                        }
                    }
                }
                Err(error) if error.is_retriable() => last_error = Some(error),
                Err(error) => return Err(error),
            }
            if last_error.as_ref().is_some_and(ClientError::invalidates_metadata) {
                cluster.mark_stale(topic);
            }
        }
    }
    partitions
        .iter()
        .map(|p| found.get(p).copied().ok_or_else(|| last_error.clone().unwrap_or(ClientError::Closed)))
        .collect()
}

async fn ask_leader(
    cluster: &Cluster,
    leader: i32,
    topic: &str,
    partitions: &[(i32, i32)],
    spec: OffsetSpec,
    isolation: IsolationLevel,
) -> Result<Vec<Result<ListedOffset>>> {
    let connection = cluster.broker_connection(leader).await?;
    let version = connection.version(ApiKey::ListOffsets)?;
    if spec == OffsetSpec::MaxTimestamp && version < 7 {
        return Err(ClientError::UnsupportedApi(format!("ListOffsets v{version} (max timestamp needs v7)")));
    }
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation.wire())
        .with_timeout_ms(i32::try_from(cluster.config().request_timeout.as_millis()).unwrap_or(i32::MAX))
        .with_topics(vec![ListOffsetsTopic::default().with_name(topic_name(topic)).with_partitions(
            partitions
                .iter()
                .map(|&(p, leader_epoch)| {
                    // KIP-320: a broker that is no longer leader at this epoch refuses.
                    ListOffsetsPartition::default()
                        .with_partition_index(p)
                        .with_current_leader_epoch(leader_epoch)
                        .with_timestamp(spec.wire_timestamp())
                })
                .collect(),
        )]);
    let response = connection.send(&request, version).await?;
    let answers = response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| &t.partitions)
        .filter(|p| partitions.iter().any(|&(asked, _)| asked == p.partition_index))
        .map(|p| match p.error_code {
            0 => Ok(ListedOffset {
                partition: p.partition_index,
                offset: p.offset,
                timestamp: p.timestamp,
                leader_epoch: p.leader_epoch,
            }),
            code => Err(ClientError::kafka(code, format!("ListOffsets {topic}-{}", p.partition_index))),
        })
        .collect();
    Ok(answers)
}
