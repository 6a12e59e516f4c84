//! The `single-broker-crash` scenario: the production broker in the simulator keeps the
//! single-broker guarantee across crashes, replays, and its checkers catch a lying disk.
#![cfg(madsim)]

use sim::scenarios::SingleBrokerCrash;
use sim::{run_seed, run_seed_checking_determinism};

const HONEST: SingleBrokerCrash = SingleBrokerCrash { lying_fsync: false };
const LYING: SingleBrokerCrash = SingleBrokerCrash { lying_fsync: true };

#[test]
fn acked_records_survive_crashes_and_reads_are_never_taken_back() {
    for seed in 1..=10 {
        let outcome = run_seed(&HONEST, seed);
        assert!(outcome.passed, "seed {seed}: {:?}", outcome.failure_lines());
        assert!(outcome.trace_jsonl.contains("\"record_audited\""), "seed {seed} audited nothing");
        assert!(outcome.trace_jsonl.contains("\"node_killed\""), "seed {seed} never crashed the broker");
    }
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    let outcome = run_seed_checking_determinism(&HONEST, 7);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    assert_ne!(outcome.trace_hash, run_seed(&HONEST, 8).trace_hash);
}

#[test]
fn a_broker_on_a_lying_disk_is_caught_losing_acked_records() {
    let caught = (1..=5)
        .map(|seed| run_seed(&LYING, seed))
        .filter(|outcome| outcome.violations.iter().any(|v| v.checker == "AckedRecordsSurvive"))
        .count();
    assert!(caught >= 4, "acked records vanished on a lying disk, but only {caught} of 5 seeds noticed");
}
