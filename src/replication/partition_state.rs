//! The partition as the controller last committed it (Kafka's `PartitionRegistration` as a
//! broker applies it), and the broker's view of it while an ISR change is in flight (Kafka's
//! `CommittedPartitionState` / `PendingExpandIsr` / `PendingShrinkIsr`).

use std::fmt;

use super::alter_partition::AlterPartitionRequest;

/// Whether the leader's log may be missing committed records (after an unclean election).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderRecoveryState {
    Recovered,
    Recovering,
}

impl LeaderRecoveryState {
    /// The value on the wire (AlterPartition, PartitionRecord).
    pub fn code(self) -> i8 {
        match self {
            LeaderRecoveryState::Recovered => 0,
            LeaderRecoveryState::Recovering => 1,
        }
    }

    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(LeaderRecoveryState::Recovered),
            1 => Some(LeaderRecoveryState::Recovering),
            _ => None,
        }
    }
}

/// Why a partition state from the controller (or an AlterPartition response) is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPartitionState(pub String);

impl fmt::Display for InvalidPartitionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid partition state: {}", self.0)
    }
}

impl std::error::Error for InvalidPartitionState {}

/// A committed partition state: what the metadata log (or a successful AlterPartition) says.
///
/// Invariants (checked by `new`, so every value of this type holds them):
/// - replicas, ISR and ELR have no duplicates; ISR ⊆ replicas; ELR ⊆ replicas; ELR ∩ ISR = ∅;
/// - the leader is -1 or in the ISR;
/// - leader epoch and partition epoch are ≥ 0;
/// - a RECOVERING partition has an ISR of exactly its leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    replicas: Vec<i32>,
    isr: Vec<i32>,
    leader: i32,
    leader_epoch: i32,
    partition_epoch: i32,
    leader_recovery_state: LeaderRecoveryState,
    eligible_leader_replicas: Vec<i32>,
}

impl PartitionState {
    pub fn new(
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        leader_recovery_state: LeaderRecoveryState,
        eligible_leader_replicas: Vec<i32>,
    ) -> Result<Self, InvalidPartitionState> {
        let state = PartitionState {
            replicas,
            isr,
            leader,
            leader_epoch,
            partition_epoch,
            leader_recovery_state,
            eligible_leader_replicas,
        };
        match state.invariant_violation() {
            None => Ok(state),
            Some(violation) => Err(InvalidPartitionState(violation)),
        }
    }

    pub fn replicas(&self) -> &[i32] {
        &self.replicas
    }

    pub fn isr(&self) -> &[i32] {
        &self.isr
    }

    /// -1 when the partition has no leader.
    pub fn leader(&self) -> i32 {
        self.leader
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    pub fn partition_epoch(&self) -> i32 {
        self.partition_epoch
    }

    pub fn leader_recovery_state(&self) -> LeaderRecoveryState {
        self.leader_recovery_state
    }

    pub fn eligible_leader_replicas(&self) -> &[i32] {
        &self.eligible_leader_replicas
    }

    /// The same partition with the ISR, partition epoch and recovery state a successful
    /// AlterPartition committed.
    pub(crate) fn with_committed_isr(
        &self,
        isr: Vec<i32>,
        partition_epoch: i32,
        leader_recovery_state: LeaderRecoveryState,
    ) -> Result<Self, InvalidPartitionState> {
        // The controller clears the ELR of every member that (re)joins the ISR.
        let eligible_leader_replicas =
            self.eligible_leader_replicas.iter().copied().filter(|id| !isr.contains(id)).collect();
        PartitionState::new(
            self.replicas.clone(),
            isr,
            self.leader,
            self.leader_epoch,
            partition_epoch,
            leader_recovery_state,
            eligible_leader_replicas,
        )
    }

    fn invariant_violation(&self) -> Option<String> {
        let has_duplicates = |ids: &[i32]| ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id));
        if has_duplicates(&self.replicas) || has_duplicates(&self.isr) || has_duplicates(&self.eligible_leader_replicas)
        {
            return Some(format!("duplicate ids in {self:?}"));
        }
        if let Some(id) = self.isr.iter().find(|id| !self.replicas.contains(id)) {
            return Some(format!("ISR member {id} is not a replica"));
        }
        if let Some(id) = self.eligible_leader_replicas.iter().find(|id| !self.replicas.contains(id)) {
            return Some(format!("ELR member {id} is not a replica"));
        }
        if let Some(id) = self.eligible_leader_replicas.iter().find(|id| self.isr.contains(id)) {
            return Some(format!("replica {id} is in both ISR and ELR"));
        }
        if self.leader != -1 && !self.isr.contains(&self.leader) {
            return Some(format!("leader {} is not in the ISR {:?}", self.leader, self.isr));
        }
        if self.leader_epoch < 0 || self.partition_epoch < 0 {
            return Some(format!("negative epoch: leader {} partition {}", self.leader_epoch, self.partition_epoch));
        }
        if self.leader_recovery_state == LeaderRecoveryState::Recovering && self.isr != [self.leader] {
            return Some(format!("RECOVERING with ISR {:?} and leader {}", self.isr, self.leader));
        }
        None
    }
}

