//! `RaftCore`: one member of the controller quorum (KRaft, `kraft.version` 0), with no IO.
//!
//! It takes time, messages, proposals and disk completions, and hands back a [`Ready`]: the
//! quorum-state and log writes to make durable, the messages that may leave now and those that
//! must wait for the writes, and the entries now committed. It never reads a clock (every
//! input carries `now_ms`) and draws its randomness (election timeouts, backoff) from the
//! seeded [`NodeRng`] it was built with, so a seed replays a run exactly.
//!
//! The election lives in `election.rs`, the leader's side (fetch serving, the quorum high
//! watermark, check-quorum) in `leader.rs`, the follower's in `follower.rs`, snapshots in
//! `snapshot.rs`, and the Ready bookkeeping in `outbox.rs`; this file holds the state, the
//! inputs, the one place transitions happen, timers and the invariants.
//!
//! Where seedlog differs from Kafka (see docs/raft.md):
//! - the leader counts its own log end offset toward the high watermark only once fsynced
//!   (Kafka counts it just before the flush);
//! - every message says whether it may leave before the pending writes are durable, by
//!   which of the Ready's two lists it is in; Kafka's single thread gets the same effect by
//!   flushing before it does network IO;
//! - a node that restarts Resigned sends EndQuorumEpoch at once, so the followers of the
//!   leader it was need not wait out their fetch timeout.

use super::config::RaftConfig;
use super::messages::{EntryKind, Epoch, ErrorCode, Message, NodeId, Offset, Request, Response, SnapshotId};
use super::quorum_state::{ElectionState, QuorumState, Role};
use super::quorum_state_file::QuorumStateRecord;
use super::raft_log::RaftLog;
use super::ready::Ready;
use crate::runtime::NodeRng;
use bytes::Bytes;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Deliberate bugs for proving that the property harness catches them (tests only).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestFault {
    /// Restart without the persisted vote (as if `votedId` were not read back).
    ForgetVoteOnRestart,
    /// Grant real votes without the up-to-date log check.
    GrantVotesWithoutLogCheck,
    /// Count the leader's whole log end toward the high watermark, fsynced or not.
    CountUnflushedLeaderEnd,
    /// Serve FetchSnapshot chunks with their first byte flipped (a corrupt transfer).
    ServeCorruptSnapshot,
}

/// A proposal made to a node that is not the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLeader {
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
}

/// Where a leader stands with one replica.
#[derive(Debug, Clone, Default)]
pub(super) struct ReplicaProgress {
    /// The last valid `FetchOffset` (everything below is on the replica; fsynced for voters).
    pub end_offset: Option<Offset>,
    pub last_fetch_ms: Option<u64>,
    /// Has fetched or answered BeginQuorumEpoch in this epoch (stops the Begin re-sends).
    pub acknowledged: bool,
}

/// A fetch the leader holds until there is something to say (or `deadline_ms`).
#[derive(Debug, Clone)]
pub(super) struct ParkedFetch {
    pub correlation_id: i32,
    pub follower_high_watermark: Option<Offset>,
    pub fetch_offset: Offset,
    pub deadline_ms: u64,
}

/// The leader's per-epoch state.
#[derive(Debug, Clone)]
pub(super) struct LeaderState {
    /// The log end offset when this node won: the high watermark moves only above it.
    pub epoch_start_offset: Offset,
    pub started_ms: u64,
    pub voters: BTreeMap<NodeId, ReplicaProgress>,
    pub observers: BTreeMap<NodeId, ReplicaProgress>,
    pub begin_resend_ms: u64,
    pub parked: BTreeMap<NodeId, ParkedFetch>,
}

