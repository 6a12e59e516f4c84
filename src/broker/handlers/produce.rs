//! Produce: append through the replica manager, and answer by `acks` (0: no answer at all;
//! 1: after the append; -1/all: once the high watermark passed the records, i.e. they are
//! replicated to the ISR — on a standalone broker, durable).
//!
//! Two steps, so a connection can append its next produce request while an earlier one
//! waits (see `broker::connection`): [`append`] runs in request order and
//! leaves an [`Appended`]; [`Appended::answer`] waits, for acks=all, and builds the answer.

use std::time::Duration;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::debug;

use crate::broker::context::BrokerContext;
use crate::broker::replica_manager::{Appended as PartitionAppended, ReplicaManager};

/// A produce request whose records are appended; its answer may still wait for them to be
/// replicated (acks=all).
pub struct Appended {
    acks: i16,
    version: i16,
    /// The request's `timeout.ms` from when its appends finished: one deadline for the whole
    /// request, as Kafka's purgatory, however long it queues behind earlier answers.
    deadline: tokio::time::Instant,
    response: ProduceResponse,
    /// Partitions whose answer waits: (topic, partition) positions in `response`.
    ack_waits: Vec<AckWait>,
}

struct AckWait {
    topic: usize,
    partition: usize,
    appended: PartitionAppended,
}

/// The refusals Kafka answers with log start offset -1: those it makes before it reads the
/// log (unknown partition or id, not the leader, too large, corrupt, a failed log dir, bad
/// acks). Every other refusal (an out-of-order sequence, a fenced epoch, not enough
/// replicas, …) carries the partition's log start offset, as Kafka's does.
const ANSWERED_WITHOUT_LOG_START: [i16; 8] = [2, 3, 6, 10, 18, 21, 56, 100];

/// Validates and appends every partition's records, in the request's order.
pub async fn append(ctx: &BrokerContext, request: ProduceRequest, version: i16) -> Appended {
    let acks = request.acks;
    let mut response = ProduceResponse::default();
    let mut ack_waits = Vec::new();
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
                let topic = topic_data.name.as_str();
                ctx.replica_manager.append(topic, partition_data.index, partition_data.records, acks).await
            };
            match result {
                Ok(done) => {
                    partition_response.base_offset = done.base_offset;
                    partition_response.log_append_time_ms = done.log_append_time_ms;
                    if version >= 5 {
                        partition_response.log_start_offset = done.log_start_offset;
                    }
                    if acks == -1 {
                        ack_waits.push(AckWait {
                            topic: response.responses.len(),
                            partition: topic_response.partition_responses.len(),
                            appended: done,
                        });
                    }
                }
                Err((code, message)) => {
                    if version >= 5 && !ANSWERED_WITHOUT_LOG_START.contains(&code) {
                        let hosted = ctx
                            .replica_manager
                            .partitions(topic_data.name.as_str(), [partition_data.index].into_iter());
                        if let Some(Some(partition)) = hosted.await.first() {
                            partition_response.log_start_offset = partition.log().await.log_start_offset();
                        }
                    }
                    set_error(topic_data.name.as_str(), &mut partition_response, version, code, message);
                }
            }
            topic_response.partition_responses.push(partition_response);
        }
        response.responses.push(topic_response);
    }
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    Appended { acks, version, deadline: crate::runtime::now() + timeout, response, ack_waits }
}

impl Appended {
    /// Whether the answer waits for replication (acks=all with records appended).
    pub fn waits(&self) -> bool {
        !self.ack_waits.is_empty()
    }

    /// The answer, once every acks=all partition may be answered or the deadline has passed.
    /// `None` for acks=0: Kafka sends no response at all.
    pub async fn answer(self) -> Option<ProduceResponse> {
        let Appended { acks, version, deadline, mut response, ack_waits } = self;
        for wait in ack_waits {
            let Err((code, message)) = ReplicaManager::wait_for_ack(&wait.appended, deadline).await else {
                continue;
            };
            let topic_response = &mut response.responses[wait.topic];
            let partition_response = &mut topic_response.partition_responses[wait.partition];
            partition_response.base_offset = -1;
            partition_response.log_append_time_ms = -1;
            partition_response.log_start_offset = -1;
            set_error(topic_response.name.as_str(), partition_response, version, code, message);
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
