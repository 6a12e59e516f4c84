//! The rules, one test each, driving single cores by hand (the property is in
//! `cluster_tests.rs`).

use super::config::RaftConfig;
use super::core::RaftCore;
use super::messages::*;
use super::quorum_state::{ElectionState, QuorumState, Role};
use super::quorum_state_file::QuorumStateRecord;
use super::raft_log::RaftLog;
use super::ready::Ready;
use crate::runtime::seeded;
use bytes::Bytes;
use std::collections::BTreeSet;

// ---- helpers -----------------------------------------------------------------------------

pub(super) fn voters(ids: &[NodeId]) -> BTreeSet<NodeId> {
    ids.iter().copied().collect()
}

fn node_with(id: NodeId, ids: &[NodeId], record: Option<QuorumStateRecord>, log: RaftLog) -> RaftCore {
    RaftCore::new(RaftConfig::default(), id, voters(ids), record, log, seeded(id as u64), 0)
}

pub(super) fn node(id: NodeId, ids: &[NodeId]) -> RaftCore {
    node_with(id, ids, None, RaftLog::new())
}

/// Takes the Ready and confirms its writes at once, as a shell with an instant disk would.
pub(super) fn persist(core: &mut RaftCore, now: u64) -> Ready {
    let ready = core.take_ready();
    core.on_persisted(now, ready.id);
    ready
}

fn all_messages(ready: &Ready) -> Vec<Outbound> {
    ready.messages.iter().chain(&ready.messages_after_persist).cloned().collect()
}

pub(super) fn requests(ready: &Ready) -> Vec<(NodeId, i32, Request)> {
    all_messages(ready)
        .into_iter()
        .filter_map(|o| match o.message {
            Message::Request { correlation_id, body } => Some((o.to, correlation_id, body)),
            _ => None,
        })
        .collect()
}

pub(super) fn responses(ready: &Ready) -> Vec<(NodeId, Response)> {
    all_messages(ready)
        .into_iter()
        .filter_map(|o| match o.message {
            Message::Response { body, .. } => Some((o.to, body)),
            _ => None,
        })
        .collect()
}

pub(super) fn request(correlation_id: i32, body: Request) -> Message {
    Message::Request { correlation_id, body }
}

fn response(correlation_id: i32, body: Response) -> Message {
    Message::Response { correlation_id, body }
}

fn vote(epoch: Epoch, candidate: NodeId, last_epoch: Epoch, last_offset: Offset, pre_vote: bool) -> Message {
    request(
        9,
        Request::Vote(VoteRequest {
            replica_epoch: epoch,
            replica_id: candidate,
            last_offset_epoch: last_epoch,
            last_offset,
            pre_vote,
        }),
    )
}

fn vote_answer(ready: &Ready) -> VoteResponse {
    match responses(ready).pop() {
        Some((_, Response::Vote(v))) => v,
        other => panic!("expected a vote response, got {other:?}"),
    }
}

fn grant_all(core: &mut RaftCore, now: u64, ready: &Ready) {
    for (to, correlation_id, body) in requests(ready) {
        if let Request::Vote(v) = body {
            let answer = VoteResponse {
                error_code: ErrorCode::None,
                leader_id: None,
                leader_epoch: v.replica_epoch,
                vote_granted: true,
            };
            core.step(now, to, response(correlation_id, Response::Vote(answer)));
        }
    }
}

/// Node `id` of `ids` runs its election timer out and wins the pre-vote and the vote.
pub(super) fn elect(core: &mut RaftCore) -> u64 {
    persist(core, 0);
    let now = core.next_deadline();
    core.tick(now);
    assert_eq!(core.role(), Role::Prospective);
    let ready = persist(core, now);
    grant_all(core, now, &ready);
    assert_eq!(core.role(), Role::Candidate);
    let ready = persist(core, now);
    grant_all(core, now, &ready);
    assert_eq!(core.role(), Role::Leader);
    now
}

pub(super) fn entries(epochs: &[Epoch]) -> Vec<Entry> {
    epochs
        .iter()
        .enumerate()
        .map(|(i, e)| Entry {
            offset: i as Offset,
            epoch: *e,
            kind: EntryKind::Data,
            payload: Bytes::from(vec![i as u8]),
        })
        .collect()
}

fn fetch(epoch: Epoch, replica: NodeId, offset: Offset, last_epoch: Epoch, hw: Offset) -> Request {
    Request::Fetch(FetchRequest {
        replica_id: replica,
        current_leader_epoch: epoch,
        fetch_offset: offset,
        last_fetched_epoch: last_epoch,
        high_watermark: Some(hw),
    })
}

