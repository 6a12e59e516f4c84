//! `cargo sim shrink`: a failing seed's fault schedule reduced by delta debugging to a
//! minimal one that still fails, written out as a scripted scenario file.
//!
//! The seed's schedule is plain data ([`FileScenario::drawn_schedule`]), and a scenario
//! whose faults are that schedule as a script replays the seed's run exactly (the same trace
//! hash: the schedule is the only thing the seed's draw decides). Shrinking runs the same
//! seed with subsets of the steps. A subset *still fails* when it shows the original
//! failure: a violation by the same checker as the original's first, or a panic if the
//! original panicked. The search is Zeller's ddmin (Zeller and Hildebrandt, "Simplifying and
//! Isolating Failure-Inducing Input", TSE 2002): split the steps into n chunks, keep the
//! first complement (the steps minus one chunk) that still fails and go on with n − 1 chunks,
//! else double n; it ends when every single step is needed (1-minimal). The candidates of a
//! round run in parallel, and the first failing one in chunk order wins, so the result does
//! not depend on `--jobs`.

use std::path::{Path, PathBuf};

use crate::faults::FaultSchedule;
use crate::runner::{run_seed, SeedOutcome};
use crate::scenario::Scenario;
use crate::scenario_file::FileScenario;

/// What failed in the original run: the checker of its first violation, or a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Violation(&'static str),
    Panic,
}

impl Failure {
    /// The failure a run shows, if any (a scenario that expects a violation fails by
    /// showing it; one that expects a pass, by any violation).
    pub fn of(outcome: &SeedOutcome, scenario: &dyn Scenario) -> Option<Failure> {
        if outcome.panic.is_some() {
            return Some(Failure::Panic);
        }
        match scenario.expectation().checker() {
            Some(expected) => {
                outcome.violations.iter().any(|v| v.checker == expected).then_some(Failure::Violation(expected))
            }
            None => outcome.violations.first().map(|v| Failure::Violation(v.checker)),
        }
    }

    /// Whether `outcome` shows this failure.
    pub fn shown_by(&self, outcome: &SeedOutcome) -> bool {
        match self {
            Failure::Panic => outcome.panic.is_some(),
            Failure::Violation(checker) => outcome.violations.iter().any(|v| v.checker == *checker),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Violation(checker) => write!(f, "a violation of {checker}"),
            Failure::Panic => write!(f, "a panic"),
        }
    }
}

/// The result of a shrink.
pub struct Shrunk {
    pub original: FaultSchedule,
    pub minimal: FaultSchedule,
    pub failure: Failure,
    /// Simulation runs spent (the original's included).
    pub runs: u64,
    /// The minimal schedule's run.
    pub outcome: SeedOutcome,
}

/// Shrinks `seed` of `scenario`; `Err` when the seed does not fail. `progress` hears of
/// every round: (steps kept, runs so far).
pub fn shrink(
    scenario: &FileScenario,
    seed: u64,
    jobs: usize,
    mut progress: impl FnMut(usize, u64),
) -> Result<Shrunk, String> {
    let original = scenario.drawn_schedule(seed);
    let first = run_seed(&scenario.with_schedule(&original), seed);
    let failure = Failure::of(&first, scenario).ok_or_else(|| {
        format!("seed {seed} of `{}` does not fail (trace {:016x}): nothing to shrink", scenario.name, first.trace_hash)
    })?;
    let mut runs = 1;
    let mut steps: Vec<usize> = (0..original.len()).collect();
    let mut best = first;
    let mut n = 2;
    while steps.len() >= 2 {
        progress(steps.len(), runs);
        let chunks = split(&steps, n);
        let candidates: Vec<Vec<usize>> = (0..chunks.len())
            .map(|skip| chunks.iter().enumerate().filter(|(i, _)| *i != skip).flat_map(|(_, c)| c.clone()).collect())
            .collect();
        let outcomes = run_all(scenario, &original, seed, &candidates, jobs);
        runs += candidates.len() as u64;
        match outcomes.into_iter().zip(candidates).find(|(o, _)| failure.shown_by(o)) {
            Some((outcome, kept)) => {
                steps = kept;
                best = outcome;
                n = (n - 1).max(2);
            }
            None if n >= steps.len() => break,
            None => n = (n * 2).min(steps.len()),
        }
    }
    // A single step left may not be needed either.
    if steps.len() == 1 {
        let empty = run_seed(&scenario.with_schedule(&FaultSchedule::default()), seed);
        runs += 1;
        if failure.shown_by(&empty) {
            steps.clear();
            best = empty;
        }
    }
    let minimal = original.retain(|i| steps.contains(&i));
    Ok(Shrunk { original, minimal, failure, runs, outcome: best })
}

