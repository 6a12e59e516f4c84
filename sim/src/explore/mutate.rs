//! Mutations: how exploration makes a new candidate run from a kept one.
//!
//! A candidate is a seed and a fault schedule (plain data, see `faults/schedule.rs`). A
//! mutation changes one thing about it, drawn with the explorer's own seeded RNG, so the same
//! `--seed` makes the same candidates:
//!
//! - **shift**: one step moves by up to ±[`MAX_SHIFT_MS`], within the scenario's fault window;
//! - **add**: one fault from the scenario's menu ([`FaultMenu`]) at a time drawn in the window
//!   (a kill the swarm restarts later comes with its restart, the same gap after). For a
//!   swarm the menu is its own kinds, drawn with its own ranges, but each kind with a weight
//!   above zero equally likely: the weights say what plain seeds should mostly try, while
//!   exploration is there to try what they rarely do;
//! - **drop**: one step goes;
//! - **swap**: two steps at different times exchange their times (their order flips);
//! - **retarget**: one node a step names (a killed node, one end of a cut, a member of a
//!   partition's group) becomes another node of the cluster — a kill of a controller that
//!   reached a new state becomes a kill of a broker in the same situation;
//! - **reseed**: the schedule stays, the seed changes (latencies, the workload, the disks).
//!
//! A mutation that cannot apply (shift, drop, swap or retarget on too few steps or nodes)
//! becomes an add, and an add to a schedule at [`MAX_STEPS`] becomes a drop, so every
//! candidate differs from its parent in one drawn way (the loop in `explore/mod.rs` stacks
//! several). The result is a [`FaultSchedule`], sorted by construction.

use std::time::Duration;

use rand::Rng;
use seedlog::runtime::{seeded, NodeRng};

use crate::faults::{Fault, FaultSchedule, ScheduledFault, SwarmSpec, Target};
use crate::scenario_file::{FileScenario, ScenarioFaults};

/// The furthest a shift moves a step, ms.
pub const MAX_SHIFT_MS: u64 = 3_000;
/// The longest schedule an add makes.
pub const MAX_STEPS: usize = 32;

/// A kind of mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutation {
    Shift,
    Add,
    Drop,
    Swap,
    Retarget,
    Reseed,
}

impl Mutation {
    pub const ALL: [Mutation; 6] =
        [Mutation::Shift, Mutation::Add, Mutation::Drop, Mutation::Swap, Mutation::Retarget, Mutation::Reseed];

    pub fn name(self) -> &'static str {
        match self {
            Mutation::Shift => "shift",
            Mutation::Add => "add",
            Mutation::Drop => "drop",
            Mutation::Swap => "swap",
            Mutation::Retarget => "retarget",
            Mutation::Reseed => "reseed",
        }
    }
}

/// What an add may draw from, and the window fault times stay in.
///
/// Invariants: `window_ms.0 <= window_ms.1`.
#[derive(Clone, Debug)]
pub struct FaultMenu {
    source: MenuSource,
    /// Fault times stay in this window, ms since the run started, inclusive.
    pub window_ms: (u64, u64),
    /// The cluster's node names, for retargeting.
    nodes: Vec<String>,
}

#[derive(Clone, Debug)]
enum MenuSource {
    /// A swarm scenario: steps of fresh draws of its swarm with every kind it allows at weight
    /// 1 and no mixing, over its brokers and controllers.
    Swarm { swarm: Box<SwarmSpec>, brokers: Vec<String>, controllers: Vec<String> },
    /// A scripted scenario (or one without faults): its own steps, and kills, restarts, pauses,
    /// resumes, cuts, partitions and heals of its nodes.
    Faults(Vec<Fault>),
}

impl FaultMenu {
    /// The menu of `scenario`.
    pub fn of(scenario: &FileScenario) -> FaultMenu {
        match &scenario.faults {
            ScenarioFaults::Swarm(swarm) => {
                let restart_ms = swarm.restart_after_ms.map_or(0, |r| r.1);
                let last = swarm.start_ms + swarm.steps.1 * (swarm.gap_ms.1 + restart_ms);
                let mut uniform = SwarmSpec { mix: false, ..swarm.clone() };
                for w in uniform.weights.iter_mut().filter(|w| **w > 0) {
                    *w = 1;
                }
                let brokers = (1..=scenario.cluster.brokers).map(|i| format!("b{i}")).collect();
                let controllers = (1..=scenario.cluster.controllers).map(|i| format!("c{i}")).collect();
                FaultMenu {
                    source: MenuSource::Swarm { swarm: Box::new(uniform), brokers, controllers },
                    window_ms: (swarm.start_ms, last),
                    nodes: node_names(scenario),
                }
            }
            ScenarioFaults::Script(steps) => {
                let mut faults = node_faults(&node_names(scenario));
                faults.extend(steps.iter().map(|s| s.fault.clone()));
                let first = steps.iter().map(|s| s.at_ms.0).min().unwrap_or(DEFAULT_WINDOW_MS.0);
                let last = steps.iter().map(|s| s.at_ms.1).max().unwrap_or(DEFAULT_WINDOW_MS.1).max(first);
                FaultMenu { source: MenuSource::Faults(faults), window_ms: (first, last), nodes: node_names(scenario) }
            }
            ScenarioFaults::None => FaultMenu {
                source: MenuSource::Faults(node_faults(&node_names(scenario))),
                window_ms: DEFAULT_WINDOW_MS,
                nodes: node_names(scenario),
            },
        }
    }

