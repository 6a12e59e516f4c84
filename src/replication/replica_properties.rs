//! A property test of one leader with 2–4 followers and a controller: random follower fetches
//! (current, stale or future leader epochs, replays of old requests, diverging logs), appends
//! (acks=all among them), flushes, ticks, AlterPartition answers (accepted, refused, lost,
//! delayed), metadata deliveries, follower restarts and leader re-elections. After every step
//! the model checks the data-plane invariants of REPLICATION.md §6 (20, 21, 23, 26, 27):
//! - HW ≤ leader LEO, and ≤ its durable offset with `fsync_before_ack`;
//! - every member of the leader's maximal ISR and of the controller's ISR holds the leader's
//!   log below the HW, and below what an earlier leader committed (same epoch at every offset);
//! - the HW never falls; when it moves, |committed ISR| ≥ effective min ISR;
//! - at most one AlterPartition per (leader epoch, partition epoch) is unanswered;
//! - the leader is in its committed and maximal ISR;
//! - an acks=all ack means HW > offset, |maximal ISR| ≥ min ISR, and the record on every
//!   maximal-ISR member;
//! - a follower's HW is at most its LEO and the leader's HW;
//! - a follower's log is a prefix of the leader's after every append (§6 #25).
//!
//! `broken_leaders_are_caught` runs the same model against a leader with a rule broken on
//! purpose and requires these checks to report it.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::alter_partition::{AlterPartitionOutcome, AlterPartitionRequest, AlterPartitionResponse};
use super::epoch_lookup::EpochEntries;
use super::error_code;
use super::leader::{BrokenRule, Effects, FetchDecision, ProduceError};
use super::partition_state::{BrokerRegistration, LeaderRecoveryState, PartitionState};
use super::replica::{Replica, ReplicaConfig};
use super::replica_tests::TestLog;

const LEADER: i32 = 1;
const LAG_MS: i64 = 100;

#[derive(Debug, Clone)]
struct FollowerSetup {
    in_isr: bool,
    length: u8,
    ghost: Option<(u8, u8)>,
}

#[derive(Debug, Clone)]
struct Setup {
    fsync_before_ack: bool,
    min_insync_replicas: i32,
    epoch1_records: u8,
    epoch3_records: u8,
    high_watermark: u8,
    /// How far the previous leader's HW reached: committed records this leader's HW (learnt
    /// one fetch late) does not cover yet.
    committed_before: u8,
    durable: u8,
    followers: Vec<FollowerSetup>,
}

#[derive(Debug, Clone, Copy)]
enum FetchKind {
    Current,
    StaleLeaderEpoch,
    FutureLeaderEpoch,
    Replay(usize),
}

#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// The controller decides and its answer arrives.
    Answered,
    /// The controller decides, but the answer is lost (the leader sees a timeout).
    AnswerLost,
    /// The request never reaches the controller; the leader sees this error. Only errors
    /// that can come without the controller deciding on this request: INELIGIBLE_REPLICA
    /// (and OPERATION_NOT_ATTEMPTED, its name before v2) are the controller's decision that no
    /// version of the proposal was applied, which the leader's revert relies on.
    Error(i16),
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Fetch {
        follower: usize,
        kind: FetchKind,
        max_records: usize,
    },
    Append {
        records: usize,
        acks_all: bool,
    },
    Flush,
    Tick {
        elapsed_ms: i64,
    },
    DeliverAlterPartition(Delivery),
    DeliverMetadata,
    FollowerRestart {
        follower: usize,
    },
    LeaderReelected,
    /// The shell looks at its waiting acks=all produces (it does so after some delay, so the
    /// ISR may shrink between the HW passing a produce and its answer).
    CompleteWaitingProduces,
}

fn setup() -> impl Strategy<Value = Setup> {
    let follower = (proptest::bool::weighted(0.7), any::<u8>(), proptest::option::weighted(0.3, (any::<u8>(), 1u8..5)))
        .prop_map(|(in_isr, length, ghost)| FollowerSetup { in_isr, length, ghost });
    let offsets = (any::<u8>(), any::<u8>(), any::<u8>());
    (
        any::<bool>(),
        prop_oneof![1 => Just(1), 2 => Just(2), 1 => Just(3)],
        0u8..8,
        0u8..8,
        offsets,
        proptest::collection::vec(follower, 2..=4),
    )
        .prop_map(|(fsync_before_ack, min_isr, e1, e3, (hw, committed_before, durable), followers)| Setup {
            fsync_before_ack,
            min_insync_replicas: min_isr.min(followers.len() as i32 + 1),
            epoch1_records: e1,
            epoch3_records: e3,
            high_watermark: hw,
            committed_before,
            durable,
            followers,
        })
}

