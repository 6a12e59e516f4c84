//! CreatePartitions: grow a topic's partition count, through the controller in a cluster.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::context::BrokerContext;
use crate::broker::topic_admin;

pub async fn handle(ctx: &BrokerContext, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut response = CreatePartitionsResponse::default();
    for topic in request.topics {
        let mut result = CreatePartitionsTopicResult::default();
        result.name = topic.name.clone();
        let assignments = topic
            .assignments
            .as_ref()
            .map(|a| a.iter().map(|a| a.broker_ids.iter().map(|b| b.0).collect::<Vec<i32>>()).collect::<Vec<_>>());
        let added =
            topic_admin::create_partitions(ctx, topic.name.as_str(), topic.count, assignments, request.validate_only)
                .await;
        if let Err(error) = added {
            result.error_code = error.code();
            result.error_message = Some(StrBytes::from_string(error.message().to_string()));
        }
        response.results.push(result);
    }
    response
}
