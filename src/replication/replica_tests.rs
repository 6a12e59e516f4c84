//! Unit tests of `Replica`, named after the rules of REPLICATION.md §3 and the historical bugs
//! (HISTORICAL-BUGS.md) they guard against.

use super::alter_partition::{AlterPartitionOutcome, AlterPartitionRequest, AlterPartitionResponse};
use super::epoch_lookup::{EpochEntries, EpochLookup, LeaderLogView};
use super::error_code;
use super::leader::{Effects, FetchDecision, FollowerFetch, ProduceError};
use super::partition_state::{AlterPartitionSendState, BrokerRegistration, LeaderRecoveryState, PartitionState};
use super::replica::{MetadataIgnored, Replica, ReplicaConfig, Role};

/// A leader's log as the core sees it.
#[derive(Debug, Clone)]
pub(crate) struct TestLog {
    pub(crate) cache: EpochEntries,
    pub(crate) log_start_offset: i64,
    pub(crate) log_end_offset: i64,
    pub(crate) durable_offset: i64,
}

impl TestLog {
    fn new(entries: &[(i32, i64)], log_end_offset: i64) -> Self {
        TestLog {
            cache: EpochEntries::new(entries),
            log_start_offset: 0,
            log_end_offset,
            durable_offset: log_end_offset,
        }
    }

    fn append(&mut self, count: i64) {
        self.log_end_offset += count;
        self.durable_offset = self.log_end_offset;
    }
}

impl EpochLookup for TestLog {
    fn end_offset_for_epoch(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        self.cache.end_offset_for_epoch(epoch, log_end_offset)
    }
    fn latest_epoch(&self) -> Option<i32> {
        self.cache.latest_epoch()
    }
}

impl LeaderLogView for TestLog {
    fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }
    fn durable_offset(&self) -> i64 {
        self.durable_offset
    }
}

const LEADER: i32 = 1;
const EPOCH: i32 = 5;
const LAG_MS: i64 = 30_000;

fn state(replicas: &[i32], isr: &[i32], leader: i32, leader_epoch: i32, partition_epoch: i32) -> PartitionState {
    PartitionState::new(
        replicas.to_vec(),
        isr.to_vec(),
        leader,
        leader_epoch,
        partition_epoch,
        LeaderRecoveryState::Recovered,
        vec![],
    )
    .unwrap()
}

fn broker_epoch(id: i32) -> i64 {
    i64::from(id) * 100
}

fn config() -> ReplicaConfig {
    ReplicaConfig::new(LEADER, broker_epoch(LEADER))
}

/// Broker 1 leads epoch 5 of replicas [1, 2, 3] with the given ISR over a log of 10 records in
/// epoch 3 (epoch 5 starts at 10); brokers 2 and 3 are registered and unfenced.
fn leader_with(config: ReplicaConfig, isr: &[i32], high_watermark: i64) -> (Replica, TestLog) {
    let log = TestLog::new(&[(3, 0), (EPOCH, 10)], 10);
    let mut replica = Replica::new(config, high_watermark);
    for id in [2, 3] {
        let registration =
            BrokerRegistration { broker_epoch: broker_epoch(id), fenced: false, in_controlled_shutdown: false };
        replica.on_broker_registration(0, id, Some(registration));
    }
    replica.become_leader(0, state(&[1, 2, 3], isr, LEADER, EPOCH, 10), &log).unwrap();
    (replica, log)
}

fn fetch(replica_id: i32, fetch_offset: i64, last_fetched_epoch: i32) -> FollowerFetch {
    FollowerFetch {
        replica_id,
        replica_epoch: broker_epoch(replica_id),
        fetch_offset,
        last_fetched_epoch,
        current_leader_epoch: EPOCH,
        log_start_offset: 0,
    }
}

fn read_effects(decision: FetchDecision) -> Effects {
    match decision {
        FetchDecision::Read { effects, .. } => effects,
        other => panic!("expected a read, got {other:?}"),
    }
}

fn success(request: &AlterPartitionRequest) -> AlterPartitionResponse {
    AlterPartitionResponse {
        error_code: error_code::NONE,
        leader_id: request.broker_id,
        leader_epoch: request.leader_epoch,
        isr: request.isr(),
        leader_recovery_state: LeaderRecoveryState::Recovered,
        partition_epoch: request.partition_epoch + 1,
    }
}

fn follower_progress_leo(replica: &Replica, id: i32) -> Option<i64> {
    let Role::Leader(leader) = replica.role() else { panic!("not leader") };
    leader.follower(id).unwrap().log_end_offset()
}

// ---- Fencing (KIP-320, §3.2) ----

#[test]
fn fetch_with_an_older_leader_epoch_is_fenced_and_changes_nothing() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 0);
    let before = replica.role().clone();
    let decision = replica.on_follower_fetch(1, FollowerFetch { current_leader_epoch: 4, ..fetch(2, 10, 3) }, &log);
    assert_eq!(decision, FetchDecision::FencedLeaderEpoch);
    assert_eq!(decision.error_code(), error_code::FENCED_LEADER_EPOCH);
    let unvalidated = FollowerFetch { current_leader_epoch: -1, ..fetch(2, 10, 3) };
    assert_eq!(replica.on_follower_fetch(1, unvalidated, &log), FetchDecision::FencedLeaderEpoch);
    assert_eq!(replica.role(), &before);
}