    /// One or two steps to add (a fault, and the restart that follows a swarm's kill).
    fn draw(&self, rng: &mut NodeRng) -> Vec<ScheduledFault> {
        let at_ms = rng.random_range(self.window_ms.0..=self.window_ms.1);
        match &self.source {
            MenuSource::Faults(faults) => {
                vec![ScheduledFault { at_ms, fault: faults[rng.random_range(0..faults.len())].clone() }]
            }
            MenuSource::Swarm { swarm, brokers, controllers } => {
                // A few fresh draws: a swarm may draw no step (a partition of one node).
                for _ in 0..8 {
                    let drawn = swarm.draw(&mut seeded(rng.random()), brokers, controllers);
                    let steps = drawn.steps();
                    if steps.is_empty() {
                        continue;
                    }
                    let i = rng.random_range(0..steps.len());
                    let mut out = vec![ScheduledFault { at_ms, fault: steps[i].fault.clone() }];
                    if let (Fault::Kill { .. }, Some(next)) = (&steps[i].fault, steps.get(i + 1)) {
                        if matches!(next.fault, Fault::Restart { .. }) {
                            let gap = next.at_ms - steps[i].at_ms;
                            out.push(ScheduledFault { at_ms: at_ms + gap, fault: next.fault.clone() });
                        }
                    }
                    return out;
                }
                vec![ScheduledFault { at_ms, fault: Fault::Heal }]
            }
        }
    }
}

/// The window of a scenario without scripted or swarm times, ms.
const DEFAULT_WINDOW_MS: (u64, u64) = (5_000, 30_000);

/// The scenario's node names: `b1`…, then `c1`… (none in combined mode).
fn node_names(scenario: &FileScenario) -> Vec<String> {
    let mut names: Vec<String> = (1..=scenario.cluster.brokers).map(|i| format!("b{i}")).collect();
    names.extend((1..=scenario.cluster.controllers).map(|i| format!("c{i}")));
    names
}

/// Kills, restarts, pauses, resumes of each node, cuts between each pair, each node
/// partitioned from the rest, and a heal.
fn node_faults(nodes: &[String]) -> Vec<Fault> {
    let node = |n: &String| Target::Node(n.clone());
    let mut faults = vec![Fault::Heal];
    for n in nodes {
        faults.push(Fault::Kill { node: node(n) });
        faults.push(Fault::Restart { node: node(n) });
        faults.push(Fault::Pause { node: node(n) });
        faults.push(Fault::Resume { node: node(n) });
        if nodes.len() >= 2 {
            let rest: Vec<Target> = nodes.iter().filter(|m| *m != n).map(node).collect();
            faults.push(Fault::Partition { groups: vec![vec![node(n)], rest] });
        }
        for m in nodes.iter().filter(|m| *m != n) {
            faults.push(Fault::Cut { from: node(n), to: node(m) });
            faults.push(Fault::Lag { from: node(n), to: node(m), delay: Duration::from_millis(500) });
        }
    }
    faults
}

/// Where a shift may move a step at `at_ms`: up to [`MAX_SHIFT_MS`] either way, within `window`
/// (a step outside it may stay where it is). Invariants of the result: `lo <= at_ms <= hi`.
fn shift_range(at_ms: u64, window: (u64, u64)) -> (u64, u64) {
    let lo = at_ms.saturating_sub(MAX_SHIFT_MS).max(window.0).min(at_ms);
    let hi = (at_ms + MAX_SHIFT_MS).min(window.1).max(at_ms);
    (lo, hi)
}

