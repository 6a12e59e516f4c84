//! `cargo sim explore` on a small budget: the corpus grows past the plain seeds it starts
//! from, and every failing run is written as a scenario file that loads back and replays the
//! run exactly.
#![cfg(madsim)]

use std::path::{Path, PathBuf};

use sim::explore::command::write_failure;
use sim::explore::{explore, ExploreConfig, Origin};
use sim::run_seed;
use sim::scenario_file::{self, FileScenario};

fn scenario(name: &str) -> FileScenario {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(format!("{name}.toml"));
    scenario_file::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// `power-loss-kafka-durability` loses acknowledged records in most seeds: a small budget
/// finds failures, and mutants of the plain seeds reach states the plain seeds did not.
#[test]
fn exploration_keeps_new_states_and_writes_failures_that_replay() {
    let kafka = scenario("power-loss-kafka-durability");
    let config = ExploreConfig { budget: 10, seed: 1, jobs: 2, plain_seeds: 2 };
    let dir = std::env::temp_dir().join(format!("seedlog-explore-test-{}", std::process::id()));
    let original_text = std::fs::read_to_string(&kafka.path).unwrap();
    let mut written = Vec::new();
    let mut batches = Vec::new();
    let explored = explore(
        &kafka,
        &config,
        |state| batches.push(state.runs.len()),
        |run| {
            let path = write_failure(&dir, &original_text, &kafka, &config, run, written.len() + 1).unwrap();
            written.push((run.clone(), path));
        },
    );
    assert_eq!(explored.runs.len(), 10);
    assert_eq!(batches, [8, 10], "a progress report after every batch");
    let plain_kept = explored.corpus.iter().filter(|i| explored.runs[**i].origin == Origin::Plain).count();
    assert!(plain_kept >= 1 && explored.corpus.len() > plain_kept, "no mutant reached a new state");
    assert!(explored.runs.iter().any(|r| r.origin != Origin::Plain && r.new_states > 0));
    assert!(!written.is_empty(), "no run lost acknowledged records");
    assert_eq!(written.len(), explored.failures.len());
    // The first failing run's file loads back into its schedule and replays it exactly.
    let (run, path) = &written[0];
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with(&format!("# {}-explore-1\n", kafka.name)), "{text}");
    let reloaded = scenario_file::parse(path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reloaded.drawn_schedule(run.seed), run.schedule);
    assert_eq!(run_seed(&reloaded, run.seed).trace_hash, run.trace_hash, "the file does not replay the run");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The worker count changes nothing: the same runs, seeds, schedules and hashes in the same
/// order on one worker and on three.
#[test]
fn the_worker_count_changes_no_run() {
    let truncate = scenario("swarm-truncate-to-hw");
    let runs = |jobs| {
        let config = ExploreConfig { budget: 12, seed: 5, jobs, plain_seeds: 3 };
        let explored = explore(&truncate, &config, |_| {}, |_| {});
        let runs: Vec<_> = explored.runs.iter().map(|r| (r.seed, r.schedule.clone(), r.trace_hash)).collect();
        (runs, explored.coverage.len(), explored.corpus)
    };
    let one = runs(1);
    assert!(one.0.iter().skip(3).any(|(_, _, hash)| !one.0[..3].iter().any(|(_, _, h)| h == hash)), "no mutant ran");
    assert_eq!(one, runs(3));
}
