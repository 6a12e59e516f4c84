//! The leader role: answering follower fetches (fencing, divergence, progress), the high
//! watermark, ISR shrink and expansion through AlterPartition, and acks=all
//! (REPLICATION.md §3.2–3.8, §3.11).
//!
//! Decisions (where this differs from Kafka; docs/replication.md has the reasons):
//! - The leader's own contribution to the HW is its durable offset (recovery point) when
//!   `fsync_before_ack` is on, its log end offset otherwise (Kafka's rule).
//! - Every new leader epoch forgets every follower's log end offset, also when the same
//!   broker is re-elected (Kafka keeps them then); the HW waits one fetch per ISR follower.
//! - A fetch with `current_leader_epoch` -1 is fenced like any older epoch (Kafka skips the
//!   check for -1, which only pre-KIP-320 clients send; seedlog's followers always send it).
//! - An acks=all produce is acknowledged only in the leader epoch it was appended in.

use std::collections::BTreeMap;

use super::alter_partition::{
    error_action, AlterPartitionErrorAction, AlterPartitionOutcome, AlterPartitionRequest, AlterPartitionResponse,
    BrokerState,
};
use super::epoch_lookup::LeaderLogView;
use super::error_code;
use super::follower_progress::FollowerProgress;
use super::partition_state::{
    AlterPartitionSendState, BrokerRegistration, IsrState, LeaderRecoveryState, PartitionState, PendingIsrChange,
};
use super::replica::{Replica, Role};

/// One partition of a follower's Fetch (v15+), as the leader's core needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerFetch {
    pub replica_id: i32,
    /// The follower's broker epoch (`ReplicaState.ReplicaEpoch`); -1 when it sent none.
    pub replica_epoch: i64,
    pub fetch_offset: i64,
    /// The epoch of the follower's last record; -1 when its log is empty.
    pub last_fetched_epoch: i32,
    pub current_leader_epoch: i32,
    pub log_start_offset: i64,
}

/// What else an entry point decided, for the shell to act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// The leader's high watermark moved up to this: wake waiting produces and fetches.
    pub high_watermark: Option<i64>,
    /// An AlterPartition to send to the controller.
    pub alter_partition: Option<AlterPartitionRequest>,
}

/// The leader's answer to one follower fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchDecision {
    /// The follower's leader epoch is older than ours (or -1): it must learn new metadata.
    FencedLeaderEpoch,
    /// The follower's leader epoch is newer than ours, or the follower is not a replica of
    /// this partition as far as our metadata knows: retry later.
    UnknownLeaderEpoch,
    /// This broker is not the leader, or the fetch comes from an older incarnation of the
    /// follower than one already seen (KIP-903).
    NotLeaderOrFollower,
    OffsetOutOfRange,
    /// The follower's log diverges from ours: it must truncate to `end_offset` at the latest
    /// (REPLICATION.md §3.10) before fetching again. Its progress was not touched.
    Diverging {
        epoch: i32,
        end_offset: i64,
    },
    /// Read from `fetch_offset` and answer with these values, taken before the fetch was
    /// recorded. The follower's progress is updated; `effects` says what that changed.
    Read {
        high_watermark_before: i64,
        log_end_offset_before: i64,
        effects: Effects,
    },
}

impl FetchDecision {
    /// The partition's error code in the Fetch response.
    pub fn error_code(&self) -> i16 {
        match self {
            FetchDecision::FencedLeaderEpoch => error_code::FENCED_LEADER_EPOCH,
            FetchDecision::UnknownLeaderEpoch => error_code::UNKNOWN_LEADER_EPOCH,
            FetchDecision::NotLeaderOrFollower => error_code::NOT_LEADER_OR_FOLLOWER,
            FetchDecision::OffsetOutOfRange => error_code::OFFSET_OUT_OF_RANGE,
            FetchDecision::Diverging { .. } | FetchDecision::Read { .. } => error_code::NONE,
        }
    }
}

/// Why a produce cannot be appended or acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProduceError {
    NotLeaderOrFollower,
    /// acks=all and the committed ISR is below the effective `min.insync.replicas`: nothing
    /// was written.
    NotEnoughReplicas,
    /// The records are committed, but the maximal ISR had shrunk below the effective
    /// `min.insync.replicas`; they stay in the log.
    NotEnoughReplicasAfterAppend,
}