/// What a broker's registration says about a replica's broker, for ISR eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub broker_epoch: i64,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
}

/// Where an AlterPartition proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterPartitionSendState {
    /// Sent with this proposal id; the answer has not come.
    InFlight { proposal_id: u64 },
    /// The controller answered with a retriable error; send again at this time.
    RetryAt { at_ms: i64 },
    /// The controller refused in a way only new metadata resolves (fenced epoch, stale
    /// partition epoch, a new leader): nothing is sent until it arrives.
    AwaitingMetadata,
}

/// An ISR change the leader proposed and the controller has not committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingIsrChange {
    /// Adding `joiner`: assumed to succeed, so the joiner already counts for the HW.
    Expansion { joiner: i32, request: AlterPartitionRequest, send: AlterPartitionSendState },
    /// Removing `removed`: not assumed until committed, so they still count for the HW.
    Shrink { removed: Vec<i32>, request: AlterPartitionRequest, send: AlterPartitionSendState },
}

impl PendingIsrChange {
    pub fn request(&self) -> &AlterPartitionRequest {
        match self {
            PendingIsrChange::Expansion { request, .. } | PendingIsrChange::Shrink { request, .. } => request,
        }
    }

    pub fn send_state(&self) -> AlterPartitionSendState {
        match self {
            PendingIsrChange::Expansion { send, .. } | PendingIsrChange::Shrink { send, .. } => *send,
        }
    }

    pub(crate) fn set_send_state(&mut self, state: AlterPartitionSendState) {
        match self {
            PendingIsrChange::Expansion { send, .. } | PendingIsrChange::Shrink { send, .. } => *send = state,
        }
    }
}

/// The leader's ISR: the committed state and at most one change in flight (Kafka allows one
/// AlterPartition per partition at a time, so the "maximal ISR" is always well defined).
///
/// Invariants:
/// - the committed state has this broker as leader, so the leader is in the committed ISR and
///   in the maximal ISR;
/// - an expansion's joiner is a replica outside the committed ISR, and its request's ISR is the
///   committed ISR plus the joiner;
/// - a shrink removes only ISR followers (never the leader), and its request's ISR is the
///   committed ISR without them;
/// - a pending request carries the committed leader epoch and partition epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrState {
    committed: PartitionState,
    pending: Option<PendingIsrChange>,
}

impl IsrState {
    pub fn new(committed: PartitionState) -> Self {
        let state = IsrState { committed, pending: None };
        state.check_invariants();
        state
    }

    pub fn committed(&self) -> &PartitionState {
        &self.committed
    }

    pub fn pending(&self) -> Option<&PendingIsrChange> {
        self.pending.as_ref()
    }

    pub(crate) fn pending_mut(&mut self) -> Option<&mut PendingIsrChange> {
        self.pending.as_mut()
    }

    /// Whether a change is in flight (proposed and neither committed nor reverted).
    pub fn is_inflight(&self) -> bool {
        self.pending.is_some()
    }

