//! Metadata: the brokers, and the topics asked for (auto-creating unknown ones when both the
//! request and `auto.create.topics.enable` allow it). A standalone broker describes itself
//! and its own topics; a cluster's broker answers from the metadata image it has applied
//! (Kafka's `KRaftMetadataCache`): the unfenced brokers, and each partition's leader,
//! replicas, ISR, ELR and leader epoch as the controller committed them.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::broker::context::BrokerContext;
use crate::broker::topic_admin;
use crate::broker::topics::{validate_topic_name, NewTopic, Topic, TopicError};
use crate::cluster::cluster_node::BrokerCluster;
use crate::controller::image::TopicImage;
use crate::controller::records::NO_LEADER;

pub async fn handle(ctx: &BrokerContext, request: MetadataRequest, version: i16) -> MetadataResponse {
    if let Some(cluster) = &ctx.cluster {
        return from_image(ctx, cluster, request, version).await;
    }
    let mut response = MetadataResponse::default();
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(ctx.node_id);
    broker.host = StrBytes::from_string(ctx.advertised_host.clone());
    broker.port = ctx.advertised_port;
    response.brokers = vec![broker];
    // kafka-protocol refuses to encode a field the version lacks: set each from its version.
    if version >= 2 {
        response.cluster_id = Some(StrBytes::from_string(ctx.cluster_id.clone()));
    }
    if version >= 1 {
        response.controller_id = BrokerId(ctx.node_id);
    }
    // v0 asks for every topic with an empty list; v1+ with null.
    let requested = match request.topics {
        Some(topics) if version > 0 || !topics.is_empty() => Some(topics),
        _ => None,
    };
    let Some(requested) = requested else {
        response.topics = ctx.topics.all().await.iter().map(|t| describe(t, version)).collect();
        return response;
    };
    let auto_create = ctx.config.auto_create_topics_enable && (version < 4 || request.allow_auto_topic_creation);
    for wanted in requested {
        let topic = match (&wanted.name, wanted.topic_id) {
            (Some(name), _) => lookup_or_create(ctx, name.as_str(), auto_create).await,
            (None, id) if id != Uuid::nil() => {
                ctx.topics.get_by_id(id).await.ok_or(ResponseError::UnknownTopicId.code())
            }
            (None, _) => Err(ResponseError::InvalidRequest.code()),
        };
        response.topics.push(match topic {
            Ok(topic) => describe(&topic, version),
            Err(code) => {
                let mut unknown = MetadataResponseTopic::default();
                unknown.error_code = code;
                unknown.name = wanted.name.clone();
                unknown.topic_id = wanted.topic_id;
                unknown
            }
        });
    }
    response
}

async fn lookup_or_create(ctx: &BrokerContext, name: &str, auto_create: bool) -> Result<std::sync::Arc<Topic>, i16> {
    if let Some(topic) = ctx.topics.get(name).await {
        return Ok(topic);
    }
    if validate_topic_name(name).is_err() {
        return Err(ResponseError::InvalidTopicException.code());
    }
    if !auto_create {
        return Err(ResponseError::UnknownTopicOrPartition.code());
    }
    let new = NewTopic { name: name.to_string(), partitions: -1, replication_factor: -1, configs: Vec::new() };
    match ctx.topics.create(new).await {
        Ok(topic) => Ok(topic),
        // Lost a race with another creation: fine, it exists now.
        Err(crate::broker::topics::TopicError::AlreadyExists(_)) => {
            ctx.topics.get(name).await.ok_or(ResponseError::UnknownTopicOrPartition.code())
        }
        Err(error) => Err(error.code()),
    }
}

fn describe(topic: &Topic, version: i16) -> MetadataResponseTopic {
    let mut out = MetadataResponseTopic::default();
    out.name = Some(TopicName(StrBytes::from_string(topic.name.clone())));
    if version >= 10 {
        out.topic_id = topic.id;
    }
    out.partitions = topic
        .partitions
        .values()
        .map(|p| {
            let mut partition = MetadataResponsePartition::default();
            partition.partition_index = p.index();
            match p.partition_state() {
                Some(state) => {
                    partition.leader_id = BrokerId(state.leader());
                    if version >= 7 {
                        partition.leader_epoch = state.leader_epoch();
                    }
                    partition.replica_nodes = state.replicas().iter().copied().map(BrokerId).collect();
                    partition.isr_nodes = state.isr().iter().copied().map(BrokerId).collect();
                }
                None => {
                    partition.error_code = kafka_protocol::ResponseError::LeaderNotAvailable.code();
                    partition.leader_id = BrokerId(-1);
                }
            }
            partition
        })
        .collect();
    out
}

/// One requested topic: its id, or the error code, name and id to answer with.
type TopicAnswer = Result<Uuid, (i16, Option<TopicName>, Uuid)>;

