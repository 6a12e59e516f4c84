//! Produce: validate, append, and answer by `acks` (0: no answer at all; 1: after the
//! append; -1/all: after the records are durable, i.e. below the high watermark).
//!
//! Two steps, so a connection can append its next produce request while an earlier one
//! waits for durability (see `broker::connection`): [`append`] runs in request order and
//! leaves an [`Appended`]; [`Appended::answer`] waits, for acks=all, and builds the answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::debug;

use crate::broker::config::TimestampType;
use crate::broker::context::BrokerContext;
use crate::broker::errors::log_error_code;
use crate::broker::partition::Partition;
use crate::storage::record_batch::{self, peek_size};

/// A produce request whose records are appended; its answer may still wait for them to
/// become durable (acks=all).
pub struct Appended {
    acks: i16,
    version: i16,
    /// The request's `timeout.ms` from when its appends finished: one deadline for the whole
    /// request, as Kafka's purgatory, however long it queues behind earlier answers.
    deadline: tokio::time::Instant,
    response: ProduceResponse,
    /// Partitions whose answer waits for `last_offset` to be durable: (topic, partition)
    /// positions in `response`.
    durable_waits: Vec<DurableWait>,
}

struct DurableWait {
    topic: usize,
    partition: usize,
    log: Arc<Partition>,
    last_offset: i64,
}

/// Validates and appends every partition's records, in the request's order.
pub async fn append(ctx: &BrokerContext, request: ProduceRequest, version: i16) -> Appended {
    let acks = request.acks;
    let mut response = ProduceResponse::default();
    let mut durable_waits = Vec::new();
    for topic_data in request.topic_data {
        let mut topic_response = TopicProduceResponse::default();
        topic_response.name = topic_data.name.clone();
        for partition_data in topic_data.partition_data {
            let mut partition_response = PartitionProduceResponse::default();
            partition_response.index = partition_data.index;
            partition_response.base_offset = -1;
            partition_response.log_append_time_ms = -1;
            partition_response.log_start_offset = -1;
            // Fields the version lacks must keep their defaults or the response won't encode.
            if version < 8 {
                partition_response.error_message = None;
            }
            let result = if acks != 0 && acks != 1 && acks != -1 {
                Err((ResponseError::InvalidRequiredAcks.code(), format!("acks must be -1, 0 or 1, got {acks}")))
            } else {
                produce_partition(ctx, topic_data.name.as_str(), partition_data.index, partition_data.records, acks)
                    .await
            };
            match result {
                Ok(done) => {
                    partition_response.base_offset = done.base_offset;
                    partition_response.log_append_time_ms = done.log_append_time_ms;
                    if version >= 5 {
                        partition_response.log_start_offset = done.log_start_offset;
                    }
                    if acks == -1 {
                        durable_waits.push(DurableWait {
                            topic: response.responses.len(),
                            partition: topic_response.partition_responses.len(),
                            log: done.partition,
                            last_offset: done.last_offset,
                        });
                    }
                }
                Err((code, message)) => {
                    set_error(topic_data.name.as_str(), &mut partition_response, version, code, message);
                }
            }
            topic_response.partition_responses.push(partition_response);
        }
        response.responses.push(topic_response);
    }
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    Appended { acks, version, deadline: crate::runtime::now() + timeout, response, durable_waits }
}

impl Appended {
    /// Whether the answer waits for durability (acks=all with records appended).
    pub fn waits(&self) -> bool {
        !self.durable_waits.is_empty()
    }

    /// The answer, once every acks=all partition is durable or the deadline has passed.
    /// `None` for acks=0: Kafka sends no response at all.
    pub async fn answer(self) -> Option<ProduceResponse> {
        let Appended { acks, version, deadline, mut response, durable_waits } = self;
        for wait in durable_waits {
            let left = deadline.saturating_duration_since(crate::runtime::now());
            let outcome = match tokio::time::timeout(left, wait.log.wait_durable(wait.last_offset)).await {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => (log_error_code(&e), e.to_string()),
                Err(_) => (ResponseError::RequestTimedOut.code(), "records not durable within timeout.ms".to_string()),
            };
            let topic_response = &mut response.responses[wait.topic];
            let partition_response = &mut topic_response.partition_responses[wait.partition];
            partition_response.base_offset = -1;
            partition_response.log_append_time_ms = -1;
            partition_response.log_start_offset = -1;
            set_error(topic_response.name.as_str(), partition_response, version, outcome.0, outcome.1);
        }
        (acks != 0).then_some(response)
    }
}

fn set_error(topic: &str, partition_response: &mut PartitionProduceResponse, version: i16, code: i16, message: String) {
    debug!(name: "produce_rejected", topic, partition = partition_response.index, code, message = %message);
    partition_response.error_code = code;
    if version >= 8 {
        partition_response.error_message = Some(StrBytes::from_string(message));
    }
}

struct Produced {
    partition: Arc<Partition>,
    base_offset: i64,
    last_offset: i64,
    log_append_time_ms: i64,
    log_start_offset: i64,
}

async fn produce_partition(
    ctx: &BrokerContext,
    topic_name: &str,
    index: i32,
    records: Option<Bytes>,
    acks: i16,
) -> Result<Produced, (i16, String)> {
    let topic = ctx.topics.get(topic_name).await.ok_or_else(|| unknown(topic_name, index))?;
    let partition =
        usize::try_from(index).ok().and_then(|i| topic.partitions.get(i)).ok_or_else(|| unknown(topic_name, index))?;
    let records = records.unwrap_or_default();
    check_one_batch(&records)?;
    let log_config = topic.config.log_config(&ctx.config);
    if records.len() as u64 > log_config.segment_bytes {
        let message =
            format!("batch of {} bytes is larger than segment.bytes {}", records.len(), log_config.segment_bytes);
        return Err((ResponseError::RecordListTooLarge.code(), message));
    }
    if acks == -1 && topic.config.min_insync_replicas(&ctx.config) > 1 {
        let message = "min.insync.replicas is above the 1 replica of this single broker".to_string();
        return Err((ResponseError::NotEnoughReplicas.code(), message));
    }
    let now_ms = ctx.clock.now_ms();
    let (records, log_append_time_ms) = match topic.config.message_timestamp_type(&ctx.config) {
        TimestampType::LogAppendTime => {
            let mut stamped = BytesMut::from(&records[..]);
            record_batch::parse_batch(&stamped, stamped.len(), record_batch::CrcCheck::Verify)
                .map_err(|e| (ResponseError::CorruptMessage.code(), e.to_string()))?;
            record_batch::set_log_append_time(&mut stamped, now_ms);
            (stamped.freeze(), now_ms)
        }
        TimestampType::CreateTime => (records, -1),
    };
    let appended = partition.append(now_ms, records).await.map_err(|e| (log_error_code(&e), e.to_string()))?;
    let log_start_offset = partition.log().await.log_start_offset();
    Ok(Produced {
        partition: partition.clone(),
        base_offset: appended.first_offset,
        last_offset: appended.last_offset,
        log_append_time_ms,
        log_start_offset,
    })
}

fn unknown(topic: &str, index: i32) -> (i16, String) {
    (ResponseError::UnknownTopicOrPartition.code(), format!("This server does not host {topic}-{index}."))
}

/// Produce v3+ carries exactly one record batch per partition (Kafka's LogValidator).
fn check_one_batch(records: &Bytes) -> Result<(), (i16, String)> {
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