    /// The ISR the HW must respect: the committed ISR plus a pending joiner (assumed to
    /// succeed); during a pending shrink, the committed ISR (a removal is not assumed).
    pub fn maximal_isr(&self) -> Vec<i32> {
        let mut isr = self.committed.isr.clone();
        if let Some(PendingIsrChange::Expansion { joiner, .. }) = &self.pending {
            isr.push(*joiner);
        }
        isr
    }

    pub(crate) fn propose(&mut self, change: PendingIsrChange) {
        assert!(self.pending.is_none(), "one AlterPartition in flight per partition");
        self.pending = Some(change);
        self.check_invariants();
    }

    /// Drops the pending change: reverted after INELIGIBLE_REPLICA.
    pub(crate) fn revert(&mut self) {
        self.pending = None;
        self.check_invariants();
    }

    /// A new committed state (AlterPartition success or newer metadata); ends any pending change.
    pub(crate) fn commit(&mut self, committed: PartitionState) {
        self.committed = committed;
        self.pending = None;
        self.check_invariants();
    }

    pub(crate) fn invariant_violation(&self, local_broker_id: i32) -> Option<String> {
        let committed = &self.committed;
        if committed.leader != local_broker_id {
            return Some(format!("leader {} is not this broker {local_broker_id}", committed.leader));
        }
        if !committed.isr.contains(&local_broker_id) {
            return Some(format!("leader {local_broker_id} is not in the committed ISR {:?}", committed.isr));
        }
        let Some(pending) = &self.pending else { return None };
        let request = pending.request();
        if request.leader_epoch != committed.leader_epoch || request.partition_epoch != committed.partition_epoch {
            return Some(format!(
                "pending request at epochs ({}, {}) but committed ({}, {})",
                request.leader_epoch, request.partition_epoch, committed.leader_epoch, committed.partition_epoch
            ));
        }
        let proposed = request.isr();
        match pending {
            PendingIsrChange::Expansion { joiner, .. } => {
                let mut expected = committed.isr.clone();
                expected.push(*joiner);
                if committed.isr.contains(joiner) || !committed.replicas.contains(joiner) || proposed != expected {
                    return Some(format!("bad expansion of {:?} by {joiner}: {proposed:?}", committed.isr));
                }
            }
            PendingIsrChange::Shrink { removed, .. } => {
                let expected: Vec<i32> = committed.isr.iter().copied().filter(|id| !removed.contains(id)).collect();
                let removes_only_followers =
                    removed.iter().all(|id| *id != local_broker_id && committed.isr.contains(id));
                if removed.is_empty() || !removes_only_followers || proposed != expected {
                    return Some(format!("bad shrink of {:?} by {removed:?}: {proposed:?}", committed.isr));
                }
            }
        }
        None
    }

