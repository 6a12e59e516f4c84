//! CreatePartitions: grow a topic's partition count.

use kafka_protocol::messages::create_partitions_request::CreatePartitionsAssignment;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::topics::TopicError;

pub async fn handle(ctx: &BrokerContext, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut response = CreatePartitionsResponse::default();
    for topic in request.topics {
        let mut result = CreatePartitionsTopicResult::default();
        result.name = topic.name.clone();
        let current = ctx.topics.get(topic.name.as_str()).await.map(|t| t.partitions.len() as i32);
        let checked = match (current, &topic.assignments) {
            (Some(current), Some(assignments)) if topic.count > current => {
                check_assignments(ctx.node_id, topic.count - current, assignments)
            }
            _ => Ok(()),
        };
        let added = match checked {
            Ok(()) => ctx.topics.add_partitions(topic.name.as_str(), topic.count, request.validate_only).await,
            Err(error) => Err(error),
        };
        if let Err(error) = added {
            result.error_code = error.code();
            result.error_message = Some(StrBytes::from_string(error.message().to_string()));
        }
        response.results.push(result);
    }
    response
}

/// Kafka's rules for the replicas named for new partitions (INVALID_REPLICA_ASSIGNMENT): one
/// assignment per new partition, each of as many replicas as the topic's partitions have
/// (one, here), each a registered broker (this one), none twice.
fn check_assignments(node_id: i32, added: i32, assignments: &[CreatePartitionsAssignment]) -> Result<(), TopicError> {
    let invalid = |message: String| Err(TopicError::Other(ResponseError::InvalidReplicaAssignment.code(), message));
    if assignments.len() != added as usize {
        return invalid(format!(
            "Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.",
            assignments.len()
        ));
    }
    for assignment in assignments {
        if assignment.broker_ids.len() != 1 {
            return invalid(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not \
                 consistent with previous partitions, which have 1 replica(s).",
                assignment.broker_ids.len()
            ));
        }
        if let Some(other) = assignment.broker_ids.iter().find(|b| b.0 != node_id) {
            return invalid(format!(
                "The manual partition assignment includes broker {}, but no such broker is registered.",
                other.0
            ));
        }
    }
    Ok(())
}