/// The targets of `fault` that name one node, to retarget.
fn named_nodes(fault: &mut Fault) -> Vec<&mut Target> {
    let targets: Vec<&mut Target> = match fault {
        Fault::Kill { node }
        | Fault::Restart { node }
        | Fault::Pause { node }
        | Fault::Resume { node }
        | Fault::HealDisk { node }
        | Fault::ClockJump { node, .. }
        | Fault::ClockSkew { node, .. }
        | Fault::FailFsyncs { node, .. }
        | Fault::CorruptReads { node, .. }
        | Fault::FillDisk { node, .. }
        | Fault::KillDuringFsync { node, .. }
        | Fault::CutAfterFetchAnswer { node } => vec![node],
        Fault::Cut { from, to } | Fault::Lag { from, to, .. } => vec![from, to],
        Fault::Partition { groups } => groups.iter_mut().flatten().collect(),
        Fault::Heal | Fault::AwaitConvergence { .. } | Fault::RestartAtElectionStart => vec![],
    };
    targets.into_iter().filter(|t| t.node().is_some()).collect()
}

/// The nodes of `nodes` that `fault` does not name (a retargeted cut never cuts a node from
/// itself, a partition never puts a node in two groups).
fn unnamed(fault: &mut Fault, nodes: &[String]) -> Vec<String> {
    let named: Vec<String> = named_nodes(fault).iter().filter_map(|t| t.node().map(str::to_string)).collect();
    nodes.iter().filter(|n| !named.contains(n)).cloned().collect()
}

/// A mutated candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutant {
    pub seed: u64,
    pub schedule: FaultSchedule,
    pub mutation: Mutation,
}

