//! `cargo sim explore`: guided exploration of a scenario file's fault schedules.
//!
//! Plain seeds find a rare bug by luck: each seed draws a schedule and nothing learns from
//! what the last one reached. Exploration (the loop of coverage-guided fuzzers such as AFL,
//! applied to fault schedules as in FoundationDB-style simulation) records, for each run, the
//! abstract protocol states it reached ([`coverage`]), keeps the runs that reached a state no
//! earlier run did (the corpus), and makes new candidates by mutating a kept run's schedule
//! or seed ([`mutate`]).
//!
//! The loop: the first [`ExploreConfig::plain_seeds`] candidates are plain seeds 1, 2, … with
//! the schedules they draw (exactly the runs `cargo sim run --seeds` makes); after that every
//! [`FRESH_EVERY`]th candidate is the next plain seed (fresh material: a swarm's seeds differ
//! in their mix of fault kinds, which small mutations rarely reach), and every other one is a
//! corpus entry, picked by a tournament of two with the explorer's RNG (of two drawn
//! entries, the one that reached more new states: runs that reached much, failing runs among
//! them, get mutated more; scenarios/README.md has the figures against a uniform pick),
//! changed by a stack of one to
//! [`MAX_STACK`] mutations (each further one with probability ½, as AFL's havoc stage
//! stacks its own). Candidates are made [`BATCH`] at a time before any of the batch runs, run on
//! `jobs` workers, and judged in candidate order, so the whole exploration — corpus, states,
//! failures, the files written — depends on the scenario, the budget and `--seed`, never on
//! `--jobs`. The budget counts simulation runs.
//!
//! A run *fails* as shrink judges it ([`Failure::of`]): a panic, or a violation — any checker
//! for a scenario that expects a pass, the expected checker for one that replays a
//! historical bug (then a failure is the bug found). [`plain`] spends the same budget on plain
//! seeds 1..=N with the same coverage metric, for comparison.

pub mod command;
pub mod coverage;
pub mod mutate;

use rand::Rng;
use seedlog::runtime::seeded;

use crate::faults::FaultSchedule;
use crate::runner::run_seed;
use crate::scenario_file::FileScenario;
use crate::shrink::Failure;
use coverage::Coverage;
use mutate::{mutate, FaultMenu, Mutation};

/// Candidates made (and run) together. Fixed, so that results do not depend on `--jobs`.
pub const BATCH: usize = 8;
/// Plain seeds the exploration starts from, unless the budget is smaller.
pub const PLAIN_SEEDS: u64 = 8;
/// After the first plain seeds, every this-many-th candidate is the next plain seed.
pub const FRESH_EVERY: u64 = 4;
/// The most mutations stacked on one candidate.
pub const MAX_STACK: usize = 4;

/// How to explore.
#[derive(Clone, Copy, Debug)]
pub struct ExploreConfig {
    /// Simulation runs to spend.
    pub budget: u64,
    /// The explorer's own seed (which entries, which mutations).
    pub seed: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Plain seeds 1..=this run first.
    pub plain_seeds: u64,
}

/// Where a candidate came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Plain seed N with its drawn schedule.
    Plain,
    /// Run `parent` (1-based) changed by `mutations`, in order.
    Mutated { parent: u64, mutations: Vec<Mutation> },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Plain => write!(f, "a plain seed"),
            Origin::Mutated { parent, mutations } => {
                let names: Vec<&str> = mutations.iter().map(|m| m.name()).collect();
                write!(f, "run {parent} changed by `{}`", names.join("+"))
            }
        }
    }
}

/// One run of the exploration.
#[derive(Clone, Debug)]
pub struct Run {
    /// 1-based: the how-manieth run of the budget.
    pub index: u64,
    pub seed: u64,
    pub schedule: FaultSchedule,
    pub origin: Origin,
    /// States no earlier run reached.
    pub new_states: usize,
    pub failure: Option<Failure>,
    pub trace_hash: u64,
}

/// Where an exploration stands.
///
/// Invariants: `corpus` and `failures` index into `runs`; `runs.len() <= budget`.
#[derive(Clone, Debug, Default)]
pub struct Exploration {
    pub runs: Vec<Run>,
    pub coverage: Coverage,
    /// Runs (0-based indexes into `runs`) that reached new states.
    pub corpus: Vec<usize>,
    /// Runs (0-based indexes into `runs`) that failed.
    pub failures: Vec<usize>,
}

impl Exploration {
    /// The 1-based index of the first failing run.
    pub fn first_failure_run(&self) -> Option<u64> {
        self.failures.first().map(|i| self.runs[*i].index)
    }

    /// `runs=40 states=1234 corpus=17 failures=1`.
    pub fn progress_line(&self) -> String {
        format!(
            "runs={} states={} corpus={} failures={}",
            self.runs.len(),
            self.coverage.len(),
            self.corpus.len(),
            self.failures.len()
        )
    }

