//! Checks of the metadata records a controller writes, against the image before each one
//! (REPLICATION.md §6, items 16–18). The controller's property test runs them on every
//! record; the simulator's controller checker will run them on the committed log.

use super::image::MetadataImage;
use super::records::{LeaderRecoveryState, MetadataRecord, NO_LEADER, NO_LEADER_CHANGE};

/// Checks one record about to be applied at `offset` to `before`.
pub fn check_record(before: &MetadataImage, offset: i64, record: &MetadataRecord) -> Result<(), String> {
    match record {
        // 17: each new incarnation's epoch exceeds the earlier ones and is at most its
        // record's offset.
        MetadataRecord::RegisterBroker(r) => {
            if let Some(previous) = before.brokers.get(&r.broker_id) {
                if previous.incarnation_id != r.incarnation_id && r.broker_epoch <= previous.epoch {
                    return Err(format!(
                        "broker {} re-registered with epoch {} not above {}",
                        r.broker_id, r.broker_epoch, previous.epoch
                    ));
                }
            }
            if r.broker_epoch > offset {
                return Err(format!("broker {} epoch {} is past its record at {offset}", r.broker_id, r.broker_epoch));
            }
        }
        // 16: a new leader is active and comes from the ISR, from the ELR while the ISR is
        // empty, is the last known leader, or is marked RECOVERING (unclean).
        MetadataRecord::PartitionChange(change) if change.leader != NO_LEADER_CHANGE && change.leader != NO_LEADER => {
            let Some(current) = before.partition(change.topic_id, change.partition_id) else {
                return Err(format!("change to unknown partition {}-{}", change.topic_id, change.partition_id));
            };
            let leader = change.leader;
            if !before.is_active(leader) {
                return Err(format!("{}-{}: elected inactive broker {leader}", change.topic_id, change.partition_id));
            }
            let target_isr = change.isr.as_ref().unwrap_or(&current.isr);
            let from_isr = current.isr.contains(&leader) && target_isr.contains(&leader);
            let from_elr = current.elr.contains(&leader) || (current.isr.contains(&leader) && target_isr == &[leader]);
            let last_known = current.last_known_elr == [leader];
            let unclean = change.leader_recovery_state == Some(LeaderRecoveryState::Recovering);
            if !(from_isr || from_elr || last_known || unclean) {
                return Err(format!(
                    "{}-{}: leader {leader} is not in ISR {:?} nor ELR {:?} nor the last known leader, and not unclean",
                    change.topic_id, change.partition_id, current.isr, current.elr
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// 18: after a batch of records, a fenced or shutting-down broker is in no ISR (with ELR
/// off, the ISR keeps its last member even when it is fenced: that is Kafka's rule).
pub fn check_batch_end(image: &MetadataImage) -> Result<(), String> {
    for topic in image.topics.values() {
        for (index, partition) in &topic.partitions {
            let sole_kept = !image.elr_enabled && partition.isr.len() == 1 && partition.leader == NO_LEADER;
            for member in &partition.isr {
                if !image.is_active(*member) && !sole_kept {
                    return Err(format!(
                        "{}-{index}: inactive broker {member} still in ISR {:?}",
                        topic.name, partition.isr
                    ));
                }
            }
        }
    }
    Ok(())
}