fn step() -> impl Strategy<Value = Step> {
    let fetch_kind = prop_oneof![
        8 => Just(FetchKind::Current),
        1 => Just(FetchKind::StaleLeaderEpoch),
        1 => Just(FetchKind::FutureLeaderEpoch),
        2 => any::<usize>().prop_map(FetchKind::Replay),
    ];
    let delivery = prop_oneof![
        6 => Just(Delivery::Answered),
        1 => Just(Delivery::AnswerLost),
        1 => prop::sample::select(vec![
            error_code::REQUEST_TIMED_OUT,
            error_code::NOT_CONTROLLER,
            error_code::STALE_BROKER_EPOCH,
            error_code::UNKNOWN_TOPIC_ID,
        ])
        .prop_map(Delivery::Error),
    ];
    prop_oneof![
        12 => (0usize..4, fetch_kind, 0usize..6).prop_map(|(follower, kind, max_records)| Step::Fetch { follower, kind, max_records }),
        4 => (1usize..4, any::<bool>()).prop_map(|(records, acks_all)| Step::Append { records, acks_all }),
        2 => Just(Step::Flush),
        4 => (1i64..=150).prop_map(|elapsed_ms| Step::Tick { elapsed_ms }),
        4 => delivery.prop_map(Step::DeliverAlterPartition),
        3 => Just(Step::DeliverMetadata),
        2 => (0usize..4).prop_map(|follower| Step::FollowerRestart { follower }),
        1 => Just(Step::LeaderReelected),
        3 => Just(Step::CompleteWaitingProduces),
    ]
}

struct FollowerModel {
    id: i32,
    /// One epoch per offset.
    log: Vec<i32>,
    broker_epoch: i64,
    replica: Replica,
    sent: Vec<super::leader::FollowerFetch>,
}

struct Controller {
    leader_epoch: i32,
    partition_epoch: i32,
    isr: Vec<i32>,
    registrations: BTreeMap<i32, i64>,
}

/// How often each path ran, so a test can require that the model reaches all of them.
#[derive(Debug, Default, Clone)]
struct Coverage {
    high_watermark_moves: usize,
    acks: usize,
    not_enough_replicas: usize,
    not_enough_replicas_after_append: usize,
    diverging: usize,
    fenced_or_unknown: usize,
    stale_broker_epoch: usize,
    expansions_committed: usize,
    shrinks_committed: usize,
    reverted: usize,
    awaiting_metadata: usize,
    retries: usize,
}

struct Model {
    coverage: Coverage,
    setup: Setup,
    committed_before: i64,
    now_ms: i64,
    leader: Replica,
    leader_log: Vec<i32>,
    durable: i64,
    followers: Vec<FollowerModel>,
    controller: Controller,
    unanswered: VecDeque<AlterPartitionRequest>,
    metadata_pending: bool,
    waiting_acks: Vec<(i32, i64)>,
    acked: Vec<i64>,
    replicas: Vec<i32>,
}

fn common_prefix(a: &[i32], b: &[i32]) -> i64 {
    a.iter().zip(b).take_while(|(x, y)| x == y).count() as i64
}