    fn check_invariants(&self) {
        if let Some(violation) = self.invariant_violation(self.committed.leader) {
            panic!("IsrState invariant: {violation}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::alter_partition::BrokerState;

    fn state(replicas: &[i32], isr: &[i32], leader: i32) -> Result<PartitionState, InvalidPartitionState> {
        PartitionState::new(replicas.to_vec(), isr.to_vec(), leader, 3, 7, LeaderRecoveryState::Recovered, vec![])
    }

    fn request(isr: &[i32]) -> AlterPartitionRequest {
        AlterPartitionRequest {
            proposal_id: 1,
            broker_id: 1,
            broker_epoch: 10,
            leader_epoch: 3,
            new_isr_with_epochs: isr.iter().map(|&broker_id| BrokerState { broker_id, broker_epoch: -1 }).collect(),
            leader_recovery_state: LeaderRecoveryState::Recovered,
            partition_epoch: 7,
        }
    }

    #[test]
    fn partition_state_refuses_bad_shapes() {
        assert!(state(&[1, 2, 3], &[1, 2], 1).is_ok());
        assert!(state(&[1, 2, 3], &[], -1).is_ok(), "an empty ISR without a leader is an ELR state");
        assert!(state(&[1, 2], &[1, 3], 1).unwrap_err().0.contains("not a replica"));
        assert!(state(&[1, 2, 3], &[2, 3], 1).unwrap_err().0.contains("not in the ISR"));
        assert!(state(&[1, 2, 2], &[1], 1).unwrap_err().0.contains("duplicate"));
        let elr = PartitionState::new(vec![1, 2], vec![1], 1, 0, 0, LeaderRecoveryState::Recovered, vec![1]);
        assert!(elr.unwrap_err().0.contains("both ISR and ELR"));
        let recovering = PartitionState::new(vec![1, 2], vec![1, 2], 1, 0, 0, LeaderRecoveryState::Recovering, vec![]);
        assert!(recovering.unwrap_err().0.contains("RECOVERING"));
        let elr_outside = PartitionState::new(vec![1, 2], vec![1], 1, 0, 0, LeaderRecoveryState::Recovered, vec![3]);
        assert!(elr_outside.unwrap_err().0.contains("ELR member 3 is not a replica"));
        let negative = PartitionState::new(vec![1], vec![1], 1, -1, 0, LeaderRecoveryState::Recovered, vec![]);
        assert!(negative.unwrap_err().0.contains("negative epoch"));
    }

    #[test]
    fn maximal_isr_includes_a_joiner_but_keeps_a_removed_member() {
        let mut isr = IsrState::new(state(&[1, 2, 3], &[1, 2], 1).unwrap());
        let send = AlterPartitionSendState::InFlight { proposal_id: 1 };
        isr.propose(PendingIsrChange::Expansion { joiner: 3, request: request(&[1, 2, 3]), send });
        assert_eq!(isr.maximal_isr(), vec![1, 2, 3]);
        assert_eq!(isr.committed().isr(), &[1, 2]);
        isr.revert();
        isr.propose(PendingIsrChange::Shrink { removed: vec![2], request: request(&[1]), send });
        assert_eq!(isr.maximal_isr(), vec![1, 2]);
    }

    #[test]
    #[should_panic(expected = "one AlterPartition in flight")]
    fn a_second_proposal_while_one_is_in_flight_panics() {
        let mut isr = IsrState::new(state(&[1, 2, 3], &[1], 1).unwrap());
        let send = AlterPartitionSendState::InFlight { proposal_id: 1 };
        isr.propose(PendingIsrChange::Expansion { joiner: 3, request: request(&[1, 3]), send });
        isr.propose(PendingIsrChange::Expansion { joiner: 2, request: request(&[1, 2]), send });
    }

    #[test]
    fn isr_state_invariant_checks_fire() {
        let send = AlterPartitionSendState::InFlight { proposal_id: 1 };
        let committed = state(&[1, 2, 3], &[1, 2], 1).unwrap();
        let leaderless = IsrState { committed: state(&[1, 2], &[2], -1).unwrap(), pending: None };
        assert!(leaderless.invariant_violation(-1).unwrap().contains("not in the committed ISR"));
        let ok = IsrState { committed: committed.clone(), pending: None };
        assert_eq!(ok.invariant_violation(1), None);
        assert!(ok.invariant_violation(2).unwrap().contains("not this broker"));
        let bad_join = PendingIsrChange::Expansion { joiner: 2, request: request(&[1, 2, 2]), send };
        let s = IsrState { committed: committed.clone(), pending: Some(bad_join) };
        assert!(s.invariant_violation(1).unwrap().contains("bad expansion"));
        let self_removal = PendingIsrChange::Shrink { removed: vec![1], request: request(&[2]), send };
        let s = IsrState { committed: committed.clone(), pending: Some(self_removal) };
        assert!(s.invariant_violation(1).unwrap().contains("bad shrink"));
        let mut stale = request(&[1]);
        stale.partition_epoch = 6;
        let s =
            IsrState { committed, pending: Some(PendingIsrChange::Shrink { removed: vec![2], request: stale, send }) };
        assert!(s.invariant_violation(1).unwrap().contains("pending request at epochs"));
    }
}
