//! OffsetForLeaderEpoch (KIP-101, KIP-279, KIP-320): for each partition, the largest epoch at
//! or below the one asked that the leader's epoch cache knows, and where the next epoch
//! starts (the log end offset for the latest epoch). Clients use it after a leader change
//! to find out whether their position was truncated; the request's `current_leader_epoch`
//! fences a stale leader as Fetch does.

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;

pub async fn handle(ctx: &BrokerContext, request: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let mut response = OffsetForLeaderEpochResponse::default();
    for topic in request.topics {
        let mut result = OffsetForLeaderTopicResult::default().with_topic(topic.topic.clone());
        for asked in topic.partitions {
            let mut answer =
                EpochEndOffset::default().with_partition(asked.partition).with_leader_epoch(-1).with_end_offset(-1);
            match ctx.replica_manager.partition(topic.topic.as_str(), asked.partition).await {
                None => answer.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(partition) => match partition.check_leader_epoch(asked.current_leader_epoch) {
                    Err(code) => answer.error_code = code,
                    Ok(()) => {
                        if let Some((epoch, end_offset)) =
                            partition.log().await.end_offset_for_epoch(asked.leader_epoch)
                        {
                            answer = answer.with_leader_epoch(epoch).with_end_offset(end_offset);
                        }
                    }
                },
            }
            result.partitions.push(answer);
        }
        response.topics.push(result);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
    use kafka_protocol::messages::{FetchRequest, TopicName};

    use super::*;
    use crate::broker::config::BrokerConfig;
    use crate::broker::node::{Node, NodeEnv};
    use crate::broker::topics::NewTopic;
    use crate::runtime::{seeded, Clock, MemDisk};
    use crate::storage::record_batch::build::{batch, ProducerFields, Record};

    async fn broker_with_records() -> Arc<BrokerContext> {
        let config = BrokerConfig::from_properties("listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=/data", &[]).unwrap();
        let env = NodeEnv {
            config,
            disk: Arc::new(MemDisk::new(8)),
            clock: Clock::system(),
            rng: seeded(8),
            fault_points: Default::default(),
        };
        let ctx = Node::build(env).await.unwrap().context();
        let topic = NewTopic { name: "t".into(), partitions: 1, replication_factor: 1, configs: Vec::new() };
        ctx.topics.create(topic).await.unwrap();
        for value in [b"a", b"b"] {
            let records: Bytes =
                batch(&[Record { timestamp_ms: 0, key: None, value: Some(value) }], ProducerFields::NONE);
            ctx.replica_manager.append("t", 0, Some(records), 1).await.unwrap();
        }
        ctx
    }

    fn ask(current_leader_epoch: i32, leader_epoch: i32) -> OffsetForLeaderEpochRequest {
        let partition = OffsetForLeaderPartition::default()
            .with_partition(0)
            .with_current_leader_epoch(current_leader_epoch)
            .with_leader_epoch(leader_epoch);
        let topic = OffsetForLeaderTopic::default().with_topic(TopicName("t".into())).with_partitions(vec![partition]);
        OffsetForLeaderEpochRequest::default().with_topics(vec![topic])
    }

    async fn answer(ctx: &BrokerContext, current: i32, epoch: i32) -> (i16, i32, i64) {
        let response = handle(ctx, ask(current, epoch)).await;
        let p = &response.topics[0].partitions[0];
        (p.error_code, p.leader_epoch, p.end_offset)
    }

    #[tokio::test]
    async fn the_end_of_an_epoch_comes_from_the_epoch_cache_and_stale_epochs_are_fenced() {
        let ctx = broker_with_records().await;
        assert_eq!(answer(&ctx, -1, 0).await, (0, 0, 2), "the latest epoch ends at the log end");
        assert_eq!(answer(&ctx, 0, 0).await, (0, 0, 2));
        assert_eq!(answer(&ctx, -1, 4).await, (0, -1, -1), "an epoch above every known one is undefined");
        assert_eq!(answer(&ctx, 3, 0).await.0, 75, "UNKNOWN_LEADER_EPOCH for an epoch not heard of yet");
    }

    #[tokio::test]
    async fn a_fetch_naming_another_leader_epoch_is_fenced() {
        let ctx = broker_with_records().await;
        let fetch = |current_leader_epoch: i32| {
            let partition = FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)
                .with_current_leader_epoch(current_leader_epoch);
            let topic = FetchTopic::default().with_topic(TopicName("t".into())).with_partitions(vec![partition]);
            FetchRequest::default().with_max_wait_ms(0).with_max_bytes(1 << 20).with_topics(vec![topic])
        };
        // The HW follows the flusher: wait until both records are readable.
        for _ in 0..200 {
            if ctx.topics.partition("t", 0).await.unwrap().high_watermark() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        for (epoch, code) in [(-1, 0), (0, 0), (1, 75)] {
            let response = crate::broker::handlers::fetch::handle(&ctx, fetch(epoch), 12).await;
            let data = &response.responses[0].partitions[0];
            assert_eq!(data.error_code, code, "current_leader_epoch {epoch}");
            assert_eq!(data.records.as_ref().is_some_and(|r| !r.is_empty()), code == 0);
        }
    }
}