impl ProduceError {
    pub fn code(self) -> i16 {
        match self {
            ProduceError::NotLeaderOrFollower => error_code::NOT_LEADER_OR_FOLLOWER,
            ProduceError::NotEnoughReplicas => error_code::NOT_ENOUGH_REPLICAS,
            ProduceError::NotEnoughReplicasAfterAppend => error_code::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        }
    }
}

/// A rule the property test can break on purpose, to show that its checks catch the bug.
/// Only tests can set one (`Replica::break_rule`); elsewhere `is_broken` is always false.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BrokenRule {
    /// The HW moves even when the committed ISR is below min ISR (before KIP-966).
    SkipMinIsrGate,
    /// A proposed shrink is assumed to have succeeded: removed members stop holding the HW.
    AssumeShrinkCommitted,
    /// A follower joins once it reaches the HW, even below the leader epoch's start offset: a
    /// new leader's HW may be stale, so the joiner can lack committed records.
    IgnoreLeaderEpochStartOffset,
    /// The fetch's last epoch is not checked against the leader's epochs (before KIP-101's
    /// fix carried over to fetches): a follower with a divergent suffix is served on top of it.
    SkipDivergenceCheck,
}

/// The leader's state for one leader epoch.
///
/// Invariants:
/// - the ISR state's own (this broker leads and is in the committed ISR; at most one change
///   in flight, at the committed epochs);
/// - `followers` holds exactly the replicas other than this broker;
/// - `log_start_offset <= high_watermark <= log_end_offset` and `durable_offset <= log_end_offset`;
/// - with `fsync_before_ack`, the HW is at most the durable offset once it moved in this epoch;
/// - the HW never went below `high_watermark_at_epoch_start` (it only rises in an epoch);
/// - `leader_epoch_start_offset <= log_end_offset`, and no follower is known beyond the log end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderState {
    pub(super) isr: IsrState,
    pub(super) followers: BTreeMap<i32, FollowerProgress>,
    /// The log end offset when this epoch began: a follower joins the ISR only once it has
    /// everything the previous leaders wrote (a stale HW alone would let it in too early).
    pub(super) leader_epoch_start_offset: i64,
    pub(super) high_watermark_at_epoch_start: i64,
    pub(super) log_start_offset: i64,
    pub(super) log_end_offset: i64,
    pub(super) durable_offset: i64,
    pub(super) next_shrink_check_ms: i64,
}

impl LeaderState {
    pub(super) fn new(now_ms: i64, state: PartitionState, log: &impl LeaderLogView, high_watermark: i64) -> Self {
        let followers = state
            .replicas()
            .iter()
            .filter(|&&id| id != state.leader())
            .map(|&id| (id, FollowerProgress::new_in_epoch(id, now_ms, state.isr().contains(&id))))
            .collect();
        LeaderState {
            isr: IsrState::new(state),
            followers,
            leader_epoch_start_offset: log.log_end_offset(),
            high_watermark_at_epoch_start: high_watermark,
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
            durable_offset: log.durable_offset(),
            // Nothing to shrink before a full lag has passed: every ISR follower is caught up now.
            next_shrink_check_ms: now_ms,
        }
    }

    pub fn isr_state(&self) -> &IsrState {
        &self.isr
    }

    pub fn follower(&self, replica_id: i32) -> Option<&FollowerProgress> {
        self.followers.get(&replica_id)
    }

