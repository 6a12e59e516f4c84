//! Fetch from a follower (a request with `replica_id >= 0`): the leader fences it by leader
//! epoch, answers a diverging log with `diverging_epoch` (v12+) and otherwise returns whole,
//! CRC-checked batches below its log end offset, recording the follower's progress
//! (REPLICATION.md §3.2). Followers long-poll on appends, not on the high watermark.
//!
//! The broker epoch of a follower's fetch (KIP-903): Fetch v15 carries it in `ReplicaState`,
//! but seedlog serves Fetch up to v12 (v13 moves to topic ids), so the leader takes the epoch
//! its metadata image registers for the follower when the fetch arrives (-1 outside a
//! cluster, or for a broker the image does not know: not checked). Every ISR addition the
//! leader proposes then names the joiner by the incarnation it saw catch up, and the
//! controller refuses one whose joiner has registered again since (a delayed AlterPartition
//! after a restart on an empty disk: `kip-903-stale-isr-join`). What the image cannot tell
//! apart, unlike v15's field: a fetch of a dead incarnation that arrives after the leader
//! learned the new registration is taken as the new incarnation's.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{EpochEndOffset, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::partition::Partition;
use crate::broker::replica_manager::FollowerTarget;

/// The first Fetch version that can tell a follower its log diverges.
const FIRST_DIVERGING_EPOCH_VERSION: i16 = 12;

pub(super) async fn handle(ctx: &BrokerContext, request: FetchRequest, version: i16) -> FetchResponse {
    let mut targets: Vec<(Option<Arc<Partition>>, FollowerTarget)> = Vec::new();
    for topic in &request.topics {
        let indexes = topic.partitions.iter().map(|p| p.partition);
        let hosted = ctx.replica_manager.partitions(topic.topic.as_str(), indexes).await;
        for (p, partition) in topic.partitions.iter().zip(hosted) {
            let target = FollowerTarget {
                fetch_offset: p.fetch_offset,
                partition_max_bytes: p.partition_max_bytes,
                current_leader_epoch: p.current_leader_epoch,
                last_fetched_epoch: p.last_fetched_epoch,
                log_start_offset: p.log_start_offset,
            };
            targets.push((partition, target));
        }
    }
    let max_wait = Duration::from_millis(u64::try_from(request.max_wait_ms.max(0)).unwrap_or(0));
    let replica_id = request.replica_id.0;
    let replica_epoch = registered_broker_epoch(ctx, replica_id);
    let reads = ctx
        .replica_manager
        .fetch_for_follower(replica_id, replica_epoch, &targets, max_wait, request.min_bytes, request.max_bytes)
        .await;
    let mut reads = reads.into_iter();
    let mut response = FetchResponse::default();
    for topic in &request.topics {
        let mut topic_response = FetchableTopicResponse::default();
        topic_response.topic = topic.topic.clone();
        for p in &topic.partitions {
            let read = reads.next().expect("one answer per target");
            let mut data = PartitionData::default();
            data.partition_index = p.partition;
            data.error_code = read.error_code;
            data.high_watermark = read.high_watermark;
            data.last_stable_offset = read.high_watermark;
            if version >= 5 {
                data.log_start_offset = read.log_start_offset;
            }
            match read.diverging {
                Some((epoch, end_offset)) if version >= FIRST_DIVERGING_EPOCH_VERSION => {
                    data.diverging_epoch = EpochEndOffset::default().with_epoch(epoch).with_end_offset(end_offset);
                }
                // An older follower cannot be told where to truncate: it must retry.
                Some(_) => data.error_code = ResponseError::UnknownLeaderEpoch.code(),
                None => data.records = Some(read.records),
            }
            topic_response.partitions.push(data);
        }
        response.responses.push(topic_response);
    }
    response
}

/// The broker epoch the leader's metadata image registers for `broker_id`; -1 when there is
/// none (not in a cluster, or not registered).
fn registered_broker_epoch(ctx: &BrokerContext, broker_id: i32) -> i64 {
    let Some(cluster) = &ctx.cluster else { return -1 };
    cluster.metadata.current().image.brokers.get(&broker_id).map_or(-1, |b| b.epoch)
}
