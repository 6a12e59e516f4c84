//! CreatePartitions: grow a topic's partition count.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::context::BrokerContext;

pub async fn handle(ctx: &BrokerContext, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut response = CreatePartitionsResponse::default();
    for topic in request.topics {
        let mut result = CreatePartitionsTopicResult::default();
        result.name = topic.name.clone();
        if let Err(error) = ctx.topics.add_partitions(topic.name.as_str(), topic.count, request.validate_only).await {
            result.error_code = error.code();
            result.error_message = Some(StrBytes::from_string(error.message().to_string()));
        }
        response.results.push(result);
    }
    response
}