    /// Takes in a finished candidate; whether it was kept.
    fn add(&mut self, candidate: Candidate, judged: Judged) -> bool {
        let new_states = self.coverage.absorb(&judged.coverage);
        let i = self.runs.len();
        self.runs.push(Run {
            index: i as u64 + 1,
            seed: candidate.seed,
            schedule: candidate.schedule,
            origin: candidate.origin,
            new_states,
            failure: judged.failure.clone(),
            trace_hash: judged.trace_hash,
        });
        if judged.failure.is_some() {
            self.failures.push(i);
        }
        if new_states > 0 {
            self.corpus.push(i);
        }
        new_states > 0
    }
}

/// A run to make.
#[derive(Clone, Debug)]
struct Candidate {
    seed: u64,
    schedule: FaultSchedule,
    origin: Origin,
}

/// What a run amounts to for the exploration (computed on the worker: the trace is dropped).
struct Judged {
    coverage: Coverage,
    failure: Option<Failure>,
    trace_hash: u64,
}

/// Explores `scenario` (see the module header). `each_batch` hears of every batch's end;
/// `each_failure` of every failing run, in run order, as it is judged.
pub fn explore(
    scenario: &FileScenario,
    config: &ExploreConfig,
    mut each_batch: impl FnMut(&Exploration),
    mut each_failure: impl FnMut(&Run),
) -> Exploration {
    let menu = FaultMenu::of(scenario);
    let mut rng = seeded(config.seed);
    let mut state = Exploration::default();
    let plain = config.plain_seeds.min(config.budget).max(1);
    let mut next_plain = 1;
    while (state.runs.len() as u64) < config.budget {
        let size = (config.budget - state.runs.len() as u64).min(BATCH as u64);
        let made = state.runs.len() as u64;
        let candidates: Vec<Candidate> = (made..made + size)
            .map(|n| {
                if next_plain <= plain || n % FRESH_EVERY == 0 || state.corpus.is_empty() {
                    let seed = next_plain;
                    next_plain += 1;
                    return Candidate { seed, schedule: scenario.drawn_schedule(seed), origin: Origin::Plain };
                }
                // A tournament of two: of two drawn entries, the one that reached more new states.
                let (a, b) = (rng.random_range(0..state.corpus.len()), rng.random_range(0..state.corpus.len()));
                let (a, b) = (&state.runs[state.corpus[a]], &state.runs[state.corpus[b]]);
                let parent = if b.new_states > a.new_states { b } else { a };
                let mut mutant = mutate(parent.seed, &parent.schedule, &menu, &mut rng);
                let mut mutations = vec![mutant.mutation];
                while mutations.len() < MAX_STACK && rng.random_bool(0.5) {
                    mutant = mutate(mutant.seed, &mutant.schedule, &menu, &mut rng);
                    mutations.push(mutant.mutation);
                }
                Candidate {
                    seed: mutant.seed,
                    schedule: mutant.schedule,
                    origin: Origin::Mutated { parent: parent.index, mutations },
                }
            })
            .collect();
        let judged = run_batch(scenario, &candidates, config.jobs);
        for (candidate, judged) in candidates.into_iter().zip(judged) {
            let failed = judged.failure.is_some();
            state.add(candidate, judged);
            if failed {
                each_failure(state.runs.last().expect("just added"));
            }
        }
        each_batch(&state);
    }
    state
}

/// The same budget on plain seeds 1..=budget, measured the same way (no corpus is kept: the
/// `corpus` field lists the seeds that reached new states).
pub fn plain(
    scenario: &FileScenario,
    budget: u64,
    jobs: usize,
    mut each_batch: impl FnMut(&Exploration),
) -> Exploration {
    let mut state = Exploration::default();
    let mut seed = 1;
    while seed <= budget {
        let last = (seed + BATCH as u64 - 1).min(budget);
        let candidates: Vec<Candidate> = (seed..=last)
            .map(|s| Candidate { seed: s, schedule: scenario.drawn_schedule(s), origin: Origin::Plain })
            .collect();
        let judged = run_batch(scenario, &candidates, jobs);
        for (candidate, judged) in candidates.into_iter().zip(judged) {
            state.add(candidate, judged);
        }
        each_batch(&state);
        seed = last + 1;
    }
    state
}

/// Runs the candidates, `jobs` at a time; what each amounts to, in candidate order.
fn run_batch(scenario: &FileScenario, candidates: &[Candidate], jobs: usize) -> Vec<Judged> {
    let mut out = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(jobs.max(1)) {
        let judged: Vec<Judged> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|c| {
                    let scripted = scenario.with_schedule(&c.schedule);
                    scope.spawn(move || {
                        let outcome = run_seed(&scripted, c.seed);
                        Judged {
                            coverage: Coverage::of_trace(&outcome.trace_jsonl),
                            failure: Failure::of(&outcome, &scripted),
                            trace_hash: outcome.trace_hash,
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("an explore worker panicked")).collect()
        });
        out.extend(judged);
    }
    out
}