#[test]
fn fetch_with_a_newer_leader_epoch_is_unknown_leader_epoch() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 0);
    let decision = replica.on_follower_fetch(1, FollowerFetch { current_leader_epoch: 6, ..fetch(2, 10, 3) }, &log);
    assert_eq!(decision, FetchDecision::UnknownLeaderEpoch);
    assert_eq!(follower_progress_leo(&replica, 2), None);
}

#[test]
fn fetch_from_outside_the_assignment_is_unknown_leader_epoch() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 0);
    assert_eq!(replica.on_follower_fetch(1, fetch(4, 10, 3), &log), FetchDecision::UnknownLeaderEpoch);
    assert_eq!(replica.on_follower_fetch(1, fetch(LEADER, 10, 3), &log), FetchDecision::UnknownLeaderEpoch);
}

#[test]
fn fetch_from_a_replica_that_does_not_lead_is_not_leader_or_follower() {
    let mut replica = Replica::new(config(), 0);
    let log = TestLog::new(&[(3, 0)], 10);
    assert_eq!(replica.on_follower_fetch(1, fetch(2, 10, 3), &log), FetchDecision::NotLeaderOrFollower);
    replica.become_follower(0, state(&[1, 2, 3], &[1, 2, 3], 2, EPOCH, 10)).unwrap();
    assert_eq!(replica.on_follower_fetch(1, fetch(3, 10, 3), &log), FetchDecision::NotLeaderOrFollower);
}

#[test]
fn fetch_from_an_older_incarnation_is_not_leader_or_follower() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 0);
    let newer = FollowerFetch { replica_epoch: 250, ..fetch(2, 10, 3) };
    assert!(matches!(replica.on_follower_fetch(1, newer, &log), FetchDecision::Read { .. }));
    let older = FollowerFetch { replica_epoch: 200, ..fetch(2, 5, 3) };
    assert_eq!(replica.on_follower_fetch(2, older, &log), FetchDecision::NotLeaderOrFollower);
    assert_eq!(follower_progress_leo(&replica, 2), Some(10));
}

#[test]
fn fetch_outside_the_log_is_offset_out_of_range() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2, 3], 10);
    log.log_start_offset = 2;
    assert_eq!(replica.on_follower_fetch(1, fetch(2, 11, -1), &log), FetchDecision::OffsetOutOfRange);
    // With its last epoch, the same fetch claims more of epoch 5 than the leader has: divergence.
    let decision = replica.on_follower_fetch(1, fetch(2, 11, EPOCH), &log);
    assert_eq!(decision, FetchDecision::Diverging { epoch: EPOCH, end_offset: 10 });
    assert_eq!(replica.on_follower_fetch(1, fetch(2, 1, -1), &log), FetchDecision::OffsetOutOfRange);
    // A last fetched epoch above every epoch the leader knows: Kafka's undefined answer.
    assert_eq!(replica.on_follower_fetch(1, fetch(2, 10, 9), &log), FetchDecision::OffsetOutOfRange);
}

// ---- Divergence (KIP-101, KIP-279, §3.2 and §3.10) ----

#[test]
fn a_diverging_fetch_names_the_leaders_epoch_end_and_leaves_the_follower_untouched() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 0);
    // The follower has epoch 4 records up to 12; the leader went from epoch 3 to 5 at 10.
    let decision = replica.on_follower_fetch(1, fetch(2, 12, 4), &log);
    assert_eq!(decision, FetchDecision::Diverging { epoch: 3, end_offset: 10 });
    // Same epoch, but the follower claims more of it than the leader has.
    let decision = replica.on_follower_fetch(1, fetch(2, 11, 3), &log);
    assert_eq!(decision, FetchDecision::Diverging { epoch: 3, end_offset: 10 });
    assert_eq!(follower_progress_leo(&replica, 2), None);
    assert_eq!(decision.error_code(), error_code::NONE);
}

fn follower(high_watermark: i64, leader: i32, leader_epoch: i32) -> Replica {
    let mut replica = Replica::new(ReplicaConfig::new(2, broker_epoch(2)), high_watermark);
    replica.become_follower(0, state(&[1, 2], &[1, 2], leader, leader_epoch, 0)).unwrap();
    replica
}

#[test]
fn kip_101_sequence_1_a_restarted_follower_keeps_records_above_its_stale_high_watermark() {
    // B (broker 1) leads epoch 0 with m0, m1 and HW 2; A (broker 2) has both but HW 1.
    let leader_log = TestLog::new(&[(0, 0)], 2);
    let mut b = Replica::new(ReplicaConfig::new(1, broker_epoch(1)), 2);
    b.become_leader(0, state(&[1, 2], &[1, 2], 1, 0, 0), &leader_log).unwrap();
    let mut a = follower(1, 1, 0);
    // A restarts and fetches from its log end, not its HW: the leader finds nothing to cut.
    let request = a.fetch_request(2, Some(0), 0).unwrap();
    assert_eq!((request.fetch_offset, request.last_fetched_epoch), (2, 0));
    assert!(matches!(b.on_follower_fetch(1, request, &leader_log), FetchDecision::Read { .. }));
    // A is elected in epoch 1: its epoch starts after m1, which survives.
    let a_log = TestLog::new(&[(0, 0), (1, 2)], 2);
    a.become_leader(2, state(&[1, 2], &[1, 2], 2, 1, 1), &a_log).unwrap();
    let Role::Leader(leader) = a.role() else { panic!() };
    assert_eq!(leader.leader_epoch_start_offset(), 2);
    assert_eq!(a.high_watermark(), 1);
}

