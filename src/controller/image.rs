//! The cluster metadata as of one offset of the metadata log (Kafka's `MetadataImage`):
//! brokers with their registrations, topics with their partitions. Controllers and brokers
//! build the same image by applying the same committed records in order.
//!
//! Applying a record checks it against the image (a change to a partition that does not
//! exist, a fence with a stale broker epoch) and checks the invariants after it
//! (REPLICATION.md §6, items 12, 14 and 15); a record that breaks them is a controller bug
//! and stops the process.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::records::{
    BrokerId, BrokerRegistrationChangeRecord, Endpoint, LeaderRecoveryState, MetadataRecord, PartitionChangeRecord,
    PartitionRecord, NO_LEADER, NO_LEADER_CHANGE,
};

/// A broker as registered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerRegistration {
    pub id: BrokerId,
    pub epoch: i64,
    pub incarnation_id: Uuid,
    pub endpoints: Vec<Endpoint>,
    pub rack: Option<String>,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
}

impl BrokerRegistration {
    /// Kafka's "acceptable leader": registered, unfenced, not shutting down.
    pub fn is_active(&self) -> bool {
        !self.fenced && !self.in_controlled_shutdown
    }
}

/// One partition's replicas, ISR, ELR, leader and epochs (Kafka's `PartitionRegistration`).
///
/// Invariants (REPLICATION.md §6, 14): ISR ⊆ replicas; ELR ⊆ replicas; ELR ∩ ISR = ∅; the
/// leader is in the ISR or is -1; no replica twice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionRegistration {
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub elr: Vec<BrokerId>,
    pub last_known_elr: Vec<BrokerId>,
    pub leader: BrokerId,
    pub leader_recovery_state: LeaderRecoveryState,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
}

impl PartitionRegistration {
    fn from_record(record: &PartitionRecord) -> Self {
        PartitionRegistration {
            replicas: record.replicas.clone(),
            isr: record.isr.clone(),
            elr: record.elr.clone(),
            last_known_elr: record.last_known_elr.clone(),
            leader: record.leader,
            leader_recovery_state: record.leader_recovery_state,
            leader_epoch: record.leader_epoch,
            partition_epoch: record.partition_epoch,
        }
    }

    /// The registration after `change`: the partition epoch grows by exactly 1, the leader
    /// epoch by 1 iff the record names a leader (REPLICATION.md §2.6).
    pub fn merge(&self, change: &PartitionChangeRecord) -> Self {
        let mut next = self.clone();
        if let Some(isr) = &change.isr {
            next.isr = isr.clone();
        }
        if let Some(elr) = &change.elr {
            next.elr = elr.clone();
        }
        if let Some(last_known_elr) = &change.last_known_elr {
            next.last_known_elr = last_known_elr.clone();
        }
        if let Some(state) = change.leader_recovery_state {
            next.leader_recovery_state = state;
        }
        if change.leader != NO_LEADER_CHANGE {
            next.leader = change.leader;
            next.leader_epoch += 1;
        }
        next.partition_epoch += 1;
        next
    }

    /// The shape invariants; the error names the first one broken.
    pub fn check_shape(&self) -> Result<(), String> {
        let in_replicas = |ids: &[BrokerId]| ids.iter().all(|id| self.replicas.contains(id));
        let distinct = |ids: &[BrokerId]| ids.iter().enumerate().all(|(i, id)| !ids[..i].contains(id));
        if !distinct(&self.replicas) || !distinct(&self.isr) || !distinct(&self.elr) {
            return Err(format!("a replica is listed twice: {self:?}"));
        }
        if !in_replicas(&self.isr) {
            return Err(format!("ISR {:?} is not within replicas {:?}", self.isr, self.replicas));
        }
        if !in_replicas(&self.elr) {
            return Err(format!("ELR {:?} is not within replicas {:?}", self.elr, self.replicas));
        }
        if self.elr.iter().any(|id| self.isr.contains(id)) {
            return Err(format!("ELR {:?} and ISR {:?} overlap", self.elr, self.isr));
        }
        if self.leader != NO_LEADER && !self.isr.contains(&self.leader) {
            return Err(format!("leader {} is not in ISR {:?}", self.leader, self.isr));
        }
        Ok(())
    }
}