impl Model {
    fn new(setup: Setup, broken: Option<BrokenRule>) -> Self {
        let mut leader_log = vec![1; setup.epoch1_records as usize];
        leader_log.extend(vec![3; setup.epoch3_records as usize]);
        let log_end = leader_log.len() as i64;
        let high_watermark = i64::from(setup.high_watermark) % (log_end + 1);
        let committed_before = high_watermark + i64::from(setup.committed_before) % (log_end - high_watermark + 1);
        let durable = high_watermark + i64::from(setup.durable) % (log_end - high_watermark + 1);
        let replicas: Vec<i32> = (1..=setup.followers.len() as i32 + 1).collect();
        let mut isr = vec![LEADER];
        let mut followers = Vec::new();
        for (i, f) in setup.followers.iter().enumerate() {
            let id = i as i32 + 2;
            // An ISR member holds everything committed; anyone may have a ghost epoch-2 tail
            // written by a leader whose records did not survive.
            let min_length = if f.in_isr { committed_before } else { 0 };
            let length = min_length + i64::from(f.length) % (log_end - min_length + 1);
            let mut log = leader_log[..length as usize].to_vec();
            if let Some((q, g)) = f.ghost {
                let epoch1_end = i64::from(setup.epoch1_records).min(length);
                if epoch1_end >= min_length {
                    let keep = min_length + i64::from(q) % (epoch1_end - min_length + 1);
                    log.truncate(keep as usize);
                    log.extend(vec![2; g as usize]);
                }
            }
            if f.in_isr {
                isr.push(id);
            }
            let broker_epoch = 1000 + i64::from(id);
            let mut replica = Replica::new(ReplicaConfig::new(id, broker_epoch), 0);
            let state = partition_state(&replicas, &isr, 5, 10);
            replica.become_follower(0, state).unwrap();
            followers.push(FollowerModel { id, log, broker_epoch, replica, sent: Vec::new() });
        }
        // Followers learnt an ISR before the last ones joined it; give each the final state.
        for f in &mut followers {
            let _ = f.replica.become_follower(0, partition_state(&replicas, &isr, 5, 11));
        }
        let config = ReplicaConfig {
            replica_lag_time_max_ms: LAG_MS,
            min_insync_replicas: setup.min_insync_replicas,
            fsync_before_ack: setup.fsync_before_ack,
            alter_partition_retry_backoff_ms: 20,
            ..ReplicaConfig::new(LEADER, 1001)
        };
        let mut leader = Replica::new(config, high_watermark);
        if let Some(rule) = broken {
            leader.break_rule(rule);
        }
        let registrations: BTreeMap<i32, i64> = followers.iter().map(|f| (f.id, f.broker_epoch)).collect();
        for (&id, &broker_epoch) in &registrations {
            let registration = BrokerRegistration { broker_epoch, fenced: false, in_controlled_shutdown: false };
            leader.on_broker_registration(0, id, Some(registration));
        }
        let controller = Controller { leader_epoch: 5, partition_epoch: 11, isr: isr.clone(), registrations };
        let mut model = Model {
            coverage: Coverage::default(),
            setup,
            committed_before,
            now_ms: 0,
            leader,
            leader_log,
            durable,
            followers,
            controller,
            unanswered: VecDeque::new(),
            metadata_pending: false,
            waiting_acks: Vec::new(),
            acked: Vec::new(),
            replicas,
        };
        let log = model.leader_view();
        let state = partition_state(&model.replicas, &isr, 5, 11);
        let effects = model.leader.become_leader(0, state, &log).unwrap();
        model.apply_effects(effects).unwrap();
        model
    }

    fn leader_epoch(&self) -> i32 {
        self.leader.leader_epoch().unwrap()
    }

    fn leader_view(&self) -> TestLog {
        let current = self.leader.leader_epoch().unwrap_or(5);
        TestLog {
            cache: EpochEntries::from_log(&self.leader_log, Some(current)),
            log_start_offset: 0,
            log_end_offset: self.leader_log.len() as i64,
            durable_offset: self.durable,
        }
    }

    fn follower(&self, id: i32) -> &FollowerModel {
        &self.followers[id as usize - 2]
    }

    fn apply_effects(&mut self, effects: Effects) -> Result<(), String> {
        if let Some(request) = effects.alter_partition {
            if let Some(other) = self
                .unanswered
                .iter()
                .find(|r| r.leader_epoch == request.leader_epoch && r.partition_epoch == request.partition_epoch)
            {
                return Err(format!("two AlterPartitions in flight: {other:?} and {request:?}"));
            }
            self.unanswered.push_back(request);
        }
        Ok(())
    }