#[test]
fn kip_101_sequence_2_the_follower_truncates_to_the_new_leaders_end_of_the_epoch() {
    // B came back with m0 only, leads epoch 1 and wrote m2@1. A has m0, m1 in epoch 0.
    let b_log = TestLog::new(&[(0, 0), (1, 1)], 2);
    let mut b = Replica::new(ReplicaConfig::new(1, broker_epoch(1)), 1);
    b.become_leader(0, state(&[1, 2], &[1, 2], 1, 1, 1), &b_log).unwrap();
    let mut a = follower(2, 1, 1);
    let request = a.fetch_request(2, Some(0), 0).unwrap();
    let FetchDecision::Diverging { epoch, end_offset } = b.on_follower_fetch(1, request, &b_log) else { panic!() };
    assert_eq!((epoch, end_offset), (0, 1));
    let truncation = a.on_diverging_epoch(epoch, end_offset, &EpochEntries::new(&[(0, 0)]), 2).unwrap();
    assert_eq!(truncation.offset, 1);
    assert!(truncation.complete);
    assert!(truncation.below_high_watermark, "m1 was committed: only a lost disk explains this");
    assert_eq!(a.high_watermark(), 1);
}

#[test]
fn kip_279_fast_leader_changes_b_truncates_to_its_own_end_of_epoch_1() {
    // A: {1:0, 3:21}, log end 31. B: {1:0, 2:11}, log end 21 (its epoch 2 is [11..20]).
    let a_log = TestLog::new(&[(1, 0), (3, 21)], 31);
    let mut a = Replica::new(ReplicaConfig::new(1, broker_epoch(1)), 11);
    a.become_leader(0, state(&[1, 2], &[1, 2], 1, 3, 3), &a_log).unwrap();
    let mut b = follower(11, 1, 3);
    let request = b.fetch_request(21, Some(2), 0).unwrap();
    let decision = a.on_follower_fetch(1, request, &a_log);
    assert_eq!(decision, FetchDecision::Diverging { epoch: 1, end_offset: 21 }, "the answer names epoch 1");
    let b_cache = EpochEntries::new(&[(1, 0), (2, 11)]);
    let truncation = b.on_diverging_epoch(1, 21, &b_cache, 21).unwrap();
    assert_eq!(truncation.offset, 11);
    assert!(!truncation.below_high_watermark);
}

#[test]
fn divergence_into_an_epoch_the_follower_lacks_truncates_to_its_nearest_epoch_end_and_asks_again() {
    let mut b = follower(0, 1, 6);
    // The leader names epoch 4; the follower has {2:0, 5:8}: its epoch 2 ends at 8.
    let truncation = b.on_diverging_epoch(4, 12, &EpochEntries::new(&[(2, 0), (5, 8)]), 15).unwrap();
    assert_eq!((truncation.offset, truncation.complete), (8, false));
    // The named epoch is below everything the follower has: Kafka's lookup answers
    // (4, first start 0), the same epoch, so the follower keeps nothing.
    let truncation = b.on_diverging_epoch(4, 12, &EpochEntries::new(&[(6, 0)]), 15).unwrap();
    assert_eq!((truncation.offset, truncation.complete), (0, true));
    // An empty cache: truncate to the HW.
    let mut c = follower(3, 1, 6);
    let truncation = c.on_diverging_epoch(4, 12, &EpochEntries::default(), 15).unwrap();
    assert_eq!((truncation.offset, truncation.below_high_watermark), (3, false));
    // Not a follower: a stale answer does nothing.
    let (mut leader, _) = leader_with(config(), &[1, 2, 3], 0);
    assert_eq!(leader.on_diverging_epoch(4, 12, &EpochEntries::default(), 15), None);
}

#[test]
fn no_local_answer_truncates_to_the_leaders_end_offset() {
    let mut b = follower(0, 1, 6);
    // The follower's epochs are all above the named one: Kafka's endOffsetFor gives
    // (epoch, first start) — here (4, 5), so it keeps min(12, 5, LEO).
    let truncation = b.on_diverging_epoch(4, 12, &EpochEntries::new(&[(6, 5)]), 15).unwrap();
    assert_eq!(truncation.offset, 5);
    // A lookup that answers nothing at all (epoch above the cache's): min(leader end, LEO).
    let truncation = b.on_diverging_epoch(9, 12, &EpochEntries::new(&[(6, 0)]), 15).unwrap();
    assert_eq!(truncation.offset, 12);
}

// ---- Follower high watermark (§3.1, §7) ----

#[test]
fn follower_high_watermark_is_min_of_leader_hw_and_log_end_and_never_drops() {
    let mut f = follower(0, 1, 1);
    assert_eq!(f.on_fetch_response_high_watermark(10, 7), Some(7));
    assert_eq!(f.on_fetch_response_high_watermark(10, 12), Some(10));
    // A new leader whose HW is still stale: the follower keeps what it was told.
    f.become_follower(0, state(&[1, 2, 3], &[1, 2, 3], 3, 2, 2)).unwrap();
    assert_eq!(f.on_fetch_response_high_watermark(8, 12), None);
    assert_eq!(f.high_watermark(), 10);
    // A log recovered short takes the HW down with it.
    f.on_fetch_response_high_watermark(8, 9);
    assert_eq!(f.high_watermark(), 9);
}

