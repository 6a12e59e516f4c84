//! The leader's side: taking office (LeaderChange entry, BeginQuorumEpoch), serving Fetch
//! (epoch checks, snapshot, divergence, parking), the quorum high watermark, check-quorum,
//! and resigning with EndQuorumEpoch.
//!
//! Quorum high watermark (REPLICATION.md §1.5): one end offset per voter — the leader's own
//! *flushed* log end (stricter than Kafka, which counts its log end just before the flush),
//! each follower's last valid `FetchOffset` — sorted descending; the value at index ⌊n/2⌋ is
//! on a majority. The high watermark moves there only above both `epoch_start_offset` and the
//! current one, so the first thing committed in an epoch is the leader's own LeaderChange
//! entry, and everything before it with it. Observers never count.

use super::core::{LeaderState, ParkedFetch, RaftCore, ReplicaProgress, RoleState};
use super::messages::{
    BeginQuorumEpochRequest, BeginQuorumEpochResponse, DivergingEpoch, EndQuorumEpochRequest, EntryKind, ErrorCode,
    FetchRequest, FetchResponse, NodeId, Offset, Request, Response,
};
use super::quorum_state::Role;
use bytes::Bytes;
use std::collections::BTreeMap;

impl RaftCore {
    pub(super) fn new_leader_state(&self, now_ms: u64) -> LeaderState {
        let mut voters: BTreeMap<NodeId, ReplicaProgress> =
            self.voter_ids().into_iter().map(|v| (v, ReplicaProgress::default())).collect();
        if let Some(me) = voters.get_mut(&self.local_id()) {
            me.acknowledged = true;
        }
        LeaderState {
            epoch_start_offset: self.log.end_offset(),
            started_ms: now_ms,
            voters,
            observers: BTreeMap::new(),
            begin_resend_ms: now_ms + self.config().begin_quorum_resend_ms(),
            parked: BTreeMap::new(),
        }
    }

    /// Kafka's `onBecomeLeader`: the LeaderChange control entry (so the epoch can commit),
    /// then BeginQuorumEpoch to every other voter (after the Leader record is durable).
    pub(super) fn start_leading(&mut self, now_ms: u64) {
        let voters = self.voter_ids();
        self.append_as_leader(EntryKind::LeaderChange { leader_id: self.local_id(), voters }, Bytes::new());
        for voter in self.other_voters() {
            self.send_begin_quorum_epoch(now_ms, voter);
        }
        self.maybe_advance_leader_high_watermark(now_ms);
    }

    fn send_begin_quorum_epoch(&mut self, now_ms: u64, to: NodeId) {
        let request = BeginQuorumEpochRequest { leader_id: self.local_id(), leader_epoch: self.epoch() };
        self.send_request(now_ms, to, Request::BeginQuorumEpoch(request));
    }

    pub(super) fn handle_begin_quorum_epoch_response(
        &mut self,
        _now_ms: u64,
        from: NodeId,
        r: BeginQuorumEpochResponse,
    ) {
        if r.error_code != ErrorCode::None {
            return;
        }
        if let RoleState::Leader(leader) = &mut self.role {
            if let Some(p) = leader.voters.get_mut(&from) {
                p.acknowledged = true;
            }
        }
    }

    /// On a leader, each voter's end offset as the high watermark counts it (its own: the
    /// flushed log end; −1 for a follower that has not fetched). `None` on any other node.
    pub fn voter_end_offsets(&self) -> Option<Vec<(NodeId, Offset)>> {
        let RoleState::Leader(leader) = &self.role else { return None };
        let local_id = self.local_id();
        let ends = leader
            .voters
            .iter()
            .map(|(id, p)| (*id, if *id == local_id { self.flushed_end_offset } else { p.end_offset.unwrap_or(-1) }))
            .collect();
        Some(ends)
    }

    pub(super) fn leader_deadline(&self, leader: &LeaderState) -> u64 {
        let mut deadline = leader.begin_resend_ms;
        if let Some(check) = self.check_quorum_deadline(leader) {
            deadline = deadline.min(check);
        }
        for parked in leader.parked.values() {
            deadline = deadline.min(parked.deadline_ms);
        }
        deadline
    }

    /// When check-quorum fails if nobody fetches before: the time the (majority − 1)-th most
    /// recent follower fetch leaves the 1.5 × fetch-timeout window (a follower that has not
    /// fetched yet counts from the start of the term). `None` for a one-voter quorum.
    fn check_quorum_deadline(&self, leader: &LeaderState) -> Option<u64> {
        let needed = self.majority() - 1;
        if needed == 0 {
            return None;
        }
        let mut times: Vec<u64> = leader
            .voters
            .iter()
            .filter(|(id, _)| **id != self.local_id())
            .map(|(_, p)| p.last_fetch_ms.unwrap_or(leader.started_ms))
            .collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        Some(times[needed - 1] + self.config().check_quorum_ms())
    }