/// The answer of a cluster's broker, from its metadata image.
async fn from_image(
    ctx: &BrokerContext,
    cluster: &BrokerCluster,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let mut response = MetadataResponse::default();
    let mut loaded = cluster.metadata.current();
    let listener = ctx.config.broker_listeners().next().map(|l| l.name.clone()).unwrap_or_default();
    let requested = match request.topics {
        Some(topics) if version > 0 || !topics.is_empty() => Some(topics),
        _ => None,
    };
    let auto_create = ctx.config.auto_create_topics_enable && (version < 4 || request.allow_auto_topic_creation);
    let mut answers: Vec<TopicAnswer> = Vec::new();
    match requested {
        None => answers.extend(loaded.image.topics.keys().map(|id| Ok(*id))),
        Some(requested) => {
            for wanted in requested {
                let found = match (&wanted.name, wanted.topic_id) {
                    (Some(name), _) => match loaded.image.topic_ids.get(name.as_str()) {
                        Some(id) => Ok(*id),
                        // Kafka names an unknown topic whose name is illegal as invalid.
                        None if validate_topic_name(name.as_str()).is_err() => {
                            Err((ResponseError::InvalidTopicException.code(), wanted.name.clone(), Uuid::nil()))
                        }
                        None if auto_create => {
                            let new = NewTopic {
                                name: name.to_string(),
                                partitions: -1,
                                replication_factor: -1,
                                configs: Vec::new(),
                            };
                            match topic_admin::create(ctx, new, false).await {
                                // Created: the partitions may not have leaders here yet, the
                                // client asks again (Kafka answers LEADER_NOT_AVAILABLE too).
                                Ok(_) | Err(TopicError::AlreadyExists(_)) => {
                                    Err((ResponseError::LeaderNotAvailable.code(), wanted.name.clone(), Uuid::nil()))
                                }
                                Err(error) => Err((error.code(), wanted.name.clone(), Uuid::nil())),
                            }
                        }
                        None => Err((ResponseError::UnknownTopicOrPartition.code(), wanted.name.clone(), Uuid::nil())),
                    },
                    (None, id) if loaded.image.topics.contains_key(&id) => Ok(id),
                    (None, id) if id != Uuid::nil() => Err((ResponseError::UnknownTopicId.code(), None, id)),
                    (None, id) => Err((ResponseError::InvalidRequest.code(), None, id)),
                };
                answers.push(found);
            }
            // Creations made the image newer: describe from the newest.
            loaded = cluster.metadata.current();
        }
    }
    let image = &loaded.image;
    response.brokers = image
        .brokers
        .values()
        .filter(|b| !b.fenced)
        .filter_map(|b| {
            let endpoint = b.endpoints.iter().find(|e| e.name == listener)?;
            let mut broker = MetadataResponseBroker::default();
            broker.node_id = BrokerId(b.id);
            broker.host = StrBytes::from_string(endpoint.host.clone());
            broker.port = i32::from(endpoint.port);
            if version >= 1 {
                broker.rack = b.rack.clone().map(StrBytes::from_string);
            }
            Some(broker)
        })
        .collect();
    if version >= 2 {
        response.cluster_id = Some(StrBytes::from_string(ctx.cluster_id.clone()));
    }
    if version >= 1 {
        // KRaft brokers name a live broker: clients send controller-bound admin requests
        // to it and it forwards them.
        response.controller_id = response.brokers.first().map_or(BrokerId(-1), |b| b.node_id);
    }
    for answer in answers {
        response.topics.push(match answer {
            Ok(id) => match image.topics.get(&id) {
                Some(topic) => describe_image_topic(topic, version),
                None => unknown_topic(ResponseError::UnknownTopicId.code(), None, id),
            },
            Err((code, name, id)) => unknown_topic(code, name, id),
        });
    }
    response
}

fn unknown_topic(code: i16, name: Option<TopicName>, id: Uuid) -> MetadataResponseTopic {
    let mut unknown = MetadataResponseTopic::default();
    unknown.error_code = code;
    unknown.name = name;
    unknown.topic_id = id;
    unknown
}

fn describe_image_topic(topic: &TopicImage, version: i16) -> MetadataResponseTopic {
    let mut out = MetadataResponseTopic::default();
    out.name = Some(TopicName(StrBytes::from_string(topic.name.clone())));
    if version >= 10 {
        out.topic_id = topic.id;
    }
    let ids = |ids: &[i32]| ids.iter().copied().map(BrokerId).collect::<Vec<_>>();
    out.partitions = topic
        .partitions
        .iter()
        .map(|(index, registration)| {
            let mut partition = MetadataResponsePartition::default();
            partition.partition_index = *index;
            partition.leader_id = BrokerId(registration.leader);
            if registration.leader == NO_LEADER {
                partition.error_code = ResponseError::LeaderNotAvailable.code();
            }
            if version >= 7 {
                partition.leader_epoch = registration.leader_epoch;
            }
            partition.replica_nodes = ids(&registration.replicas);
            partition.isr_nodes = ids(&registration.isr);
            if version >= 5 {
                let offline: Vec<i32> = Vec::new();
                partition.offline_replicas = ids(&offline);
            }
            partition
        })
        .collect();
    out
}