// ---- OFFSET_OUT_OF_RANGE on the follower (§3.1) ----

#[test]
fn out_of_range_truncates_to_a_shorter_leader_log_or_restarts_at_its_log_start() {
    use super::follower::OutOfRangeAction;
    // After an unclean election the new leader's log ends at 6, below our 10 and our HW 8.
    let mut f = follower(8, 1, 1);
    let action = f.on_offset_out_of_range(0, 6, 10).unwrap();
    assert_eq!(action, OutOfRangeAction::TruncateTo { offset: 6, below_high_watermark: true });
    assert_eq!(f.high_watermark(), 6);
    // The leader's retention passed our whole log.
    let mut f = follower(3, 1, 1);
    assert_eq!(f.on_offset_out_of_range(20, 30, 10), Some(OutOfRangeAction::TruncateFullyAndStartAt { offset: 20 }));
    assert_eq!(f.high_watermark(), 20);
    // Nothing to do after all: fetch again from our end.
    let mut f = follower(3, 1, 1);
    assert_eq!(f.on_offset_out_of_range(0, 30, 10), Some(OutOfRangeAction::FetchFrom { offset: 10 }));
    assert_eq!(f.high_watermark(), 3);
    let (mut leader, _) = leader_with(config(), &[1, 2, 3], 0);
    assert_eq!(leader.on_offset_out_of_range(0, 6, 10), None);
}

// ---- lastCaughtUp, ISR shrink and expansion (§3.3, §3.6, §3.7, KIP-903) ----

#[test]
fn isr_shrink_removes_a_follower_lagging_beyond_replica_lag_time_max() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2, 3], 10);
    replica.on_follower_fetch(0, fetch(3, 10, EPOCH), &log);
    log.append(5);
    let mut now = 0;
    let mut proposed = None;
    while now <= 2 * LAG_MS {
        now += 1_000;
        // Follower 3 keeps up; follower 2 never fetches.
        replica.on_follower_fetch(now, fetch(3, log.log_end_offset, EPOCH), &log);
        let effects = replica.tick(now);
        if let Some(request) = effects.alter_partition {
            proposed = Some((now, request));
            break;
        }
    }
    let (at, request) = proposed.expect("a shrink");
    assert!(at > LAG_MS, "not before the lag has passed: {at}");
    assert!(at <= LAG_MS + LAG_MS / 2, "within one check period: {at}");
    assert_eq!(request.isr(), vec![1, 3]);
    assert_eq!(replica.maximal_isr().unwrap(), vec![1, 2, 3], "a shrink is not assumed");
    // While it is in flight, no other change is proposed.
    assert_eq!(replica.tick(now + LAG_MS).alter_partition, None);
    let (outcome, _) = replica.on_alter_partition_response(now, request.proposal_id, success(&request));
    assert_eq!(outcome, AlterPartitionOutcome::Committed);
    assert_eq!(replica.partition_state().unwrap().isr(), &[1, 3]);
    assert_eq!(replica.partition_state().unwrap().partition_epoch(), 11);
}

#[test]
fn isr_shrink_never_removes_the_leader_and_spares_a_follower_at_the_log_end() {
    let (mut replica, log) = leader_with(config(), &[1, 2], 10);
    replica.on_follower_fetch(0, fetch(2, 10, EPOCH), &log);
    // No append since: follower 2 has the leader's whole log, whatever the time.
    assert_eq!(replica.tick(10 * LAG_MS).alter_partition, None);
}

#[test]
fn isr_expansion_needs_the_high_watermark_and_the_leader_epoch_start_offset() {
    // The HW carried over is 4, the epoch starts at 10.
    let (mut replica, mut log) = leader_with(config(), &[1, 2], 4);
    log.append(5);
    let effects = read_effects(replica.on_follower_fetch(1, fetch(3, 8, 3), &log));
    assert_eq!(effects.alter_partition, None, "8 >= HW 4 but below the epoch start 10");
    let effects = read_effects(replica.on_follower_fetch(2, fetch(3, 10, 3), &log));
    let request = effects.alter_partition.expect("an expansion");
    assert_eq!(request.isr(), vec![1, 2, 3]);
    assert_eq!(request.new_isr_with_epochs.iter().map(|b| b.broker_epoch).collect::<Vec<_>>(), vec![100, -1, 300]);
    assert_eq!((request.leader_epoch, request.partition_epoch, request.broker_epoch), (EPOCH, 10, 100));
    assert_eq!(request.leader_recovery_state, LeaderRecoveryState::Recovered);
    assert_eq!(replica.maximal_isr().unwrap(), vec![1, 2, 3], "an expansion is assumed");
    assert_eq!(replica.partition_state().unwrap().isr(), &[1, 2]);
}

#[test]
fn isr_expansion_needs_the_high_watermark_too() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2], 10);
    log.append(10);
    replica.on_follower_fetch(1, fetch(2, 20, EPOCH), &log);
    assert_eq!(replica.high_watermark(), 20);
    let effects = read_effects(replica.on_follower_fetch(1, fetch(3, 15, EPOCH), &log));
    assert_eq!(effects.alter_partition, None, "15 reaches the epoch start 10 but not the HW 20");
}