    pub fn leader_epoch_start_offset(&self) -> i64 {
        self.leader_epoch_start_offset
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    pub fn durable_offset(&self) -> i64 {
        self.durable_offset
    }

    /// New metadata in the same leader epoch: the committed state replaces any pending
    /// change; new replicas start unknown, removed ones are forgotten.
    pub(super) fn update_metadata(&mut self, now_ms: i64, state: PartitionState) {
        self.followers.retain(|id, _| state.replicas().contains(id));
        for &id in state.replicas() {
            if id != state.leader() {
                self.followers
                    .entry(id)
                    .or_insert_with(|| FollowerProgress::new_in_epoch(id, now_ms, state.isr().contains(&id)));
            }
        }
        self.isr.commit(state);
    }

    fn refresh_log(&mut self, log: &impl LeaderLogView) {
        let (start, end, durable) = (log.log_start_offset(), log.log_end_offset(), log.durable_offset());
        assert!(start <= end && durable <= end, "log offsets: start {start} durable {durable} end {end}");
        assert!(end >= self.log_end_offset, "a leader's log never shrinks: {} -> {end}", self.log_end_offset);
        self.log_start_offset = start;
        self.log_end_offset = end;
        self.durable_offset = durable;
    }

    pub(super) fn invariant_violation(&self, local_broker_id: i32, high_watermark: i64, fsync: bool) -> Option<String> {
        if let Some(violation) = self.isr.invariant_violation(local_broker_id) {
            return Some(violation);
        }
        let committed = self.isr.committed();
        let expected: Vec<i32> = committed.replicas().iter().copied().filter(|&id| id != local_broker_id).collect();
        if !self.followers.keys().copied().eq(expected.iter().copied().collect::<std::collections::BTreeSet<_>>()) {
            return Some(format!("followers {:?} are not the replicas {expected:?}", self.followers.keys()));
        }
        if !(self.log_start_offset <= high_watermark && high_watermark <= self.log_end_offset) {
            return Some(format!(
                "HW {high_watermark} outside [log start {}, log end {}]",
                self.log_start_offset, self.log_end_offset
            ));
        }
        if fsync && high_watermark > self.high_watermark_at_epoch_start && high_watermark > self.durable_offset {
            return Some(format!("HW {high_watermark} beyond the durable offset {}", self.durable_offset));
        }
        if high_watermark < self.high_watermark_at_epoch_start {
            return Some(format!(
                "HW {high_watermark} fell below {} in this epoch",
                self.high_watermark_at_epoch_start
            ));
        }
        if self.leader_epoch_start_offset > self.log_end_offset {
            return Some(format!(
                "epoch start {} beyond log end {}",
                self.leader_epoch_start_offset, self.log_end_offset
            ));
        }
        for progress in self.followers.values() {
            if let Some(violation) = progress.invariant_violation() {
                return Some(violation);
            }
            if progress.log_end_offset().is_some_and(|leo| leo > self.log_end_offset) {
                return Some(format!("replica {} known beyond the log end", progress.replica_id()));
            }
        }
        None
    }
}

impl Replica {
    /// Kafka's `Partition.fetchRecords` for a follower, up to the read: fencing, divergence,
    /// range, then the follower's progress, an ISR expansion and the HW (REPLICATION.md §3.2).
    pub fn on_follower_fetch(&mut self, now_ms: i64, fetch: FollowerFetch, log: &impl LeaderLogView) -> FetchDecision {
        let decision = self.follower_fetch(now_ms, fetch, log);
        self.check_invariants();
        decision
    }

