//! The follower's (and observer's) side: BeginQuorumEpoch and EndQuorumEpoch, the fetch loop,
//! truncation on `DivergingEpoch`, and the follower high watermark.
//!
//! - A voter's Fetch acknowledges its log end offset, so it leaves only once everything below
//!   is fsynced (the Ready holds it back while a write is pending).
//! - On `DivergingEpoch{E, O}` with local `end_offset_for_epoch(E) = (E', O')`: truncate to
//!   `min(O, O', LEO)` if `E' == E`, else `min(O', LEO)`; `min(O, LEO)` if the log cannot say.
//!   Truncating below the local high watermark is fatal (it would drop committed entries).
//! - `high_watermark = min(response HW, LEO)`, never decreasing.
//! - A `SnapshotId` in the answer switches the fetch loop to FetchSnapshot until the snapshot
//!   is installed (`snapshot.rs`).
//! - An observer (a broker) has no election timer: while it knows no leader it asks the
//!   voters in turn (any answer names the leader if the voter knows it); when its fetch
//!   timer fires it forgets the leader and asks again.

use super::core::RaftCore;
use super::core::RoleState;
use super::messages::{
    BeginQuorumEpochRequest, BeginQuorumEpochResponse, EndQuorumEpochRequest, EndQuorumEpochResponse, ErrorCode,
    FetchRequest, FetchResponse, NodeId, Request, Response,
};
use super::quorum_state::{ElectionState, Role};

impl RaftCore {
    /// The checks Begin- and EndQuorumEpoch share: a leader announces only itself, in a
    /// valid epoch, to another node; an older epoch than ours is fenced.
    fn check_leader_announcement(&self, from: NodeId, leader_id: NodeId, leader_epoch: i32) -> Option<ErrorCode> {
        if leader_epoch < 0 || leader_id != from || leader_id == self.local_id() {
            Some(ErrorCode::InvalidRequest)
        } else if leader_epoch < self.epoch() {
            Some(ErrorCode::FencedLeaderEpoch)
        } else {
            None
        }
    }

    pub(super) fn handle_begin_quorum_epoch(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: i32,
        r: BeginQuorumEpochRequest,
    ) {
        let error = self.check_leader_announcement(from, r.leader_id, r.leader_epoch);
        if error.is_none() {
            self.observe_epoch(now_ms, r.leader_epoch, Some(r.leader_id));
        }
        // Accepted only if this node now follows that leader in that epoch.
        let state = self.quorum.current();
        let follows = state.role() == Role::Follower && state.leader_id() == Some(r.leader_id);
        let error = error.unwrap_or(if follows { ErrorCode::None } else { ErrorCode::InvalidRequest });
        let response =
            BeginQuorumEpochResponse { error_code: error, leader_id: self.leader_id(), leader_epoch: self.epoch() };
        self.send_response(from, correlation_id, Response::BeginQuorumEpoch(response));
    }

    pub(super) fn handle_end_quorum_epoch(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: i32,
        r: EndQuorumEpochRequest,
    ) {
        let error = self.check_leader_announcement(from, r.leader_id, r.leader_epoch);
        if error.is_none() {
            self.observe_epoch(now_ms, r.leader_epoch, Some(r.leader_id));
            let state = self.quorum.current();
            if self.is_voter() && state.role() == Role::Follower && state.leader_id() == Some(r.leader_id) {
                let backoff = self.end_epoch_backoff_ms(&r.preferred_candidates);
                if let RoleState::Follower { fetch_deadline_ms, .. } = &mut self.role {
                    *fetch_deadline_ms = (*fetch_deadline_ms).min(now_ms + backoff);
                }
            }
        }
        let response = EndQuorumEpochResponse {
            error_code: error.unwrap_or(ErrorCode::None),
            leader_id: self.leader_id(),
            leader_epoch: self.epoch(),
        };
        self.send_response(from, correlation_id, Response::EndQuorumEpoch(response));
    }

    /// How long a follower waits before its pre-vote after its leader resigned: the first
    /// preferred candidate at once, the one at position p ≥ 1 of n after
    /// `election.backoff.max.ms >> (n − 1) << (p − 1)` (Kafka's strict exponential backoff).
    fn end_epoch_backoff_ms(&self, preferred: &[NodeId]) -> u64 {
        let n = preferred.len();
        match preferred.iter().position(|id| *id == self.local_id()) {
            Some(p) if p > 0 => (self.config().election_backoff_max_ms >> (n - 1)) << (p - 1),
            _ => 0,
        }
    }

