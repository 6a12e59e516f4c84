//! Topics and partitions on the active controller (Kafka's `ReplicationControlManager`):
//! creation with replica placement, deletion, AlterPartition from partition leaders
//! (REPLICATION.md §3.8), and elections for leaderless partitions and preferred leaders
//! (§2.5).
//!
//! Decisions:
//! - Placement: replicas of partition p are the active brokers, sorted by id, taken
//!   round-robin from a start drawn once per topic from the controller's seeded source
//!   (Kafka's striped placer also starts at a random broker; racks are not considered yet).
//! - Unclean elections for leaderless partitions run on every tick when the cluster or the
//!   topic allows them (Kafka retries every 5 minutes); the switch exists to replay the
//!   historical data loss it causes, and a prompt election shows it soonest.

use kafka_protocol::ResponseError;
use rand::Rng;
use uuid::Uuid;

use super::image::PartitionRegistration;
use super::partition_change::{Election, PartitionChangeBuilder};
use super::quorum_controller::{ControllerError, QuorumController, Written};
use super::records::{
    BrokerId, LeaderRecoveryState, MetadataRecord, PartitionRecord, RemoveTopicRecord, TopicConfigRecord, TopicRecord,
    NO_LEADER,
};
use crate::protocol::topic_name::{colliding_topic, collision_message};

/// One partition of an AlterPartition request (v3).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlterPartitionItem {
    pub topic_id: Uuid,
    pub partition_id: i32,
    pub leader_epoch: i32,
    /// The proposed ISR with each member's broker epoch (-1: not checked).
    pub new_isr_with_epochs: Vec<(BrokerId, i64)>,
    pub leader_recovery_state: LeaderRecoveryState,
    pub partition_epoch: i32,
}

/// AlterPartition's request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlterPartitionRequest {
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
    pub partitions: Vec<AlterPartitionItem>,
}

/// One partition's answer: its state after the request, or the error.
pub type AlterPartitionResult = Result<PartitionRegistration, ControllerError>;

/// Kafka's checks of the replicas named for `added` new partitions (CreatePartitions), each
/// INVALID_REPLICA_ASSIGNMENT: one assignment per new partition, each of the topic's
/// `replication_factor` replicas, each a `registered` broker, none twice. A broker alone
/// runs the same checks with itself as the one registered broker.
pub fn check_new_assignments(
    added: usize,
    replication_factor: usize,
    assignments: &[Vec<BrokerId>],
    registered: impl Fn(BrokerId) -> bool,
) -> Result<(), ControllerError> {
    let invalid = |m: String| Err(ControllerError::new(ResponseError::InvalidReplicaAssignment, m));
    if assignments.len() != added {
        return invalid(format!(
            "Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.",
            assignments.len()
        ));
    }
    for replicas in assignments {
        if replicas.len() != replication_factor {
            return invalid(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not \
                 consistent with previous partitions, which have {replication_factor} replica(s).",
                replicas.len()
            ));
        }
        for (i, broker) in replicas.iter().enumerate() {
            if replicas[..i].contains(broker) {
                return invalid(format!(
                    "The manual partition assignment includes the broker {broker} more than once."
                ));
            }
            if !registered(*broker) {
                return invalid(format!(
                    "The manual partition assignment includes broker {broker}, but no such broker is registered."
                ));
            }
        }
    }
    Ok(())
}