    fn follower_fetch(&mut self, now_ms: i64, fetch: FollowerFetch, log: &impl LeaderLogView) -> FetchDecision {
        let local_id = self.config.broker_id;
        let check_divergence = !self.is_broken(BrokenRule::SkipDivergenceCheck);
        let Role::Leader(leader) = &mut self.role else { return FetchDecision::NotLeaderOrFollower };
        leader.refresh_log(log);
        let leader_epoch = leader.isr.committed().leader_epoch();
        if fetch.current_leader_epoch < leader_epoch {
            return FetchDecision::FencedLeaderEpoch;
        }
        if fetch.current_leader_epoch > leader_epoch {
            return FetchDecision::UnknownLeaderEpoch;
        }
        if fetch.replica_id == local_id {
            return FetchDecision::UnknownLeaderEpoch;
        }
        let Some(progress) = leader.followers.get(&fetch.replica_id) else {
            return FetchDecision::UnknownLeaderEpoch;
        };
        if progress.is_stale_broker_epoch(fetch.replica_epoch) {
            return FetchDecision::NotLeaderOrFollower;
        }
        if fetch.last_fetched_epoch >= 0 && check_divergence {
            match log.end_offset_for_epoch(fetch.last_fetched_epoch, leader.log_end_offset) {
                None => return FetchDecision::OffsetOutOfRange,
                Some((epoch, end_offset)) if epoch < fetch.last_fetched_epoch || end_offset < fetch.fetch_offset => {
                    return FetchDecision::Diverging { epoch, end_offset };
                }
                Some(_) => {}
            }
        }
        if fetch.fetch_offset < leader.log_start_offset || fetch.fetch_offset > leader.log_end_offset {
            return FetchDecision::OffsetOutOfRange;
        }
        let high_watermark_before = self.high_watermark;
        let log_end_offset_before = leader.log_end_offset;
        let progress = leader.followers.get_mut(&fetch.replica_id).expect("checked above");
        progress.record_fetch(
            now_ms,
            fetch.fetch_offset,
            fetch.log_start_offset,
            fetch.replica_epoch,
            log_end_offset_before,
        );
        // As Kafka: expansion first, then the HW, since the follower may already be in the ISR.
        let alter_partition = self.maybe_expand_isr(fetch.replica_id);
        let high_watermark = self.maybe_advance_high_watermark(now_ms);
        FetchDecision::Read {
            high_watermark_before,
            log_end_offset_before,
            effects: Effects { high_watermark, alter_partition },
        }
    }

    /// After the leader's log changed: an append (log end), a flush (durable offset), or
    /// retention (log start). The HW may move.
    pub fn on_leader_log_changed(&mut self, now_ms: i64, log: &impl LeaderLogView) -> Effects {
        let mut effects = Effects::default();
        if let Role::Leader(leader) = &mut self.role {
            leader.refresh_log(log);
            effects.high_watermark = self.maybe_advance_high_watermark(now_ms);
        }
        self.check_invariants();
        effects
    }

    /// The periodic work: every `replica.lag.time.max.ms / 2`, propose removing the ISR
    /// followers that are not caught up (never this broker; only with no change in flight);
    /// send a retried AlterPartition when its backoff is over; re-evaluate the HW, since a
    /// caught-up follower outside the ISR stops holding it back once its time runs out.
    pub fn tick(&mut self, now_ms: i64) -> Effects {
        let mut effects = Effects::default();
        if let Role::Leader(leader) = &mut self.role {
            if let Some(pending) = leader.isr.pending_mut() {
                if let AlterPartitionSendState::RetryAt { at_ms } = pending.send_state() {
                    if now_ms >= at_ms {
                        let proposal_id = self.next_proposal_id;
                        self.next_proposal_id += 1;
                        pending.set_send_state(AlterPartitionSendState::InFlight { proposal_id });
                        let request = match pending {
                            PendingIsrChange::Expansion { request, .. } | PendingIsrChange::Shrink { request, .. } => {
                                request.proposal_id = proposal_id;
                                request.clone()
                            }
                        };
                        effects.alter_partition = Some(request);
                    }
                }
            }
            if now_ms >= leader.next_shrink_check_ms {
                leader.next_shrink_check_ms = now_ms + self.config.replica_lag_time_max_ms / 2;
                if effects.alter_partition.is_none() {
                    effects.alter_partition = self.maybe_shrink_isr(now_ms);
                }
            }
            effects.high_watermark = self.maybe_advance_high_watermark(now_ms);
        }
        self.check_invariants();
        effects
    }

    /// When `tick` next has work: the next shrink check, or a retry's time.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        let Role::Leader(leader) = &self.role else { return None };
        let retry = match leader.isr.pending().map(|p| p.send_state()) {
            Some(AlterPartitionSendState::RetryAt { at_ms }) => at_ms,
            _ => i64::MAX,
        };
        Some(leader.next_shrink_check_ms.min(retry))
    }

    /// The controller's answer to the AlterPartition sent as `proposal_id` (§3.8, broker side).
    pub fn on_alter_partition_response(
        &mut self,
        now_ms: i64,
        proposal_id: u64,
        response: AlterPartitionResponse,
    ) -> (AlterPartitionOutcome, Effects) {
        let outcome = self.alter_partition_response(now_ms, proposal_id, response);
        let mut effects = Effects::default();
        if matches!(outcome, AlterPartitionOutcome::Committed | AlterPartitionOutcome::Reverted) {
            effects.high_watermark = self.maybe_advance_high_watermark(now_ms);
        }
        self.check_invariants();
        (outcome, effects)
    }

