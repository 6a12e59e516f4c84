//! The client's view of the cluster: brokers, topics, partitions and their leaders, as the
//! last Metadata responses said. A plain struct updated from responses; [`super::cluster`]
//! does the refreshing. A topic is *stale* when an error (NOT_LEADER_OR_FOLLOWER,
//! UNKNOWN_TOPIC_OR_PARTITION, a broken connection) says its entry may be wrong; a stale
//! or missing topic is refreshed before use.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::error::code;

/// A broker as Metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`, bracketing IPv6 literals.
    pub fn address(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }
}

/// A partition as Metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    /// The leader's node id, or -1 when there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    pub error_code: i16,
}

/// A topic as Metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    /// Sorted by partition index.
    pub partitions: Vec<PartitionInfo>,
    pub error_code: i16,
}

impl TopicInfo {
    pub fn partition(&self, partition: i32) -> Option<&PartitionInfo> {
        self.partitions.iter().find(|p| p.partition == partition)
    }
}

/// The cached cluster view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataCache {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
    stale: BTreeSet<String>,
}

impl MetadataCache {
    /// A Metadata request for `topics` (`None`: every topic).
    pub fn request(topics: Option<&[String]>) -> MetadataRequest {
        let topics = topics.map(|names| {
            names.iter().map(|name| MetadataRequestTopic::default().with_name(Some(topic_name(name)))).collect()
        });
        MetadataRequest::default().with_topics(topics).with_allow_auto_topic_creation(false)
    }

    /// Takes in a response to a request for `requested` topics (`None`: every topic).
    pub fn update(&mut self, response: &MetadataResponse, requested: Option<&[String]>) {
        self.cluster_id = response.cluster_id.as_ref().map(ToString::to_string);
        self.controller_id = response.controller_id.0;
        self.brokers = response
            .brokers
            .iter()
            .map(|b| {
                let info = BrokerInfo {
                    node_id: b.node_id.0,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.as_ref().map(ToString::to_string),
                };
                (info.node_id, info)
            })
            .collect();
        if requested.is_none() {
            self.topics.clear();
            self.stale.clear();
        }
        for name in requested.unwrap_or_default() {
            // Asked for and not answered: the broker does not know it.
            self.topics.remove(name);
            self.stale.remove(name);
        }
        for topic in &response.topics {
            let Some(name) = topic.name.as_ref().map(|n| n.0.to_string()) else { continue };
            if topic.error_code == code::UNKNOWN_TOPIC_OR_PARTITION {
                continue;
            }
            let mut partitions: Vec<PartitionInfo> = topic
                .partitions
                .iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|id| id.0).collect(),
                    isr: p.isr_nodes.iter().map(|id| id.0).collect(),
                    offline_replicas: p.offline_replicas.iter().map(|id| id.0).collect(),
                    error_code: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            if topic.error_code != code::NONE {
                self.stale.insert(name.clone()); // e.g. LEADER_NOT_AVAILABLE: ask again
            }
            let info = TopicInfo {
                name: name.clone(),
                topic_id: topic.topic_id,
                is_internal: topic.is_internal,
                partitions,
                error_code: topic.error_code,
            };
            self.topics.insert(name, info);
        }
    }

    /// The topic, if known and not stale.
    pub fn fresh_topic(&self, topic: &str) -> Option<&TopicInfo> {
        self.topics.get(topic).filter(|_| !self.stale.contains(topic))
    }

    /// The topic as last seen, stale or not.
    pub fn topic(&self, topic: &str) -> Option<&TopicInfo> {
        self.topics.get(topic)
    }

    /// The leader of a partition of a fresh topic, if it has one.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let leader = self.fresh_topic(topic)?.partition(partition)?.leader;
        (leader >= 0).then_some(leader)
    }

    pub fn broker(&self, node_id: i32) -> Option<&BrokerInfo> {
        self.brokers.get(&node_id)
    }

    /// Marks `topic` for refresh before its next use.
    pub fn mark_stale(&mut self, topic: &str) {
        self.stale.insert(topic.to_owned());
    }

    pub fn is_stale(&self, topic: &str) -> bool {
        self.stale.contains(topic)
    }
}