/// A topic and its partitions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: BTreeMap<i32, PartitionRegistration>,
    /// Topic-level config overrides (`min.insync.replicas`, …).
    pub configs: BTreeMap<String, String>,
}

/// Why a record cannot be applied to an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError(pub String);

/// The cluster metadata at `offset`.
///
/// Invariants:
/// - every partition satisfies [`PartitionRegistration::check_shape`];
/// - with ELR on, a partition whose ISR has at least min(minISR, replicas) members has an
///   empty ELR (REPLICATION.md §6, 15); with ELR off, the ISR is never empty;
/// - topic names and ids map one to one.
///
/// Serializable: a metadata snapshot (KIP-630) is the image (`cluster/metadata_snapshot.rs`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetadataImage {
    /// The offset of the last record applied (-1: none).
    pub offset: i64,
    pub brokers: BTreeMap<BrokerId, BrokerRegistration>,
    pub topics: BTreeMap<Uuid, TopicImage>,
    pub topic_ids: BTreeMap<String, Uuid>,
    /// The cluster-wide `min.insync.replicas`; a topic's override wins.
    pub default_min_insync_replicas: usize,
    /// Whether eligible leader replicas (KIP-966) are on.
    pub elr_enabled: bool,
}

impl MetadataImage {
    pub fn new(default_min_insync_replicas: usize, elr_enabled: bool) -> Self {
        MetadataImage {
            offset: -1,
            brokers: BTreeMap::new(),
            topics: BTreeMap::new(),
            topic_ids: BTreeMap::new(),
            default_min_insync_replicas,
            elr_enabled,
        }
    }

    pub fn topic_by_name(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(self.topic_ids.get(name)?)
    }

    pub fn partition(&self, topic_id: Uuid, partition_id: i32) -> Option<&PartitionRegistration> {
        self.topics.get(&topic_id)?.partitions.get(&partition_id)
    }

