//! Scenario files as a user runs them: a seed replays from its schedule written as a script,
//! the worker count changes nothing, an expected violation is found, and shrinking turns a
//! failing seed into a smaller script that still fails.
#![cfg(madsim)]

use std::path::{Path, PathBuf};

use sim::expectation::SeedVerdict;
use sim::pool::run_seeds;
use sim::scenario_file::{self, FileScenario};
use sim::shrink::{self, Failure};
use sim::{run_seed, Scenario};

fn scenario(name: &str) -> FileScenario {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(format!("{name}.toml"));
    scenario_file::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The seed's drawn schedule, run as a script, is the same run: the same trace hash.
#[test]
fn a_swarm_seed_replays_from_its_schedule_as_a_script() {
    let swarm = scenario("swarm-combined");
    for seed in [2, 3] {
        let schedule = swarm.drawn_schedule(seed);
        assert!(!schedule.is_empty(), "seed {seed} drew no fault");
        let drawn = run_seed(&swarm, seed);
        let text = format!("story = \"replay\"\n{}", schedule.to_toml());
        assert!(text.contains("[[faults.script]]"));
        let scripted = run_seed(&swarm.with_schedule(&schedule), seed);
        assert!(drawn.passed, "{:?}", drawn.failure_lines());
        assert_eq!(drawn.trace_hash, scripted.trace_hash, "seed {seed}: the script is not the same run");
        let steps = drawn.trace_jsonl.lines().filter(|l| l.contains("\"name\":\"fault_step\"")).count();
        assert_eq!(steps, schedule.len(), "every step of the schedule ran");
    }
}

/// Seeds give the same hashes, in the same order, on one worker and on three.
#[test]
fn the_worker_count_changes_no_hash() {
    let partition_leader_crash = scenario("partition-leader-crash");
    let hashes = |jobs| {
        let mut out = Vec::new();
        run_seeds(&partition_leader_crash, &[1, 2, 3, 4], jobs, false, |f| {
            out.push((f.outcome.seed, f.outcome.trace_hash))
        });
        out
    };
    let one = hashes(1);
    assert_eq!(one.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(one, hashes(3));
}

/// The historical switch loses acknowledged records, and the simulator says so.
#[test]
fn kafka_durability_loses_acked_records() {
    let kafka = scenario("power-loss-kafka-durability");
    let outcome = run_seed(&kafka, 1);
    assert_eq!(outcome.verdict, SeedVerdict::Found, "{:?}", outcome.failure_lines());
}

/// A failing seed shrinks to fewer steps that still fail, and the written file replays it.
#[test]
fn shrink_keeps_the_failure_with_fewer_steps() {
    let kafka = scenario("power-loss-kafka-durability");
    let seed = 1;
    let shrunk = shrink::shrink(&kafka, seed, 2, |_, _| {}).expect("seed 1 fails");
    assert_eq!(shrunk.failure, Failure::Violation("AckedRecordsSurvive"));
    assert!(shrunk.minimal.len() < shrunk.original.len(), "{} → {}", shrunk.original.len(), shrunk.minimal.len());
    assert!(shrunk.failure.shown_by(&shrunk.outcome));
    // The file it writes loads, and its run is the minimal run.
    let text = std::fs::read_to_string(&kafka.path).unwrap();
    let file = shrink::scenario_text(&text, &kafka, seed, &shrunk).unwrap();
    let written = scenario_file::parse(Path::new("shrunk.toml"), &file).unwrap_or_else(|e| panic!("{e}\n{file}"));
    assert_eq!(written.name(), "power-loss-kafka-durability-seed1-shrunk");
    assert_eq!(written.drawn_schedule(seed), shrunk.minimal);
    let replay = run_seed(&written, seed);
    assert_eq!(replay.trace_hash, shrunk.outcome.trace_hash, "{file}");
}
