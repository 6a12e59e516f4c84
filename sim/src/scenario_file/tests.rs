//! Scenario files: what loads, and what is refused with its line and key.

use std::path::Path;

use seedlog::runtime::seeded;

use super::{parse, FileError, ScenarioFaults};
use crate::expectation::Expectation;
use crate::faults::{Fault, Target};
use crate::scenario::Scenario;

const MINIMAL: &str = r#"
story = "one broker, one topic, no faults"

[cluster]
brokers = 1

[[topics]]
name = "events"
partitions = 1
replication_factor = 1

[[producers]]
topic = "events"
"#;

fn load(text: &str) -> Result<super::FileScenario, FileError> {
    parse(Path::new("scenarios/example.toml"), text)
}

/// `MINIMAL` with `extra` appended.
fn with(extra: &str) -> Result<super::FileScenario, FileError> {
    load(&format!("{MINIMAL}{extra}"))
}

fn error(text: &str) -> FileError {
    load(text).expect_err("the file should be refused")
}

#[test]
fn a_minimal_file_loads_with_defaults() {
    let s = load(MINIMAL).unwrap();
    assert_eq!(s.name(), "example", "the name defaults to the file's stem");
    assert_eq!(s.expectation(), Expectation::Pass);
    assert_eq!(s.cluster.brokers, 1);
    assert_eq!(s.topics[0].1.producers.len(), 1);
    assert!(matches!(s.faults, ScenarioFaults::None));
    assert!(s.checkers().iter().any(|c| c.name() == "AckedRecordsSurvive"));
}

#[test]
fn a_script_loads_with_roles_and_ranges() {
    let s = with(
        r#"
[[faults.script]]
at = "5s..7s"
action = "kill"
node = "leader:events-0"

[[faults.script]]
at = "9s"
action = "partition"
groups = [["b1"], ["any-broker", "producer"]]
"#,
    );
    let err = s.unwrap_err();
    assert!(err.message.contains("`producer`"), "{err}");
    let s = with(
        r#"
[[faults.script]]
at = "5s..7s"
action = "kill"
node = "leader:events-0"

[[faults.script]]
at = "9s"
action = "clock_jump"
node = "b1"
by = "-3s"
"#,
    )
    .unwrap();
    let schedule = s.schedule(&mut seeded(1));
    assert_eq!(schedule.len(), 2);
    assert!((5_000..=7_000).contains(&schedule.steps()[0].at_ms));
    assert_eq!(
        schedule.steps()[0].fault,
        Fault::Kill { node: Target::Leader { topic: "events".into(), partition: 0 } }
    );
    assert_eq!(schedule.steps()[1].fault, Fault::ClockJump { node: Target::Node("b1".into()), delta_ms: -3_000 });
}

#[test]
fn a_drawn_schedule_written_as_a_script_loads_back_the_same() {
    let s = with(
        r#"
[faults.swarm]
steps = "10..20"
weights = { kill = 1, kill_leader = 1, partition = 1, cut = 1, lag = 1, pause = 1, clock_jump = 1, fail_fsyncs = 1, lull = 1, power_loss = 1 }
restart_after = "100ms..2s"
"#,
    )
    .unwrap();
    for seed in 1..20 {
        let schedule = s.schedule(&mut seeded(seed));
        let script = format!("{MINIMAL}\n{}", schedule.to_toml());
        let replayed = load(&script).unwrap_or_else(|e| panic!("{e}\n{script}"));
        assert_eq!(replayed.schedule(&mut seeded(99)), schedule, "{script}");
    }
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let e = error(&format!("{MINIMAL}\n[[consumers]]\ntopic = \"events\"\nisolaton = \"read_uncommitted\"\n"));
    assert!(e.message.contains("isolaton"), "{e}");
    assert_eq!(e.line, MINIMAL.lines().count() + 4, "{e}");
    assert!(e.to_string().starts_with("scenarios/example.toml:"), "{e}");
}

#[test]
fn errors_name_the_key_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[cluster.config]\n\"min.insync.replicas\" = \"x\"\n",
            "cluster.config.min.insync.replicas",
            "min.insync.replicas",
        ),
        ("[cluster.config]\n\"no.such.key\" = 1\n", "cluster.config.no.such.key", "no.such.key"),
        ("[[faults.script]]\nat = \"5s\"\naction = \"explode\"\n", "faults.script[0].action", "unknown action"),
        ("[[faults.script]]\nat = \"5s\"\naction = \"kill\"\n", "faults.script[0].node", "needs `node`"),
        ("[[faults.script]]\nat = \"5s\"\naction = \"heal\"\nnode = \"b1\"\n", "faults.script[0].node", "takes no"),
        ("[[faults.script]]\nat = \"5 s\"\naction = \"heal\"\n", "faults.script[0].at", "unknown unit"),
        ("[[faults.script]]\nat = \"5s\"\naction = \"kill\"\nnode = \"b4\"\n", "faults.script[0].node", "no node `b4`"),
        (
            "[[faults.script]]\nat = \"5s\"\naction = \"kill\"\nnode = \"leader:events-3\"\n",
            "faults.script[0].node",
            "no partition 3",
        ),
        ("[faults.swarm]\nweights = { earthquake = 1 }\n", "faults.swarm.weights.earthquake", "unknown fault kind"),
        ("[[faults.script]]\nat = \"5s\"\naction = \"kill\"\nnode = \"rest\"\n", "faults.script[0].node", "group"),
        ("[[consumers]]\ntopic = \"events\"\nmode = \"group\"\n", "consumers[0].mode", "not built yet"),
        ("[[consumers]]\ntopic = \"nope\"\n", "consumers[0].topic", "not a topic"),
    ];
    for (extra, key, says) in cases {
        let e = with(extra).expect_err(extra);
        assert_eq!(e.key, *key, "{e}");
        assert!(e.message.contains(says), "{e} should say {says}");
        assert!(e.line > MINIMAL.lines().count(), "{e}: line");
    }
}

#[test]
fn the_expected_checker_must_be_one_the_scenario_runs() {
    let e = load(&format!("expect = \"violation:RaftSingleLeader\"\ncheckers = [\"clients\"]\n{MINIMAL}")).unwrap_err();
    assert_eq!((e.key.as_str(), e.line), ("expect", 1), "{e}");
    let s = load(&format!("expect = \"violation:AckedRecordsSurvive\"\ncheckers = [\"clients\"]\n{MINIMAL}")).unwrap();
    assert_eq!(s.expectation(), Expectation::Violation("AckedRecordsSurvive"));
    let e = load(&format!("checkers = [\"clients\", \"Nonsense\"]\n{MINIMAL}")).unwrap_err();
    assert!(e.message.contains("unknown checker `Nonsense`"), "{e}");
}

#[test]
fn every_file_in_scenarios_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = super::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!scenarios.is_empty());
    let mut names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), scenarios.len(), "two files share a name");
}
