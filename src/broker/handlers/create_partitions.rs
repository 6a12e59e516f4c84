//! CreatePartitions: grow a topic's partition count, through the controller in a cluster.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::topic_admin;
use crate::broker::topics::TopicError;

pub async fn handle(ctx: &BrokerContext, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut response = CreatePartitionsResponse::default();
    for topic in request.topics {
        let mut result = CreatePartitionsTopicResult::default();
        result.name = topic.name.clone();
        let assignments = topic
            .assignments
            .as_ref()
            .map(|a| a.iter().map(|a| a.broker_ids.iter().map(|b| b.0).collect::<Vec<i32>>()).collect::<Vec<_>>());
        let added = match (&ctx.cluster, &assignments) {
            // A broker alone checks assignments itself (the controller checks a cluster's).
            (None, Some(assignments)) => match ctx.topics.get(topic.name.as_str()).await {
                Some(existing) if topic.count > existing.partitions.len() as i32 => {
                    let added = topic.count - existing.partitions.len() as i32;
                    check_assignments(ctx.node_id, added, assignments)
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        };
        let added = match added {
            Ok(()) => {
                topic_admin::create_partitions(
                    ctx,
                    topic.name.as_str(),
                    topic.count,
                    assignments,
                    request.validate_only,
                )
                .await
            }
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
fn check_assignments(node_id: i32, added: i32, assignments: &[Vec<i32>]) -> Result<(), TopicError> {
    let invalid = |message: String| Err(TopicError::Other(ResponseError::InvalidReplicaAssignment.code(), message));
    if assignments.len() != added as usize {
        return invalid(format!(
            "Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.",
            assignments.len()
        ));
    }
    for assignment in assignments {
        if assignment.len() != 1 {
            return invalid(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not \
                 consistent with previous partitions, which have 1 replica(s).",
                assignment.len()
            ));
        }
        if let Some(other) = assignment.iter().find(|b| **b != node_id) {
            return invalid(format!(
                "The manual partition assignment includes broker {other}, but no such broker is registered."
            ));
        }
    }
    Ok(())
}