/// Timers and tallies of the current role (the identity part is in [`QuorumState`]).
#[derive(Debug, Clone)]
pub(super) enum RoleState {
    /// `deadline_ms`: the election timer for voters; the next leader-discovery attempt for
    /// observers.
    Unattached {
        deadline_ms: u64,
    },
    Prospective {
        deadline_ms: u64,
        granted: BTreeSet<NodeId>,
        rejected: BTreeSet<NodeId>,
    },
    /// `backing_off`: lost, waiting out the backoff before the next pre-vote.
    Candidate {
        deadline_ms: u64,
        granted: BTreeSet<NodeId>,
        rejected: BTreeSet<NodeId>,
        backing_off: bool,
    },
    Leader(LeaderState),
    /// `has_fetched`: a fetch succeeded since it started following (pre-vote rule);
    /// `next_fetch_ms`: when to send the next fetch if none is in flight;
    /// `snapshot_fetch`: a snapshot being fetched (FetchSnapshot instead of Fetch until done).
    Follower {
        fetch_deadline_ms: u64,
        has_fetched: bool,
        next_fetch_ms: Option<u64>,
        snapshot_fetch: Option<super::snapshot::SnapshotFetch>,
    },
    Resigned {
        deadline_ms: u64,
    },
}

/// A request awaiting its response.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFlight {
    pub correlation_id: i32,
    pub deadline_ms: u64,
    pub kind: RequestKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestKind {
    Vote,
    BeginQuorumEpoch,
    EndQuorumEpoch,
    Fetch,
    FetchSnapshot,
}

/// One member of the quorum.
///
/// Invariants (asserted after every input by [`RaftCore::check_invariants`]):
/// - the election state obeys its own invariants, and the role state matches its role;
/// - the node's epoch is at least the log's last epoch;
/// - `log_start_offset <= high_watermark <= log_end_offset`, and the high watermark never
///   falls while the process lives;
/// - `flushed_end_offset <= log_end_offset`;
/// - a leader: every entry from `epoch_start_offset` on carries the leader's epoch, and
///   `epoch_start_offset <= log_end_offset`; only voters are in `voters`, the leader among
///   them;
/// - requests in flight go only to other nodes.
pub struct RaftCore {
    pub(super) config: RaftConfig,
    local_id: NodeId,
    voters: BTreeSet<NodeId>,
    pub(super) quorum: QuorumState,
    pub(super) role: RoleState,
    pub(super) log: RaftLog,
    rng: NodeRng,
    /// Offsets below are committed. Starts at the log start on every process start.
    pub(super) high_watermark: Offset,
    /// The log is durable below this (as far as the shell has confirmed).
    pub(super) flushed_end_offset: Offset,
    pub(super) inflight: BTreeMap<NodeId, InFlight>,
    pub(super) next_correlation_id: i32,
    /// Consecutive candidacies without a known leader (the election backoff's exponent).
    pub(super) election_retries: u32,
    /// Round-robin index of an observer's leader discovery.
    pub(super) discovery_index: usize,
    /// Each voter's end offset when this node last led (for EndQuorumEpoch's order).
    pub(super) last_leader_progress: Option<BTreeMap<NodeId, Offset>>,
    /// The bytes of `log.snapshot()`, once the state machine handed them in (to serve them).
    pub(super) snapshot_data: Option<Bytes>,
    /// The record last handed to the shell (or found on disk at start).
    last_record: Option<QuorumStateRecord>,
    pub(super) ready: Ready,
    pub(super) next_ready_id: u64,
    pub(super) unpersisted: VecDeque<super::outbox::Unpersisted>,
    /// The log end as the shell has it once every taken Ready is written.
    pub(super) shell_log_end: Offset,
}

impl RaftCore {
    /// A quorum member starting (or restarting) from what its disk holds: the quorum-state
    /// record (if any) and the recovered log, which is durable as given (if it starts at a
    /// snapshot, hand the snapshot's bytes in with [`on_snapshot`](Self::on_snapshot) next).
    /// Panics on a config that [`RaftConfig::validate`] refuses or an empty voter set: check
    /// those first.
    pub fn new(
        config: RaftConfig,
        local_id: NodeId,
        voters: BTreeSet<NodeId>,
        persisted: Option<QuorumStateRecord>,
        log: RaftLog,
        rng: NodeRng,
        now_ms: u64,
    ) -> RaftCore {
        if let Err(e) = config.validate() {
            panic!("invalid raft config: {e}");
        }
        assert!(!voters.is_empty(), "controller.quorum.voters is empty");
        log.check_invariants();
        let is_voter = voters.contains(&local_id);
        #[allow(unused_mut)]
        let mut restored_record = persisted;
        #[cfg(test)]
        if config.fault == Some(TestFault::ForgetVoteOnRestart) {
            restored_record = restored_record.map(|r| QuorumStateRecord { voted_id: None, ..r });
        }
        let initial = ElectionState::restore(local_id, is_voter, restored_record.as_ref(), log.last_epoch());
        let end = log.end_offset();
        let mut core = RaftCore {
            config,
            local_id,
            voters,
            quorum: QuorumState::new(local_id, is_voter, initial),
            role: RoleState::Unattached { deadline_ms: now_ms },
            high_watermark: log.start_offset(),
            flushed_end_offset: end,
            log,
            rng,
            inflight: BTreeMap::new(),
            next_correlation_id: 0,
            election_retries: 0,
            discovery_index: 0,
            last_leader_progress: None,
            snapshot_data: None,
            last_record: persisted,
            ready: Ready::default(),
            next_ready_id: 1,
            unpersisted: VecDeque::new(),
            shell_log_end: end,
        };
        core.enter_role(now_ms);
        core.persist_record_if_changed();
        core.on_entered(now_ms);
        core.check_invariants();
        core
    }

