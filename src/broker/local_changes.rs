//! What a new metadata image asks of this broker's replicas (Kafka's
//! `TopicsDelta.localChanges`): partitions to lead, partitions to follow, and partitions to
//! stop hosting. A pure function of the broker id and two images; the publisher that applies
//! it (opening logs, `make_leader` / `make_follower`, starting fetchers, deleting logs) is
//! its IO shell.
//!
//! A partition appears as a leader or follower change only when its registration changed
//! (a new partition, or a new leader or partition epoch): the replica core refuses metadata
//! that is not news, and a repeated change would do nothing but cost a log lock.

use uuid::Uuid;

use crate::controller::image::{MetadataImage, PartitionRegistration};
use crate::controller::records::BrokerId;

/// One hosted partition and its registration in the new image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPartition {
    pub topic: String,
    pub topic_id: Uuid,
    pub partition: i32,
    pub registration: PartitionRegistration,
    /// Not hosted before: its log must be opened (or created).
    pub is_new: bool,
}

/// A partition this broker no longer hosts: its topic was deleted (or recreated under a new
/// id), or the broker left its replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedPartition {
    pub topic: String,
    pub topic_id: Uuid,
    pub partition: i32,
}

/// The changes for one broker, each list in (topic id, partition) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalChanges {
    pub leaders: Vec<LocalPartition>,
    pub followers: Vec<LocalPartition>,
    pub removed: Vec<RemovedPartition>,
}

impl LocalChanges {
    pub fn is_empty(&self) -> bool {
        self.leaders.is_empty() && self.followers.is_empty() && self.removed.is_empty()
    }
}

/// The changes that take broker `broker_id` from `before` to `after`.
pub fn local_changes(broker_id: BrokerId, before: &MetadataImage, after: &MetadataImage) -> LocalChanges {
    let mut changes = LocalChanges::default();
    for topic in after.topics.values() {
        for (&partition, registration) in &topic.partitions {
            if !registration.replicas.contains(&broker_id) {
                continue;
            }
            let previous = before.partition(topic.id, partition).filter(|p| p.replicas.contains(&broker_id));
            let changed = previous.is_none_or(|p| {
                p.leader_epoch != registration.leader_epoch || p.partition_epoch != registration.partition_epoch
            });
            if !changed {
                continue;
            }
            let local = LocalPartition {
                topic: topic.name.clone(),
                topic_id: topic.id,
                partition,
                registration: registration.clone(),
                is_new: previous.is_none(),
            };
            if registration.leader == broker_id {
                changes.leaders.push(local);
            } else {
                changes.followers.push(local);
            }
        }
    }
    for topic in before.topics.values() {
        for (&partition, registration) in &topic.partitions {
            if !registration.replicas.contains(&broker_id) {
                continue;
            }
            let still_hosted = after.partition(topic.id, partition).is_some_and(|p| p.replicas.contains(&broker_id));
            if !still_hosted {
                changes.removed.push(RemovedPartition { topic: topic.name.clone(), topic_id: topic.id, partition });
            }
        }
    }
    changes
}

#[cfg(test)]
#[path = "local_changes_tests.rs"]
mod tests;