fn fetch_answer(ready: &Ready) -> FetchResponse {
    match responses(ready).pop() {
        Some((_, Response::Fetch(f))) => f,
        other => panic!("expected a fetch response, got {other:?}"),
    }
}

// ---- voting ------------------------------------------------------------------------------

#[test]
fn vote_granted_only_if_candidate_log_is_up_to_date() {
    let log = RaftLog::recovered(None, entries(&[1, 1, 2])).unwrap();
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 2, voted_id: None };
    // Shorter log in the same last epoch, and an older last epoch with a longer log: refused.
    for (last_epoch, last_offset) in [(2, 2), (1, 10)] {
        let mut voter = node_with(2, &[1, 2, 3], Some(record), log.clone());
        persist(&mut voter, 0);
        voter.step(1, 1, vote(3, 1, last_epoch, last_offset, false));
        assert!(!vote_answer(&persist(&mut voter, 1)).vote_granted, "({last_epoch}, {last_offset})");
        assert_eq!(voter.election_state().voted_id(), None);
    }
    // Equal, then newer: granted.
    for (last_epoch, last_offset) in [(2, 3), (3, 0)] {
        let mut voter = node_with(2, &[1, 2, 3], Some(record), log.clone());
        persist(&mut voter, 0);
        voter.step(1, 1, vote(4, 1, last_epoch, last_offset, false));
        assert!(vote_answer(&persist(&mut voter, 1)).vote_granted, "({last_epoch}, {last_offset})");
    }
}

#[test]
fn granted_vote_is_persisted_before_the_reply() {
    let mut voter = node(2, &[1, 2, 3]);
    persist(&mut voter, 0);
    voter.step(1, 1, vote(1, 1, 0, 0, false));
    let ready = voter.take_ready();
    assert_eq!(ready.quorum_state, Some(QuorumStateRecord { leader_id: None, leader_epoch: 1, voted_id: Some(1) }));
    assert!(ready.messages.is_empty(), "nothing leaves before the vote is durable");
    assert_eq!(ready.messages_after_persist.len(), 1);
    assert!(vote_answer(&ready).vote_granted);
}

#[test]
fn transitions_travel_in_the_ready_with_the_record_that_makes_them_durable() {
    // The shell reports them after the quorum-state write: a crash before it takes the new
    // epoch and vote back, and no trace may show them (controller-leader-crash seeds 35, 111).
    let mut voter = node(2, &[1, 2, 3]);
    persist(&mut voter, 0);
    voter.step(1, 1, vote(1, 1, 0, 0, false));
    let ready = voter.take_ready();
    let reported: Vec<(String, i32, i32)> =
        ready.transitions.iter().map(|t| (t.to_state.clone(), t.epoch, t.voted_id)).collect();
    assert_eq!(reported, vec![("Unattached".to_string(), 1, -1), ("Unattached".to_string(), 1, 1)]);
    assert_eq!(ready.quorum_state.map(|r| (r.leader_epoch, r.voted_id)), Some((1, Some(1))));
    assert!(voter.take_ready().transitions.is_empty(), "each transition is handed out once");
}

#[test]
fn one_real_vote_per_epoch() {
    let mut voter = node(3, &[1, 2, 3]);
    persist(&mut voter, 0);
    voter.step(1, 1, vote(1, 1, 0, 0, false));
    assert!(vote_answer(&persist(&mut voter, 1)).vote_granted);
    voter.step(2, 2, vote(1, 2, 0, 0, false));
    assert!(!vote_answer(&persist(&mut voter, 2)).vote_granted, "a second candidate in the epoch");
    voter.step(3, 1, vote(1, 1, 0, 0, false));
    assert!(vote_answer(&persist(&mut voter, 3)).vote_granted, "the same candidate again (a retry)");
}

#[test]
fn vote_survives_restart() {
    let mut voter = node(3, &[1, 2, 3]);
    persist(&mut voter, 0);
    voter.step(1, 1, vote(1, 1, 0, 0, false));
    let record = persist(&mut voter, 1).quorum_state;
    let mut restarted = node_with(3, &[1, 2, 3], record, RaftLog::new());
    persist(&mut restarted, 2);
    restarted.step(2, 2, vote(1, 2, 0, 0, false));
    assert!(!vote_answer(&persist(&mut restarted, 2)).vote_granted);
}