    // ---- accessors -------------------------------------------------------------------

    pub fn local_id(&self) -> NodeId {
        self.local_id
    }

    pub fn voters(&self) -> &BTreeSet<NodeId> {
        &self.voters
    }

    pub fn is_voter(&self) -> bool {
        self.quorum.is_voter()
    }

    pub fn election_state(&self) -> &ElectionState {
        self.quorum.current()
    }

    pub fn epoch(&self) -> Epoch {
        self.quorum.current().epoch()
    }

    pub fn role(&self) -> Role {
        self.quorum.current().role()
    }

    pub fn leader_id(&self) -> Option<NodeId> {
        self.quorum.current().leader_id()
    }

    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    pub fn log_end_offset(&self) -> Offset {
        self.log.end_offset()
    }

    pub fn flushed_end_offset(&self) -> Offset {
        self.flushed_end_offset
    }

    /// The leader's `epochStartOffset`, if this node leads.
    pub fn epoch_start_offset(&self) -> Option<Offset> {
        match &self.role {
            RoleState::Leader(l) => Some(l.epoch_start_offset),
            _ => None,
        }
    }

    pub(super) fn config(&self) -> &RaftConfig {
        &self.config
    }

    pub(super) fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    pub(super) fn other_voters(&self) -> Vec<NodeId> {
        self.voters.iter().copied().filter(|v| *v != self.local_id).collect()
    }

    pub(super) fn voter_ids(&self) -> Vec<NodeId> {
        self.voters.iter().copied().collect()
    }

    #[cfg(test)]
    pub(super) fn fault(&self) -> Option<TestFault> {
        self.config.fault
    }

    // ---- inputs ----------------------------------------------------------------------

    /// A message from `from`.
    pub fn step(&mut self, now_ms: u64, from: NodeId, message: Message) {
        match message {
            Message::Request { correlation_id, body } => self.handle_request(now_ms, from, correlation_id, body),
            Message::Response { correlation_id, body } => {
                let expected = self.inflight.get(&from).is_some_and(|f| f.correlation_id == correlation_id);
                if expected {
                    self.inflight.remove(&from);
                    self.handle_response(now_ms, from, body);
                }
            }
        }
        self.check_invariants();
    }

    /// Time passed: fire whatever timers are due.
    pub fn tick(&mut self, now_ms: u64) {
        self.expire_requests(now_ms);
        match self.quorum.current().role() {
            Role::Unattached => self.tick_unattached(now_ms),
            Role::Prospective | Role::Candidate => self.tick_election(now_ms),
            Role::Leader => self.tick_leader(now_ms),
            Role::Follower => self.tick_follower(now_ms),
            Role::Resigned => self.tick_resigned(now_ms),
        }
        self.check_invariants();
    }

    /// Appends `payloads` as entries of the leader's epoch. Returns the offsets of the first
    /// and last entry; they are committed once the high watermark passes them.
    pub fn propose(&mut self, now_ms: u64, payloads: Vec<Bytes>) -> Result<(Offset, Offset), NotLeader> {
        if self.quorum.current().role() != Role::Leader {
            return Err(NotLeader { leader_id: self.leader_id(), leader_epoch: self.epoch() });
        }
        let first = self.log.end_offset();
        for payload in payloads {
            self.append_as_leader(EntryKind::Data, payload);
        }
        let last = self.log.end_offset() - 1;
        self.complete_parked_fetches(now_ms, |_, _| true);
        self.check_invariants();
        Ok((first, last.max(first - 1)))
    }