    fn alter_partition_response(
        &mut self,
        now_ms: i64,
        proposal_id: u64,
        response: AlterPartitionResponse,
    ) -> AlterPartitionOutcome {
        let local_id = self.config.broker_id;
        let backoff_ms = self.config.alter_partition_retry_backoff_ms;
        let Role::Leader(leader) = &mut self.role else { return AlterPartitionOutcome::Ignored };
        let Some(pending) = leader.isr.pending() else { return AlterPartitionOutcome::Ignored };
        if pending.send_state() != (AlterPartitionSendState::InFlight { proposal_id }) {
            return AlterPartitionOutcome::Ignored;
        }
        let set_send_state = |isr: &mut IsrState, state| isr.pending_mut().expect("pending").set_send_state(state);
        if response.error_code != error_code::NONE {
            return match error_action(response.error_code) {
                AlterPartitionErrorAction::Revert => {
                    leader.isr.revert();
                    AlterPartitionOutcome::Reverted
                }
                AlterPartitionErrorAction::AwaitMetadata => {
                    set_send_state(&mut leader.isr, AlterPartitionSendState::AwaitingMetadata);
                    AlterPartitionOutcome::AwaitingMetadata
                }
                AlterPartitionErrorAction::Retry => {
                    let at_ms = now_ms + backoff_ms;
                    set_send_state(&mut leader.isr, AlterPartitionSendState::RetryAt { at_ms });
                    AlterPartitionOutcome::RetryAt { at_ms }
                }
            };
        }
        let committed = leader.isr.committed();
        // A success for another leader epoch, or an older partition epoch, is not ours to
        // apply; only new metadata settles the proposal now.
        let applicable = response.leader_epoch == committed.leader_epoch()
            && response.partition_epoch >= committed.partition_epoch()
            && response.leader_id == local_id;
        let newer =
            committed.with_committed_isr(response.isr, response.partition_epoch, response.leader_recovery_state);
        match newer {
            Ok(newer) if applicable => {
                leader.isr.commit(newer);
                AlterPartitionOutcome::Committed
            }
            _ => {
                set_send_state(&mut leader.isr, AlterPartitionSendState::AwaitingMetadata);
                AlterPartitionOutcome::Ignored
            }
        }
    }

    /// §3.7: a follower outside the ISR joins when no change is in flight, it reaches both the
    /// HW and the start of this leader epoch, and it is eligible (registered, unfenced, not
    /// shutting down, and fetching with the broker epoch the metadata has, or -1: KIP-903).
    fn maybe_expand_isr(&mut self, replica_id: i32) -> Option<AlterPartitionRequest> {
        let Role::Leader(leader) = &self.role else { return None };
        if leader.isr.is_inflight() || leader.isr.committed().isr().contains(&replica_id) {
            return None;
        }
        let progress = leader.followers.get(&replica_id)?;
        let log_end_offset = progress.log_end_offset()?;
        let below_epoch_start = log_end_offset < leader.leader_epoch_start_offset
            && !self.is_broken(BrokenRule::IgnoreLeaderEpochStartOffset);
        if log_end_offset < self.high_watermark || below_epoch_start {
            return None;
        }
        if !self.is_isr_eligible(replica_id) {
            return None;
        }
        let mut isr = leader.isr.committed().isr().to_vec();
        isr.push(replica_id);
        let request = self.alter_partition_request(isr);
        let send = AlterPartitionSendState::InFlight { proposal_id: request.proposal_id };
        let Role::Leader(leader) = &mut self.role else { unreachable!("checked above") };
        leader.isr.propose(PendingIsrChange::Expansion { joiner: replica_id, request: request.clone(), send });
        Some(request)
    }