#[test]
fn follower_never_grants_real_vote() {
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    persist(&mut follower, 1);
    assert_eq!(follower.role(), Role::Follower);
    follower.step(2, 3, vote(1, 3, 5, 100, false));
    assert!(!vote_answer(&persist(&mut follower, 2)).vote_granted);
    assert_eq!(follower.election_state().voted_id(), None);
}

#[test]
fn follower_grants_prevote_only_before_its_first_successful_fetch() {
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    let ready = persist(&mut follower, 1);
    follower.step(2, 3, vote(1, 3, 0, 0, true));
    assert!(vote_answer(&persist(&mut follower, 2)).vote_granted, "no fetch yet: the leader may be gone");
    let (_, correlation_id, _) = requests(&ready).into_iter().find(|(_, _, b)| matches!(b, Request::Fetch(_))).unwrap();
    let answer = FetchResponse {
        error_code: ErrorCode::None,
        high_watermark: Some(0),
        leader_id: Some(1),
        leader_epoch: 1,
        diverging_epoch: None,
        snapshot_id: None,
        records: Vec::new(),
    };
    follower.step(3, 1, response(correlation_id, Response::Fetch(answer)));
    persist(&mut follower, 3);
    follower.step(4, 3, vote(1, 3, 0, 0, true));
    assert!(!vote_answer(&persist(&mut follower, 4)).vote_granted, "the leader is alive");
}

#[test]
fn prevote_changes_no_state() {
    let mut voter = node(2, &[1, 2, 3]);
    persist(&mut voter, 0);
    let before = voter.election_state().clone();
    voter.step(1, 1, vote(0, 1, 0, 0, true));
    let ready = persist(&mut voter, 1);
    assert!(vote_answer(&ready).vote_granted);
    assert_eq!(*voter.election_state(), before);
    assert_eq!(ready.quorum_state, None);
    assert_eq!(ready.messages.len(), 1, "a pre-vote answer waits for nothing");
}

#[test]
fn prevote_at_a_higher_epoch_moves_the_epoch_only() {
    let mut voter = node(2, &[1, 2, 3]);
    persist(&mut voter, 0);
    voter.step(1, 1, vote(4, 1, 0, 0, true));
    let ready = persist(&mut voter, 1);
    assert_eq!(*voter.election_state(), ElectionState::unattached(4, None));
    assert_eq!(ready.quorum_state.map(|r| (r.leader_epoch, r.voted_id)), Some((4, None)));
    assert!(ready.messages.is_empty(), "the answer waits for the new epoch to be durable");
}

#[test]
fn leader_and_older_epochs_are_refused() {
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    leader.step(now, 2, vote(1, 2, 5, 5, true));
    assert!(!vote_answer(&persist(&mut leader, now)).vote_granted, "a leader grants nothing");
    leader.step(now, 2, vote(0, 2, 0, 0, true));
    let answer = vote_answer(&persist(&mut leader, now));
    assert_eq!(answer.error_code, ErrorCode::FencedLeaderEpoch);
    leader.step(now, 2, vote(3, 2, 3, 9, false));
    assert_eq!(
        vote_answer(&persist(&mut leader, now)).error_code,
        ErrorCode::InvalidRequest,
        "LastOffsetEpoch ≥ epoch"
    );
}

// ---- elections ---------------------------------------------------------------------------

#[test]
fn election_timeout_is_drawn_in_t_to_2t_from_the_seed() {
    let mut deadlines = BTreeSet::new();
    for seed in 0..50u64 {
        let make =
            || RaftCore::new(RaftConfig::default(), 1, voters(&[1, 2, 3]), None, RaftLog::new(), seeded(seed), 0);
        let (a, b) = (make(), make());
        assert_eq!(a.next_deadline(), b.next_deadline(), "same seed, same timeout");
        assert!((1000..2000).contains(&a.next_deadline()));
        deadlines.insert(a.next_deadline());
    }
    assert!(deadlines.len() > 40, "the seed matters");
}

#[test]
fn single_voter_elects_itself_and_commits_after_flush() {
    let mut core = node(1, &[1]);
    persist(&mut core, 0);
    let now = core.next_deadline();
    core.tick(now);
    assert_eq!(core.role(), Role::Leader);
    assert_eq!(core.epoch(), 1);
    let ready = core.take_ready();
    assert_eq!(ready.append.len(), 1, "the LeaderChange entry");
    assert_eq!(core.high_watermark(), 0, "not before its fsync");
    core.on_persisted(now, ready.id);
    assert_eq!(core.high_watermark(), 1);
    core.propose(now, vec![Bytes::from_static(b"a")]).unwrap();
    assert_eq!(persist(&mut core, now).committed.len(), 1);
}