    /// Leaves the leadership on purpose (shutdown): Kafka's resign, with EndQuorumEpoch.
    pub fn resign(&mut self, now_ms: u64) {
        if self.quorum.current().role() == Role::Leader {
            self.become_resigned(now_ms);
        }
        self.check_invariants();
    }

    /// When [`tick`](Self::tick) next needs to run.
    pub fn next_deadline(&self) -> u64 {
        let mut deadline = match &self.role {
            RoleState::Unattached { deadline_ms } | RoleState::Resigned { deadline_ms } => *deadline_ms,
            RoleState::Prospective { deadline_ms, .. } | RoleState::Candidate { deadline_ms, .. } => *deadline_ms,
            RoleState::Leader(leader) => self.leader_deadline(leader),
            RoleState::Follower { fetch_deadline_ms, next_fetch_ms, .. } => {
                (*fetch_deadline_ms).min(next_fetch_ms.unwrap_or(u64::MAX))
            }
        };
        for f in self.inflight.values() {
            deadline = deadline.min(f.deadline_ms);
        }
        deadline
    }

    // ---- transitions -----------------------------------------------------------------

    /// The one place the election state changes: checks the move against the table (a
    /// refused move is a bug, so it panics), resets the role's timers, forgets requests in
    /// flight, queues the quorum-state write, and runs the new role's entry actions.
    pub(super) fn transition(&mut self, now_ms: u64, to: ElectionState) {
        if *self.quorum.current() == to {
            return;
        }
        if let RoleState::Leader(_) = self.role {
            if to.role() != Role::Leader {
                self.leave_leadership();
            }
        }
        let from = self.quorum.current().clone();
        if let Err(refused) = self.quorum.transition(to) {
            panic!("node {}: {refused}", self.local_id);
        }
        let to = self.quorum.current();
        // Reported by the shell once the Ready's quorum-state is durable (see `Ready::transitions`).
        self.ready.transitions.push(crate::events::RaftTransition {
            from_state: format!("{:?}", from.role()),
            to_state: format!("{:?}", to.role()),
            epoch: to.epoch(),
            leader_id: to.leader_id().unwrap_or(-1),
            voted_id: to.voted_id().unwrap_or(-1),
        });
        self.inflight.clear();
        self.enter_role(now_ms);
        self.persist_record_if_changed();
        self.on_entered(now_ms);
    }

    fn persist_record_if_changed(&mut self) {
        if let Some(record) = self.quorum.current().record() {
            if self.last_record != Some(record) {
                self.last_record = Some(record);
                self.ready.quorum_state = Some(record);
            }
        }
    }

    /// Fresh timers and tallies for the current role.
    fn enter_role(&mut self, now_ms: u64) {
        let state = self.quorum.current().clone();
        self.role = match state.role() {
            Role::Unattached => {
                let deadline_ms = if self.is_voter() { now_ms + self.random_election_timeout() } else { now_ms };
                RoleState::Unattached { deadline_ms }
            }
            Role::Prospective => RoleState::Prospective {
                deadline_ms: now_ms + self.random_election_timeout(),
                granted: BTreeSet::from([self.local_id]),
                rejected: BTreeSet::new(),
            },
            Role::Candidate => {
                self.election_retries += 1;
                RoleState::Candidate {
                    deadline_ms: now_ms + self.random_election_timeout(),
                    granted: BTreeSet::from([self.local_id]),
                    rejected: BTreeSet::new(),
                    backing_off: false,
                }
            }
            Role::Leader => {
                self.election_retries = 0;
                RoleState::Leader(self.new_leader_state(now_ms))
            }
            Role::Follower => {
                self.election_retries = 0;
                RoleState::Follower {
                    fetch_deadline_ms: now_ms + self.config.fetch_timeout_ms,
                    has_fetched: false,
                    next_fetch_ms: Some(now_ms),
                    snapshot_fetch: None,
                }
            }
            Role::Resigned => RoleState::Resigned { deadline_ms: now_ms + self.random_election_timeout() },
        };
    }

