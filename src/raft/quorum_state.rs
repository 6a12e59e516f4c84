//! The election states of a KRaft quorum member and the one function every change of state
//! goes through (Kafka's `QuorumState`, with KIP-996's Prospective state).
//!
//! | From | To | When |
//! |---|---|---|
//! | any | Unattached or Follower, higher epoch | a message shows a newer epoch |
//! | Unattached | Unattached, same epoch | a real vote is granted (`voted_id` set) |
//! | Unattached | Prospective (voters) | the election timer fires |
//! | Unattached, Prospective, Candidate | Follower, same epoch | the epoch's leader becomes known |
//! | Prospective | Unattached, same epoch | the pre-vote is lost and no leader is known, or a real vote is granted |
//! | Prospective | Candidate, epoch + 1 | a majority granted the pre-vote |
//! | Candidate | Prospective, same epoch | the election timer fires, or the backoff after a lost election ends |
//! | Candidate | Leader, same epoch | a majority granted the vote |
//! | Follower (voter) | Prospective, same epoch | the fetch timer fires |
//! | Follower (observer) | Unattached, same epoch | the fetch timer fires |
//! | Leader | Resigned, same epoch | shutdown or a failed check-quorum |
//!
//! Within an epoch the vote (`voted_id`) and the leader (`leader_id`), once known, never
//! change. Observers only move between Unattached and Follower. A Resigned node leaves only
//! for a higher epoch (its election timer moves it to Unattached(epoch + 1)).
//!
//! Restart rules ([`ElectionState::restore`]): a node whose persisted state names itself
//! leader restarts Resigned at that epoch, so it can neither vote again in it nor reuse an
//! `(offset, epoch)` it lost before flushing; if the persisted epoch is below the log's last
//! epoch, it starts Unattached at the log's epoch; a persisted leader makes it a Follower; a
//! persisted vote (its own included, from a Candidate) makes it Unattached with that vote.

use super::messages::{Epoch, NodeId};
use super::quorum_state_file::QuorumStateRecord;
use std::fmt;

/// A node's role in the current epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The epoch is known, its leader is not. Persisted.
    Unattached,
    /// KIP-996 pre-vote in progress at the current epoch. Not persisted.
    Prospective,
    /// Real election in progress; has voted for itself. Persisted.
    Candidate,
    /// Leads the epoch. Persisted.
    Leader,
    /// Fetches from the epoch's leader. Persisted.
    Follower,
    /// Was leader of the epoch, has stopped. Not persisted.
    Resigned,
}

/// Where a node stands: epoch, role, the epoch's leader if known, and its vote in the epoch.
///
/// Invariants:
/// - `epoch >= 0`;
/// - Leader and Resigned name the local node as leader, Follower names another node,
///   Unattached and Candidate name none;
/// - Candidate and Leader have voted for the local node;
/// - an observer is only ever Unattached or Follower, and never votes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionState {
    epoch: Epoch,
    role: Role,
    leader_id: Option<NodeId>,
    voted_id: Option<NodeId>,
}

/// A transition the table does not allow: a bug in the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRefused {
    pub from: ElectionState,
    pub to: ElectionState,
    pub reason: &'static str,
}

impl fmt::Display for TransitionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused transition {:?} -> {:?}: {}", self.from, self.to, self.reason)
    }
}

impl std::error::Error for TransitionRefused {}

impl ElectionState {
    pub fn unattached(epoch: Epoch, voted_id: Option<NodeId>) -> ElectionState {
        ElectionState { epoch, role: Role::Unattached, leader_id: None, voted_id }
    }

    pub fn prospective(epoch: Epoch, leader_id: Option<NodeId>, voted_id: Option<NodeId>) -> ElectionState {
        ElectionState { epoch, role: Role::Prospective, leader_id, voted_id }
    }

    pub fn candidate(epoch: Epoch, local_id: NodeId) -> ElectionState {
        ElectionState { epoch, role: Role::Candidate, leader_id: None, voted_id: Some(local_id) }
    }

    pub fn leader(epoch: Epoch, local_id: NodeId) -> ElectionState {
        ElectionState { epoch, role: Role::Leader, leader_id: Some(local_id), voted_id: Some(local_id) }
    }

    pub fn follower(epoch: Epoch, leader_id: NodeId, voted_id: Option<NodeId>) -> ElectionState {
        ElectionState { epoch, role: Role::Follower, leader_id: Some(leader_id), voted_id }
    }

    pub fn resigned(epoch: Epoch, local_id: NodeId, voted_id: Option<NodeId>) -> ElectionState {
        ElectionState { epoch, role: Role::Resigned, leader_id: Some(local_id), voted_id }
    }

    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn leader_id(&self) -> Option<NodeId> {
        self.leader_id
    }

    pub fn voted_id(&self) -> Option<NodeId> {
        self.voted_id
    }

