//! CreateTopics: validate each topic (name, partitions, replication factor, configs) and
//! create it, or only validate with `validate_only`. Explicit replica assignments must name
//! this broker only.

use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::topic_admin;
use crate::broker::topics::{NewTopic, TopicError};

pub async fn handle(ctx: &BrokerContext, request: CreateTopicsRequest, version: i16) -> CreateTopicsResponse {
    let mut response = CreateTopicsResponse::default();
    // A name given twice is refused once, and neither copy is created (Kafka's rule).
    let mut count = std::collections::BTreeMap::<String, usize>::new();
    for topic in &request.topics {
        *count.entry(topic.name.as_str().to_string()).or_default() += 1;
    }
    let mut refused_duplicates = std::collections::BTreeSet::new();
    for topic in request.topics {
        let name = topic.name.as_str().to_string();
        let duplicate = count[&name] > 1;
        if duplicate && !refused_duplicates.insert(name.clone()) {
            continue;
        }
        let mut result = CreatableTopicResult::default();
        result.name = topic.name.clone();
        result.num_partitions = -1;
        result.replication_factor = -1;
        if version < 5 {
            result.configs = None;
        }
        if duplicate {
            result.error_code = ResponseError::InvalidRequest.code();
            result.error_message = Some(StrBytes::from_string(format!("Duplicate topic name {name} in the request.")));
            response.topics.push(result);
            continue;
        }
        let assignment_error = check_assignments(ctx.node_id, &topic.assignments);
        let (partitions, replication_factor) = if topic.assignments.is_empty() {
            (topic.num_partitions, topic.replication_factor)
        } else {
            (topic.assignments.len() as i32, 1)
        };
        let new = NewTopic {
            name: name.clone(),
            partitions,
            replication_factor,
            configs: topic
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect(),
        };
        let outcome = match assignment_error {
            Some(error) => Err(error),
            None => topic_admin::create(ctx, new, request.validate_only).await,
        };
        match outcome {
            Ok(created) => {
                if version >= 7 {
                    result.topic_id = created.topic_id.unwrap_or_default();
                }
                if version >= 5 {
                    result.num_partitions = created.partitions;
                    result.replication_factor = created.replication_factor;
                    result.configs = Some(
                        created
                            .config
                            .describe(&ctx.config)
                            .into_iter()
                            .map(|entry| {
                                let mut out = CreatableTopicConfigs::default();
                                out.name = StrBytes::from_string(entry.name);
                                out.value = entry.value.map(StrBytes::from_string);
                                out.read_only = entry.read_only;
                                out.config_source = entry.source.code();
                                out.is_sensitive = entry.sensitive;
                                out
                            })
                            .collect(),
                    );
                }
            }
            Err(error) => {
                result.error_code = error.code();
                result.error_message = Some(StrBytes::from_string(error.message().to_string()));
            }
        }
        response.topics.push(result);
    }
    response
}

/// Manual assignments are allowed when every replica is this broker.
fn check_assignments(
    node_id: i32,
    assignments: &[kafka_protocol::messages::create_topics_request::CreatableReplicaAssignment],
) -> Option<TopicError> {
    if !assignments.is_empty()
        && assignments.iter().any(|a| a.broker_ids.iter().any(|b| b.0 != node_id) || a.broker_ids.len() != 1)
    {
        return Some(TopicError::InvalidReplicationFactor(format!(
            "Replica assignments may only name broker {node_id}, once."
        )));
    }
    let mut indexes: Vec<i32> = assignments.iter().map(|a| a.partition_index).collect();
    indexes.sort_unstable();
    if indexes.iter().enumerate().any(|(i, index)| *index != i as i32) {
        return Some(TopicError::InvalidPartitions("Partition assignments must number partitions 0..n.".to_string()));
    }
    None
}