    /// §3.6: remove every ISR follower that is not caught up, if no change is in flight.
    fn maybe_shrink_isr(&mut self, now_ms: i64) -> Option<AlterPartitionRequest> {
        let Role::Leader(leader) = &self.role else { return None };
        if leader.isr.is_inflight() {
            return None;
        }
        let lag_ms = self.config.replica_lag_time_max_ms;
        let committed_isr = leader.isr.committed().isr();
        let removed: Vec<i32> = committed_isr
            .iter()
            .copied()
            .filter(|&id| id != self.config.broker_id)
            .filter(|id| !leader.followers[id].is_caught_up(now_ms, leader.log_end_offset, lag_ms))
            .collect();
        if removed.is_empty() {
            return None;
        }
        let isr = committed_isr.iter().copied().filter(|id| !removed.contains(id)).collect();
        let request = self.alter_partition_request(isr);
        let send = AlterPartitionSendState::InFlight { proposal_id: request.proposal_id };
        let Role::Leader(leader) = &mut self.role else { unreachable!("checked above") };
        leader.isr.propose(PendingIsrChange::Shrink { removed, request: request.clone(), send });
        Some(request)
    }

    fn alter_partition_request(&mut self, isr: Vec<i32>) -> AlterPartitionRequest {
        let Role::Leader(leader) = &self.role else { unreachable!("only a leader proposes") };
        let committed = leader.isr.committed();
        let new_isr_with_epochs = isr
            .iter()
            .map(|&broker_id| BrokerState {
                broker_id,
                broker_epoch: if broker_id == self.config.broker_id {
                    self.config.broker_epoch
                } else {
                    leader.followers.get(&broker_id).and_then(|p| p.broker_epoch()).unwrap_or(-1)
                },
            })
            .collect();
        let request = AlterPartitionRequest {
            proposal_id: self.next_proposal_id,
            broker_id: self.config.broker_id,
            broker_epoch: self.config.broker_epoch,
            leader_epoch: committed.leader_epoch(),
            new_isr_with_epochs,
            // The leader's log is the truth once it leads, so it reports RECOVERED (§3.12).
            leader_recovery_state: LeaderRecoveryState::Recovered,
            partition_epoch: committed.partition_epoch(),
        };
        self.next_proposal_id += 1;
        request
    }

    /// Kafka's `isReplicaIsrEligible`: registered, unfenced, not in controlled shutdown, and the
    /// broker epoch of its fetches matches the registration's (or it sent -1).
    fn is_isr_eligible(&self, replica_id: i32) -> bool {
        let Role::Leader(leader) = &self.role else { return false };
        let Some(registration) = self.brokers.get(&replica_id) else { return false };
        let Some(fetched_epoch) = leader.followers.get(&replica_id).and_then(|p| p.broker_epoch()) else {
            return false;
        };
        !registration.fenced
            && !registration.in_controlled_shutdown
            && (fetched_epoch == -1 || fetched_epoch == registration.broker_epoch)
    }

    /// §3.4. The HW stays put while the committed ISR is below the effective min ISR
    /// (KIP-966); else it is the leader's offset (durable offset with `fsync_before_ack`, log
    /// end otherwise) lowered to the log end of every follower below it that is in the
    /// maximal ISR, or caught up and eligible to join. It only rises. Returns the new HW.
    pub(super) fn maybe_advance_high_watermark(&mut self, now_ms: i64) -> Option<i64> {
        let Role::Leader(leader) = &self.role else { return None };
        let committed = leader.isr.committed();
        let skip_gate = self.is_broken(BrokenRule::SkipMinIsrGate);
        if committed.isr().len() < self.effective_min_isr() && !skip_gate {
            return None;
        }
        let maximal_isr = if self.is_broken(BrokenRule::AssumeShrinkCommitted) {
            leader.isr.pending().map_or_else(|| leader.isr.maximal_isr(), |p| p.request().isr())
        } else {
            leader.isr.maximal_isr()
        };
        let lag_ms = self.config.replica_lag_time_max_ms;
        let mut new_high_watermark =
            if self.config.fsync_before_ack { leader.durable_offset } else { leader.log_end_offset };
        for (&id, progress) in &leader.followers {
            // Unknown (no fetch yet in this epoch) is below everything.
            let log_end_offset = progress.log_end_offset().unwrap_or(-1);
            if log_end_offset < new_high_watermark
                && (maximal_isr.contains(&id)
                    || (progress.is_caught_up(now_ms, leader.log_end_offset, lag_ms) && self.is_isr_eligible(id)))
            {
                new_high_watermark = log_end_offset;
            }
        }
        if new_high_watermark <= self.high_watermark {
            return None;
        }
        self.high_watermark = new_high_watermark;
        Some(new_high_watermark)
    }

