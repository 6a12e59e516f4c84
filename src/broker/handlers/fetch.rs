//! Fetch for consumers: whole batches from each partition up to its high watermark, within
//! the response and partition byte caps, long-polling until `min_bytes` are ready or
//! `max_wait_ms` passes (KIP-74 for the caps: the first batch of the response is returned
//! even when it is larger). `read_committed` reads up to the last stable offset, which
//! equals the high watermark until transactions exist. A `current_leader_epoch` (v9+) other
//! than the leader's is fenced (KIP-320). No incremental fetch sessions:
//! every answer carries session id 0, which tells clients to keep sending full requests.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::partition::Partition;
use crate::broker::replica_manager::FetchTarget;

#[path = "fetch_follower.rs"]
mod follower;

const READ_COMMITTED: i8 = 1;

pub async fn handle(ctx: &BrokerContext, request: FetchRequest, version: i16) -> FetchResponse {
    if request.replica_id.0 >= 0 {
        return follower::handle(ctx, request, version).await;
    }
    let mut targets: Vec<(Option<Arc<Partition>>, FetchTarget)> = Vec::new();
    for topic in &request.topics {
        let indexes = topic.partitions.iter().map(|p| p.partition);
        let hosted = ctx.replica_manager.partitions(topic.topic.as_str(), indexes).await;
        for (p, partition) in topic.partitions.iter().zip(hosted) {
            let target = FetchTarget {
                fetch_offset: p.fetch_offset,
                partition_max_bytes: p.partition_max_bytes,
                current_leader_epoch: p.current_leader_epoch,
            };
            targets.push((partition, target));
        }
    }
    let max_wait = Duration::from_millis(u64::try_from(request.max_wait_ms.max(0)).unwrap_or(0));
    let read = ctx.replica_manager.fetch(&targets, max_wait, request.min_bytes, request.max_bytes).await;
    let mut read = read.into_iter();
    let mut response = FetchResponse::default();
    for topic in &request.topics {
        let mut topic_response = FetchableTopicResponse::default();
        topic_response.topic = topic.topic.clone();
        for p in &topic.partitions {
            let fetched = read.next().expect("one answer per target");
            let mut data = PartitionData::default();
            data.partition_index = p.partition;
            data.aborted_transactions = (request.isolation_level == READ_COMMITTED).then(Vec::new);
            data.high_watermark = fetched.high_watermark;
            data.last_stable_offset = fetched.high_watermark;
            if version >= 5 {
                data.log_start_offset = fetched.log_start_offset;
            }
            match fetched.result {
                Ok(records) => data.records = Some(records),
                // A failed read knows no offsets: Kafka answers -1 for all three (its
                // UNKNOWN_OFFSET) and an empty record set.
                Err(code) => {
                    // A partition Kafka does not know is answered before any read, with an
                    // empty (not absent) list of aborted transactions.
                    if code == ResponseError::UnknownTopicOrPartition.code() {
                        data.aborted_transactions = Some(Vec::new());
                    }
                    data.error_code = code;
                    data.high_watermark = -1;
                    data.last_stable_offset = -1;
                    data.log_start_offset = -1;
                    data.records = Some(bytes::Bytes::new());
                }
            }
            topic_response.partitions.push(data);
        }
        response.responses.push(topic_response);
    }
    response
}
