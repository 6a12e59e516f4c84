//! The client's view of the cluster: brokers, topics, partitions and their leaders, as the
//! last Metadata responses said. A plain struct updated from responses; [`super::cluster`]
//! does the refreshing. A topic is *stale* when an error (NOT_LEADER_OR_FOLLOWER,
//! UNKNOWN_TOPIC_OR_PARTITION, a broken connection) says its entry may be wrong; a stale
//! or missing topic is refreshed before use.
//!
//! Leader epochs only move forward (KIP-320, Java's `Metadata.updateLatestMetadata`): a
//! partition answered with an older leader epoch than the cache holds — a broker that has
//! not yet heard of the latest election — keeps the cached leader and epoch, so a stale
//! answer never sends the client back to a deposed leader. An answer without an epoch
//! (-1, brokers before Metadata v7) is taken as is and forgets the epoch.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use tracing::debug;

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
///
/// Invariants: every cached partition with a leader epoch (>= 0) shows the newest epoch
/// seen for it (`leader_epochs`); an epoch in `leader_epochs` never decreases while its
/// topic stays cached; `leader_epochs` holds only partitions of cached topics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataCache {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
    stale: BTreeSet<String>,
    /// The newest leader epoch seen per (topic, partition).
    leader_epochs: BTreeMap<(String, i32), i32>,
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
        let previous_brokers = std::mem::take(&mut self.brokers);
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
        let mut previous = BTreeMap::new();
        if requested.is_none() {
            previous = std::mem::take(&mut self.topics);
            self.stale.clear();
        }
        for name in requested.unwrap_or_default() {
            // Asked for and not answered: the broker does not know it.
            if let Some(info) = self.topics.remove(name) {
                previous.insert(name.clone(), info);
            }
            self.stale.remove(name);
        }
        for topic in &response.topics {
            let Some(name) = topic.name.as_ref().map(|n| n.0.to_string()) else { continue };
            if topic.error_code == code::UNKNOWN_TOPIC_OR_PARTITION {
                continue;
            }
            let cached = previous.remove(&name).or_else(|| self.topics.remove(&name));
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
                .map(|p| self.newest(&name, p, cached.as_ref()))
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
        self.keep_leaders_of_kept_partitions(&previous_brokers);
        let topics = &self.topics;
        self.leader_epochs.retain(|(topic, _), _| topics.contains_key(topic));
        self.check_invariants();
    }

    /// The answered partition, or the cached one when the answer's leader epoch is older.
    fn newest(&mut self, topic: &str, answered: PartitionInfo, cached: Option<&TopicInfo>) -> PartitionInfo {
        let key = (topic.to_owned(), answered.partition);
        if answered.leader_epoch < 0 {
            self.leader_epochs.remove(&key);
            return answered;
        }
        match self.leader_epochs.get(&key) {
            Some(&seen) if answered.leader_epoch < seen => {
                let kept = cached.and_then(|t| t.partition(answered.partition)).filter(|p| p.leader_epoch == seen);
                if let Some(kept) = kept {
                    debug!(
                        name: "client_metadata_stale_leader_ignored",
                        topic,
                        partition = answered.partition,
                        answered_leader_epoch = answered.leader_epoch,
                        cached_leader_epoch = seen
                    );
                    return kept.clone();
                }
                // Nothing cached to keep (cannot happen while the invariants hold): take
                // the answer and remember its epoch.
                self.leader_epochs.insert(key, answered.leader_epoch);
                answered
            }
            _ => {
                self.leader_epochs.insert(key, answered.leader_epoch);
                answered
            }
        }
    }

    /// A kept (newer) partition may name a leader the stale answer's broker list lacks:
    /// keep that broker's address from the previous answer.
    fn keep_leaders_of_kept_partitions(&mut self, previous_brokers: &BTreeMap<i32, BrokerInfo>) {
        let leaders: BTreeSet<i32> =
            self.topics.values().flat_map(|t| &t.partitions).map(|p| p.leader).filter(|&l| l >= 0).collect();
        for leader in leaders {
            if let (false, Some(info)) = (self.brokers.contains_key(&leader), previous_brokers.get(&leader)) {
                self.brokers.insert(leader, info.clone());
            }
        }
    }

    /// Asserts the invariants listed at the type.
    pub fn check_invariants(&self) {
        for topic in self.topics.values() {
            for p in topic.partitions.iter().filter(|p| p.leader_epoch >= 0) {
                let seen = self.leader_epochs.get(&(topic.name.clone(), p.partition));
                assert_eq!(
                    seen,
                    Some(&p.leader_epoch),
                    "{}-{}: cached leader epoch {} is not the newest seen",
                    topic.name,
                    p.partition,
                    p.leader_epoch
                );
            }
        }
        for (topic, partition) in self.leader_epochs.keys() {
            assert!(self.topics.contains_key(topic), "leader epoch kept for {topic}-{partition} of an uncached topic");
        }
    }

    /// The leader and its epoch of a partition of a fresh topic, if it has a leader.
    pub fn leader_and_epoch(&self, topic: &str, partition: i32) -> Option<(i32, i32)> {
        let p = self.fresh_topic(topic)?.partition(partition)?;
        (p.leader >= 0).then_some((p.leader, p.leader_epoch))
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

    fn at_epoch(index: i32, leader: i32, leader_epoch: i32) -> MetadataResponsePartition {
        partition(index, leader).with_leader_epoch(leader_epoch)
    }

    #[test]
    fn an_older_leader_epoch_does_not_move_the_leader_back() {
        let mut cache = MetadataCache::default();
        let asked = ["t".to_owned()];
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 2, 7), at_epoch(1, 1, 3)])]), Some(&asked));
        // A broker that missed the election of epoch 7 still names broker 1; partition 1
        // moved on to epoch 4 meanwhile.
        cache.mark_stale("t");
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 1, 6), at_epoch(1, 2, 4)])]), Some(&asked));
        assert_eq!(cache.leader_and_epoch("t", 0), Some((2, 7)), "the stale answer is ignored");
        assert_eq!(cache.leader_and_epoch("t", 1), Some((2, 4)), "a newer answer is taken");
        // The same epoch is taken (ISR changes do not bump the leader epoch).
        let mut same = at_epoch(0, 2, 7);
        same.isr_nodes = vec![BrokerId(2)];
        cache.update(&response(vec![topic("t", 0, vec![same, at_epoch(1, 2, 4)])]), None);
        assert_eq!(cache.topic("t").unwrap().partitions[0].isr, vec![2]);
        // An answer without an epoch (an old broker) is taken and forgets the epoch.
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 1, -1), at_epoch(1, 2, 4)])]), None);
        assert_eq!(cache.leader_and_epoch("t", 0), Some((1, -1)));
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 2, 1), at_epoch(1, 2, 4)])]), None);
        assert_eq!(cache.leader_and_epoch("t", 0), Some((2, 1)));
    }

    #[test]
    fn a_kept_leader_keeps_its_broker_address() {
        let mut cache = MetadataCache::default();
        let mut with_three = response(vec![topic("t", 0, vec![at_epoch(0, 3, 2)])]);
        with_three.brokers.push(
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(3))
                .with_host(StrBytes::from_static_str("b3"))
                .with_port(9093),
        );
        cache.update(&with_three, None);
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 1, 1)])]), None);
        assert_eq!(cache.leader("t", 0), Some(3));
        assert_eq!(cache.broker(3).unwrap().address(), "b3:9093");
    }

    #[test]
    fn dropped_topics_forget_their_epochs() {
        let mut cache = MetadataCache::default();
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 2, 7)])]), None);
        cache.update(&response(vec![]), None);
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 1, 1)])]), None);
        assert_eq!(cache.leader_and_epoch("t", 0), Some((1, 1)), "a recreated topic starts over");
    }

    #[test]
    #[should_panic(expected = "is not the newest seen")]
    fn the_epoch_invariant_fires_when_a_cached_epoch_is_rewritten_backwards() {
        let mut cache = MetadataCache::default();
        cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, 2, 7)])]), None);
        cache.topics.get_mut("t").unwrap().partitions[0].leader_epoch = 3; // bypasses update
        cache.check_invariants();
    }

    proptest::proptest! {
        /// Whatever order brokers' answers arrive in, the cache shows the newest epoch
        /// seen and the leader an answer at that epoch named last.
        #[test]
        fn the_cached_leader_is_the_one_of_the_newest_epoch(
            answers in proptest::collection::vec((1..4i32, 0..6i32), 1..30),
        ) {
            let mut cache = MetadataCache::default();
            let mut newest: Option<(i32, i32)> = None;
            for (leader, epoch) in answers {
                cache.update(&response(vec![topic("t", 0, vec![at_epoch(0, leader, epoch)])]), None);
                if newest.is_none_or(|(_, seen)| epoch >= seen) {
                    newest = Some((leader, epoch));
                }
                proptest::prop_assert_eq!(cache.leader_and_epoch("t", 0), newest);
            }
        }
    }

    #[test]
    fn requests_name_their_topics_or_ask_for_all() {
        assert_eq!(MetadataCache::request(None).topics, None);
        let one = MetadataCache::request(Some(&["t".to_owned()]));
        assert_eq!(one.topics.unwrap()[0].name.as_ref().unwrap().0.as_str(), "t");
        assert!(!one.allow_auto_topic_creation);
    }
}
