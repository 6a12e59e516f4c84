//! The property: 3 or 5 cores (plus an observer) under a network that delays, re-orders,
//! duplicates and drops, with crashes that lose unpersisted state, partitions and proposals,
//! checked after every step against §6's Raft invariants (see `harness.rs`); then, once the
//! faults stop, a leader must be elected and a new proposal committed on every voter within
//! a bound. The last tests break the core on purpose and require the harness to notice.
//!
//! Seeds: `RAFT_SEEDS=n` runs n seeds per test instead of the default (a failing seed is
//! printed in every violation).

use super::config::RaftConfig;
use super::core::TestFault;
use super::harness::{Cluster, Faults, Stats};
use super::messages::Offset;

/// Faults for this long, then healing and the liveness bound.
const FAULTY_MS: u64 = 20_000;
/// After healing: elections take up to ~2 election timeouts plus backoff, and a crashed
/// leader's followers wait out the fetch timeout first; 15 s is several of each.
const LIVENESS_BOUND_MS: u64 = 15_000;

fn seeds(default: u64) -> u64 {
    std::env::var("RAFT_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Runs one seed: faults, then healing and the liveness check. Returns the violations.
fn run_seed(seed: u64, voters: i32, config: RaftConfig, faults: Faults, stats: &mut Stats) -> Vec<String> {
    let mut cluster = Cluster::new(seed, voters, 1, config, faults);
    cluster.run_until(FAULTY_MS);
    cluster.heal();
    let healed_at = cluster.now;
    let mut probe: Option<Offset> = None;
    let mut t = healed_at;
    while t < healed_at + LIVENESS_BOUND_MS {
        t += 100;
        cluster.run_until(t);
        if probe.is_none_or(|p| cluster.core(cluster.leader().unwrap_or(1)).is_some_and(|c| c.log_end_offset() <= p)) {
            // (Re-)propose once a leader exists, or if the last probe was truncated away.
            probe = cluster.propose_on_leader().map(|(_, offset)| offset);
        }
        if probe.is_some_and(|p| cluster.committed_everywhere(p)) {
            stats.add(&cluster.stats);
            let mut violations = cluster.violations.clone();
            // Every proposal has its own payload: one committed twice was appended twice.
            let data = cluster.committed_data();
            let unique: std::collections::BTreeSet<_> = data.iter().collect();
            if unique.len() != data.len() {
                violations.push(format!("NoDuplicateCommit (seed {seed}): a proposal was committed twice"));
            }
            return violations;
        }
    }
    stats.add(&cluster.stats);
    let mut violations = cluster.violations.clone();
    let states: Vec<String> = cluster
        .ids
        .iter()
        .map(|id| match cluster.core(*id) {
            Some(c) => format!("{id}: {:?} hw={} leo={}", c.election_state(), c.high_watermark(), c.log_end_offset()),
            None => format!("{id}: down"),
        })
        .collect();
    violations.push(format!(
        "Liveness (seed {seed}): no proposal committed on every voter within {LIVENESS_BOUND_MS} ms of healing; {states:?}"
    ));
    violations
}

/// Runs seeds 1..=count (all of them, or up to the first failing one when `stop_at_failure`).
fn run_seeds(count: u64, voters: i32, config: RaftConfig, faults: Faults) -> (u64, Vec<String>, Stats) {
    run_seeds_until(count, voters, config, faults, false)
}

fn run_seeds_until(
    count: u64,
    voters: i32,
    config: RaftConfig,
    faults: Faults,
    stop_at_failure: bool,
) -> (u64, Vec<String>, Stats) {
    let mut failing = 0;
    let mut all = Vec::new();
    let mut stats = Stats::default();
    for seed in 1..=count {
        let violations = run_seed(seed, voters, config.clone(), faults.clone(), &mut stats);
        if !violations.is_empty() {
            failing += 1;
            all.extend(violations);
            if stop_at_failure {
                break;
            }
        }
    }
    println!("{count} seeds, {voters} voters: {stats:?}");
    (failing, all, stats)
}

/// The faults must have bitten: leaders came and went, crashed leaders restarted Resigned,
/// followers truncated, and a lot was committed.
fn assert_exercised(stats: &Stats, seeds: u64) {
    assert!(stats.crashes >= seeds, "{stats:?}");
    assert!(stats.leaders >= 2 * seeds, "{stats:?}");
    assert!(stats.restarts_resigned > 0, "{stats:?}");
    assert!(stats.truncations > 0, "{stats:?}");
    assert!(stats.committed >= 30 * seeds, "{stats:?}");
    assert!(stats.snapshots_installed > 0, "{stats:?}");
}

/// Timers close to the network's delays, so elections are often contested (two candidates in
/// one epoch): the situation in which a forgotten vote turns into a second vote.
fn contested() -> RaftConfig {
    RaftConfig {
        election_timeout_ms: 40,
        fetch_timeout_ms: 150,
        election_backoff_max_ms: 60,
        request_timeout_ms: 35,
        fetch_max_wait_ms: 20,
        ..RaftConfig::default()
    }
}

#[test]
fn contested_elections_keep_every_invariant() {
    let (failing, violations, stats) = run_seeds(seeds(12), 5, contested(), Faults::crashy());
    assert_eq!(failing, 0, "{violations:#?}");
    assert_exercised(&stats, seeds(12));
}

/// A seed is a bug report only if it replays: the same seed gives the same run, event for
/// event (same messages, crashes, leaders, commits), and another seed a different one.
#[test]
fn same_seed_same_run() {
    let run = |seed: u64| {
        let mut cluster = Cluster::new(seed, 3, 1, RaftConfig::default(), Faults::rough());
        cluster.run_until(8_000);
        let states: Vec<String> = cluster
            .ids
            .iter()
            .map(|id| format!("{:?}", cluster.core(*id).map(|c| c.election_state().clone())))
            .collect();
        (format!("{:?}", cluster.stats), cluster.committed_data(), states)
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5).0, run(6).0);
}

#[test]
fn quiet_cluster_elects_a_leader_and_commits() {
    let mut cluster = Cluster::new(7, 3, 1, RaftConfig::default(), Faults::none());
    cluster.run_until(10_000);
    assert!(cluster.violations.is_empty(), "{:#?}", cluster.violations);
    let leader = cluster.leader().expect("a leader within 10 s");
    let hw = cluster.core(leader).unwrap().high_watermark();
    assert!(hw > 10, "proposals commit (hw {hw})");
    for id in cluster.ids.clone() {
        let core = cluster.core(id).unwrap();
        assert!(core.high_watermark() + 10 >= hw, "node {id} keeps up: {}", core.high_watermark());
    }
    // The observer fetched the log but never counted: it holds the committed prefix too.
    assert!(cluster.core(101).unwrap().high_watermark() > 0);
}

#[test]
fn three_voters_keep_every_invariant_under_faults() {
    let (failing, violations, stats) = run_seeds(seeds(24), 3, RaftConfig::default(), Faults::rough());
    assert_eq!(failing, 0, "{violations:#?}");
    assert_exercised(&stats, seeds(24));
}

#[test]
fn five_voters_keep_every_invariant_under_faults() {
    let (failing, violations, stats) = run_seeds(seeds(12), 5, RaftConfig::default(), Faults::rough());
    assert_eq!(failing, 0, "{violations:#?}");
    assert_exercised(&stats, seeds(12));
}

/// A core that forgets its vote on restart can vote twice in an epoch: the harness must see it.
#[test]
fn checker_catches_a_core_that_forgets_its_vote_on_restart() {
    let config = RaftConfig { fault: Some(TestFault::ForgetVoteOnRestart), ..contested() };
    let (failing, violations, _) = run_seeds_until(seeds(24), 5, config, Faults::crashy(), true);
    assert!(failing > 0, "no seed caught the forgotten vote");
    assert!(violations.iter().any(|v| v.starts_with("OneVotePerEpoch")), "{violations:#?}");
}

/// A core that grants votes to stale logs: the harness must see it.
#[test]
fn checker_catches_votes_granted_without_the_log_check() {
    let config = RaftConfig { fault: Some(TestFault::GrantVotesWithoutLogCheck), ..contested() };
    let (failing, violations, _) = run_seeds_until(seeds(24), 5, config, Faults::crashy(), true);
    assert!(failing > 0, "no seed caught the stale vote");
    assert!(violations.iter().any(|v| v.starts_with("UpToDateVoting")), "{violations:#?}");
}

/// A leader that counts records it has not fsynced toward the high watermark (Kafka's order,
/// which REPLICATION.md §1.7 calls loose): the harness must see an entry committed with fewer
/// than a majority of durable copies.
#[test]
fn checker_catches_a_leader_counting_its_unflushed_log_end() {
    let config = RaftConfig { fault: Some(TestFault::CountUnflushedLeaderEnd), ..contested() };
    let (failing, violations, _) = run_seeds_until(seeds(24), 5, config, Faults::crashy(), true);
    assert!(failing > 0, "no seed caught the early count");
    assert!(violations.iter().any(|v| v.starts_with("CurrentEpochCommit")), "{violations:#?}");
}

/// A leader whose snapshot chunks arrive corrupted: the installed snapshot is not the
/// committed entries, and the harness must see it.
#[test]
fn checker_catches_a_corrupt_snapshot_transfer() {
    let config = RaftConfig { fault: Some(TestFault::ServeCorruptSnapshot), ..RaftConfig::default() };
    let (failing, violations, _) = run_seeds_until(seeds(24), 3, config, Faults::rough(), true);
    assert!(failing > 0, "no seed caught the corrupt snapshot");
    assert!(violations.iter().any(|v| v.starts_with("SnapshotIdsAreValid")), "{violations:#?}");
}

/// How often each broken variant is caught (by hand: `cargo test --lib raft::cluster_tests::
/// detection_rates -- --ignored --nocapture`). At the time of writing, 50 seeds of the
/// contested 5-voter setting caught each in 44–46 seeds.
#[test]
#[ignore]
fn detection_rates() {
    for fault in
        [TestFault::ForgetVoteOnRestart, TestFault::GrantVotesWithoutLogCheck, TestFault::CountUnflushedLeaderEnd]
    {
        for (name, config, faults, voters) in
            [("rough3", RaftConfig::default(), Faults::rough(), 3), ("contested5", contested(), Faults::crashy(), 5)]
        {
            let config = RaftConfig { fault: Some(fault), ..config };
            let (failing, _, _) = run_seeds(seeds(50), voters, config, faults);
            println!("{fault:?} {name}: {failing}/{}", seeds(50));
        }
    }
}

/// Replays one seed (by hand): `RAFT_SEED=121 RAFT_VOTERS=5 RAFT_SETTING=rough cargo test --lib
/// raft::cluster_tests::replay_seed -- --ignored --nocapture` (`RAFT_SETTING=contested` for the
/// contested-election setting).
#[test]
#[ignore]
fn replay_seed() {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let seed: u64 = var("RAFT_SEED", "1").parse().unwrap();
    let voters: i32 = var("RAFT_VOTERS", "3").parse().unwrap();
    let (config, faults) = match var("RAFT_SETTING", "rough").as_str() {
        "contested" => (contested(), Faults::crashy()),
        _ => (RaftConfig::default(), Faults::rough()),
    };
    let mut stats = Stats::default();
    let violations = run_seed(seed, voters, config, faults, &mut stats);
    println!("{stats:?}");
    assert!(violations.is_empty(), "{violations:#?}");
}
