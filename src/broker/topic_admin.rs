//! Creating and deleting topics, wherever their metadata lives: in the standalone broker's
//! own log directory ([`Topics`](super::topics::Topics)), or in a cluster's metadata log,
//! through the active controller. The request handlers (CreateTopics, DeleteTopics,
//! Metadata's auto-creation) call these and need not know which.
//!
//! In a cluster the broker checks what it can alone (the name, each config key and value)
//! and forwards the rest; the controller places the replicas and answers once the topic's
//! records are committed.

use uuid::Uuid;

use super::context::BrokerContext;
use super::topic_config::TopicConfig;
use super::topics::{validate_topic_name, NewTopic, TopicError};
use crate::cluster::controller_rpc::{ControllerRequest, ControllerResponse, CreatableTopic, NewPartitions};
use crate::controller::replication_control::check_new_assignments;
use crate::controller::ControllerError;
use crate::protocol::topic_name::{colliding_topic, collision_message};

/// A topic as created (or as it would be, for `validate_only`).
#[derive(Debug)]
pub struct CreatedTopic {
    /// `None` for a validation.
    pub topic_id: Option<Uuid>,
    pub partitions: i32,
    pub replication_factor: i16,
    pub config: TopicConfig,
}

/// Creates `new` (or only checks it).
pub async fn create(ctx: &BrokerContext, new: NewTopic, validate_only: bool) -> Result<CreatedTopic, TopicError> {
    let Some(cluster) = &ctx.cluster else {
        return if validate_only {
            let valid = ctx.topics.validate(&new).await?;
            Ok(CreatedTopic {
                topic_id: None,
                partitions: valid.partitions,
                replication_factor: 1,
                config: valid.config,
            })
        } else {
            let topic = ctx.topics.create(new).await?;
            let partitions = topic.partitions.len() as i32;
            Ok(CreatedTopic {
                topic_id: Some(topic.id),
                partitions,
                replication_factor: 1,
                config: topic.config.clone(),
            })
        };
    };
    // Kafka's order: the name, then whether it exists, then the configs, then the counts.
    validate_topic_name(&new.name)?;
    let image = cluster.metadata.current();
    if image.image.topic_ids.contains_key(&new.name) {
        return Err(TopicError::AlreadyExists(format!("Topic '{}' already exists.", new.name)));
    }
    if let Some(existing) = colliding_topic(&new.name, image.image.topic_ids.keys().map(String::as_str)) {
        return Err(TopicError::InvalidTopic(collision_message(&new.name, existing)));
    }
    let config = TopicConfig::validate_and_build(&ctx.config, new.configs.iter().cloned())
        .map_err(|e| TopicError::InvalidConfig(e.error_message()))?;
    let partitions = if new.partitions == -1 { ctx.config.num_partitions } else { new.partitions };
    let replication_factor =
        if new.replication_factor == -1 { ctx.config.default_replication_factor } else { new.replication_factor };
    if validate_only {
        if partitions < 1 {
            return Err(TopicError::InvalidPartitions("Number of partitions must be larger than 0.".into()));
        }
        let active = image.image.brokers.values().filter(|b| b.is_active()).count();
        if replication_factor < 1 || replication_factor as usize > active {
            return Err(TopicError::InvalidReplicationFactor(format!(
                "Replication factor {replication_factor} is larger than the {active} available brokers."
            )));
        }
        return Ok(CreatedTopic { topic_id: None, partitions, replication_factor, config });
    }
    let configs = new.configs.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
    let topic = CreatableTopic { name: new.name.clone(), partitions, replication_factor, configs };
    let answer =
        cluster.forwarding_channel.send(ControllerRequest::CreateTopics(vec![topic]), cluster.request_timeout).await;
    match answer {
        Ok(ControllerResponse::CreateTopics(mut results)) if results.len() == 1 => match results.remove(0) {
            Ok(created) => Ok(CreatedTopic {
                topic_id: Some(created.topic_id),
                partitions: created.partitions,
                replication_factor: created.replication_factor,
                config,
            }),
            Err(error) => Err(from_controller(error)),
        },
        Ok(other) => Err(TopicError::Other(-1, format!("unexpected controller answer {other:?}"))),
        Err(error) => Err(from_controller(error)),
    }
}

/// Grows topic `name` to `count` partitions (or only checks it), on the brokers of
/// `assignments` if given: through the active controller in a cluster, on this broker alone
/// otherwise.
pub async fn create_partitions(
    ctx: &BrokerContext,
    name: &str,
    count: i32,
    assignments: Option<Vec<Vec<i32>>>,
    validate_only: bool,
) -> Result<(), TopicError> {
    let Some(cluster) = &ctx.cluster else {
        // Alone, this broker is the one registered broker and every topic has one replica.
        if let (Some(assignments), Some(topic)) = (&assignments, ctx.topics.get(name).await) {
            let current = topic.partitions.len() as i32;
            if count > current {
                check_new_assignments((count - current) as usize, 1, assignments, |b| b == ctx.node_id)
                    .map_err(from_controller)?;
            }
        }
        return ctx.topics.add_partitions(name, count, validate_only).await;
    };
    let request = NewPartitions { name: name.to_string(), count, assignments, validate_only };
    match cluster
        .forwarding_channel
        .send(ControllerRequest::CreatePartitions(vec![request]), cluster.request_timeout)
        .await
    {
        Ok(ControllerResponse::CreatePartitions(mut results)) if results.len() == 1 => {
            results.remove(0).map_err(from_controller)
        }
        Ok(other) => Err(TopicError::Other(-1, format!("unexpected controller answer {other:?}"))),
        Err(error) => Err(from_controller(error)),
    }
}

/// Deletes topic `name`; returns its id.
pub async fn delete(ctx: &BrokerContext, name: &str) -> Result<Uuid, TopicError> {
    let Some(cluster) = &ctx.cluster else {
        return ctx.topics.delete(name).await;
    };
    let request = ControllerRequest::DeleteTopics(vec![name.to_string()]);
    match cluster.forwarding_channel.send(request, cluster.request_timeout).await {
        Ok(ControllerResponse::DeleteTopics(mut results)) if results.len() == 1 => {
            results.remove(0).map_err(from_controller)
        }
        Ok(other) => Err(TopicError::Other(-1, format!("unexpected controller answer {other:?}"))),
        Err(error) => Err(from_controller(error)),
    }
}

/// The name of topic `id`, if it exists.
pub async fn name_of(ctx: &BrokerContext, id: Uuid) -> Option<String> {
    match &ctx.cluster {
        Some(cluster) => cluster.metadata.current().image.topics.get(&id).map(|t| t.name.clone()),
        None => ctx.topics.get_by_id(id).await.map(|t| t.name.clone()),
    }
}

fn from_controller(error: ControllerError) -> TopicError {
    TopicError::Other(error.code, error.message)
}