    /// The new role's first actions (Kafka's `onBecome…`).
    fn on_entered(&mut self, now_ms: u64) {
        match self.quorum.current().role() {
            Role::Prospective => self.start_pre_vote(now_ms),
            Role::Candidate => self.start_vote(now_ms),
            Role::Leader => self.start_leading(now_ms),
            Role::Follower => self.maybe_send_fetch(now_ms),
            Role::Resigned => self.send_end_quorum_epoch(now_ms),
            Role::Unattached => {}
        }
    }

    /// What a message's `(epoch, leader)` teaches: a higher epoch moves this node there (as
    /// the leader's Follower when the leader is named, else Unattached); the leader of the
    /// current epoch, when this node did not know it, makes it a Follower.
    pub(super) fn observe_epoch(&mut self, now_ms: u64, epoch: Epoch, leader_id: Option<NodeId>) {
        let current = self.quorum.current().clone();
        let leader_id = leader_id.filter(|l| *l != self.local_id);
        if epoch > current.epoch() {
            match leader_id {
                Some(leader) => self.transition(now_ms, ElectionState::follower(epoch, leader, None)),
                None => self.transition(now_ms, ElectionState::unattached(epoch, None)),
            }
        } else if epoch == current.epoch() {
            if let Some(leader) = leader_id {
                let learns = match current.role() {
                    Role::Unattached | Role::Candidate => true,
                    // Kafka's `!quorum.hasLeader()`: a Prospective that came from following
                    // `leader` keeps it. Going back to Follower because an answer names that same
                    // leader would undo every pre-vote after a leader crash: the voters that
                    // grant it still name the dead leader, as they knew it too.
                    Role::Prospective => current.leader_id().is_none(),
                    _ => false,
                };
                if learns {
                    self.transition(now_ms, ElectionState::follower(epoch, leader, current.voted_id()));
                }
            }
        }
    }

    pub(super) fn random_election_timeout(&mut self) -> u64 {
        let t = self.config.election_timeout_ms;
        self.rng.random_range(t..2 * t)
    }

    /// Kafka's binary exponential election backoff: `min(100 ms × U[0, 2^retries),
    /// election.backoff.max.ms)`, retries capped at 21.
    pub(super) fn election_backoff_ms(&mut self) -> u64 {
        let retries = self.election_retries.clamp(1, 21);
        let draw = self.rng.random_range(0..(1u64 << retries));
        (100 * draw).min(self.config.election_backoff_max_ms)
    }

    // ---- timers ----------------------------------------------------------------------

    fn expire_requests(&mut self, now_ms: u64) {
        let expired: Vec<(NodeId, InFlight)> =
            self.inflight.iter().filter(|(_, f)| f.deadline_ms <= now_ms).map(|(n, f)| (*n, *f)).collect();
        for (node, flight) in expired {
            self.inflight.remove(&node);
            match flight.kind {
                RequestKind::Vote => self.resend_vote_request(now_ms, node),
                RequestKind::Fetch | RequestKind::FetchSnapshot => {
                    if let RoleState::Follower { next_fetch_ms, .. } = &mut self.role {
                        *next_fetch_ms = Some(now_ms);
                    }
                }
                // Begin is re-sent by the leader's timer; End is a courtesy, not retried.
                RequestKind::BeginQuorumEpoch | RequestKind::EndQuorumEpoch => {}
            }
        }
    }

    fn tick_unattached(&mut self, now_ms: u64) {
        let RoleState::Unattached { deadline_ms } = self.role else { unreachable!() };
        if now_ms < deadline_ms {
            return;
        }
        if self.is_voter() {
            let s = self.quorum.current().clone();
            self.transition(now_ms, ElectionState::prospective(s.epoch(), None, s.voted_id()));
        } else {
            self.discover_leader(now_ms);
        }
    }

    fn tick_resigned(&mut self, now_ms: u64) {
        let RoleState::Resigned { deadline_ms } = self.role else { unreachable!() };
        if now_ms >= deadline_ms {
            let epoch = self.epoch() + 1;
            self.transition(now_ms, ElectionState::unattached(epoch, None));
        }
    }

    // ---- invariants ------------------------------------------------------------------

