//! Scenario files: a failure story as data (`scenarios/*.toml`), loaded, checked and run.
//!
//! A file holds the cluster (brokers, controllers, config for all and per node, the disks'
//! fault model), its topics, the workloads (producers and consumers), the faults (a scripted
//! timeline or swarm probabilities), the phases (faults — the safety phase — then a heal and
//! a liveness bound), the checkers and the expectation (`pass`, or the violation a
//! historical design must show). The format is documented with examples in
//! `scenarios/README.md`; this module is its one reader.
//!
//! Loading checks everything before a simulation starts: unknown keys, values out of range,
//! Kafka configs the broker refuses, targets that name no node or partition, an expected
//! checker the scenario does not run. Each error names the file, the line and the key
//! ([`FileError`]).
//!
//! A run ([`FileScenario`] is a [`Scenario`]): the world and cluster start, the producers
//! create their topics, the seed's fault schedule is drawn ([`FileScenario::schedule`]) and
//! played; after the last fault and `phases.after_faults`, every fault is lifted (the
//! liveness phase): the clients stop, every partition must converge within
//! `phases.liveness_bound`, an auditor reads every topic, and the cluster must converge again.

mod build;
mod raw;
pub mod values;

pub use values::duration_ms as parse_duration_ms;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::Rng;
use seedlog::client::NewTopic;
use seedlog::runtime::{seeded, NodeRng};
use tracing::info;

use crate::checker::Checker;
use crate::checkers;
use crate::cluster::{ClusterSpec, SimCluster};
use crate::expectation::Expectation;
use crate::faults::{Fault, FaultRunner, FaultSchedule, ScheduledFault, SwarmSpec};
use crate::scenario::{Scenario, SuperviseFuture};
use crate::workloads::{Clients, Workload};
use crate::world::World;

/// Mixed into the seed for the schedule's draw, which must not be the world's own stream.
const SCHEDULE_SEED_SALT: u64 = 0x5eed_fa17_5c4e_d01e;

/// A scenario read from a file.
#[derive(Clone, Debug)]
pub struct FileScenario {
    /// The file it came from.
    pub path: PathBuf,
    pub name: String,
    pub story: String,
    pub expectation: Expectation,
    /// The checkers (and groups) the file names.
    pub checker_names: Vec<String>,
    /// Every partition has a leader and a full ISR this long after the heal.
    pub liveness_bound_ms: u64,
    pub time_limit: Duration,
    /// Seedlog's probabilistic fault points on (each enabled per seed; see
    /// docs/simulator-faults.md).
    pub buggify: bool,
    pub cluster: ClusterSpec,
    /// Each topic with how it is written and read.
    pub topics: Vec<(NewTopic, Workload)>,
    pub faults: ScenarioFaults,
    /// From the last fault to the heal, ms (drawn per seed, inclusive).
    pub after_faults_ms: (u64, u64),
    /// From the heal to the clients' stop, ms.
    pub settle_ms: u64,
    /// madsim's network latency range, if the file sets one.
    pub latency: Option<(Duration, Duration)>,
}

/// Where a scenario's faults come from.
#[derive(Clone, Debug)]
pub enum ScenarioFaults {
    /// No faults: the workload runs a while and the cluster must stay healthy.
    None,
    /// A timeline; each step's time may be a range, drawn per seed.
    Script(Vec<ScriptStep>),
    /// Probabilities each seed draws its own schedule from.
    Swarm(SwarmSpec),
}

/// One step of a scripted timeline.
#[derive(Clone, Debug)]
pub struct ScriptStep {
    /// When, ms since the run started (inclusive range, drawn per seed).
    pub at_ms: (u64, u64),
    pub fault: Fault,
}

/// A scenario file that cannot be used: where, which key, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based; 0 when the error is about the whole file.
    pub line: usize,
    /// The key at fault, dotted (`faults.script[2].node`); empty when none applies.
    pub key: String,
    pub message: String,
}

impl FileError {
    /// An error at byte `offset` of `text`.
    pub fn at(path: &Path, text: &str, offset: usize, key: &str, message: impl Into<String>) -> FileError {
        let line = text.get(..offset).map_or(0, |before| before.matches('\n').count() + 1);
        FileError { path: path.to_path_buf(), line, key: key.to_string(), message: message.into() }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.key.is_empty() {
            write!(f, ": `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Parses and checks the scenario in `text`, read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<FileScenario, FileError> {
    let raw: raw::RawScenario = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().to_string();
        // toml names the key in its message (unknown field `x`, missing field `y`).
        FileError::at(path, text, offset, "", message)
    })?;
    build::build(path, text, raw)
}

/// Reads and checks the scenario file at `path`.
#[allow(clippy::disallowed_methods)] // the simulator's own input, not a simulated node's IO
pub fn load(path: &Path) -> Result<FileScenario, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        path: path.to_path_buf(),
        line: 0,
        key: String::new(),
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text)
}