#[test]
fn kip_903_a_fetch_with_a_stale_broker_epoch_does_not_expand_the_isr() {
    let (mut replica, log) = leader_with(config(), &[1, 2], 10);
    // Broker 3 re-registered with epoch 350; a fetch from its previous incarnation arrives.
    let registration = BrokerRegistration { broker_epoch: 350, fenced: false, in_controlled_shutdown: false };
    replica.on_broker_registration(0, 3, Some(registration));
    let stale = FollowerFetch { replica_epoch: 300, ..fetch(3, 10, EPOCH) };
    assert_eq!(read_effects(replica.on_follower_fetch(1, stale, &log)).alter_partition, None);
    let current = FollowerFetch { replica_epoch: 350, ..fetch(3, 10, EPOCH) };
    let request = read_effects(replica.on_follower_fetch(2, current, &log)).alter_partition.unwrap();
    assert_eq!(request.new_isr_with_epochs.last().unwrap().broker_epoch, 350);
}

#[test]
fn fenced_or_shutting_down_or_unregistered_brokers_do_not_join() {
    for registration in [
        Some(BrokerRegistration { broker_epoch: 300, fenced: true, in_controlled_shutdown: false }),
        Some(BrokerRegistration { broker_epoch: 300, fenced: false, in_controlled_shutdown: true }),
        None,
    ] {
        let (mut replica, log) = leader_with(config(), &[1, 2], 10);
        replica.on_broker_registration(0, 3, registration);
        assert_eq!(read_effects(replica.on_follower_fetch(1, fetch(3, 10, EPOCH), &log)).alter_partition, None);
    }
}

#[test]
fn no_expansion_while_a_change_is_in_flight() {
    let (mut replica, log) = leader_with(config(), &[1], 10);
    assert!(read_effects(replica.on_follower_fetch(1, fetch(2, 10, EPOCH), &log)).alter_partition.is_some());
    assert_eq!(read_effects(replica.on_follower_fetch(1, fetch(3, 10, EPOCH), &log)).alter_partition, None);
}

// ---- High watermark (§3.4) ----

#[test]
fn high_watermark_waits_for_every_isr_followers_first_fetch_in_a_new_epoch() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 4);
    assert_eq!(replica.high_watermark(), 4);
    let effects = read_effects(replica.on_follower_fetch(1, fetch(2, 10, EPOCH), &log));
    assert_eq!(effects.high_watermark, None, "follower 3 has not fetched in epoch 5");
    let effects = read_effects(replica.on_follower_fetch(2, fetch(3, 7, 3), &log));
    assert_eq!(effects.high_watermark, Some(7));
    // Re-elected in epoch 6: every follower is unknown again, even this broker's own followers.
    replica.become_leader(3, state(&[1, 2, 3], &[1, 2, 3], LEADER, 6, 11), &log).unwrap();
    assert_eq!(follower_progress_leo(&replica, 2), None);
    let fetch6 = |id, offset| FollowerFetch { current_leader_epoch: 6, ..fetch(id, offset, EPOCH) };
    assert_eq!(read_effects(replica.on_follower_fetch(4, fetch6(2, 10), &log)).high_watermark, None);
    assert_eq!(read_effects(replica.on_follower_fetch(4, fetch6(3, 10), &log)).high_watermark, Some(10));
}

#[test]
fn min_isr_gate_freezes_the_high_watermark() {
    let mut config = config();
    config.min_insync_replicas = 2;
    let (mut replica, mut log) = leader_with(config, &[1], 10);
    log.append(5);
    assert_eq!(replica.on_leader_log_changed(1, &log).high_watermark, None, "ISR {{1}} < min ISR 2");
    let effects = read_effects(replica.on_follower_fetch(2, fetch(2, 15, EPOCH), &log));
    assert_eq!(effects.high_watermark, None, "the joiner is assumed, but the committed ISR is still 1");
    let request = effects.alter_partition.unwrap();
    let (outcome, effects) = replica.on_alter_partition_response(3, request.proposal_id, success(&request));
    assert_eq!(outcome, AlterPartitionOutcome::Committed);
    assert_eq!(effects.high_watermark, Some(15));
    // Lowering min.insync.replicas releases a frozen HW too.
    let (mut replica, mut log) =
        leader_with(ReplicaConfig { min_insync_replicas: 2, ..super::replica_tests::config() }, &[1], 10);
    log.append(5);
    replica.on_leader_log_changed(1, &log);
    assert_eq!(replica.set_min_insync_replicas(2, 1).high_watermark, Some(15));
}

#[test]
fn effective_min_isr_is_capped_by_the_replica_count() {
    let mut config = config();
    config.min_insync_replicas = 5;
    let (replica, _) = leader_with(config, &[1, 2, 3], 10);
    assert_eq!(replica.effective_min_isr(), 3);
}

#[test]
fn a_caught_up_eligible_follower_outside_the_isr_holds_the_high_watermark() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2], 10);
    replica.on_follower_fetch(0, fetch(3, 10, EPOCH), &log); // caught up now, joining
    let request = replica.tick(0).alter_partition;
    assert_eq!(request, None);
    log.append(10);
    // Follower 3 is the pending joiner: it holds the HW at 10 while 2 reached 20.
    assert_eq!(read_effects(replica.on_follower_fetch(1, fetch(2, 20, EPOCH), &log)).high_watermark, None);
    assert_eq!(replica.high_watermark(), 10);
}