#[test]
fn lost_prevote_returns_to_the_known_leader() {
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    persist(&mut follower, 1);
    let now = follower.next_deadline();
    follower.tick(now);
    assert_eq!(*follower.election_state(), ElectionState::prospective(1, Some(1), None));
    let ready = persist(&mut follower, now);
    for (to, correlation_id, _) in requests(&ready).into_iter().filter(|(_, _, b)| matches!(b, Request::Vote(_))) {
        let no = VoteResponse { error_code: ErrorCode::None, leader_id: None, leader_epoch: 1, vote_granted: false };
        follower.step(now, to, response(correlation_id, Response::Vote(no)));
    }
    assert_eq!(*follower.election_state(), ElectionState::follower(1, 1, None));
}

#[test]
fn prospective_wins_a_prevote_granted_by_voters_that_still_name_the_dead_leader() {
    // Found by the controller-leader-crash scenario: leader 1 dies; 2 and 3 time out, and 3
    // grants 2's pre-vote while still naming 1 (it knew no other). 2 must count the grant,
    // not fall back to following 1 (Kafka: a Prospective that knows the leader keeps it).
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    persist(&mut follower, 1);
    let now = follower.next_deadline();
    follower.tick(now);
    assert_eq!(*follower.election_state(), ElectionState::prospective(1, Some(1), None));
    let ready = persist(&mut follower, now);
    let to_three = requests(&ready).into_iter().find(|(to, _, b)| *to == 3 && matches!(b, Request::Vote(_)));
    let (_, correlation_id, _) = to_three.expect("a pre-vote request to 3");
    let yes = VoteResponse { error_code: ErrorCode::None, leader_id: Some(1), leader_epoch: 1, vote_granted: true };
    follower.step(now, 3, response(correlation_id, Response::Vote(yes)));
    assert_eq!(*follower.election_state(), ElectionState::candidate(2, 2));
}

#[test]
fn lost_election_backs_off_then_tries_a_prevote_again() {
    let mut core = node(1, &[1, 2, 3]);
    persist(&mut core, 0);
    let now = core.next_deadline();
    core.tick(now);
    let ready = persist(&mut core, now);
    grant_all(&mut core, now, &ready);
    let ready = persist(&mut core, now);
    assert_eq!(core.role(), Role::Candidate);
    for (to, correlation_id, _) in requests(&ready) {
        let no = VoteResponse { error_code: ErrorCode::None, leader_id: None, leader_epoch: 1, vote_granted: false };
        core.step(now, to, response(correlation_id, Response::Vote(no)));
    }
    let backoff_end = core.next_deadline();
    assert!(backoff_end - now <= 1000, "at most election.backoff.max.ms");
    core.tick(backoff_end);
    assert_eq!(*core.election_state(), ElectionState::prospective(1, None, Some(1)));
}

#[test]
fn restarts_resigned_when_it_was_leader() {
    let record = QuorumStateRecord { leader_id: Some(1), leader_epoch: 5, voted_id: Some(1) };
    let mut core = node_with(1, &[1, 2, 3], Some(record), RaftLog::recovered(None, entries(&[5, 5])).unwrap());
    assert_eq!(*core.election_state(), ElectionState::resigned(5, 1, Some(1)));
    assert!(core.propose(0, vec![Bytes::new()]).is_err(), "it appends nothing in its old epoch");
    let ready = persist(&mut core, 0);
    let ends: Vec<_> =
        requests(&ready).into_iter().filter(|(_, _, b)| matches!(b, Request::EndQuorumEpoch(_))).collect();
    assert_eq!(ends.len(), 2, "it tells the followers to elect at once");
    core.step(0, 2, vote(5, 2, 5, 2, false));
    assert!(!vote_answer(&persist(&mut core, 0)).vote_granted, "no second vote in the epoch");
    let now = core.next_deadline();
    core.tick(now);
    assert_eq!(*core.election_state(), ElectionState::unattached(6, None));
}

#[test]
fn restarts_unattached_at_the_log_epoch_when_quorum_state_is_older() {
    let record = QuorumStateRecord { leader_id: Some(2), leader_epoch: 3, voted_id: Some(2) };
    let core = node_with(1, &[1, 2, 3], Some(record), RaftLog::recovered(None, entries(&[3, 4, 7])).unwrap());
    assert_eq!(*core.election_state(), ElectionState::unattached(7, None));
    let core = node_with(1, &[1, 2, 3], Some(record), RaftLog::recovered(None, entries(&[3])).unwrap());
    assert_eq!(*core.election_state(), ElectionState::follower(3, 2, Some(2)));
}