    pub(super) fn tick_leader(&mut self, now_ms: u64) {
        let RoleState::Leader(leader) = &self.role else { unreachable!() };
        if self.check_quorum_deadline(leader).is_some_and(|d| now_ms >= d) {
            self.become_resigned(now_ms);
            return;
        }
        if now_ms >= leader.begin_resend_ms {
            let unacknowledged: Vec<NodeId> = leader
                .voters
                .iter()
                .filter(|(id, p)| **id != self.local_id() && !p.acknowledged)
                .map(|(id, _)| *id)
                .filter(|id| !self.inflight.contains_key(id))
                .collect();
            for voter in unacknowledged {
                self.send_begin_quorum_epoch(now_ms, voter);
            }
            let period = self.config().begin_quorum_resend_ms();
            if let RoleState::Leader(leader) = &mut self.role {
                leader.begin_resend_ms = now_ms + period;
            }
        }
        self.complete_parked_fetches(now_ms, |parked, now| now >= parked.deadline_ms);
    }

    /// Leader → Resigned, telling the other voters (most caught-up first) to elect soon.
    pub(super) fn become_resigned(&mut self, now_ms: u64) {
        let state = self.quorum.current().clone();
        let resigned = super::quorum_state::ElectionState::resigned(state.epoch(), self.local_id(), state.voted_id());
        self.transition(now_ms, resigned);
    }