/// The `*.toml` files directly in `dir`, sorted by name, each read and checked.
#[allow(clippy::disallowed_methods)] // the simulator's own input, not a simulated node's IO
pub fn load_dir(dir: &Path) -> Result<Vec<FileScenario>, FileError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FileError {
        path: dir.to_path_buf(),
        line: 0,
        key: String::new(),
        message: format!("cannot read the folder: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

impl FileScenario {
    /// The schedule `seed` draws: a pure function of the scenario and the seed, so that it can
    /// be computed, shrunk and written out without running the seed.
    pub fn drawn_schedule(&self, seed: u64) -> FaultSchedule {
        self.schedule(&mut seeded(seed ^ SCHEDULE_SEED_SALT))
    }

    /// A fault schedule drawn from `rng`: a script's time ranges, or a swarm.
    pub fn schedule(&self, rng: &mut NodeRng) -> FaultSchedule {
        match &self.faults {
            ScenarioFaults::None => FaultSchedule::default(),
            ScenarioFaults::Script(steps) => FaultSchedule::new(
                steps
                    .iter()
                    .map(|s| ScheduledFault { at_ms: rng.random_range(s.at_ms.0..=s.at_ms.1), fault: s.fault.clone() })
                    .collect(),
            ),
            ScenarioFaults::Swarm(swarm) => {
                let brokers: Vec<String> = (1..=self.cluster.brokers).map(|i| format!("b{i}")).collect();
                let controllers: Vec<String> = (1..=self.cluster.controllers).map(|i| format!("c{i}")).collect();
                swarm.draw(rng, &brokers, &controllers)
            }
        }
    }

    /// The same scenario with its faults replaced by `schedule`, as a script (exact times):
    /// what `shrink` and `explore` run and write.
    pub fn with_schedule(&self, schedule: &FaultSchedule) -> FileScenario {
        let steps =
            schedule.steps().iter().map(|s| ScriptStep { at_ms: (s.at_ms, s.at_ms), fault: s.fault.clone() }).collect();
        FileScenario { faults: ScenarioFaults::Script(steps), ..self.clone() }
    }

    /// One run, given the seed's schedule (see the module header).
    async fn run(self, seed: u64, schedule: Option<FaultSchedule>) {
        let world = World::new(seed);
        let start = seedlog::runtime::now();
        // The schedule is drawn apart from the world's randomness, so a schedule written out as
        // a script replays the seed's run exactly.
        let runner_rng = world.fork_rng();
        let mut phase_rng = world.fork_rng();
        if self.buggify {
            world.set_buggify(true);
        }
        let cluster = SimCluster::start(&world, &self.cluster);
        let clients: Vec<Clients> = self
            .topics
            .iter()
            .enumerate()
            .map(|(i, (topic, workload))| {
                Clients::start_with(&world, &cluster.bootstrap(), topic.clone(), workload, i + 1)
            })
            .collect();
        let schedule = schedule.unwrap_or_else(|| self.drawn_schedule(seed));
        info!(name: "fault_schedule", steps = schedule.len() as u64);
        let mut faults = FaultRunner::new(&world, &cluster, self.cluster.disk_faults.clone(), runner_rng, start);
        faults.run(&schedule).await;
        let last_ms = schedule.steps().last().map_or(0, |s| s.at_ms);
        let after = phase_rng.random_range(self.after_faults_ms.0..=self.after_faults_ms.1);
        faults.sleep_until(last_ms + after).await;
        // The liveness phase: everything healed, the clients stopped, convergence, the audit.
        faults.lift_all();
        world.sleep_restarting(&cluster.halts, self.settle_ms).await;
        for c in &clients {
            c.stop(&world, &cluster.halts).await;
        }
        world.sleep_restarting(&cluster.halts, 1_000).await;
        let converged = cluster.wait_converged(&world, self.liveness_bound_ms).await;
        for c in &clients {
            c.audit(&world, &cluster.halts).await;
        }
        cluster.wait_converged(&world, self.liveness_bound_ms).await;
        info!(name: "scenario_finished", converged);
    }

    /// A supervisor that plays `schedule` instead of drawing one.
    pub fn supervise_with(&self, seed: u64, schedule: FaultSchedule) -> SuperviseFuture {
        Box::pin(self.clone().run(seed, Some(schedule)))
    }
}

impl Scenario for FileScenario {
    fn name(&self) -> &str {
        &self.name
    }

    fn story(&self) -> &str {
        &self.story
    }

    fn expectation(&self) -> Expectation {
        self.expectation
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let mut all: Vec<Box<dyn Checker>> = Vec::new();
        for name in &self.checker_names {
            for checker in checkers::named(name, self.liveness_bound_ms).expect("checked when loaded") {
                if !all.iter().any(|c| c.name() == checker.name()) {
                    all.push(checker);
                }
            }
        }
        all
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        Box::pin(self.clone().run(seed, None))
    }

    fn time_limit(&self) -> Duration {
        self.time_limit
    }

    fn config(&self) -> madsim::Config {
        let mut config = madsim::Config::default();
        if let Some((lo, hi)) = self.latency {
            config.net.send_latency = lo..hi;
        }
        config
    }

    fn source(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

#[cfg(test)]
mod tests;
