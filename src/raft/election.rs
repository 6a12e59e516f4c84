//! Elections: answering Vote requests (KIP-595 with KIP-996's pre-vote), running a pre-vote
//! as Prospective and a real vote as Candidate, and the timers and backoff between them.
//!
//! Receiver order for a Vote request (REPLICATION.md §1.2): malformed → `INVALID_REQUEST`;
//! an older epoch → `FENCED_LEADER_EPOCH`; a newer epoch → move to Unattached in it first
//! (pre-votes included); then grant by this table, where `up_to_date` means the candidate's
//! `(LastOffsetEpoch, LastOffset)` is at least this node's `(last epoch, log end offset)`:
//!
//! | Local state | Real vote granted if | Pre-vote granted if |
//! |---|---|---|
//! | Unattached / Prospective | no leader known, no vote for another node, `up_to_date` | `up_to_date` |
//! | Follower | never | `up_to_date` and no successful fetch since it started following |
//! | Candidate / Resigned | never | `up_to_date` |
//! | Leader | never | never |
//!
//! A granted real vote moves the node to Unattached with `voted_id` set; its answer waits in
//! the Ready until that record is durable. A pre-vote changes nothing.

use super::core::{RaftCore, RoleState};
use super::messages::{ErrorCode, NodeId, Request, Response, VoteRequest, VoteResponse};
use super::quorum_state::{ElectionState, Role};

impl RaftCore {
    pub(super) fn handle_vote_request(&mut self, now_ms: u64, from: NodeId, correlation_id: i32, r: VoteRequest) {
        let malformed = r.replica_epoch < 0
            || r.last_offset < 0
            || r.last_offset_epoch < 0
            || r.replica_id != from
            || !self.voters().contains(&r.replica_id)
            || if r.pre_vote { r.last_offset_epoch > r.replica_epoch } else { r.last_offset_epoch >= r.replica_epoch };
        let error = if malformed {
            Some(ErrorCode::InvalidRequest)
        } else if r.replica_epoch < self.epoch() {
            Some(ErrorCode::FencedLeaderEpoch)
        } else {
            None
        };
        if error.is_none() && r.replica_epoch > self.epoch() {
            self.transition(now_ms, ElectionState::unattached(r.replica_epoch, None));
        }
        let granted = error.is_none() && self.may_grant(&r);
        if granted && !r.pre_vote && self.quorum.current().voted_id().is_none() {
            let epoch = self.epoch();
            self.transition(now_ms, ElectionState::unattached(epoch, Some(r.replica_id)));
        }
        if granted && !r.pre_vote {
            // Kafka restarts the election timer on a granted vote: give the candidate time.
            let timeout = self.random_election_timeout();
            if let RoleState::Unattached { deadline_ms } = &mut self.role {
                *deadline_ms = now_ms + timeout;
            }
        }
        if granted {
            tracing::info!(
                // The decision; `VoteGranted`, which the checkers read, is the shell's to emit
                // when the reply leaves after the vote is durable.
                name: "raft_vote_decided",
                node = self.local_id(),
                candidate = r.replica_id,
                epoch = r.replica_epoch,
                pre_vote = r.pre_vote,
                last_offset_epoch = r.last_offset_epoch,
                last_offset = r.last_offset,
            );
        }
        let response = VoteResponse {
            error_code: error.unwrap_or(ErrorCode::None),
            leader_id: self.leader_id(),
            leader_epoch: self.epoch(),
            vote_granted: granted,
        };
        self.send_response(from, correlation_id, Response::Vote(response));
    }

    fn may_grant(&self, r: &VoteRequest) -> bool {
        if !self.is_voter() {
            return false;
        }
        let state = self.quorum.current();
        let up_to_date = (r.last_offset_epoch, r.last_offset) >= (self.log.last_epoch(), self.log.end_offset());
        #[cfg(test)]
        let up_to_date =
            up_to_date || (!r.pre_vote && self.fault() == Some(super::core::TestFault::GrantVotesWithoutLogCheck));
        if r.pre_vote {
            return up_to_date
                && match (&self.role, state.role()) {
                    (_, Role::Leader) => false,
                    (RoleState::Follower { has_fetched, .. }, _) => !has_fetched,
                    _ => true,
                };
        }
        match state.role() {
            Role::Unattached | Role::Prospective => {
                state.leader_id().is_none() && state.voted_id().is_none_or(|v| v == r.replica_id) && up_to_date
            }
            _ => false,
        }
    }