#[test]
fn with_fsync_before_ack_the_leader_counts_its_durable_offset_and_without_it_its_log_end() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2], 10);
    log.log_end_offset = 20;
    log.durable_offset = 14;
    replica.on_follower_fetch(1, fetch(2, 20, EPOCH), &log);
    assert_eq!(replica.high_watermark(), 14);
    log.durable_offset = 20;
    assert_eq!(replica.on_leader_log_changed(2, &log).high_watermark, Some(20));

    let kafka = ReplicaConfig { fsync_before_ack: false, ..config() };
    let (mut replica, mut log) = leader_with(kafka, &[1, 2], 10);
    log.log_end_offset = 20;
    log.durable_offset = 14;
    replica.on_follower_fetch(1, fetch(2, 20, EPOCH), &log);
    assert_eq!(replica.high_watermark(), 20);
}

#[test]
fn the_high_watermark_only_rises() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2], 10);
    log.append(10);
    replica.on_follower_fetch(1, fetch(2, 20, EPOCH), &log);
    assert_eq!(replica.high_watermark(), 20);
    // An older request from the same follower reports less: the HW stays.
    assert!(matches!(replica.on_follower_fetch(2, fetch(2, 12, EPOCH), &log), FetchDecision::Read { .. }));
    assert_eq!(replica.high_watermark(), 20);
}

// ---- acks=all (§3.11) ----

#[test]
fn acks_all_is_refused_before_append_below_min_isr() {
    let mut config = config();
    config.min_insync_replicas = 2;
    let (replica, _) = leader_with(config, &[1], 10);
    assert_eq!(replica.check_produce(-1), Err(ProduceError::NotEnoughReplicas));
    assert_eq!(replica.check_produce(-1).unwrap_err().code(), error_code::NOT_ENOUGH_REPLICAS);
    assert_eq!(replica.check_produce(1), Ok(()), "acks=1 is written (and stays invisible)");
    assert_eq!(follower(0, 1, 1).check_produce(1), Err(ProduceError::NotLeaderOrFollower));
}

#[test]
fn acks_all_waits_for_the_high_watermark_then_checks_the_maximal_isr() {
    let mut config = config();
    config.min_insync_replicas = 2;
    let (mut replica, mut log) = leader_with(config, &[1, 2, 3], 10);
    replica.check_produce(-1).unwrap();
    log.append(5); // offsets 10..14
    replica.on_leader_log_changed(1, &log);
    assert_eq!(replica.ack_ready(EPOCH, 14), None);
    replica.on_follower_fetch(2, fetch(2, 15, EPOCH), &log);
    assert_eq!(replica.ack_ready(EPOCH, 14), None, "follower 3 has not fetched");
    replica.on_follower_fetch(3, fetch(3, 15, EPOCH), &log);
    assert_eq!(replica.ack_ready(EPOCH, 14), Some(Ok(())));
    // Another epoch of the same leader: the append may have been rewritten meanwhile.
    assert_eq!(replica.ack_ready(EPOCH - 1, 14), Some(Err(ProduceError::NotLeaderOrFollower)));
}

