//! The body of `cargo sim explore NAME|FILE --budget N [--seed S] [--jobs J] [--compare]`.
//!
//! Output: the parameters, a progress line after every batch (`runs=40 states=1234 corpus=17
//! failures=1`), for every failing run its seed, origin and failure and the scenario file
//! written for it (`reports/explore/NAME-K.toml`, K from 1 in run order: the scenario with
//! the run's schedule as its script, replayed by `cargo sim run FILE --seed SEED`). With
//! `--compare` the same budget then goes to plain seeds 1..=N and a `compare:` line puts the
//! figures side by side. The last line:
//!
//! `PASS|FAIL explore scenario=NAME budget=N runs=R states=S failures=F first_failure_run=K|none`
//!
//! PASS means what it means for `cargo sim run`: for a scenario that expects a pass, no run
//! failed; for one that expects a violation, the violation was found. The exit code is 0
//! whenever the exploration ran (finding a bug is its purpose, not an error), 2 for a usage
//! error or a file that cannot be written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{explore, plain, Exploration, ExploreConfig, Run, PLAIN_SEEDS};
use crate::own_files::{self, workspace_root, write_file};
use crate::pool::{default_jobs, format_duration};
use crate::scenario::Scenario;
use crate::scenario_file::FileScenario;
use crate::shrink::scripted_scenario_text;
use crate::wall::WallClock;

/// The arguments of `cargo sim explore`.
#[derive(clap::Args)]
pub struct ExploreArgs {
    /// The scenario: a name or a file (a scenario file: code scenarios have no schedule).
    pub target: String,
    /// Simulation runs to spend.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub budget: u64,
    /// The explorer's seed: which runs it keeps and mutates, and how.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: one per core). The result does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also spend the budget on plain seeds 1..=N and print both figures.
    #[arg(long)]
    pub compare: bool,
    /// The folder for failing runs' scenario files (default: reports/explore).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the command for `scenario` (already resolved and checked); the exit code.
pub fn main(scenario: &FileScenario, args: &ExploreArgs) -> ExitCode {
    match run(scenario, args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(scenario: &FileScenario, args: &ExploreArgs) -> Result<ExitCode, String> {
    let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
    let config = ExploreConfig { budget: args.budget, seed: args.seed, jobs, plain_seeds: PLAIN_SEEDS };
    let out_dir = args.out.clone().unwrap_or_else(|| workspace_root().join("reports").join("explore"));
    let original_text = read_text(&scenario.path)?;
    println!(
        "explore scenario={} expects={} budget={} seed={} jobs={jobs}",
        scenario.name,
        scenario.expectation().label(),
        args.budget,
        args.seed
    );
    let clock = WallClock::start();
    let mut written: Result<Vec<PathBuf>, String> = Ok(Vec::new());
    let explored = explore(
        scenario,
        &config,
        |state| println!("  {}", state.progress_line()),
        |run| {
            let Ok(files) = &mut written else { return };
            let k = files.len() + 1;
            match write_failure(&out_dir, &original_text, scenario, &config, run, k) {
                Ok(path) => {
                    print_failure(run, &path);
                    files.push(path);
                }
                Err(e) => written = Err(e),
            }
        },
    );
    written?;
    println!("  wall: {}", format_duration(clock.elapsed()));
    if args.compare {
        let clock = WallClock::start();
        let baseline = plain(scenario, args.budget, jobs, |state| println!("  plain {}", state.progress_line()));
        println!("  plain wall: {}", format_duration(clock.elapsed()));
        println!("  {}", summary_line("plain", scenario, args.budget, &baseline));
        println!(
            "  compare: budget={} explore states={} first_failure_run={} | plain states={} first_failure_run={}",
            args.budget,
            explored.coverage.len(),
            run_label(explored.first_failure_run()),
            baseline.coverage.len(),
            run_label(baseline.first_failure_run())
        );
    }
    println!("{}", summary_line("explore", scenario, args.budget, &explored));
    Ok(ExitCode::SUCCESS)
}

/// `PASS|FAIL WHAT scenario=NAME budget=N runs=R states=S failures=F first_failure_run=K`.
pub fn summary_line(what: &str, scenario: &FileScenario, budget: u64, state: &Exploration) -> String {
    let found = !state.failures.is_empty();
    let passed = if scenario.expectation().checker().is_some() { found } else { !found };
    format!(
        "{} {what} scenario={} budget={budget} runs={} states={} failures={} first_failure_run={}",
        if passed { "PASS" } else { "FAIL" },
        scenario.name,
        state.runs.len(),
        state.coverage.len(),
        state.failures.len(),
        run_label(state.first_failure_run())
    )
}

fn run_label(run: Option<u64>) -> String {
    run.map_or_else(|| "none".to_string(), |r| r.to_string())
}

fn print_failure(run: &Run, path: &Path) {
    let failure = run.failure.as_ref().map_or_else(String::new, |f| f.to_string());
    println!("  failure at run {}: seed {} ({}) shows {failure}", run.index, run.seed, run.origin);
    println!("    wrote: {}", path.display());
    println!("    replay: cargo sim run {} --seed {}", path.display(), run.seed);
}

/// Writes failing `run` as scenario file `DIR/NAME-K.toml`; its path.
pub fn write_failure(
    dir: &Path,
    original_text: &str,
    scenario: &FileScenario,
    config: &ExploreConfig,
    run: &Run,
    k: usize,
) -> Result<PathBuf, String> {
    let name = format!("{}-explore-{k}", scenario.name);
    let failure = run.failure.as_ref().map_or_else(|| "no failure".to_string(), |f| f.to_string());
    let story = format!("run {} of an exploration of {}: seed {} shows {failure}", run.index, scenario.name, run.seed);
    let header = format!(
        "# {name}\n#\n# Found by `cargo sim explore {} --budget {} --seed {}`\n\
         # at run {} ({}): seed {} with the fault schedule below ({} step{})\n\
         # shows {failure}. Reproduce it with\n#   cargo sim run <this file> --seed {}\n\
         # (the seed still decides everything but the faults: latencies, the workload, the disks).\n",
        scenario.name,
        config.budget,
        config.seed,
        run.index,
        run.origin,
        run.seed,
        run.schedule.len(),
        if run.schedule.len() == 1 { "" } else { "s" },
        run.seed
    );
    let text = scripted_scenario_text(original_text, &name, &story, &header, &run.schedule)?;
    let path = dir.join(format!("{}-{k}.toml", scenario.name));
    write_file(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// A file of the simulator's own, or an error naming it.
fn read_text(path: &Path) -> Result<String, String> {
    own_files::read_text(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