    pub(super) fn handle_vote_response(&mut self, now_ms: u64, from: NodeId, r: VoteResponse) {
        match &mut self.role {
            RoleState::Prospective { granted, rejected, .. } | RoleState::Candidate { granted, rejected, .. } => {
                if r.vote_granted && r.error_code == ErrorCode::None {
                    granted.insert(from);
                } else {
                    rejected.insert(from);
                }
            }
            _ => return,
        }
        self.count_votes(now_ms);
    }

    /// Prospective: a majority of pre-votes makes a Candidate at epoch + 1; a lost pre-vote
    /// goes back to the last known leader (or Unattached). Candidate: a majority makes a
    /// Leader; a lost election waits out the backoff.
    fn count_votes(&mut self, now_ms: u64) {
        let majority = self.majority();
        let voters = self.voters().len();
        let state = self.quorum.current().clone();
        match &self.role {
            RoleState::Prospective { granted, rejected, .. } => {
                if granted.len() >= majority {
                    let candidate = ElectionState::candidate(state.epoch() + 1, self.local_id());
                    self.transition(now_ms, candidate);
                } else if rejected.len() > voters - majority {
                    self.end_pre_vote(now_ms);
                }
            }
            RoleState::Candidate { granted, rejected, backing_off, .. } => {
                if granted.len() >= majority {
                    self.transition(now_ms, ElectionState::leader(state.epoch(), self.local_id()));
                } else if rejected.len() > voters - majority && !backing_off {
                    let backoff = self.election_backoff_ms();
                    if let RoleState::Candidate { deadline_ms, backing_off, .. } = &mut self.role {
                        *deadline_ms = now_ms + backoff;
                        *backing_off = true;
                    }
                }
            }
            _ => {}
        }
    }

    fn end_pre_vote(&mut self, now_ms: u64) {
        let state = self.quorum.current().clone();
        match state.leader_id() {
            Some(leader) => self.transition(now_ms, ElectionState::follower(state.epoch(), leader, state.voted_id())),
            None => self.transition(now_ms, ElectionState::unattached(state.epoch(), state.voted_id())),
        }
    }

    pub(super) fn start_pre_vote(&mut self, now_ms: u64) {
        for voter in self.other_voters() {
            self.send_vote_request(now_ms, voter, true);
        }
        self.count_votes(now_ms);
    }

    pub(super) fn start_vote(&mut self, now_ms: u64) {
        for voter in self.other_voters() {
            self.send_vote_request(now_ms, voter, false);
        }
        self.count_votes(now_ms);
    }

    fn send_vote_request(&mut self, now_ms: u64, to: NodeId, pre_vote: bool) {
        let request = VoteRequest {
            replica_epoch: self.epoch(),
            replica_id: self.local_id(),
            last_offset_epoch: self.log.last_epoch(),
            last_offset: self.log.end_offset(),
            pre_vote,
        };
        self.send_request(now_ms, to, Request::Vote(request));
    }

    /// A Vote request timed out: ask that voter again if it has not answered.
    pub(super) fn resend_vote_request(&mut self, now_ms: u64, voter: NodeId) {
        let pre_vote = match &self.role {
            RoleState::Prospective { granted, rejected, .. } => {
                if granted.contains(&voter) || rejected.contains(&voter) {
                    return;
                }
                true
            }
            RoleState::Candidate { granted, rejected, backing_off: false, .. } => {
                if granted.contains(&voter) || rejected.contains(&voter) {
                    return;
                }
                false
            }
            _ => return,
        };
        self.send_vote_request(now_ms, voter, pre_vote);
    }

    /// Prospective: the election timer ended the pre-vote. Candidate: the election timer or
    /// the backoff ended; both go back to a pre-vote.
    pub(super) fn tick_election(&mut self, now_ms: u64) {
        let deadline_ms = match &self.role {
            RoleState::Prospective { deadline_ms, .. } | RoleState::Candidate { deadline_ms, .. } => *deadline_ms,
            _ => unreachable!(),
        };
        if now_ms < deadline_ms {
            return;
        }
        let state = self.quorum.current().clone();
        match state.role() {
            Role::Prospective => self.end_pre_vote(now_ms),
            Role::Candidate => {
                self.transition(now_ms, ElectionState::prospective(state.epoch(), None, state.voted_id()))
            }
            _ => unreachable!(),
        }
    }
}