    /// A topic's effective `min.insync.replicas`.
    pub fn min_insync_replicas(&self, topic_id: Uuid) -> usize {
        self.topics
            .get(&topic_id)
            .and_then(|t| t.configs.get("min.insync.replicas"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.default_min_insync_replicas)
    }

    /// Whether `broker` may lead: registered, unfenced, not in controlled shutdown.
    pub fn is_active(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(BrokerRegistration::is_active)
    }

    /// Applies the record at `offset`. An error leaves the image as it was.
    pub fn apply(&mut self, offset: i64, record: &MetadataRecord) -> Result<(), ApplyError> {
        if offset <= self.offset {
            return Err(ApplyError(format!("record at {offset} applied after {}", self.offset)));
        }
        match record {
            MetadataRecord::RegisterBroker(r) => {
                let previous = self.brokers.get(&r.broker_id).map(|b| b.epoch);
                if previous.is_some_and(|epoch| epoch >= r.broker_epoch) {
                    return Err(ApplyError(format!(
                        "broker {} registered with epoch {} after epoch {previous:?}",
                        r.broker_id, r.broker_epoch
                    )));
                }
                let registration = BrokerRegistration {
                    id: r.broker_id,
                    epoch: r.broker_epoch,
                    incarnation_id: r.incarnation_id,
                    endpoints: r.endpoints.clone(),
                    rack: r.rack.clone(),
                    fenced: r.fenced,
                    in_controlled_shutdown: r.in_controlled_shutdown,
                };
                self.brokers.insert(r.broker_id, registration);
            }
            MetadataRecord::BrokerRegistrationChange(r) => self.apply_registration_change(r)?,
            MetadataRecord::Topic(r) => {
                if self.topic_ids.contains_key(&r.name) || self.topics.contains_key(&r.topic_id) {
                    return Err(ApplyError(format!("topic {} ({}) exists already", r.name, r.topic_id)));
                }
                self.topic_ids.insert(r.name.clone(), r.topic_id);
                let topic = TopicImage {
                    name: r.name.clone(),
                    id: r.topic_id,
                    partitions: BTreeMap::new(),
                    configs: BTreeMap::new(),
                };
                self.topics.insert(r.topic_id, topic);
            }
            MetadataRecord::TopicConfig(r) => {
                let topic = self.topic_mut(r.topic_id)?;
                match &r.value {
                    Some(value) => topic.configs.insert(r.name.clone(), value.clone()),
                    None => topic.configs.remove(&r.name),
                };
            }
            MetadataRecord::Partition(r) => {
                let registration = PartitionRegistration::from_record(r);
                registration.check_shape().map_err(ApplyError)?;
                let topic = self.topic_mut(r.topic_id)?;
                if topic.partitions.insert(r.partition_id, registration).is_some() {
                    return Err(ApplyError(format!("partition {}-{} exists already", r.topic_id, r.partition_id)));
                }
            }
            MetadataRecord::PartitionChange(r) => {
                let current = self
                    .partition(r.topic_id, r.partition_id)
                    .ok_or_else(|| ApplyError(format!("no partition {}-{}", r.topic_id, r.partition_id)))?;
                let next = current.merge(r);
                next.check_shape().map_err(ApplyError)?;
                self.topic_mut(r.topic_id)?.partitions.insert(r.partition_id, next);
            }
            MetadataRecord::RemoveTopic(r) => {
                let topic =
                    self.topics.remove(&r.topic_id).ok_or_else(|| ApplyError(format!("no topic {}", r.topic_id)))?;
                self.topic_ids.remove(&topic.name);
            }
            MetadataRecord::NoOp => {}
        }
        self.offset = offset;
        self.check_invariants();
        Ok(())
    }

    fn apply_registration_change(&mut self, r: &BrokerRegistrationChangeRecord) -> Result<(), ApplyError> {
        let broker =
            self.brokers.get_mut(&r.broker_id).ok_or_else(|| ApplyError(format!("no broker {}", r.broker_id)))?;
        if broker.epoch != r.broker_epoch {
            return Err(ApplyError(format!(
                "change for broker {} epoch {} but it is registered with epoch {}",
                r.broker_id, r.broker_epoch, broker.epoch
            )));
        }
        if let Some(fenced) = r.fenced {
            broker.fenced = fenced;
        }
        if let Some(shutting_down) = r.in_controlled_shutdown {
            broker.in_controlled_shutdown = shutting_down;
        }
        Ok(())
    }

    fn topic_mut(&mut self, topic_id: Uuid) -> Result<&mut TopicImage, ApplyError> {
        self.topics.get_mut(&topic_id).ok_or_else(|| ApplyError(format!("no topic {topic_id}")))
    }

    /// The type's invariants, as assertions.
    pub fn check_invariants(&self) {
        assert_eq!(self.topics.len(), self.topic_ids.len(), "topic names and ids map one to one");
        for (name, id) in &self.topic_ids {
            assert_eq!(self.topics.get(id).map(|t| t.name.as_str()), Some(name.as_str()), "topic {name} maps to {id}");
        }
        for topic in self.topics.values() {
            let min_isr = self.min_insync_replicas(topic.id);
            for (index, partition) in &topic.partitions {
                if let Err(problem) = partition.check_shape() {
                    panic!("{}-{index}: {problem}", topic.name);
                }
                let enough = partition.isr.len() >= min_isr.min(partition.replicas.len());
                if self.elr_enabled {
                    assert!(!enough || partition.elr.is_empty(), "{}-{index}: ELR kept with a full ISR", topic.name);
                } else {
                    assert!(!partition.isr.is_empty(), "{}-{index}: empty ISR without ELR", topic.name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::records::{RegisterBrokerRecord, TopicRecord};

    const TOPIC: Uuid = Uuid::from_u128(5);

    fn image_with_partition(elr_enabled: bool) -> MetadataImage {
        let mut image = MetadataImage::new(2, elr_enabled);
        for (offset, id) in [(0, 1), (1, 2)] {
            let register = RegisterBrokerRecord {
                broker_id: id,
                incarnation_id: Uuid::from_u128(id as u128),
                broker_epoch: offset,
                endpoints: Vec::new(),
                rack: None,
                fenced: false,
                in_controlled_shutdown: false,
            };
            image.apply(offset, &MetadataRecord::RegisterBroker(register)).unwrap();
        }
        image.apply(2, &MetadataRecord::Topic(TopicRecord { name: "t".into(), topic_id: TOPIC })).unwrap();
        let partition = PartitionRecord::created(TOPIC, 0, vec![1, 2]);
        image.apply(3, &MetadataRecord::Partition(partition)).unwrap();
        image
    }

    fn change(isr: Option<Vec<BrokerId>>, leader: BrokerId) -> MetadataRecord {
        MetadataRecord::PartitionChange(PartitionChangeRecord {
            topic_id: TOPIC,
            partition_id: 0,
            isr,
            leader,
            elr: None,
            last_known_elr: None,
            leader_recovery_state: None,
        })
    }

    #[test]
    fn a_change_moves_the_epochs_by_the_rules() {
        let mut image = image_with_partition(false);
        image.apply(4, &change(Some(vec![1]), NO_LEADER_CHANGE)).unwrap();
        let p = image.partition(TOPIC, 0).unwrap();
        assert_eq!((p.leader_epoch, p.partition_epoch), (0, 1), "an ISR shrink keeps the leader epoch");
        image.apply(5, &change(None, NO_LEADER)).unwrap();
        let p = image.partition(TOPIC, 0).unwrap();
        assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (NO_LEADER, 1, 2), "a leader change bumps both");
    }

    #[test]
    fn a_change_that_breaks_the_partition_shape_is_refused() {
        let mut image = image_with_partition(false);
        let refused = image.apply(4, &change(Some(vec![2]), NO_LEADER_CHANGE));
        assert!(refused.unwrap_err().0.contains("leader 1 is not in ISR [2]"));
        assert!(image.apply(4, &change(Some(vec![3]), 3)).is_err(), "ISR outside the replicas");
        assert!(image.apply(4, &change(Some(vec![1, 1]), NO_LEADER_CHANGE)).is_err(), "a replica twice");
        assert_eq!(image.partition(TOPIC, 0).unwrap().partition_epoch, 0, "refused changes leave no trace");
    }

    #[test]
    fn records_apply_in_offset_order_only() {
        let mut image = image_with_partition(false);
        assert!(image.apply(3, &MetadataRecord::NoOp).is_err());
    }

    #[test]
    #[should_panic(expected = "ELR kept with a full ISR")]
    fn the_elr_invariant_fires_on_an_elr_kept_beside_a_full_isr() {
        let mut image = image_with_partition(true);
        let record = MetadataRecord::PartitionChange(PartitionChangeRecord {
            topic_id: TOPIC,
            partition_id: 0,
            isr: Some(vec![1]),
            leader: NO_LEADER_CHANGE,
            elr: Some(vec![2]),
            last_known_elr: None,
            leader_recovery_state: None,
        });
        image.apply(4, &record).unwrap();
        image
            .apply(
                5,
                &MetadataRecord::TopicConfig(super::super::records::TopicConfigRecord {
                    topic_id: TOPIC,
                    name: "min.insync.replicas".into(),
                    value: Some("1".into()),
                }),
            )
            .unwrap();
    }

    #[test]
    fn a_fence_with_a_stale_broker_epoch_is_refused() {
        let mut image = image_with_partition(false);
        let fence = BrokerRegistrationChangeRecord {
            broker_id: 2,
            broker_epoch: 0,
            fenced: Some(true),
            in_controlled_shutdown: None,
        };
        assert!(image.apply(4, &MetadataRecord::BrokerRegistrationChange(fence)).is_err());
        assert!(image.is_active(2));
    }
}