#[test]
fn transition_table_refuses_what_it_does_not_list() {
    let mut q = QuorumState::new(1, true, ElectionState::leader(4, 1));
    assert!(q.transition(ElectionState::follower(4, 2, Some(1))).is_err(), "a leader never follows in its epoch");
    assert!(q.transition(ElectionState::unattached(3, None)).is_err(), "epochs never fall");
    let mut q = QuorumState::new(1, true, ElectionState::unattached(4, None));
    assert!(q.transition(ElectionState::candidate(5, 1)).is_err(), "a candidacy needs a won pre-vote");
    let mut q = QuorumState::new(1, true, ElectionState::unattached(4, Some(2)));
    assert!(q.transition(ElectionState::unattached(4, Some(3))).is_err(), "a vote is never changed");
    let mut q = QuorumState::new(1, true, ElectionState::follower(4, 2, None));
    assert!(q.transition(ElectionState::follower(4, 3, None)).is_err(), "an epoch has one leader");
    let mut q = QuorumState::new(9, false, ElectionState::unattached(4, None));
    assert!(q.transition(ElectionState::prospective(4, None, None)).is_err(), "observers never run");
    assert!(q.transition(ElectionState::follower(6, 2, None)).is_ok());
}

#[test]
#[should_panic(expected = "observer")]
fn election_state_invariants_fire_on_an_observer_candidate() {
    ElectionState::candidate(3, 9).check_invariants(9, false);
}

// ---- replication and the high watermark --------------------------------------------------

#[test]
fn hw_does_not_advance_until_current_epoch_entry_commits() {
    // Node 1 has two entries of epoch 1 that node 2 also holds; it wins epoch 2.
    let log = RaftLog::recovered(None, entries(&[1, 1])).unwrap();
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 1, voted_id: None };
    let mut leader = node_with(1, &[1, 2, 3], Some(record), log);
    let now = elect(&mut leader);
    assert_eq!(leader.epoch(), 2);
    assert_eq!(leader.epoch_start_offset(), Some(2));
    persist(&mut leader, now);
    // Node 2 acknowledges the old entries only: they are on a majority, but not of this epoch.
    leader.step(now, 2, request(1, fetch(2, 2, 2, 1, 0)));
    persist(&mut leader, now);
    assert_eq!(leader.high_watermark(), 0);
    // Node 2 acknowledges the LeaderChange entry too: everything commits.
    leader.step(now, 2, request(2, fetch(2, 2, 3, 2, 0)));
    let ready = persist(&mut leader, now);
    assert_eq!(leader.high_watermark(), 3);
    assert_eq!(ready.committed.len(), 3);
}

#[test]
fn leader_counts_its_own_log_end_only_after_flush() {
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    leader.propose(now, vec![Bytes::from_static(b"x")]).unwrap();
    let ready = leader.take_ready();
    leader.step(now, 2, request(1, fetch(1, 2, 2, 1, 0)));
    assert_eq!(leader.high_watermark(), 1, "only the LeaderChange entry: node 1 has not flushed offset 1");
    leader.on_persisted(now, ready.id);
    assert_eq!(leader.high_watermark(), 2);
}

#[test]
fn leader_fences_fetches_from_other_epochs() {
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    leader.step(now, 2, request(1, fetch(0, 2, 0, 0, 0)));
    assert_eq!(fetch_answer(&persist(&mut leader, now)).error_code, ErrorCode::FencedLeaderEpoch);
    leader.step(now, 2, request(2, fetch(2, 2, 0, 0, 0)));
    assert_eq!(fetch_answer(&persist(&mut leader, now)).error_code, ErrorCode::UnknownLeaderEpoch);
    let mut follower = node(2, &[1, 2, 3]);
    follower.step(now, 3, request(3, fetch(0, 3, 0, 0, 0)));
    let answer = fetch_answer(&persist(&mut follower, now));
    assert_eq!((answer.error_code.code(), answer.records.len()), (6, 0), "NOT_LEADER_OR_FOLLOWER");
}