    /// `min(min.insync.replicas, |replicas|)`, at least 1.
    pub fn effective_min_isr(&self) -> usize {
        let replicas = self.partition_state().map_or(1, |s| s.replicas().len());
        (self.config.min_insync_replicas.max(1) as usize).min(replicas.max(1))
    }

    /// §3.11 step 1, before appending: an acks=all produce needs the committed ISR at the
    /// effective `min.insync.replicas`.
    pub fn check_produce(&self, acks: i16) -> Result<(), ProduceError> {
        let Role::Leader(leader) = &self.role else { return Err(ProduceError::NotLeaderOrFollower) };
        if acks == -1 && leader.isr.committed().isr().len() < self.effective_min_isr() {
            return Err(ProduceError::NotEnoughReplicas);
        }
        Ok(())
    }

    /// §3.11 step 2, for an acks=all produce appended in `append_leader_epoch` whose last
    /// record is `last_offset`: `None` while the HW has not passed it; then success, or
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND when the maximal ISR is below the effective min ISR.
    /// Leadership lost, or won again in another epoch (the log may have been truncated and
    /// rewritten meanwhile), fails it with NOT_LEADER_OR_FOLLOWER.
    pub fn ack_ready(&self, append_leader_epoch: i32, last_offset: i64) -> Option<Result<(), ProduceError>> {
        let Role::Leader(leader) = &self.role else { return Some(Err(ProduceError::NotLeaderOrFollower)) };
        if leader.isr.committed().leader_epoch() != append_leader_epoch {
            return Some(Err(ProduceError::NotLeaderOrFollower));
        }
        if self.high_watermark <= last_offset {
            return None;
        }
        if leader.isr.maximal_isr().len() < self.effective_min_isr() {
            return Some(Err(ProduceError::NotEnoughReplicasAfterAppend));
        }
        Some(Ok(()))
    }

    /// A broker's registration changed (registered, fenced, shutting down, new epoch, or gone
    /// when `None`): ISR eligibility changes, and so may the HW.
    pub fn on_broker_registration(
        &mut self,
        now_ms: i64,
        broker_id: i32,
        registration: Option<BrokerRegistration>,
    ) -> Effects {
        if let (Role::Leader(leader), Some(registration)) = (&mut self.role, &registration) {
            // A new incarnation of a follower: what its old one fetched says nothing of its
            // log now (an unclean restart may have lost the tail). Forget it, so the HW
            // cannot rest on it until the new incarnation fetches (KIP-903's reasoning).
            if let Some(progress) = leader.followers.get_mut(&broker_id) {
                if progress.broker_epoch().is_some_and(|epoch| epoch != registration.broker_epoch) {
                    *progress = FollowerProgress::new_in_epoch(broker_id, now_ms, false);
                }
            }
        }
        match registration {
            Some(registration) => self.brokers.insert(broker_id, registration),
            None => self.brokers.remove(&broker_id),
        };
        let effects = Effects { high_watermark: self.maybe_advance_high_watermark(now_ms), alter_partition: None };
        self.check_invariants();
        effects
    }

    /// The topic's `min.insync.replicas` changed; the HW may move.
    pub fn set_min_insync_replicas(&mut self, now_ms: i64, min_insync_replicas: i32) -> Effects {
        self.config.min_insync_replicas = min_insync_replicas;
        let effects = Effects { high_watermark: self.maybe_advance_high_watermark(now_ms), alter_partition: None };
        self.check_invariants();
        effects
    }

    #[cfg(test)]
    fn is_broken(&self, rule: BrokenRule) -> bool {
        self.broken == Some(rule)
    }

    #[cfg(not(test))]
    fn is_broken(&self, _rule: BrokenRule) -> bool {
        false
    }
}