pub(crate) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::BrokerId;

    use super::*;

    fn partition(index: i32, leader: i32) -> MetadataResponsePartition {
        MetadataResponsePartition::default()
            .with_partition_index(index)
            .with_leader_id(BrokerId(leader))
            .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
            .with_isr_nodes(vec![BrokerId(1)])
    }

    fn topic(name: &str, error_code: i16, partitions: Vec<MetadataResponsePartition>) -> MetadataResponseTopic {
        MetadataResponseTopic::default()
            .with_name(Some(topic_name(name)))
            .with_error_code(error_code)
            .with_partitions(partitions)
    }

    fn response(topics: Vec<MetadataResponseTopic>) -> MetadataResponse {
        let broker = |id: i32| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_string(format!("b{id}")))
                .with_port(9092)
        };
        MetadataResponse::default()
            .with_brokers(vec![broker(1), broker(2)])
            .with_controller_id(BrokerId(1))
            .with_topics(topics)
    }

    #[test]
    fn leaders_come_from_the_latest_response() {
        let mut cache = MetadataCache::default();
        cache.update(&response(vec![topic("t", 0, vec![partition(1, 2), partition(0, 1)])]), None);
        assert_eq!(cache.leader("t", 0), Some(1));
        assert_eq!(cache.leader("t", 1), Some(2));
        assert_eq!(cache.leader("t", 2), None);
        assert_eq!(cache.topic("t").unwrap().partitions[0].partition, 0, "sorted");
        assert_eq!(cache.broker(2).unwrap().address(), "b2:9092");
        assert_eq!(cache.topic("t").unwrap().partitions[0].isr, vec![1]);
    }

    #[test]
    fn a_partition_without_leader_has_no_leader() {
        let mut cache = MetadataCache::default();
        cache.update(&response(vec![topic("t", 0, vec![partition(0, -1)])]), None);
        assert_eq!(cache.leader("t", 0), None);
    }

    #[test]
    fn unknown_topics_are_dropped_and_errors_make_topics_stale() {
        let mut cache = MetadataCache::default();
        cache.update(&response(vec![topic("a", 0, vec![partition(0, 1)]), topic("b", 0, vec![])]), None);
        let asked = vec!["a".to_owned(), "b".to_owned()];
        cache.update(&response(vec![topic("a", 3, vec![]), topic("b", 5, vec![partition(0, -1)])]), Some(&asked));
        assert!(cache.topic("a").is_none(), "UNKNOWN_TOPIC_OR_PARTITION drops the topic");
        assert!(cache.topic("b").is_some() && cache.fresh_topic("b").is_none(), "LEADER_NOT_AVAILABLE: stale");
    }

    #[test]
    fn stale_marks_last_until_the_next_answer() {
        let mut cache = MetadataCache::default();
        let full = response(vec![topic("t", 0, vec![partition(0, 1)]), topic("u", 0, vec![partition(0, 2)])]);
        cache.update(&full, None);
        cache.mark_stale("t");
        assert_eq!(cache.leader("t", 0), None);
        assert_eq!(cache.leader("u", 0), Some(2));
        cache.update(&response(vec![topic("t", 0, vec![partition(0, 2)])]), Some(&["t".to_owned()]));
        assert_eq!(cache.leader("t", 0), Some(2));
        assert_eq!(cache.leader("u", 0), Some(2), "a partial answer keeps other topics");
    }

    #[test]
    fn requests_name_their_topics_or_ask_for_all() {
        assert_eq!(MetadataCache::request(None).topics, None);
        let one = MetadataCache::request(Some(&["t".to_owned()]));
        assert_eq!(one.topics.unwrap()[0].name.as_ref().unwrap().0.as_str(), "t");
        assert!(!one.allow_auto_topic_creation);
    }
}