#[test]
fn acks_all_after_append_fails_when_the_maximal_isr_fell_below_min_isr() {
    let mut config = config();
    config.min_insync_replicas = 2;
    let (mut replica, mut log) = leader_with(config, &[1, 2], 10);
    log.append(5);
    replica.on_follower_fetch(1, fetch(2, 15, EPOCH), &log);
    assert_eq!(replica.high_watermark(), 15);
    // The controller shrank the ISR to {1} (metadata), after the HW passed the records.
    replica.become_leader(2, state(&[1, 2, 3], &[1], LEADER, EPOCH, 11), &log).unwrap();
    let result = replica.ack_ready(EPOCH, 14);
    assert_eq!(result, Some(Err(ProduceError::NotEnoughReplicasAfterAppend)));
    assert_eq!(result.unwrap().unwrap_err().code(), error_code::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    // Losing leadership fails a waiting produce.
    replica.become_follower(3, state(&[1, 2, 3], &[2], 2, EPOCH + 1, 12)).unwrap();
    assert_eq!(replica.ack_ready(EPOCH, 14), Some(Err(ProduceError::NotLeaderOrFollower)));
}

// ---- AlterPartition answers (§3.8, broker side) ----

/// A leader with an expansion of follower 3 in flight.
fn with_expansion_in_flight() -> (Replica, TestLog, AlterPartitionRequest) {
    let (mut replica, log) = leader_with(config(), &[1, 2], 10);
    let request = read_effects(replica.on_follower_fetch(1, fetch(3, 10, EPOCH), &log)).alter_partition.unwrap();
    (replica, log, request)
}

fn send_state(replica: &Replica) -> Option<AlterPartitionSendState> {
    let Role::Leader(leader) = replica.role() else { panic!() };
    leader.isr_state().pending().map(|p| p.send_state())
}

#[test]
fn ineligible_replica_reverts_and_does_not_retry() {
    for code in [error_code::INELIGIBLE_REPLICA, error_code::OPERATION_NOT_ATTEMPTED] {
        let (mut replica, _, request) = with_expansion_in_flight();
        let (outcome, _) =
            replica.on_alter_partition_response(5, request.proposal_id, AlterPartitionResponse::error(code));
        assert_eq!(outcome, AlterPartitionOutcome::Reverted);
        assert_eq!(send_state(&replica), None);
        assert_eq!(replica.maximal_isr().unwrap(), vec![1, 2]);
        assert_eq!(replica.tick(10_000).alter_partition, None);
    }
}

#[test]
fn fencing_and_version_errors_stay_pending_until_new_metadata() {
    for code in [
        error_code::FENCED_LEADER_EPOCH,
        error_code::INVALID_UPDATE_VERSION,
        error_code::UNKNOWN_TOPIC_ID,
        error_code::UNKNOWN_TOPIC_OR_PARTITION,
        error_code::INVALID_REQUEST,
        error_code::NEW_LEADER_ELECTED,
    ] {
        let (mut replica, log, request) = with_expansion_in_flight();
        let (outcome, _) =
            replica.on_alter_partition_response(5, request.proposal_id, AlterPartitionResponse::error(code));
        assert_eq!(outcome, AlterPartitionOutcome::AwaitingMetadata, "{code}");
        assert_eq!(replica.tick(100_000).alter_partition, None, "{code}: nothing sent");
        assert_eq!(replica.maximal_isr().unwrap(), vec![1, 2, 3], "{code}: still pending");
        // Metadata at the same partition epoch is no news; a newer one settles it.
        let same = state(&[1, 2, 3], &[1, 2], LEADER, EPOCH, 10);
        assert_eq!(replica.become_leader(6, same, &log), Err(MetadataIgnored::Unchanged));
        replica.become_leader(6, state(&[1, 2, 3], &[1, 2, 3], LEADER, EPOCH, 11), &log).unwrap();
        assert_eq!(send_state(&replica), None);
        assert_eq!(replica.partition_state().unwrap().isr(), &[1, 2, 3]);
    }
}

#[test]
fn other_errors_retry_after_the_backoff_with_a_new_proposal_id() {
    let (mut replica, _, request) = with_expansion_in_flight();
    let response = AlterPartitionResponse::error(error_code::NOT_CONTROLLER);
    let (outcome, _) = replica.on_alter_partition_response(5, request.proposal_id, response);
    assert_eq!(outcome, AlterPartitionOutcome::RetryAt { at_ms: 105 });
    replica.tick(5); // the first shrink check runs now; the next is half a lag later
    assert_eq!(replica.next_deadline_ms(), Some(105));
    assert_eq!(replica.tick(104).alter_partition, None);
    let retry = replica.tick(105).alter_partition.expect("a retry");
    assert_ne!(retry.proposal_id, request.proposal_id);
    assert_eq!(AlterPartitionRequest { proposal_id: request.proposal_id, ..retry.clone() }, request);
    // A late answer to the first send is ignored; the retry's success commits.
    let (outcome, _) = replica.on_alter_partition_response(106, request.proposal_id, success(&request));
    assert_eq!(outcome, AlterPartitionOutcome::Ignored);
    let (outcome, _) = replica.on_alter_partition_response(106, retry.proposal_id, success(&retry));
    assert_eq!(outcome, AlterPartitionOutcome::Committed);
    assert_eq!(replica.partition_state().unwrap().isr(), &[1, 2, 3]);
}

#[test]
fn a_success_for_another_leader_epoch_or_an_older_partition_epoch_is_ignored() {
    let (mut replica, _, request) = with_expansion_in_flight();
    let other_epoch = AlterPartitionResponse { leader_epoch: EPOCH + 1, ..success(&request) };
    let (outcome, _) = replica.on_alter_partition_response(5, request.proposal_id, other_epoch);
    assert_eq!(outcome, AlterPartitionOutcome::Ignored);
    assert_eq!(send_state(&replica), Some(AlterPartitionSendState::AwaitingMetadata));
    assert_eq!(replica.partition_state().unwrap().isr(), &[1, 2]);

    let (mut replica, _, request) = with_expansion_in_flight();
    let older = AlterPartitionResponse { partition_epoch: 9, ..success(&request) };
    let (outcome, _) = replica.on_alter_partition_response(5, request.proposal_id, older);
    assert_eq!(outcome, AlterPartitionOutcome::Ignored);
    assert_eq!(replica.partition_state().unwrap().partition_epoch(), 10);

    let (mut replica, _, request) = with_expansion_in_flight();
    let without_leader = AlterPartitionResponse { isr: vec![2, 3], ..success(&request) };
    let (outcome, _) = replica.on_alter_partition_response(5, request.proposal_id, without_leader);
    assert_eq!(outcome, AlterPartitionOutcome::Ignored, "an impossible state is not applied");
}

#[test]
fn a_success_commits_the_isr_and_partition_epoch_and_recomputes_the_high_watermark() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2, 3], 10);
    log.append(10);
    replica.on_follower_fetch(1, fetch(2, 20, EPOCH), &log);
    replica.on_follower_fetch(1, fetch(3, 12, EPOCH), &log);
    assert_eq!(replica.high_watermark(), 12);
    let request = replica.tick(LAG_MS + 1).alter_partition.expect("shrink of 3");
    assert_eq!(request.isr(), vec![1, 2]);
    assert_eq!(replica.high_watermark(), 12, "3 still holds the HW while the shrink is pending");
    let (outcome, effects) = replica.on_alter_partition_response(LAG_MS + 2, request.proposal_id, success(&request));
    assert_eq!(outcome, AlterPartitionOutcome::Committed);
    assert_eq!(effects.high_watermark, Some(20));
}

// ---- Metadata (§2.4, §2.6) ----

