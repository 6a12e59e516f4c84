//! The `controller-leader-crash` scenario: the Raft driver keeps Raft's safety through leader
//! crashes (also mid-election), partitions and one-way cuts, commits again after the heal,
//! replays, and a driver that sends its vote before persisting it is caught.
#![cfg(madsim)]

use seedlog::raft::DriverFault;
use sim::scenarios::ControllerLeaderCrash;
use sim::{run_seed, run_seed_checking_determinism};

const HONEST: ControllerLeaderCrash = ControllerLeaderCrash { fault: None };
const VOTE_BEFORE_PERSIST: ControllerLeaderCrash =
    ControllerLeaderCrash { fault: Some(DriverFault::SendVoteBeforePersist) };

#[test]
fn raft_stays_safe_through_leader_crashes_and_commits_after_the_heal() {
    for seed in 1..=10 {
        let outcome = run_seed(&HONEST, seed);
        assert!(outcome.passed, "seed {seed}: {:?}", outcome.failure_lines());
        let trace = &outcome.trace_jsonl;
        assert!(trace.contains("\"node_killed\""), "seed {seed} never crashed a controller");
        assert!(trace.contains("\"raft_vote_granted\""), "seed {seed} held no election");
        assert!(trace.contains("\"raft_high_watermark\""), "seed {seed} committed nothing");
        // More than one leader epoch: the crashes forced new elections.
        let leaders = trace.matches("\"to_state\":\"Leader\"").count();
        assert!(leaders >= 2, "seed {seed}: only {leaders} leader elections");
    }
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    let outcome = run_seed_checking_determinism(&HONEST, 3);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    assert_ne!(outcome.trace_hash, run_seed(&HONEST, 4).trace_hash);
}

#[test]
fn a_vote_sent_before_it_is_durable_is_caught() {
    let caught = (1..=5)
        .map(|seed| run_seed(&VOTE_BEFORE_PERSIST, seed))
        .filter(|outcome| {
            outcome
                .violations
                .iter()
                .any(|v| v.checker == "RaftVotePersistedFirst" || v.checker == "RaftOneVotePerEpoch")
        })
        .count();
    assert_eq!(caught, 5, "a vote sent before its quorum-state write went unnoticed on some seeds");
}