#[test]
fn leader_answers_a_diverging_log_with_its_epoch_end() {
    // Leader log: epochs [1, 1, 3] + its LeaderChange at epoch 4 (offset 3).
    let log = RaftLog::recovered(None, entries(&[1, 1, 3])).unwrap();
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 3, voted_id: None };
    let mut leader = node_with(1, &[1, 2, 3], Some(record), log);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    // The follower has [1, 1, 2, 2]: its epoch 2 is unknown to the leader, which ends epoch 1 at 2.
    leader.step(now, 2, request(1, fetch(4, 2, 4, 2, 0)));
    let answer = fetch_answer(&persist(&mut leader, now));
    assert_eq!(answer.diverging_epoch, Some(DivergingEpoch { epoch: 1, end_offset: 2 }));
    assert!(answer.records.is_empty());
    assert_eq!(leader.high_watermark(), 0, "a diverging fetch does not count");
}

#[test]
fn follower_truncates_on_diverging_epoch_then_appends_the_leaders_entries() {
    let log = RaftLog::recovered(None, entries(&[1, 1, 2, 2])).unwrap();
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 3, voted_id: None };
    let mut follower = node_with(2, &[1, 2, 3], Some(record), log);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 4 })),
    );
    let ready = persist(&mut follower, 1);
    let (_, correlation_id, body) =
        requests(&ready).into_iter().find(|(_, _, b)| matches!(b, Request::Fetch(_))).unwrap();
    assert!(matches!(body, Request::Fetch(FetchRequest { fetch_offset: 4, last_fetched_epoch: 2, .. })));
    let diverging = FetchResponse {
        error_code: ErrorCode::None,
        high_watermark: Some(0),
        leader_id: Some(1),
        leader_epoch: 4,
        diverging_epoch: Some(DivergingEpoch { epoch: 1, end_offset: 2 }),
        snapshot_id: None,
        records: Vec::new(),
    };
    follower.step(2, 1, response(correlation_id, Response::Fetch(diverging.clone())));
    let ready = follower.take_ready();
    assert_eq!(ready.truncate_to, Some(2));
    assert!(ready.messages.is_empty(), "the next fetch waits for the truncation");
    let (_, next_id, body) = requests(&ready).pop().unwrap();
    assert!(matches!(body, Request::Fetch(FetchRequest { fetch_offset: 2, last_fetched_epoch: 1, .. })));
    follower.on_persisted(2, ready.id);
    // A duplicate of the old answer is ignored: it answers a fetch no longer in flight.
    follower.step(3, 1, response(correlation_id, Response::Fetch(diverging)));
    assert!(persist(&mut follower, 3).truncate_to.is_none());
    let records = vec![Entry { offset: 2, epoch: 3, kind: EntryKind::Data, payload: Bytes::new() }];
    let answer = FetchResponse {
        error_code: ErrorCode::None,
        high_watermark: Some(10),
        leader_id: Some(1),
        leader_epoch: 4,
        diverging_epoch: None,
        snapshot_id: None,
        records,
    };
    follower.step(4, 1, response(next_id, Response::Fetch(answer)));
    let ready = persist(&mut follower, 4);
    assert_eq!(ready.append.len(), 1);
    assert_eq!(follower.high_watermark(), 3, "min(leader HW, log end)");
}

#[test]
#[should_panic(expected = "below its high watermark")]
fn truncation_below_the_high_watermark_is_fatal() {
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    let ready = persist(&mut follower, 1);
    let (_, correlation_id, _) = requests(&ready).into_iter().find(|(_, _, b)| matches!(b, Request::Fetch(_))).unwrap();
    let records = entries(&[1, 1, 1]);
    let answer = FetchResponse {
        error_code: ErrorCode::None,
        high_watermark: Some(3),
        leader_id: Some(1),
        leader_epoch: 1,
        diverging_epoch: None,
        snapshot_id: None,
        records,
    };
    follower.step(2, 1, response(correlation_id, Response::Fetch(answer)));
    let ready = persist(&mut follower, 2);
    assert_eq!(follower.high_watermark(), 3);
    let (_, next_id, _) = requests(&ready).pop().unwrap();
    let bad = FetchResponse {
        error_code: ErrorCode::None,
        high_watermark: Some(3),
        leader_id: Some(1),
        leader_epoch: 1,
        diverging_epoch: Some(DivergingEpoch { epoch: 1, end_offset: 1 }),
        snapshot_id: None,
        records: Vec::new(),
    };
    follower.step(3, 1, response(next_id, Response::Fetch(bad)));
}