    fn run(&mut self, step: Step) -> Result<(), String> {
        let high_watermark_before = self.leader.high_watermark();
        match step {
            Step::Fetch { follower, kind, max_records } => {
                self.fetch(follower % self.followers.len(), kind, max_records)?
            }
            Step::Append { records, acks_all } => {
                if acks_all {
                    match self.leader.check_produce(-1) {
                        Ok(()) => {}
                        Err(ProduceError::NotEnoughReplicas) => {
                            let isr = self.leader.partition_state().unwrap().isr().len();
                            if isr >= self.leader.effective_min_isr() {
                                return Err(format!("NOT_ENOUGH_REPLICAS with ISR {isr}"));
                            }
                            self.coverage.not_enough_replicas += 1;
                            return self.check(high_watermark_before);
                        }
                        Err(e) => return Err(format!("produce on the leader: {e:?}")),
                    }
                }
                let epoch = self.leader_epoch();
                self.leader_log.extend(vec![epoch; records]);
                if acks_all {
                    self.waiting_acks.push((epoch, self.leader_log.len() as i64 - 1));
                }
                let log = self.leader_view();
                let effects = self.leader.on_leader_log_changed(self.now_ms, &log);
                self.apply_effects(effects)?;
            }
            Step::Flush => {
                self.durable = self.leader_log.len() as i64;
                let log = self.leader_view();
                let effects = self.leader.on_leader_log_changed(self.now_ms, &log);
                self.apply_effects(effects)?;
            }
            Step::Tick { elapsed_ms } => {
                self.now_ms += elapsed_ms;
                let effects = self.leader.tick(self.now_ms);
                self.apply_effects(effects)?;
            }
            Step::DeliverAlterPartition(delivery) => self.deliver_alter_partition(delivery)?,
            Step::DeliverMetadata => self.deliver_metadata()?,
            Step::FollowerRestart { follower } => {
                let f = &mut self.followers[follower % self.setup.followers.len()];
                f.broker_epoch += 1;
                let hw = f.replica.high_watermark();
                let state = f.replica.partition_state().unwrap().clone();
                f.replica = Replica::new(ReplicaConfig::new(f.id, f.broker_epoch), hw);
                f.replica.become_follower(self.now_ms, state).unwrap();
                // The controller sees a new incarnation: out of the ISR (unclean restart).
                self.controller.registrations.insert(f.id, f.broker_epoch);
                if self.controller.isr.contains(&f.id) {
                    self.controller.isr.retain(|&id| id != f.id);
                    self.controller.partition_epoch += 1;
                }
                self.metadata_pending = true;
            }
            Step::LeaderReelected => {
                self.controller.leader_epoch += 1;
                self.controller.partition_epoch += 1;
                self.metadata_pending = true;
            }
            Step::CompleteWaitingProduces => self.check_acks()?,
        }
        if self.leader.high_watermark() > high_watermark_before {
            self.coverage.high_watermark_moves += 1;
        }
        self.check(high_watermark_before)
    }

    fn fetch(&mut self, index: usize, kind: FetchKind, max_records: usize) -> Result<(), String> {
        let f = &self.followers[index];
        let last_epoch = f.log.last().copied();
        let Some(current) = f.replica.fetch_request(f.log.len() as i64, last_epoch, 0) else {
            return Err("a follower with a leader has a fetch".into());
        };
        let request = match kind {
            FetchKind::Current => current,
            FetchKind::StaleLeaderEpoch => {
                super::leader::FollowerFetch { current_leader_epoch: current.current_leader_epoch - 1, ..current }
            }
            FetchKind::FutureLeaderEpoch => {
                super::leader::FollowerFetch { current_leader_epoch: current.current_leader_epoch + 1, ..current }
            }
            FetchKind::Replay(i) if !f.sent.is_empty() => f.sent[i % f.sent.len()],
            FetchKind::Replay(_) => return Ok(()),
        };
        let log = self.leader_view();
        let decision = self.leader.on_follower_fetch(self.now_ms, request, &log);
        let answered_now = matches!(kind, FetchKind::Current);
        let f = &mut self.followers[index];
        if answered_now {
            f.sent.push(request);
        }
        match decision {
            FetchDecision::Read { high_watermark_before, log_end_offset_before, effects } => {
                if answered_now {
                    let from = request.fetch_offset as usize;
                    let to = (from + max_records).min(log_end_offset_before as usize);
                    f.log.extend_from_slice(&self.leader_log[from..to]);
                    // §6 #25: what a follower appends continues the leader's log, so its
                    // whole log is a prefix of the leader's.
                    if common_prefix(&f.log, &self.leader_log) < f.log.len() as i64 {
                        return Err(format!("follower {} appended on a divergent log: {:?}", f.id, f.log));
                    }
                    f.replica.on_fetch_response_high_watermark(high_watermark_before, f.log.len() as i64);
                }
                self.apply_effects(effects)?;
            }
            FetchDecision::FencedLeaderEpoch | FetchDecision::UnknownLeaderEpoch => {
                self.coverage.fenced_or_unknown += 1;
            }
            FetchDecision::NotLeaderOrFollower => self.coverage.stale_broker_epoch += 1,
            FetchDecision::Diverging { epoch, end_offset } if answered_now => {
                self.coverage.diverging += 1;
                let cache = EpochEntries::from_log(&f.log, None);
                let leo = f.log.len() as i64;
                let truncation = f.replica.on_diverging_epoch(epoch, end_offset, &cache, leo).unwrap();
                f.log.truncate(truncation.offset as usize);
            }
            FetchDecision::OffsetOutOfRange if answered_now => {
                return Err(format!("a current fetch out of range: {request:?}"));
            }
            _ => {}
        }
        Ok(())
    }

