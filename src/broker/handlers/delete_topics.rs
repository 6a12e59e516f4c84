//! DeleteTopics: by name (v0-5) or by name or id (v6).

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::broker::context::BrokerContext;
use crate::broker::topic_admin;

pub async fn handle(ctx: &BrokerContext, request: DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
    let mut response = DeleteTopicsResponse::default();
    let mut wanted: Vec<(Option<TopicName>, Uuid)> =
        request.topic_names.into_iter().map(|n| (Some(n), Uuid::nil())).collect();
    wanted.extend(request.topics.into_iter().map(|t| (t.name, t.topic_id)));
    for (name, id) in wanted {
        let mut result = DeletableTopicResult::default();
        result.name = name.clone();
        result.topic_id = id;
        let resolved = match (&name, id) {
            (Some(name), _) => Some(name.as_str().to_string()),
            (None, id) => topic_admin::name_of(ctx, id).await,
        };
        if !ctx.config.delete_topic_enable {
            result.error_code = ResponseError::TopicDeletionDisabled.code();
        } else {
            match resolved {
                None => result.error_code = ResponseError::UnknownTopicId.code(),
                Some(topic) => match topic_admin::delete(ctx, &topic).await {
                    Ok(deleted_id) => {
                        result.name = Some(TopicName(StrBytes::from_string(topic)));
                        if version >= 6 {
                            result.topic_id = deleted_id;
                        }
                    }
                    Err(error) => {
                        result.error_code = error.code();
                        if version >= 5 {
                            result.error_message = Some(StrBytes::from_string(error.message().to_string()));
                        }
                    }
                },
            }
        }
        response.responses.push(result);
    }
    response
}
