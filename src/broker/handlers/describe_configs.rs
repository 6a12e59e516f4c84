//! DescribeConfigs for topics (every topic-level key, with its source) and for this broker
//! (the settings it runs with).

use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::topic_config::{ConfigEntry, TopicConfig};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

pub async fn handle(ctx: &BrokerContext, request: DescribeConfigsRequest, version: i16) -> DescribeConfigsResponse {
    let mut response = DescribeConfigsResponse::default();
    for resource in request.resources {
        let mut result = DescribeConfigsResult::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name.clone();
        let entries = match resource.resource_type {
            TOPIC => match ctx.topics.get(&resource.resource_name).await {
                Some(topic) => Ok(topic.config.describe(&ctx.config)),
                None => Err(ResponseError::UnknownTopicOrPartition.code()),
            },
            BROKER if resource.resource_name.is_empty() || resource.resource_name.parse::<i32>() == Ok(ctx.node_id) => {
                Ok(broker_entries(ctx))
            }
            BROKER => Err(ResponseError::InvalidRequest.code()),
            _ => Err(ResponseError::InvalidRequest.code()),
        };
        match entries {
            Ok(entries) => {
                let keys = resource
                    .configuration_keys
                    .as_ref()
                    .map(|keys| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>());
                result.configs = entries
                    .into_iter()
                    .filter(|e| keys.as_ref().is_none_or(|keys| keys.contains(&e.name)))
                    .map(|entry| to_result(entry, version))
                    .collect();
            }
            Err(code) => {
                result.error_code = code;
                result.error_message = Some(StrBytes::from_static_str("unknown resource"));
            }
        }
        response.results.push(result);
    }
    response
}

fn to_result(entry: ConfigEntry, version: i16) -> DescribeConfigsResourceResult {
    let mut out = DescribeConfigsResourceResult::default();
    out.name = StrBytes::from_string(entry.name);
    out.value = entry.value.map(StrBytes::from_string);
    out.read_only = entry.read_only;
    out.config_source = entry.source.code();
    out.is_sensitive = entry.sensitive;
    if version >= 3 {
        out.config_type = entry.config_type.code();
    }
    out
}

/// A broker's settings are its defaults for topics: describe them as a topic with no
/// overrides would, which is what clients that inspect a broker look for.
fn broker_entries(ctx: &BrokerContext) -> Vec<ConfigEntry> {
    TopicConfig::default().describe(&ctx.config)
}