#[test]
fn follower_high_watermark_never_decreases() {
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    let mut ready = persist(&mut follower, 1);
    for (now, (records, hw)) in [(entries(&[1, 1]), 2), (Vec::new(), 1)].into_iter().enumerate() {
        let (_, correlation_id, _) =
            requests(&ready).into_iter().find(|(_, _, b)| matches!(b, Request::Fetch(_))).unwrap();
        let answer = FetchResponse {
            error_code: ErrorCode::None,
            high_watermark: Some(hw),
            leader_id: Some(1),
            leader_epoch: 1,
            diverging_epoch: None,
            snapshot_id: None,
            records,
        };
        follower.step(2 + now as u64, 1, response(correlation_id, Response::Fetch(answer)));
        ready = persist(&mut follower, 2 + now as u64);
    }
    assert_eq!(follower.high_watermark(), 2);
}

#[test]
fn leader_parks_an_idle_fetch_and_answers_on_new_data() {
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    leader.step(now, 2, request(7, fetch(1, 2, 1, 1, 1)));
    leader.step(now, 3, request(8, fetch(1, 3, 1, 1, 1)));
    assert!(responses(&persist(&mut leader, now)).is_empty(), "caught up: parked");
    assert_eq!(leader.next_deadline(), now + 500, "fetch max wait");
    leader.propose(now + 10, vec![Bytes::from_static(b"y")]).unwrap();
    let ready = persist(&mut leader, now + 10);
    let answered = responses(&ready);
    assert_eq!(answered.len(), 2);
    assert!(answered.iter().all(|(_, r)| matches!(r, Response::Fetch(f) if f.records.len() == 1)));
}

// ---- leadership ----------------------------------------------------------------------------

#[test]
fn leader_resigns_without_quorum_fetches() {
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    // Node 2 keeps fetching until 2000 ms later; node 3 never does. Check-quorum is 3000 ms.
    let mut t = now;
    while t < now + 2000 {
        t += 400;
        leader.step(t, 2, request(t as i32, fetch(1, 2, 1, 1, 0)));
        leader.tick(t);
        persist(&mut leader, t);
    }
    assert_eq!(leader.role(), Role::Leader, "one follower is a majority with the leader");
    let deadline = leader.next_deadline();
    leader.tick(t + 2999);
    assert_eq!(leader.role(), Role::Leader);
    leader.tick(t + 3000);
    assert!(deadline <= t + 3000);
    assert_eq!(leader.role(), Role::Resigned);
    let ready = persist(&mut leader, t + 3000);
    let ends: Vec<_> = requests(&ready)
        .into_iter()
        .filter_map(|(_, _, b)| match b {
            Request::EndQuorumEpoch(e) => Some(e.preferred_candidates),
            _ => None,
        })
        .collect();
    assert_eq!(ends, vec![vec![2, 3], vec![2, 3]], "the most caught-up voter first");
}

#[test]
fn begin_quorum_epoch_is_resent_until_acknowledged() {
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    let ready = persist(&mut leader, now);
    let begins =
        |r: &Ready| requests(r).into_iter().filter(|(_, _, b)| matches!(b, Request::BeginQuorumEpoch(_))).count();
    assert_eq!(begins(&ready), 2);
    assert!(
        ready
            .messages
            .iter()
            .all(|m| !matches!(m.message, Message::Request { body: Request::BeginQuorumEpoch(_), .. })),
        "Begin leaves after the Leader record is durable"
    );
    leader.step(now + 10, 2, request(1, fetch(1, 2, 0, 0, 0)));
    persist(&mut leader, now + 10);
    leader.tick(now + 1000);
    assert_eq!(begins(&persist(&mut leader, now + 1000)), 0, "the first Begin to node 3 is still in flight");
    leader.tick(now + 2000);
    let ready = persist(&mut leader, now + 2000);
    let again: Vec<NodeId> = requests(&ready)
        .into_iter()
        .filter(|(_, _, b)| matches!(b, Request::BeginQuorumEpoch(_)))
        .map(|(to, _, _)| to)
        .collect();
    assert_eq!(again, vec![3], "only the voter that has not fetched");
}

#[test]
fn end_quorum_epoch_shortens_the_fetch_timer_by_position() {
    let mut follower = node(3, &[1, 2, 3]);
    persist(&mut follower, 0);
    follower.step(
        1,
        1,
        request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 1 })),
    );
    persist(&mut follower, 1);
    let end = EndQuorumEpochRequest { leader_id: 1, leader_epoch: 1, preferred_candidates: vec![2, 3] };
    follower.step(10, 1, request(2, Request::EndQuorumEpoch(end)));
    persist(&mut follower, 10);
    // Position 1 of 2: election.backoff.max.ms (1000) >> 1 << 0 = 500 ms.
    follower.tick(509);
    assert_eq!(follower.role(), Role::Follower);
    follower.tick(510);
    assert_eq!(follower.role(), Role::Prospective);
}