/// `steps` in `n` chunks of near-equal length (at most `steps.len()` chunks).
fn split(steps: &[usize], n: usize) -> Vec<Vec<usize>> {
    let n = n.min(steps.len()).max(1);
    let (base, extra) = (steps.len() / n, steps.len() % n);
    let mut chunks = Vec::with_capacity(n);
    let mut at = 0;
    for i in 0..n {
        let len = base + usize::from(i < extra);
        chunks.push(steps[at..at + len].to_vec());
        at += len;
    }
    chunks
}

/// Runs each candidate subset of `original` (by step index) for `seed`, `jobs` at a time;
/// outcomes in candidate order.
fn run_all(
    scenario: &FileScenario,
    original: &FaultSchedule,
    seed: u64,
    candidates: &[Vec<usize>],
    jobs: usize,
) -> Vec<SeedOutcome> {
    let mut outcomes = Vec::with_capacity(candidates.len());
    for batch in candidates.chunks(jobs.max(1)) {
        let batch_outcomes: Vec<SeedOutcome> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|kept| {
                    let candidate = scenario.with_schedule(&original.retain(|i| kept.contains(&i)));
                    scope.spawn(move || run_seed(&candidate, seed))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a shrink worker panicked")).collect()
        });
        outcomes.extend(batch_outcomes);
    }
    outcomes
}

/// The shrunk scenario as a file: the original's settings with the minimal schedule as its
/// script, renamed, and a header that says where it came from.
pub fn scenario_text(
    original_text: &str,
    scenario: &FileScenario,
    seed: u64,
    shrunk: &Shrunk,
) -> Result<String, String> {
    let name = format!("{}-seed{seed}-shrunk", scenario.name);
    let story = format!(
        "{} of {} fault steps of {} seed {seed} that still show {}",
        shrunk.minimal.len(),
        shrunk.original.len(),
        scenario.name,
        shrunk.failure
    );
    let header = format!(
        "# {name}\n#\n# Shrunk by `cargo sim shrink {} --seed {seed}` from {} fault steps to {} in {} runs: the\n\
         # smallest schedule found that still shows {}. Reproduce it with\n#   cargo sim run <this file> --seed {seed}\n\
         # (the seed still decides everything but the faults: latencies, the workload, the disks).\n",
        scenario.name,
        shrunk.original.len(),
        shrunk.minimal.len(),
        shrunk.runs,
        shrunk.failure
    );
    scripted_scenario_text(original_text, &name, &story, &header, &shrunk.minimal)
}

/// A scenario file made from another: `original_text`'s settings (its file's text) with its
/// faults replaced by `schedule` as a script (exact times), renamed `name`, with `story`,
/// after `header` (comment lines, each ending in a newline). What `shrink` and `explore`
/// write; it loads back into the original scenario playing `schedule`.
pub fn scripted_scenario_text(
    original_text: &str,
    name: &str,
    story: &str,
    header: &str,
    schedule: &FaultSchedule,
) -> Result<String, String> {
    let mut table: toml::Table = original_text.parse().map_err(|e| format!("cannot re-read the scenario: {e}"))?;
    table.remove("faults");
    table.insert("name".into(), toml::Value::String(name.to_string()));
    table.insert("story".into(), toml::Value::String(story.to_string()));
    let settings = toml::to_string(&table).map_err(|e| format!("cannot write the scenario: {e}"))?;
    let script = if schedule.is_empty() {
        "# No fault step is needed: the seed fails without faults.\n".to_string()
    } else {
        schedule.to_toml()
    };
    Ok(format!("{header}\n{settings}\n{script}"))
}

/// Where a shrunk scenario goes by default: `reports/shrunk/NAME-seedN.toml`.
pub fn default_output(workspace: &Path, name: &str, seed: u64) -> PathBuf {
    workspace.join("reports").join("shrunk").join(format!("{name}-seed{seed}.toml"))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_makes_n_near_equal_chunks_in_order() {
        let steps: Vec<usize> = (0..7).collect();
        assert_eq!(split(&steps, 2), vec![vec![0, 1, 2, 3], vec![4, 5, 6]]);
        assert_eq!(split(&steps, 3), vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]);
        assert_eq!(split(&steps, 9).len(), 7);
    }
}