    /// The controller's side of AlterPartition (§3.8, in its order).
    fn controller_decides(&mut self, request: &AlterPartitionRequest) -> AlterPartitionResponse {
        let c = &mut self.controller;
        let isr = request.isr();
        let code = if request.leader_epoch > c.leader_epoch {
            error_code::NOT_CONTROLLER
        } else if request.leader_epoch < c.leader_epoch {
            error_code::FENCED_LEADER_EPOCH
        } else if !isr.contains(&LEADER) || isr.iter().any(|id| !self.replicas.contains(id)) {
            error_code::INVALID_REQUEST
        } else if request.partition_epoch < c.partition_epoch {
            error_code::INVALID_UPDATE_VERSION
        } else if request.partition_epoch > c.partition_epoch {
            error_code::NOT_CONTROLLER
        } else if request.new_isr_with_epochs.iter().any(|b| {
            b.broker_id != LEADER && b.broker_epoch != -1 && c.registrations.get(&b.broker_id) != Some(&b.broker_epoch)
        }) {
            error_code::INELIGIBLE_REPLICA
        } else {
            c.isr = isr;
            c.partition_epoch += 1;
            self.metadata_pending = true;
            return AlterPartitionResponse {
                error_code: error_code::NONE,
                leader_id: LEADER,
                leader_epoch: c.leader_epoch,
                isr: c.isr.clone(),
                leader_recovery_state: LeaderRecoveryState::Recovered,
                partition_epoch: c.partition_epoch,
            };
        };
        AlterPartitionResponse::error(code)
    }

    fn deliver_alter_partition(&mut self, delivery: Delivery) -> Result<(), String> {
        let Some(request) = self.unanswered.pop_front() else { return Ok(()) };
        let response = match delivery {
            Delivery::Answered => self.controller_decides(&request),
            Delivery::AnswerLost => {
                self.controller_decides(&request);
                AlterPartitionResponse::error(error_code::REQUEST_TIMED_OUT)
            }
            Delivery::Error(code) => AlterPartitionResponse::error(code),
        };
        let isr_before = self.leader.partition_state().unwrap().isr().len();
        let (outcome, effects) = self.leader.on_alter_partition_response(self.now_ms, request.proposal_id, response);
        match outcome {
            AlterPartitionOutcome::Committed => {
                let isr_after = self.leader.partition_state().unwrap().isr().len();
                if isr_after > isr_before {
                    self.coverage.expansions_committed += 1;
                } else {
                    self.coverage.shrinks_committed += 1;
                }
            }
            AlterPartitionOutcome::Reverted => self.coverage.reverted += 1,
            AlterPartitionOutcome::AwaitingMetadata => self.coverage.awaiting_metadata += 1,
            AlterPartitionOutcome::RetryAt { .. } => self.coverage.retries += 1,
            AlterPartitionOutcome::Ignored => {}
        }
        self.apply_effects(effects)
    }