/// `(seed, schedule)` changed by one mutation drawn with `rng` (see the module header).
pub fn mutate(seed: u64, schedule: &FaultSchedule, menu: &FaultMenu, rng: &mut NodeRng) -> Mutant {
    let drawn = Mutation::ALL[rng.random_range(0..Mutation::ALL.len())];
    let mut steps: Vec<ScheduledFault> = schedule.steps().to_vec();
    let distinct_times = steps.windows(2).any(|w| w[0].at_ms != w[1].at_ms);
    let retargetable: Vec<usize> = (0..steps.len())
        .filter(|i| {
            let mut fault = steps[*i].fault.clone();
            !named_nodes(&mut fault).is_empty() && !unnamed(&mut fault, &menu.nodes).is_empty()
        })
        .collect();
    let mut mutation = match drawn {
        Mutation::Shift | Mutation::Drop if steps.is_empty() => Mutation::Add,
        Mutation::Swap if !distinct_times => Mutation::Add,
        Mutation::Retarget if retargetable.is_empty() => Mutation::Add,
        Mutation::Add if steps.len() >= MAX_STEPS => Mutation::Drop,
        m => m,
    };
    let mut seed = seed;
    match mutation {
        Mutation::Shift => {
            let i = rng.random_range(0..steps.len());
            let (lo, hi) = shift_range(steps[i].at_ms, menu.window_ms);
            if lo == hi {
                steps.extend(menu.draw(rng));
                mutation = Mutation::Add;
            } else {
                // A time in lo..=hi other than the step's own.
                let moved = rng.random_range(lo..hi);
                steps[i].at_ms = if moved >= steps[i].at_ms { moved + 1 } else { moved };
            }
        }
        Mutation::Add => steps.extend(menu.draw(rng)),
        Mutation::Drop => {
            steps.remove(rng.random_range(0..steps.len()));
        }
        Mutation::Swap => loop {
            let (i, j) = (rng.random_range(0..steps.len()), rng.random_range(0..steps.len()));
            if steps[i].at_ms != steps[j].at_ms {
                let (a, b) = (steps[i].at_ms, steps[j].at_ms);
                steps[i].at_ms = b;
                steps[j].at_ms = a;
                break;
            }
        },
        Mutation::Retarget => {
            let i = retargetable[rng.random_range(0..retargetable.len())];
            let others = unnamed(&mut steps[i].fault, &menu.nodes);
            let mut slots = named_nodes(&mut steps[i].fault);
            let slot = rng.random_range(0..slots.len());
            *slots[slot] = Target::Node(others[rng.random_range(0..others.len())].clone());
        }
        Mutation::Reseed => {
            let old = seed;
            while seed == old {
                seed = rng.random_range(1..=u64::from(u32::MAX));
            }
        }
    }
    Mutant { seed, schedule: FaultSchedule::new(steps), mutation }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::scenario_file;

    const SWARM: &str = r#"
story = "a swarm"
[cluster]
brokers = 3
controllers = 3
[[topics]]
name = "events"
partitions = 1
replication_factor = 3
[[producers]]
topic = "events"
[faults.swarm]
start = "5s"
steps = "2..4"
gap = "200ms..2s"
weights = { kill = 1, lag = 1, clock_jump = 1 }
restart_after = "1s..2s"
"#;

    const SCRIPT: &str = r#"
story = "a script"
[cluster]
brokers = 3
[[topics]]
name = "events"
partitions = 1
replication_factor = 3
[[producers]]
topic = "events"
[[faults.script]]
at = "6s..8s"
action = "kill"
node = "b1"
[[faults.script]]
at = "10s"
action = "restart"
node = "b1"
"#;

    fn scenario(text: &str) -> FileScenario {
        scenario_file::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Mutates `rounds` times, each from the previous mutant.
    fn chain(scenario: &FileScenario, explorer_seed: u64, rounds: usize) -> Vec<Mutant> {
        let menu = FaultMenu::of(scenario);
        let mut rng = seeded(explorer_seed);
        let (mut seed, mut schedule) = (1, scenario.drawn_schedule(1));
        (0..rounds)
            .map(|_| {
                let mutant = mutate(seed, &schedule, &menu, &mut rng);
                (seed, schedule) = (mutant.seed, mutant.schedule.clone());
                mutant
            })
            .collect()
    }

    #[test]
    fn the_same_explorer_seed_makes_the_same_mutants() {
        let swarm = scenario(SWARM);
        assert_eq!(chain(&swarm, 7, 40), chain(&swarm, 7, 40));
        assert_ne!(chain(&swarm, 7, 40), chain(&swarm, 8, 40));
    }

    #[test]
    fn every_mutation_happens_and_each_changes_the_candidate() {
        for text in [SWARM, SCRIPT] {
            let s = scenario(text);
            let menu = FaultMenu::of(&s);
            let mut rng = seeded(3);
            let mut seen = BTreeSet::new();
            let (seed, schedule) = (1, s.drawn_schedule(1));
            for _ in 0..200 {
                let mutant = mutate(seed, &schedule, &menu, &mut rng);
                seen.insert(mutant.mutation);
                assert!((mutant.seed, &mutant.schedule) != (seed, &schedule), "{:?} changed nothing", mutant.mutation);
                match mutant.mutation {
                    Mutation::Reseed => assert_eq!(mutant.schedule, schedule),
                    Mutation::Add => assert!(mutant.schedule.len() > schedule.len()),
                    Mutation::Drop => assert_eq!(mutant.schedule.len(), schedule.len() - 1),
                    Mutation::Shift | Mutation::Swap | Mutation::Retarget => {
                        assert_eq!(mutant.schedule.len(), schedule.len())
                    }
                }
                if mutant.mutation != Mutation::Reseed {
                    assert_eq!(mutant.seed, seed);
                }
            }
            assert_eq!(seen.into_iter().collect::<Vec<_>>(), Mutation::ALL, "in {text}");
        }
    }

    #[test]
    fn schedules_stay_sorted_bounded_and_in_the_window() {
        for text in [SWARM, SCRIPT] {
            let s = scenario(text);
            let menu = FaultMenu::of(&s);
            for mutant in chain(&s, 11, 300) {
                let steps = mutant.schedule.steps();
                assert!(steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
                assert!(steps.len() <= MAX_STEPS + 1);
                // An added kill's restart may follow it past the window's end (by at most the
                // swarm's 2 s restart_after), and a swap or shift may carry that time on.
                for step in steps {
                    assert!(
                        (menu.window_ms.0..=menu.window_ms.1 + 2_000).contains(&step.at_ms),
                        "step at {} outside {:?}",
                        step.at_ms,
                        menu.window_ms
                    );
                }
                // The text form loads back: the schedule is a valid script.
                let settings = &text[..text.find("\n[faults").or(text.find("\n[[faults")).unwrap_or(text.len())];
                let text = format!("{settings}\n{}", mutant.schedule.to_toml());
                let reloaded = scenario(&text);
                assert_eq!(reloaded.drawn_schedule(0), mutant.schedule);
            }
        }
    }

    #[test]
    fn a_scripted_menu_offers_the_nodes_faults_and_its_own() {
        let menu = FaultMenu::of(&scenario(SCRIPT));
        assert_eq!(menu.window_ms, (6_000, 10_000));
        let MenuSource::Faults(faults) = &menu.source else { panic!("a script's menu is a list") };
        assert!(faults.contains(&Fault::Kill { node: Target::Node("b3".into()) }));
        assert!(faults.contains(&Fault::Cut { from: Target::Node("b1".into()), to: Target::Node("b2".into()) }));
        assert!(faults.contains(&Fault::Heal));
    }
}
