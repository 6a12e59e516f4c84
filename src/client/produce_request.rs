//! The producer's requests on the wire: InitProducerId for an idempotent producer's id,
//! and one Produce request carrying sealed batches (at most one per partition) to a
//! partition leader, each partition's answer reported back to the sender as a
//! [`Completion`]. A request is given up when the earliest delivery deadline among its
//! batches passes.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, ProduceRequest, ProducerId};
use tokio::sync::mpsc;
use tracing::debug;

use super::accumulator::TopicPartition;
use super::cluster::Cluster;
use super::error::{code, ClientError, Result};
use super::idempotence::ProducerIdentity;
use super::metadata::topic_name;
use super::sender::{Completion, Event, PartitionAck, SealedBatch};

pub(super) async fn init_producer_id(cluster: &Cluster) -> Result<ProducerIdentity> {
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

/// Sends one Produce request to `leader` and reports each batch's outcome. The request is
/// given up when the earliest delivery deadline among its batches passes.
pub(super) async fn produce_to(
    cluster: Arc<Cluster>,
    leader: i32,
    batches: Vec<SealedBatch>,
    acks: i16,
    timeout_ms: i32,
    events: mpsc::UnboundedSender<Event>,
) {
    let deadline = batches.iter().map(|b| b.deadline).min().unwrap_or_else(crate::runtime::now);
    let remaining = deadline.saturating_duration_since(crate::runtime::now());
    let sent = tokio::time::timeout(remaining, send_produce(&cluster, leader, &batches, acks, timeout_ms)).await;
    let cut_at_deadline = sent.is_err();
    let sent = sent.unwrap_or_else(|_| {
        Err(ClientError::Timeout(format!("delivery timeout passed with a produce to broker {leader} in flight")))
    });
    match sent {
        Ok(mut results) => {
            for batch in batches {
                let result = results.remove(&batch.partition).unwrap_or_else(|| {
                    Err(ClientError::Protocol(format!("no produce answer for {}", batch.partition)))
                });
                let _ = events.send(Event::Completion(Box::new(Completion { batch, result, cut_at_deadline })));
            }
        }
        Err(error) => {
            debug!(name: "producer_request_failed", leader, error = %error);
            for batch in batches {
                let completion = Completion { batch, result: Err(error.clone()), cut_at_deadline };
                let _ = events.send(Event::Completion(Box::new(completion)));
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
) -> Result<BTreeMap<TopicPartition, Result<PartitionAck>>> {
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
    let mut results = BTreeMap::new();
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