    fn deliver_metadata(&mut self) -> Result<(), String> {
        if !self.metadata_pending {
            return Ok(());
        }
        self.metadata_pending = false;
        // An image's partition changes are applied before its broker changes (the shell does
        // the same): the HW is then never re-evaluated against a committed ISR that the
        // image being applied has already replaced.
        let c = &self.controller;
        let state = partition_state(&self.replicas, &c.isr, c.leader_epoch, c.partition_epoch);
        let log =
            TestLog { cache: EpochEntries::from_log(&self.leader_log, Some(c.leader_epoch)), ..self.leader_view() };
        if let Ok(effects) = self.leader.become_leader(self.now_ms, state.clone(), &log) {
            self.apply_effects(effects)?;
        }
        for (id, broker_epoch) in self.controller.registrations.clone() {
            let registration = BrokerRegistration { broker_epoch, fenced: false, in_controlled_shutdown: false };
            let effects = self.leader.on_broker_registration(self.now_ms, id, Some(registration));
            self.apply_effects(effects)?;
        }
        for f in &mut self.followers {
            let _ = f.replica.become_follower(self.now_ms, state.clone());
        }
        Ok(())
    }

    fn check_acks(&mut self) -> Result<(), String> {
        let mut still_waiting = Vec::new();
        for &(epoch, last_offset) in &self.waiting_acks {
            match self.leader.ack_ready(epoch, last_offset) {
                None => still_waiting.push((epoch, last_offset)),
                Some(Ok(())) => {
                    let hw = self.leader.high_watermark();
                    let maximal = self.leader.maximal_isr().unwrap();
                    if hw <= last_offset || maximal.len() < self.leader.effective_min_isr() {
                        return Err(format!("acked {last_offset} with HW {hw} and maximal ISR {maximal:?}"));
                    }
                    for id in maximal.iter().filter(|&&id| id != LEADER) {
                        if common_prefix(&self.follower(*id).log, &self.leader_log) <= last_offset {
                            return Err(format!("acked {last_offset} is not on maximal-ISR member {id}"));
                        }
                    }
                    self.acked.push(last_offset);
                    self.coverage.acks += 1;
                }
                Some(Err(ProduceError::NotEnoughReplicasAfterAppend)) => {
                    if self.leader.maximal_isr().unwrap().len() >= self.leader.effective_min_isr() {
                        return Err("NOT_ENOUGH_REPLICAS_AFTER_APPEND with enough replicas".into());
                    }
                    self.coverage.not_enough_replicas_after_append += 1;
                }
                Some(Err(_)) => {} // appended in an earlier leader epoch
            }
        }
        self.waiting_acks = still_waiting;
        Ok(())
    }

    fn check(&self, high_watermark_before: i64) -> Result<(), String> {
        let hw = self.leader.high_watermark();
        let log_end = self.leader_log.len() as i64;
        if hw > log_end {
            return Err(format!("HW {hw} beyond the leader's log end {log_end}"));
        }
        if self.setup.fsync_before_ack && hw > self.durable {
            return Err(format!("HW {hw} beyond the leader's durable offset {}", self.durable));
        }
        if hw < high_watermark_before {
            return Err(format!("HW fell from {high_watermark_before} to {hw}"));
        }
        let committed = self.leader.partition_state().unwrap().isr().to_vec();
        if hw > high_watermark_before && committed.len() < self.leader.effective_min_isr() {
            return Err(format!(
                "HW moved to {hw} with committed ISR {committed:?} below min ISR {}",
                self.leader.effective_min_isr()
            ));
        }
        let maximal = self.leader.maximal_isr().unwrap();
        if !committed.contains(&LEADER) || !maximal.contains(&LEADER) {
            return Err(format!("leader outside its ISR: committed {committed:?} maximal {maximal:?}"));
        }
        // Committed is what this leader's HW covers, and what an earlier leader's did.
        let committed = hw.max(self.committed_before);
        for &id in maximal.iter().chain(&self.controller.isr).filter(|&&id| id != LEADER) {
            let agreed = common_prefix(&self.follower(id).log, &self.leader_log);
            if agreed < committed {
                return Err(format!(
                    "maximal-ISR member {id} holds the leader's log up to {agreed} < committed {committed} (HW {hw})"
                ));
            }
        }
        for f in &self.followers {
            let follower_hw = f.replica.high_watermark();
            if follower_hw > f.log.len() as i64 || follower_hw > hw {
                return Err(format!("follower {} HW {follower_hw}: LEO {} leader HW {hw}", f.id, f.log.len()));
            }
        }
        if let Some(&acked) = self.acked.iter().max() {
            if acked >= hw {
                return Err(format!("acked offset {acked} not below the HW {hw}"));
            }
        }
        Ok(())
    }
}