    /// Sends the next fetch to the leader unless one is in flight.
    pub(super) fn maybe_send_fetch(&mut self, now_ms: u64) {
        let Some(leader) = self.leader_id() else { return };
        if self.quorum.current().role() != Role::Follower {
            return;
        }
        if !self.inflight.contains_key(&leader) {
            match &self.role {
                RoleState::Follower { snapshot_fetch: Some(f), .. } => {
                    let (id, position) = (f.id, f.received.len() as i64);
                    self.send_fetch_snapshot(now_ms, leader, id, position);
                }
                _ => self.send_fetch(now_ms, leader),
            }
        }
        if let RoleState::Follower { next_fetch_ms, .. } = &mut self.role {
            *next_fetch_ms = None;
        }
    }

    fn send_fetch(&mut self, now_ms: u64, to: NodeId) {
        let request = FetchRequest {
            replica_id: self.local_id(),
            current_leader_epoch: self.epoch(),
            fetch_offset: self.log.end_offset(),
            last_fetched_epoch: self.log.last_epoch(),
            high_watermark: Some(self.high_watermark()),
        };
        self.send_request(now_ms, to, Request::Fetch(request));
    }

    pub(super) fn handle_fetch_response(&mut self, now_ms: u64, from: NodeId, r: FetchResponse) {
        let state = self.quorum.current();
        if state.role() != Role::Follower || state.leader_id() != Some(from) {
            return;
        }
        if r.error_code != ErrorCode::None {
            let retry_ms = now_ms + self.config().retry_backoff_ms;
            if let RoleState::Follower { next_fetch_ms, .. } = &mut self.role {
                *next_fetch_ms = Some(retry_ms);
            }
            return;
        }
        if let Some(snapshot) = r.snapshot_id {
            // The leader's log starts above what this log can continue from.
            let fetch_timeout = self.config().fetch_timeout_ms;
            if let RoleState::Follower { fetch_deadline_ms, has_fetched, .. } = &mut self.role {
                *fetch_deadline_ms = now_ms + fetch_timeout;
                *has_fetched = true;
            }
            return self.start_snapshot_fetch(now_ms, snapshot);
        }
        if let Some(diverging) = r.diverging_epoch {
            let leo = self.log.end_offset();
            let target = match self.log.end_offset_for_epoch(diverging.epoch) {
                Some((epoch, end)) if epoch == diverging.epoch => diverging.end_offset.min(end).min(leo),
                Some((_, end)) => end.min(leo),
                None => diverging.end_offset.min(leo),
            };
            self.truncate_log(target);
        } else if let Some(first) = r.records.first() {
            // The answer to the fetch in flight, so it continues the log; anything else is a
            // leader bug, and the entries are not taken.
            let epoch = self.epoch();
            if first.offset == self.log.end_offset() && r.records.iter().all(|e| e.epoch <= epoch) {
                for entry in r.records {
                    if entry.epoch < self.log.last_epoch() {
                        break;
                    }
                    self.append_entry(entry);
                }
            }
        }
        if let Some(hw) = r.high_watermark {
            let new_hw = hw.min(self.log.end_offset());
            self.advance_high_watermark(new_hw);
        }
        let fetch_timeout = self.config().fetch_timeout_ms;
        if let RoleState::Follower { fetch_deadline_ms, has_fetched, .. } = &mut self.role {
            *fetch_deadline_ms = now_ms + fetch_timeout;
            *has_fetched = true;
        }
        self.maybe_send_fetch(now_ms);
    }

    pub(super) fn tick_follower(&mut self, now_ms: u64) {
        let RoleState::Follower { fetch_deadline_ms, next_fetch_ms, .. } = self.role else { unreachable!() };
        let state = self.quorum.current().clone();
        if now_ms >= fetch_deadline_ms {
            if self.is_voter() {
                self.transition(now_ms, ElectionState::prospective(state.epoch(), state.leader_id(), state.voted_id()));
            } else {
                self.transition(now_ms, ElectionState::unattached(state.epoch(), None));
            }
            return;
        }
        if next_fetch_ms.is_some_and(|t| now_ms >= t) {
            self.maybe_send_fetch(now_ms);
        }
    }

    /// An observer that knows no leader asks the next voter (a Fetch: the answer names the
    /// leader if that voter knows it).
    pub(super) fn discover_leader(&mut self, now_ms: u64) {
        let voters = self.voter_ids();
        let to = voters[self.discovery_index % voters.len()];
        self.discovery_index += 1;
        if !self.inflight.contains_key(&to) {
            self.send_fetch(now_ms, to);
        }
        let retry = self.config().retry_backoff_ms;
        if let RoleState::Unattached { deadline_ms } = &mut self.role {
            *deadline_ms = now_ms + retry;
        }
    }
}