    /// The state a node starts in, from its persisted record (if any) and its log's last
    /// epoch. See the module doc for the rules.
    pub fn restore(
        local_id: NodeId,
        is_voter: bool,
        record: Option<&QuorumStateRecord>,
        log_last_epoch: Epoch,
    ) -> ElectionState {
        let record = match record {
            Some(r) if r.leader_epoch >= log_last_epoch => r,
            // No record, or one older than the log: the log's epoch is the newest known, and
            // nothing was voted in it.
            _ => return ElectionState::unattached(log_last_epoch, None),
        };
        let voted_id = if is_voter { record.voted_id } else { None };
        match record.leader_id {
            Some(leader) if leader == local_id && is_voter => {
                ElectionState::resigned(record.leader_epoch, local_id, voted_id)
            }
            Some(leader) if leader != local_id => ElectionState::follower(record.leader_epoch, leader, voted_id),
            _ => ElectionState::unattached(record.leader_epoch, voted_id),
        }
    }

    /// The record to persist for this state, or `None` for the states Kafka never persists
    /// (Prospective, Resigned).
    pub fn record(&self) -> Option<QuorumStateRecord> {
        match self.role {
            Role::Prospective | Role::Resigned => None,
            _ => {
                Some(QuorumStateRecord { leader_id: self.leader_id, leader_epoch: self.epoch, voted_id: self.voted_id })
            }
        }
    }

    /// Asserts the invariants in the type's doc comment.
    pub fn check_invariants(&self, local_id: NodeId, is_voter: bool) {
        assert!(self.epoch >= 0, "epoch is never negative");
        match self.role {
            Role::Leader | Role::Resigned => assert_eq!(self.leader_id, Some(local_id), "{self:?}"),
            Role::Follower => assert!(self.leader_id.is_some_and(|l| l != local_id), "{self:?}"),
            Role::Unattached | Role::Candidate => assert_eq!(self.leader_id, None, "{self:?}"),
            Role::Prospective => assert_ne!(self.leader_id, Some(local_id), "{self:?}"),
        }
        match self.role {
            Role::Candidate | Role::Leader => assert_eq!(self.voted_id, Some(local_id), "{self:?}"),
            _ => {}
        }
        if !is_voter {
            assert!(matches!(self.role, Role::Unattached | Role::Follower), "observer in {self:?}");
            assert_eq!(self.voted_id, None, "observers never vote");
        }
    }
}

/// The election state plus who this node is: the one owner of every transition.
#[derive(Debug, Clone)]
pub struct QuorumState {
    local_id: NodeId,
    is_voter: bool,
    current: ElectionState,
}

impl QuorumState {
    pub fn new(local_id: NodeId, is_voter: bool, initial: ElectionState) -> QuorumState {
        initial.check_invariants(local_id, is_voter);
        QuorumState { local_id, is_voter, current: initial }
    }

    pub fn current(&self) -> &ElectionState {
        &self.current
    }

    pub fn local_id(&self) -> NodeId {
        self.local_id
    }

    pub fn is_voter(&self) -> bool {
        self.is_voter
    }

    /// Moves to `to` if the table in the module doc allows it.
    pub fn transition(&mut self, to: ElectionState) -> Result<(), TransitionRefused> {
        if let Err(reason) = self.allowed(&to) {
            return Err(TransitionRefused { from: self.current.clone(), to, reason });
        }
        to.check_invariants(self.local_id, self.is_voter);
        self.current = to;
        Ok(())
    }

    fn allowed(&self, to: &ElectionState) -> Result<(), &'static str> {
        use Role::*;
        let from = &self.current;
        if to.epoch < from.epoch {
            return Err("epochs never fall");
        }
        if !self.is_voter && !matches!(to.role, Unattached | Follower) {
            return Err("observers are only Unattached or Follower");
        }
        if to.epoch > from.epoch {
            return match to.role {
                Unattached | Follower => Ok(()),
                Candidate if from.role == Prospective && to.epoch == from.epoch + 1 => Ok(()),
                Candidate => Err("only a Prospective node that won the pre-vote becomes Candidate, at epoch + 1"),
                _ => Err("a higher epoch is entered only as Unattached, Follower or Candidate"),
            };
        }
        // Same epoch: the vote and the leader, once known, are fixed.
        if from.voted_id.is_some() && to.voted_id != from.voted_id {
            return Err("a vote cast in an epoch is never changed or forgotten");
        }
        if let (Some(a), Some(b)) = (from.leader_id, to.leader_id) {
            if a != b {
                return Err("an epoch has one leader");
            }
        }
        let ok = match (from.role, to.role) {
            (Unattached, Unattached) => true,
            (Unattached, Prospective) | (Unattached, Follower) => true,
            (Prospective, Unattached) | (Prospective, Follower) => true,
            (Candidate, Follower) | (Candidate, Prospective) | (Candidate, Leader) => true,
            (Follower, Prospective) => true,
            (Follower, Unattached) => !self.is_voter,
            (Follower, Follower) => true,
            (Leader, Resigned) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err("the transition table does not allow this move within an epoch")
        }
    }
}