    /// Asserts the invariants in the type's doc comment.
    pub fn check_invariants(&self) {
        let state = self.quorum.current();
        state.check_invariants(self.local_id, self.is_voter());
        self.log.check_invariants();
        let role_matches = matches!(
            (state.role(), &self.role),
            (Role::Unattached, RoleState::Unattached { .. })
                | (Role::Prospective, RoleState::Prospective { .. })
                | (Role::Candidate, RoleState::Candidate { .. })
                | (Role::Leader, RoleState::Leader(_))
                | (Role::Follower, RoleState::Follower { .. })
                | (Role::Resigned, RoleState::Resigned { .. })
        );
        assert!(role_matches, "role state {:?} does not match {:?}", self.role, state);
        assert!(state.epoch() >= self.log.last_epoch(), "epoch {} below the log's last epoch", state.epoch());
        assert!(self.log.start_offset() <= self.high_watermark, "high watermark below the log start");
        assert!(self.high_watermark <= self.log.end_offset(), "high watermark above the log end");
        assert!(self.flushed_end_offset <= self.log.end_offset(), "flushed beyond the log end");
        if let RoleState::Leader(leader) = &self.role {
            assert!(leader.epoch_start_offset <= self.log.end_offset());
            // (A snapshot may have moved the log start past the epoch start.)
            if leader.epoch_start_offset < self.log.end_offset() && leader.epoch_start_offset >= self.log.start_offset()
            {
                let first = self.log.entry(leader.epoch_start_offset).expect("leader's first entry");
                assert_eq!(first.epoch, state.epoch(), "a leader appends only in its own epoch");
                assert_eq!(self.log.last_epoch(), state.epoch(), "a leader appends only in its own epoch");
            }
            assert!(leader.voters.keys().all(|v| self.voters.contains(v)), "only voters count");
            assert!(leader.voters.contains_key(&self.local_id), "the leader is a voter");
        }
        assert!(!self.inflight.contains_key(&self.local_id), "no request to self");
    }

    pub(super) fn snapshot_id(&self) -> Option<SnapshotId> {
        self.log.snapshot()
    }

    /// Sends `ErrorCode` answers for a request this node cannot serve.
    pub(super) fn error_code_for_leader_only_request(&self, epoch: Epoch) -> Option<ErrorCode> {
        let current = self.quorum.current();
        if epoch < current.epoch() {
            Some(ErrorCode::FencedLeaderEpoch)
        } else if epoch > current.epoch() {
            Some(ErrorCode::UnknownLeaderEpoch)
        } else if current.role() != Role::Leader {
            Some(ErrorCode::NotLeaderOrFollower)
        } else {
            None
        }
    }
}

impl RaftCore {
    fn handle_request(&mut self, now_ms: u64, from: NodeId, correlation_id: i32, body: Request) {
        match body {
            Request::Vote(r) => self.handle_vote_request(now_ms, from, correlation_id, r),
            Request::BeginQuorumEpoch(r) => self.handle_begin_quorum_epoch(now_ms, from, correlation_id, r),
            Request::EndQuorumEpoch(r) => self.handle_end_quorum_epoch(now_ms, from, correlation_id, r),
            Request::Fetch(r) => self.handle_fetch_request(now_ms, from, correlation_id, r),
            Request::FetchSnapshot(r) => self.handle_fetch_snapshot_request(now_ms, from, correlation_id, r),
        }
    }

    fn handle_response(&mut self, now_ms: u64, from: NodeId, body: Response) {
        let (epoch, leader_id) = Message::Response { correlation_id: 0, body: body.clone() }.epoch_and_leader();
        if epoch < self.epoch() {
            return; // an answer from an older epoch says nothing about this one
        }
        let before = self.quorum.current().clone();
        self.observe_epoch(now_ms, epoch, leader_id);
        if *self.quorum.current() != before {
            return; // the new role has started afresh; this answer was for the old one
        }
        match body {
            Response::Vote(r) => self.handle_vote_response(now_ms, from, r),
            Response::Fetch(r) => self.handle_fetch_response(now_ms, from, r),
            Response::FetchSnapshot(r) => self.handle_fetch_snapshot_response(now_ms, from, r),
            Response::BeginQuorumEpoch(r) => self.handle_begin_quorum_epoch_response(now_ms, from, r),
            // A resigned leader has nothing more to do with its followers' answers.
            Response::EndQuorumEpoch(_) => {}
        }
    }
}
