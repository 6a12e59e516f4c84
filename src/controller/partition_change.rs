//! Kafka's `PartitionChangeBuilder`: from a partition's registration and a wanted ISR, the
//! one [`PartitionChangeRecord`] that moves it there, electing a leader by REPLICATION.md
//! §2.5 and keeping the eligible leader replicas by §4 (KIP-966).
//!
//! A replica is *valid* to lead when it is active (registered, unfenced, not in controlled
//! shutdown) and either in the target ISR, or in the ELR while the target ISR is empty.
//! Elections, in order: keep a valid current leader (PREFERRED first tries `replicas[0]`);
//! else the first valid replica in replica order (an ELR pick becomes the only ISR member
//! and leaves the ELR); else, with ELR on and both ISR and ELR empty, the last known leader
//! if active (4.1, KAFKA-19522); else, for an UNCLEAN election only, the first active
//! replica, which becomes the whole ISR, RECOVERING, with the ELR cleared; else no leader.
//! Without ELR the ISR never empties: it keeps its last member and the leader becomes -1.

use uuid::Uuid;

use super::image::PartitionRegistration;
use super::records::{BrokerId, LeaderRecoveryState, PartitionChangeRecord, NO_LEADER, NO_LEADER_CHANGE};

/// What kind of election a change runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Election {
    /// Keep the leader if it is still valid, else elect one from the ISR (then the ELR).
    Online,
    /// Move leadership to `replicas[0]` if it is valid.
    Preferred,
    /// As `Online`, then, if no one is valid, any active replica (data may be lost).
    Unclean,
}

/// One change to a partition, built up and then turned into a record.
pub struct PartitionChangeBuilder<'a> {
    partition: &'a PartitionRegistration,
    topic_id: Uuid,
    partition_id: i32,
    is_active: &'a dyn Fn(BrokerId) -> bool,
    election: Election,
    target_isr: Vec<BrokerId>,
    min_isr: usize,
    elr_enabled: bool,
    /// Replicas whose last shutdown was unclean: they leave the ISR and the ELR and may not
    /// be elected by this change (REPLICATION.md §2.2, §4).
    unclean_shutdown_replicas: Vec<BrokerId>,
    recovered: bool,
}

impl<'a> PartitionChangeBuilder<'a> {
    pub fn new(
        partition: &'a PartitionRegistration,
        topic_id: Uuid,
        partition_id: i32,
        is_active: &'a dyn Fn(BrokerId) -> bool,
        min_isr: usize,
        elr_enabled: bool,
    ) -> Self {
        PartitionChangeBuilder {
            partition,
            topic_id,
            partition_id,
            is_active,
            election: Election::Online,
            target_isr: partition.isr.clone(),
            min_isr,
            elr_enabled,
            unclean_shutdown_replicas: Vec::new(),
            recovered: false,
        }
    }

    pub fn with_election(mut self, election: Election) -> Self {
        self.election = election;
        self
    }

    pub fn with_target_isr(mut self, isr: Vec<BrokerId>) -> Self {
        self.target_isr = isr;
        self
    }

    pub fn with_unclean_shutdown_replicas(mut self, replicas: Vec<BrokerId>) -> Self {
        self.target_isr.retain(|r| !replicas.contains(r));
        self.unclean_shutdown_replicas = replicas;
        self
    }

    /// The leader reported its log recovered after an unclean election (AlterPartition).
    pub fn with_leader_recovered(mut self) -> Self {
        self.recovered = true;
        self
    }