fn partition_state(replicas: &[i32], isr: &[i32], leader_epoch: i32, partition_epoch: i32) -> PartitionState {
    PartitionState::new(
        replicas.to_vec(),
        isr.to_vec(),
        LEADER,
        leader_epoch,
        partition_epoch,
        LeaderRecoveryState::Recovered,
        vec![],
    )
    .unwrap()
}

fn run_case(setup: Setup, steps: &[Step], broken: Option<BrokenRule>) -> Result<Coverage, String> {
    let mut model = Model::new(setup, broken);
    model.check(model.leader.high_watermark())?;
    for (i, &step) in steps.iter().enumerate() {
        model.run(step).map_err(|violation| format!("step {i} {step:?}: {violation}"))?;
    }
    Ok(model.coverage)
}

fn case() -> impl Strategy<Value = (Setup, Vec<Step>)> {
    (setup(), proptest::collection::vec(step(), 1..80))
}

proptest! {
    #![proptest_config(Config { cases: 512, ..Config::default() })]

    #[test]
    fn leader_keeps_the_data_plane_invariants((setup, steps) in case()) {
        let result = run_case(setup, &steps, None);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

/// Runs the model against a broken leader and returns the first violation found.
fn first_violation(rule: BrokenRule) -> Option<String> {
    let config = Config { cases: 500, max_shrink_iters: 0, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&case(), |(setup, steps)| {
        run_case(setup, &steps, Some(rule)).map(|_| ()).map_err(proptest::test_runner::TestCaseError::fail)
    });
    match result {
        Ok(()) => None,
        Err(proptest::test_runner::TestError::Fail(reason, _)) => Some(reason.to_string()),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn broken_leaders_are_caught() {
    let skipped_gate = first_violation(BrokenRule::SkipMinIsrGate).expect("skipping the min-ISR gate is caught");
    assert!(skipped_gate.contains("below min ISR"), "{skipped_gate}");
    let assumed_shrink =
        first_violation(BrokenRule::AssumeShrinkCommitted).expect("assuming a shrink committed is caught");
    assert!(assumed_shrink.contains("maximal-ISR member"), "{assumed_shrink}");
    let early_join = first_violation(BrokenRule::IgnoreLeaderEpochStartOffset)
        .expect("letting a follower join below the epoch start offset is caught");
    assert!(early_join.contains("maximal-ISR member"), "{early_join}");
    let no_divergence_check =
        first_violation(BrokenRule::SkipDivergenceCheck).expect("serving a divergent follower is caught");
    assert!(no_divergence_check.contains("divergent log"), "{no_divergence_check}");
}

/// The model reaches every path it is meant to test (else the property above proves little).
#[test]
fn the_model_reaches_every_path() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mut total = Coverage::default();
    for _ in 0..500 {
        let (setup, steps) = case().new_tree(&mut runner).unwrap().current();
        let c = run_case(setup, &steps, None).unwrap();
        total.high_watermark_moves += c.high_watermark_moves;
        total.acks += c.acks;
        total.not_enough_replicas += c.not_enough_replicas;
        total.not_enough_replicas_after_append += c.not_enough_replicas_after_append;
        total.diverging += c.diverging;
        total.fenced_or_unknown += c.fenced_or_unknown;
        total.stale_broker_epoch += c.stale_broker_epoch;
        total.expansions_committed += c.expansions_committed;
        total.shrinks_committed += c.shrinks_committed;
        total.reverted += c.reverted;
        total.awaiting_metadata += c.awaiting_metadata;
        total.retries += c.retries;
    }
    println!("{total:?}");
    let c = &total;
    for (name, count) in [
        ("high watermark moves", c.high_watermark_moves),
        ("acks", c.acks),
        ("NOT_ENOUGH_REPLICAS", c.not_enough_replicas),
        ("NOT_ENOUGH_REPLICAS_AFTER_APPEND", c.not_enough_replicas_after_append),
        ("divergence", c.diverging),
        ("fenced fetches", c.fenced_or_unknown),
        ("stale broker epochs", c.stale_broker_epoch),
        ("committed expansions", c.expansions_committed),
        ("committed shrinks", c.shrinks_committed),
        ("reverts", c.reverted),
        ("awaiting metadata", c.awaiting_metadata),
        ("retries", c.retries),
    ] {
        assert!(count > 0, "the model never reached {name}: {total:?}");
    }
}
