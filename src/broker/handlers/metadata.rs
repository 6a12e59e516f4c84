//! Metadata: the one broker, and the topics asked for (auto-creating unknown ones when
//! both the request and `auto.create.topics.enable` allow it).

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::broker::context::BrokerContext;
use crate::broker::topics::{NewTopic, Topic};

pub async fn handle(ctx: &BrokerContext, request: MetadataRequest, version: i16) -> MetadataResponse {
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
        .iter()
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