    /// EndQuorumEpoch to every other voter, with `PreferredCandidates` by descending end
    /// offset as last known (ties by id).
    pub(super) fn send_end_quorum_epoch(&mut self, now_ms: u64) {
        let mut candidates: Vec<(Offset, NodeId)> = self.other_voters().into_iter().map(|v| (-1, v)).collect();
        if let Some(progress) = &self.last_leader_progress {
            for (offset, id) in candidates.iter_mut() {
                *offset = progress.get(id).copied().unwrap_or(-1);
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let preferred: Vec<NodeId> = candidates.into_iter().map(|(_, id)| id).collect();
        for voter in preferred.clone() {
            let request = EndQuorumEpochRequest {
                leader_id: self.local_id(),
                leader_epoch: self.epoch(),
                preferred_candidates: preferred.clone(),
            };
            self.send_request(now_ms, voter, Request::EndQuorumEpoch(request));
        }
    }

    /// Fetch (API 1) from a follower or observer (REPLICATION.md §1.4, leader side).
    pub(super) fn handle_fetch_request(&mut self, now_ms: u64, from: NodeId, correlation_id: i32, r: FetchRequest) {
        let malformed =
            r.fetch_offset < 0 || r.last_fetched_epoch < 0 || r.current_leader_epoch < 0 || r.replica_id != from;
        let error = if malformed {
            Some(ErrorCode::InvalidRequest)
        } else if let Some(e) = self.error_code_for_leader_only_request(r.current_leader_epoch) {
            Some(e)
        } else if r.last_fetched_epoch > r.current_leader_epoch {
            Some(ErrorCode::InvalidRequest)
        } else {
            None
        };
        if let Some(error) = error {
            return self.send_fetch_response(from, correlation_id, error, None, Vec::new());
        }
        if let Some(snapshot) = self.snapshot_id() {
            let below = r.fetch_offset < self.log.start_offset()
                || (r.fetch_offset == self.log.start_offset() && r.last_fetched_epoch != snapshot.epoch)
                || r.last_fetched_epoch < snapshot.epoch;
            if below {
                let mut response = self.fetch_response(ErrorCode::None, None, Vec::new());
                response.snapshot_id = Some(snapshot);
                return self.send_response(from, correlation_id, Response::Fetch(response));
            }
        }
        let diverging = match self.log.end_offset_for_epoch(r.last_fetched_epoch) {
            Some((epoch, end_offset)) if epoch == r.last_fetched_epoch && end_offset >= r.fetch_offset => None,
            Some((epoch, end_offset)) => Some(DivergingEpoch { epoch, end_offset }),
            None => Some(DivergingEpoch { epoch: self.log.last_epoch(), end_offset: self.log.end_offset() }),
        };
        if diverging.is_some() {
            return self.send_fetch_response(from, correlation_id, ErrorCode::None, diverging, Vec::new());
        }
        // A valid fetch: only now does it count as the replica's end offset.
        let is_voter = self.voters().contains(&from);
        if let RoleState::Leader(leader) = &mut self.role {
            let progress = if is_voter { leader.voters.entry(from) } else { leader.observers.entry(from) };
            let progress = progress.or_default();
            progress.end_offset = Some(r.fetch_offset);
            progress.last_fetch_ms = Some(now_ms);
            progress.acknowledged = true;
        }
        self.maybe_advance_leader_high_watermark(now_ms);
        let behind_on_hw = r.high_watermark.is_some_and(|hw| hw < self.high_watermark());
        if r.fetch_offset < self.log.end_offset() || behind_on_hw {
            let records = self.log.read(r.fetch_offset, self.config().answer_max_bytes());
            return self.send_fetch_response(from, correlation_id, ErrorCode::None, None, records);
        }
        let deadline_ms = now_ms + self.config().fetch_max_wait_ms;
        if let RoleState::Leader(leader) = &mut self.role {
            let parked = ParkedFetch {
                correlation_id,
                follower_high_watermark: r.high_watermark,
                fetch_offset: r.fetch_offset,
                deadline_ms,
            };
            leader.parked.insert(from, parked);
        }
    }

    fn fetch_response(
        &self,
        error_code: ErrorCode,
        diverging: Option<DivergingEpoch>,
        records: Vec<super::messages::Entry>,
    ) -> FetchResponse {
        FetchResponse {
            error_code,
            high_watermark: (self.quorum.current().role() == Role::Leader).then_some(self.high_watermark()),
            leader_id: self.leader_id(),
            leader_epoch: self.epoch(),
            diverging_epoch: diverging,
            snapshot_id: None,
            records,
        }
    }

    fn send_fetch_response(
        &mut self,
        to: NodeId,
        correlation_id: i32,
        error_code: ErrorCode,
        diverging: Option<DivergingEpoch>,
        records: Vec<super::messages::Entry>,
    ) {
        let response = self.fetch_response(error_code, diverging, records);
        self.send_response(to, correlation_id, Response::Fetch(response));
    }

    /// Answers the parked fetches `due` selects, with whatever the log now holds past their
    /// offset.
    pub(super) fn complete_parked_fetches(&mut self, now_ms: u64, due: impl Fn(&ParkedFetch, u64) -> bool) {
        let RoleState::Leader(leader) = &mut self.role else { return };
        let ready: Vec<NodeId> = leader.parked.iter().filter(|(_, p)| due(p, now_ms)).map(|(id, _)| *id).collect();
        let answered: Vec<(NodeId, ParkedFetch)> =
            ready.into_iter().filter_map(|id| leader.parked.remove(&id).map(|p| (id, p))).collect();
        for (to, parked) in answered {
            // A parked fetch was caught up, so at or above the high watermark and any snapshot
            // taken since; should the log start have passed it anyway, it gets the snapshot.
            if parked.fetch_offset < self.log.start_offset() {
                let mut response = self.fetch_response(ErrorCode::None, None, Vec::new());
                response.snapshot_id = self.snapshot_id();
                self.send_response(to, parked.correlation_id, Response::Fetch(response));
                continue;
            }
            let offset = parked.fetch_offset.min(self.log.end_offset());
            let records = self.log.read(offset, self.config().answer_max_bytes());
            self.send_fetch_response(to, parked.correlation_id, ErrorCode::None, None, records);
        }
    }

    /// Leaving the leadership: the parked fetches learn at once that this node no longer leads.
    pub(super) fn leave_leadership(&mut self) {
        let RoleState::Leader(leader) = &mut self.role else { return };
        let parked = std::mem::take(&mut leader.parked);
        self.last_leader_progress =
            Some(leader.voters.iter().map(|(id, p)| (*id, p.end_offset.unwrap_or(-1))).collect());
        for (to, p) in parked {
            let mut response = self.fetch_response(ErrorCode::NotLeaderOrFollower, None, Vec::new());
            response.high_watermark = None;
            self.send_response(to, p.correlation_id, Response::Fetch(response));
        }
    }

    /// Moves the high watermark to what a majority of voters hold, if that is above both the
    /// epoch start and the current high watermark; wakes fetches whose follower lags on it.
    pub(super) fn maybe_advance_leader_high_watermark(&mut self, now_ms: u64) {
        let RoleState::Leader(leader) = &self.role else { return };
        let local_id = self.local_id();
        #[allow(unused_mut)]
        let mut own_end = self.flushed_end_offset;
        #[cfg(test)]
        if self.fault() == Some(super::core::TestFault::CountUnflushedLeaderEnd) {
            own_end = self.log.end_offset();
        }
        let mut ends: Vec<Offset> = leader
            .voters
            .iter()
            .map(|(id, p)| if *id == local_id { own_end } else { p.end_offset.unwrap_or(-1) })
            .collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let majority_end = ends[ends.len() / 2];
        if majority_end > leader.epoch_start_offset && majority_end > self.high_watermark() {
            self.advance_high_watermark(majority_end);
            let hw = self.high_watermark();
            self.complete_parked_fetches(now_ms, |p, _| p.follower_high_watermark.is_some_and(|f| f < hw));
        }
    }
}