    /// The record for the change, or `None` when nothing would change.
    pub fn build(self) -> Option<PartitionChangeRecord> {
        let current = self.partition;
        let mut isr = self.target_isr.clone();
        let mut elr = self.next_elr(&isr);
        let mut last_known_elr = current.last_known_elr.clone();
        let mut recovery = if self.recovered { LeaderRecoveryState::Recovered } else { current.leader_recovery_state };
        let valid = |r: BrokerId, isr: &[BrokerId], elr: &[BrokerId]| {
            (self.is_active)(r) && (isr.contains(&r) || (isr.is_empty() && elr.contains(&r)))
        };
        let keep_current = current.leader != NO_LEADER && valid(current.leader, &isr, &elr);
        let preferred = current.replicas.first().copied().filter(|r| valid(*r, &isr, &elr));
        let mut leader = match (self.election, preferred) {
            (Election::Preferred, Some(preferred)) => preferred,
            _ if keep_current => current.leader,
            _ => current.replicas.iter().copied().find(|r| valid(*r, &isr, &elr)).unwrap_or(NO_LEADER),
        };
        if leader != NO_LEADER && isr.is_empty() {
            // An ELR member elected while the ISR is empty becomes its only member.
            isr = vec![leader];
            elr.retain(|r| *r != leader);
        }
        if leader == NO_LEADER && self.elr_enabled && isr.is_empty() && elr.is_empty() {
            if let [last] = current.last_known_elr[..] {
                if (self.is_active)(last) && !self.unclean_shutdown_replicas.contains(&last) {
                    leader = last;
                    isr = vec![last];
                }
            }
        }
        if leader == NO_LEADER && self.election == Election::Unclean {
            let unclean = current.replicas.iter().copied().find(|r| (self.is_active)(*r));
            if let Some(unclean) = unclean {
                leader = unclean;
                isr = vec![unclean];
                elr.clear();
                recovery = LeaderRecoveryState::Recovering;
            }
        }
        if !self.elr_enabled && isr.is_empty() {
            // Without ELR the ISR keeps its last member; the partition goes leaderless.
            isr = current.isr.iter().copied().filter(|r| current.replicas.contains(r)).take(1).collect();
            if isr.is_empty() {
                isr = current.replicas.iter().copied().take(1).collect();
            }
        }
        if self.elr_enabled && isr.len() >= self.min_isr.min(current.replicas.len()) {
            // Enough in-sync replicas again: the ELR and the last known leader are moot.
            elr.clear();
            last_known_elr.clear();
        } else if self.elr_enabled {
            if isr.is_empty() && leader == NO_LEADER && current.leader != NO_LEADER {
                // The ISR just emptied: remember the last leader (4.x keeps only it).
                last_known_elr = vec![current.leader];
            } else if leader != NO_LEADER {
                last_known_elr.clear();
            }
        }
        // A replica that shut down uncleanly may lack committed records: it is no longer the
        // last known leader either, or a later election (at its unfence) would pick it.
        last_known_elr.retain(|r| !self.unclean_shutdown_replicas.contains(r));
        let changed = |new: &Vec<BrokerId>, old: &Vec<BrokerId>| (new != old).then(|| new.clone());
        let record = PartitionChangeRecord {
            topic_id: self.topic_id,
            partition_id: self.partition_id,
            isr: changed(&isr, &current.isr),
            leader: if leader == current.leader { NO_LEADER_CHANGE } else { leader },
            elr: changed(&elr, &current.elr),
            last_known_elr: changed(&last_known_elr, &current.last_known_elr),
            leader_recovery_state: (recovery != current.leader_recovery_state).then_some(recovery),
        };
        let unchanged = record.isr.is_none()
            && record.leader == NO_LEADER_CHANGE
            && record.elr.is_none()
            && record.last_known_elr.is_none()
            && record.leader_recovery_state.is_none();
        (!unchanged).then_some(record)
    }

    /// §4's ELR maintenance: with the target ISR at min ISR or more, the ELR empties; else
    /// it gains the replicas leaving the ISR, minus those that shut down uncleanly.
    fn next_elr(&self, target_isr: &[BrokerId]) -> Vec<BrokerId> {
        if !self.elr_enabled {
            return Vec::new();
        }
        let replicas = &self.partition.replicas;
        if target_isr.len() >= self.min_isr.min(replicas.len()) {
            return Vec::new();
        }
        replicas
            .iter()
            .copied()
            .filter(|r| self.partition.elr.contains(r) || self.partition.isr.contains(r))
            .filter(|r| !target_isr.contains(r) && !self.unclean_shutdown_replicas.contains(r))
            .collect()
    }
}

#[cfg(test)]
#[path = "partition_change_tests.rs"]
mod tests;