#[test]
fn stale_metadata_is_ignored() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 10);
    assert_eq!(
        replica.become_leader(1, state(&[1, 2, 3], &[1, 2, 3], LEADER, EPOCH - 1, 20), &log),
        Err(MetadataIgnored::StaleLeaderEpoch)
    );
    assert_eq!(
        replica.become_leader(1, state(&[1, 2, 3], &[1, 2, 3], LEADER, EPOCH, 9), &log),
        Err(MetadataIgnored::StalePartitionEpoch)
    );
    assert_eq!(
        replica.become_follower(1, state(&[1, 2, 3], &[2, 3], 2, EPOCH, 11)),
        Err(MetadataIgnored::InconsistentLeader),
        "a new leader without a new leader epoch"
    );
    assert_eq!(replica.become_follower(1, state(&[2, 3], &[2, 3], 2, 9, 11)), Err(MetadataIgnored::NotAReplica));
    assert_eq!(
        replica.become_leader(1, state(&[1, 2, 3], &[2, 3], 2, 9, 11), &log),
        Err(MetadataIgnored::InconsistentLeader)
    );
}

#[test]
fn metadata_in_the_same_epoch_keeps_what_the_leader_knows_of_its_followers() {
    let (mut replica, log) = leader_with(config(), &[1, 2, 3], 10);
    replica.on_follower_fetch(1, fetch(2, 10, EPOCH), &log);
    // Replica 3 is moved out and 4 in, in the same leader epoch.
    replica.become_leader(2, state(&[1, 2, 4], &[1, 2], LEADER, EPOCH, 11), &log).unwrap();
    assert_eq!(follower_progress_leo(&replica, 2), Some(10));
    assert_eq!(follower_progress_leo(&replica, 4), None);
    let Role::Leader(leader) = replica.role() else { panic!() };
    assert!(leader.follower(3).is_none());
}

#[test]
fn becoming_follower_reports_a_new_epoch_so_fetching_restarts() {
    let mut f = follower(0, 1, 1);
    assert_eq!(f.become_follower(0, state(&[1, 2], &[1, 2], 1, 1, 1)), Ok(false));
    assert_eq!(f.become_follower(0, state(&[1, 2], &[1, 2], 1, 2, 2)), Ok(true));
    let request = f.fetch_request(7, None, 0).unwrap();
    assert_eq!((request.current_leader_epoch, request.last_fetched_epoch, request.replica_epoch), (2, -1, 200));
    assert_eq!(f.become_follower(0, state(&[1, 2], &[2], -1, 3, 3)), Ok(true));
    assert_eq!(f.fetch_request(7, None, 0), None, "no leader to fetch from");
}

#[test]
fn a_new_leader_clamps_a_checkpointed_high_watermark_to_its_log() {
    let log = TestLog { log_start_offset: 3, ..TestLog::new(&[(3, 0)], 10) };
    let mut replica = Replica::new(config(), 0);
    replica.become_leader(0, state(&[1, 2], &[1, 2], LEADER, EPOCH, 0), &log).unwrap();
    assert_eq!(replica.high_watermark(), 3);
}

// ---- The invariant checks fire ----

#[test]
fn replica_invariant_checks_fire() {
    let (replica, _) = leader_with(config(), &[1, 2, 3], 10);
    assert_eq!(replica.invariant_violation(), None);
    let broken = |f: &dyn Fn(&mut Replica)| {
        let mut r = replica.clone();
        f(&mut r);
        r.invariant_violation().expect("a violation")
    };
    assert!(broken(&|r| r.high_watermark = 11).contains("outside"));
    assert!(broken(&|r| r.high_watermark = -1).contains("negative HW"));
    assert!(broken(&|r| r.high_watermark = 9).contains("fell below"));
    assert!(broken(&|r| {
        let Role::Leader(l) = &mut r.role else { panic!() };
        l.durable_offset = 8;
        l.log_end_offset = 12;
        r.high_watermark = 11;
    })
    .contains("durable"));
    assert!(broken(&|r| {
        let Role::Leader(l) = &mut r.role else { panic!() };
        l.followers.remove(&3);
    })
    .contains("are not the replicas"));
    assert!(broken(&|r| {
        let Role::Leader(l) = &mut r.role else { panic!() };
        l.leader_epoch_start_offset = 11;
    })
    .contains("epoch start"));
    assert!(broken(&|r| r.config.broker_id = 2).contains("not this broker"));
    assert!(broken(&|r| {
        let Role::Leader(l) = &mut r.role else { panic!() };
        l.followers.get_mut(&2).unwrap().record_fetch(1, 50, 0, 200, 50);
    })
    .contains("known beyond the log end"));
    let mut f = follower(0, 1, 1);
    f.config.broker_id = 1;
    assert!(f.invariant_violation().unwrap().contains("a follower that leads"));
    f.config.broker_id = 7;
    assert!(f.invariant_violation().unwrap().contains("not a replica"));
}

#[test]
#[should_panic(expected = "a leader's log never shrinks")]
fn a_leader_log_that_shrinks_is_a_shell_bug() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2, 3], 10);
    log.log_end_offset = 9;
    log.durable_offset = 9;
    replica.on_leader_log_changed(1, &log);
}

#[test]
#[should_panic(expected = "log offsets")]
fn a_durable_offset_beyond_the_log_end_is_a_shell_bug() {
    let (mut replica, mut log) = leader_with(config(), &[1, 2, 3], 10);
    log.durable_offset = 11;
    replica.on_leader_log_changed(1, &log);
}