impl QuorumController {
    /// Creates a topic: `partitions` partitions (-1: `num.partitions`) of
    /// `replication_factor` replicas (-1: `default.replication.factor`) on active brokers,
    /// each led by its first replica with every replica in the ISR.
    pub fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(String, String)],
    ) -> Result<Written<Uuid>, ControllerError> {
        if self.image.topic_ids.contains_key(name) {
            return Err(ControllerError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{name}' already exists."),
            ));
        }
        if let Some(existing) = colliding_topic(name, self.image.topic_ids.keys().map(String::as_str)) {
            return Err(ControllerError::new(ResponseError::InvalidTopicException, collision_message(name, existing)));
        }
        let partitions = if partitions == -1 { self.config.num_partitions } else { partitions };
        if partitions < 1 {
            return Err(ControllerError::new(
                ResponseError::InvalidPartitions,
                "Number of partitions must be larger than 0.",
            ));
        }
        let replication_factor =
            if replication_factor == -1 { self.config.default_replication_factor } else { replication_factor };
        let active: Vec<BrokerId> = self.image.brokers.values().filter(|b| b.is_active()).map(|b| b.id).collect();
        if replication_factor < 1 || replication_factor as usize > active.len() {
            return Err(ControllerError::new(
                ResponseError::InvalidReplicationFactor,
                format!(
                    "Replication factor {replication_factor} is larger than the {} available brokers.",
                    active.len()
                ),
            ));
        }
        let topic_id = self.new_topic_id();
        let start = self.rng.random_range(0..active.len());
        let mut records = Vec::new();
        self.write(&mut records, MetadataRecord::Topic(TopicRecord { name: name.to_string(), topic_id }));
        for (key, value) in configs {
            let config = TopicConfigRecord { topic_id, name: key.clone(), value: Some(value.clone()) };
            self.write(&mut records, MetadataRecord::TopicConfig(config));
        }
        for partition_id in 0..partitions {
            let replicas: Vec<BrokerId> = (0..replication_factor as usize)
                .map(|i| active[(start + partition_id as usize + i) % active.len()])
                .collect();
            let partition = PartitionRecord::created(topic_id, partition_id, replicas);
            self.write(&mut records, MetadataRecord::Partition(partition));
        }
        self.check_invariants();
        Ok(Written { records, reply: topic_id })
    }

    /// Grows topic `name` to `count` partitions (CreatePartitions). The new partitions get
    /// as many replicas as the topic's first one: `assignments` (one list per new partition)
    /// or, without them, active brokers in turn from a seeded start; each led by its first
    /// replica with every replica in the ISR. Kafka's checks and errors, in its order. With
    /// `validate_only` it checks and writes nothing.
    pub fn create_partitions(
        &mut self,
        name: &str,
        count: i32,
        assignments: Option<&[Vec<BrokerId>]>,
        validate_only: bool,
    ) -> Result<Written<()>, ControllerError> {
        let error = |e: ResponseError, m: String| Err(ControllerError::new(e, m));
        let Some(topic_id) = self.image.topic_ids.get(name).copied() else {
            return error(ResponseError::UnknownTopicOrPartition, format!("The topic '{name}' does not exist."));
        };
        let topic = &self.image.topics[&topic_id];
        let current = topic.partitions.len() as i32;
        if count < current {
            return error(
                ResponseError::InvalidPartitions,
                format!("The topic {name} currently has {current} partition(s); {count} would not be an increase."),
            );
        }
        if count == current {
            return error(ResponseError::InvalidPartitions, format!("Topic already has {current} partition(s)."));
        }
        let replication_factor = topic.partitions.values().next().map_or(1, |p| p.replicas.len());
        let added = (count - current) as usize;
        let new_replicas: Vec<Vec<BrokerId>> = match assignments {
            Some(assignments) => {
                let registered = |broker: BrokerId| self.image.brokers.contains_key(&broker);
                check_new_assignments(added, replication_factor, assignments, registered)?;
                assignments.to_vec()
            }
            None => {
                let active: Vec<BrokerId> =
                    self.image.brokers.values().filter(|b| b.is_active()).map(|b| b.id).collect();
                if replication_factor > active.len() {
                    return error(
                        ResponseError::InvalidReplicationFactor,
                        format!(
                            "Unable to replicate the partition {replication_factor} time(s): only {} broker(s) are \
                             active.",
                            active.len()
                        ),
                    );
                }
                let start = self.rng.random_range(0..active.len());
                (0..added)
                    .map(|p| (0..replication_factor).map(|i| active[(start + p + i) % active.len()]).collect())
                    .collect()
            }
        };
        let mut records = Vec::new();
        if validate_only {
            return Ok(Written { records, reply: () });
        }
        for (i, replicas) in new_replicas.into_iter().enumerate() {
            let partition = PartitionRecord::created(topic_id, current + i as i32, replicas);
            self.write(&mut records, MetadataRecord::Partition(partition));
        }
        self.check_invariants();
        Ok(Written { records, reply: () })
    }

    /// Deletes a topic.
    pub fn delete_topic(&mut self, name: &str) -> Result<Written<Uuid>, ControllerError> {
        let topic_id = *self.image.topic_ids.get(name).ok_or_else(|| {
            ControllerError::new(ResponseError::UnknownTopicOrPartition, format!("Topic '{name}' does not exist."))
        })?;
        let mut records = Vec::new();
        self.write(&mut records, MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id }));
        self.check_invariants();
        Ok(Written { records, reply: topic_id })
    }

    /// A leader's AlterPartition: each partition is checked in REPLICATION.md §3.8's order
    /// and, if valid, changed; a stale broker epoch refuses the whole request.
    pub fn alter_partition(
        &mut self,
        request: &AlterPartitionRequest,
    ) -> Result<Written<Vec<AlterPartitionResult>>, ControllerError> {
        self.registration(request.broker_id, request.broker_epoch)?;
        let mut records = Vec::new();
        let mut results = Vec::new();
        for item in &request.partitions {
            let result = self.alter_one(request.broker_id, item, &mut records);
            results.push(result);
        }
        self.check_invariants();
        Ok(Written { records, reply: results })
    }

    fn alter_one(
        &mut self,
        sender: BrokerId,
        item: &AlterPartitionItem,
        records: &mut Vec<(i64, MetadataRecord)>,
    ) -> AlterPartitionResult {
        let error = |e: ResponseError, m: String| Err(ControllerError::new(e, m));
        let Some(topic) = self.image.topics.get(&item.topic_id) else {
            return error(ResponseError::UnknownTopicId, format!("no topic {}", item.topic_id));
        };
        let Some(partition) = topic.partitions.get(&item.partition_id).cloned() else {
            return error(ResponseError::UnknownTopicOrPartition, format!("no partition {}", item.partition_id));
        };
        if item.leader_epoch > partition.leader_epoch || item.partition_epoch > partition.partition_epoch {
            return error(ResponseError::NotController, "the request is ahead of this controller".into());
        }
        if item.leader_epoch < partition.leader_epoch {
            return error(
                ResponseError::FencedLeaderEpoch,
                format!("leader epoch {} is below {}", item.leader_epoch, partition.leader_epoch),
            );
        }
        let new_isr: Vec<BrokerId> = item.new_isr_with_epochs.iter().map(|(id, _)| *id).collect();
        let recovering = partition.leader_recovery_state == LeaderRecoveryState::Recovering;
        let invalid = if partition.leader != sender {
            Some(format!("broker {sender} is not the leader ({})", partition.leader))
        } else if !new_isr.iter().all(|b| partition.replicas.contains(b)) {
            Some(format!("ISR {new_isr:?} is not within the replicas {:?}", partition.replicas))
        } else if !new_isr.contains(&sender) {
            Some(format!("ISR {new_isr:?} lacks the leader {sender}"))
        } else if item.leader_recovery_state == LeaderRecoveryState::Recovering && new_isr.len() > 1 {
            Some("a RECOVERING leader cannot grow the ISR".to_string())
        } else if !recovering && item.leader_recovery_state == LeaderRecoveryState::Recovering {
            Some("RECOVERED cannot go back to RECOVERING".to_string())
        } else {
            None
        };
        if let Some(message) = invalid {
            return error(ResponseError::InvalidRequest, message);
        }
        if item.partition_epoch < partition.partition_epoch {
            return error(
                ResponseError::InvalidUpdateVersion,
                format!("partition epoch {} is below {}", item.partition_epoch, partition.partition_epoch),
            );
        }
        // Before KIP-903 (the switch off) the joiner's broker epoch was not compared.
        let check_epoch = self.config.alter_partition_broker_epoch_check;
        for (id, epoch) in &item.new_isr_with_epochs {
            let eligible = self
                .image
                .brokers
                .get(id)
                .is_some_and(|b| b.is_active() && (*epoch == -1 || !check_epoch || b.epoch == *epoch));
            if !eligible {
                return error(
                    ResponseError::IneligibleReplica,
                    format!(
                        "broker {id} (epoch {epoch}) is fenced, shutting down, unregistered or of another incarnation"
                    ),
                );
            }
        }
        let min_isr = self.image.min_insync_replicas(item.topic_id);
        let image = &self.image;
        let is_active = |b: BrokerId| image.is_active(b);
        let mut builder = PartitionChangeBuilder::new(
            &partition,
            item.topic_id,
            item.partition_id,
            &is_active,
            min_isr,
            image.elr_enabled,
        )
        .with_target_isr(new_isr);
        if recovering && item.leader_recovery_state == LeaderRecoveryState::Recovered {
            builder = builder.with_leader_recovered();
        }
        if let Some(change) = builder.build() {
            self.write(records, MetadataRecord::PartitionChange(change));
        }
        Ok(self.image.partition(item.topic_id, item.partition_id).expect("still there").clone())
    }

    /// Elects a leader wherever there is none (ONLINE, or UNCLEAN where allowed).
    pub(super) fn elect_leaderless(&mut self, records: &mut Vec<(i64, MetadataRecord)>) {
        let leaderless: Vec<(Uuid, i32)> = self.partitions_where(|p| p.leader == NO_LEADER);
        for (topic_id, index) in leaderless {
            let unclean = self.unclean_allowed(topic_id);
            self.elect(topic_id, index, if unclean { Election::Unclean } else { Election::Online }, records);
        }
    }

    /// Moves leadership back to each partition's first replica where it is valid.
    pub(super) fn elect_preferred(&mut self, records: &mut Vec<(i64, MetadataRecord)>) {
        let moved = self.partitions_where(|p| p.replicas.first().is_some_and(|first| *first != p.leader));
        for (topic_id, index) in moved {
            self.elect(topic_id, index, Election::Preferred, records);
        }
    }

    fn elect(&mut self, topic_id: Uuid, index: i32, election: Election, records: &mut Vec<(i64, MetadataRecord)>) {
        let partition = self.image.partition(topic_id, index).expect("listed partition").clone();
        let min_isr = self.image.min_insync_replicas(topic_id);
        let image = &self.image;
        let is_active = |b: BrokerId| image.is_active(b);
        let builder = PartitionChangeBuilder::new(&partition, topic_id, index, &is_active, min_isr, image.elr_enabled)
            .with_election(election);
        if let Some(change) = builder.build() {
            self.write(records, MetadataRecord::PartitionChange(change));
        }
    }

    fn partitions_where(&self, wanted: impl Fn(&PartitionRegistration) -> bool) -> Vec<(Uuid, i32)> {
        self.image
            .topics
            .values()
            .flat_map(|t| t.partitions.iter().filter(|(_, p)| wanted(p)).map(move |(index, _)| (t.id, *index)))
            .collect()
    }

    fn unclean_allowed(&self, topic_id: Uuid) -> bool {
        let topic = self.image.topics.get(&topic_id);
        match topic.and_then(|t| t.configs.get("unclean.leader.election.enable")) {
            Some(value) => value == "true",
            None => self.config.unclean_leader_election_enable,
        }
    }
}