#[test]
fn observers_never_vote_and_never_count() {
    let mut observer = node(9, &[1, 2, 3]);
    persist(&mut observer, 0);
    observer.step(1, 1, vote(1, 1, 0, 0, false));
    assert!(!vote_answer(&persist(&mut observer, 1)).vote_granted);
    assert_eq!(observer.election_state().voted_id(), None);
    let mut leader = node(1, &[1, 2, 3]);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    leader.step(now, 9, request(1, fetch(1, 9, 1, 1, 0)));
    persist(&mut leader, now);
    assert_eq!(leader.high_watermark(), 0, "an observer's fetch is not a vote for the HW");
    leader.step(now, 2, request(2, fetch(1, 2, 1, 1, 0)));
    persist(&mut leader, now);
    assert_eq!(leader.high_watermark(), 1);
}

#[test]
fn observer_finds_the_leader_by_asking_voters() {
    let mut observer = node(9, &[1, 2, 3]);
    persist(&mut observer, 0);
    observer.tick(0);
    let ready = persist(&mut observer, 0);
    let (to, correlation_id, _) = requests(&ready).pop().unwrap();
    let answer = FetchResponse {
        error_code: ErrorCode::NotLeaderOrFollower,
        high_watermark: None,
        leader_id: Some(2),
        leader_epoch: 3,
        diverging_epoch: None,
        snapshot_id: None,
        records: Vec::new(),
    };
    observer.step(1, to, response(correlation_id, Response::Fetch(answer)));
    assert_eq!(*observer.election_state(), ElectionState::follower(3, 2, None));
}

// ---- invariant checks fire -------------------------------------------------------------

#[test]
#[should_panic(expected = "flushed beyond the log end")]
fn core_invariants_fire_on_a_flush_beyond_the_log() {
    let mut core = node(1, &[1, 2, 3]);
    core.flushed_end_offset = 5;
    core.check_invariants();
}

#[test]
#[should_panic(expected = "a leader appends only in its own epoch")]
fn core_invariants_fire_on_a_leader_entry_of_another_epoch() {
    let mut leader = node(1, &[1, 2, 3]);
    elect(&mut leader);
    leader.log.truncate_to(0);
    leader.log.append(Entry { offset: 0, epoch: 0, kind: EntryKind::Data, payload: Bytes::new() });
    leader.check_invariants();
}

#[test]
fn recovered_log_must_be_contiguous_with_rising_epochs() {
    let mut gap = entries(&[1, 1, 1]);
    gap.remove(1);
    assert!(RaftLog::recovered(None, gap).unwrap_err().to_string().contains("expected"));
    assert!(RaftLog::recovered(None, entries(&[2, 1])).unwrap_err().to_string().contains("below the previous epoch"));
}

#[test]
fn end_offset_for_epoch_follows_kafkas_table() {
    let log = RaftLog::recovered(None, entries(&[1, 1, 3, 3, 5])).unwrap();
    assert_eq!(log.end_offset_for_epoch(5), Some((5, 5)), "the last epoch ends at the log end");
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 4)));
    assert_eq!(log.end_offset_for_epoch(4), Some((3, 4)), "an unknown epoch: its floor");
    assert_eq!(log.end_offset_for_epoch(2), Some((1, 2)));
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 0)), "nothing at or below: the log start");
    assert_eq!(log.end_offset_for_epoch(6), None, "above the last epoch: undefined");
}

#[test]
fn snapshot_moves_the_log_start_and_answers_old_fetches() {
    let mut log = RaftLog::recovered(None, entries(&[1, 1, 2, 2])).unwrap();
    log.compact_to_snapshot(SnapshotId { end_offset: 3, epoch: 2 });
    assert_eq!((log.start_offset(), log.end_offset(), log.last_epoch()), (3, 4, 2));
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 3)), "the snapshot covers epoch 1");
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 2, voted_id: None };
    let mut leader = node_with(1, &[1, 2, 3], Some(record), log);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    leader.step(now, 2, request(1, fetch(3, 2, 0, 0, 0)));
    let answer = fetch_answer(&persist(&mut leader, now));
    assert_eq!(answer.snapshot_id, Some(SnapshotId { end_offset: 3, epoch: 2 }));
}
