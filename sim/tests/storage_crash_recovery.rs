//! The `storage-crash-recovery` scenario: it passes, replays, and its checker catches a
//! disk whose fsync lies.
#![cfg(madsim)]

use sim::scenarios::StorageCrashRecovery;
use sim::{run_seed, run_seed_checking_determinism};

const HONEST: StorageCrashRecovery = StorageCrashRecovery { lying_fsync: false };
const LYING: StorageCrashRecovery = StorageCrashRecovery { lying_fsync: true };

#[test]
fn the_synced_prefix_survives_every_crash() {
    for seed in 1..=20 {
        let outcome = run_seed(&HONEST, seed);
        assert!(outcome.passed, "seed {seed}: {:?}", outcome.failure_lines());
        assert!(outcome.trace_jsonl.contains("\"log_recovered\""), "seed {seed} never recovered");
    }
}

#[test]
fn a_seed_replays_to_the_same_trace_and_seeds_differ() {
    let first = run_seed_checking_determinism(&HONEST, 42);
    assert!(first.passed, "{:?}", first.failure_lines());
    let again = run_seed(&HONEST, 42);
    assert_eq!(first.trace_hash, again.trace_hash);
    assert_ne!(first.trace_hash, run_seed(&HONEST, 43).trace_hash);
}

#[test]
fn a_lying_fsync_is_caught() {
    for seed in 1..=10 {
        let outcome = run_seed(&LYING, seed);
        assert!(!outcome.passed, "seed {seed}: synced data was lost but no checker noticed");
        eprintln!("seed {seed}: {}", outcome.failure_lines().join(" / "));
        assert!(
            outcome.violations.iter().any(|v| v.checker == "SyncedPrefixIntact"),
            "seed {seed}: {:?}",
            outcome.failure_lines()
        );
    }
}
