//! The `cargo sim` command line (simulation build).
//!
//! Contract (checked by `checks/sim-contract`): `list` prints one scenario per line, name
//! first; `run NAME --seed N` ends with `PASS|FAIL scenario=NAME seed=N events=E
//! sim_time_ms=T trace_hash=HEX`; `run NAME --seeds A..B` ends with `PASS|FAIL scenario=NAME
//! seeds=A..B passed=P failed=F`. Exit 0: all passed; 1: a seed failed; 2: usage error (also
//! a scenario file with an error, reported with its file, line and key).
//!
//! A scenario that expects a violation (see [`crate::expectation`]) adds its expectation to
//! these lines: a single run ends `… trace_hash=HEX expected=violation:CHECKER found=yes|no`
//! (a seed that found it passes, as does a clean one); a sweep ends `… failed=F
//! expected=violation:CHECKER found=K` and passes only when no seed failed and K ≥ 1. `list`
//! prints `NAME  expects=pass|violation:CHECKER  STORY`.
//!
//! `run` takes scenario names, files and folders (every `*.toml` in it); with several
//! scenarios each prints its own lines and the run ends `PASS|FAIL run scenarios=K
//! seeds=SPEC failed_scenarios=F`, as `sweep` ends `PASS|FAIL sweep …`. Seeds run on `--jobs`
//! workers (default: one per core) and print in seed order, so the output does not depend on
//! the worker count.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::buggify;
use crate::expectation::{Expectation, SeedVerdict, SweepTally};
use crate::own_files::{self, workspace_root, write_file};
use crate::pool::{default_jobs, format_duration, run_seeds, Finished};
use crate::report::{self, Report};
use crate::repro::{render, Filter, View};
use crate::runner::{run_seed, run_seed_checking_determinism, SeedOutcome};
use crate::scenario::Scenario;
use crate::scenario_file::{self, FileScenario};
use crate::scenarios::{self, AnyScenario};
use crate::seeds::{SeedRange, Shard};
use crate::shrink;
use crate::wall::WallClock;

/// Most failure lines printed per seed.
const MAX_FAILURE_LINES: usize = 20;

#[derive(Parser)]
#[command(name = "cargo sim", bin_name = "cargo sim", about = "Run seedlog's deterministic simulation scenarios")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the scenarios: name, its expectation (`expects=pass` or
    /// `expects=violation:CHECKER`), its story; separated by two spaces.
    List,
    /// Run one seed or a range of seeds of scenarios (names, files or folders of files).
    Run(RunArgs),
    /// The main job on built-in defaults: every scenario over a seed range, each seed
    /// run twice to check determinism.
    Sweep {
        /// Seeds, both ends included.
        #[arg(long, default_value = "1..100")]
        seeds: String,
        /// Worker threads (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Write a report (index.html, summary.json, junit.xml, traces) to DIR (default:
        /// reports/<run-id>).
        #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "")]
        report: Option<PathBuf>,
    },
    /// Merge the reports of shards (report folders or their summary.json) into one.
    Merge {
        /// The merged report's folder.
        out: PathBuf,
        /// The shards' reports.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Replay one seed and print its trace for a person to read.
    Repro(ReproArgs),
    /// Reduce a failing seed's fault schedule to a minimal one that still fails, and write it
    /// as a scripted scenario file.
    Shrink(ShrinkArgs),
    /// Guided exploration: keep the runs that reach new protocol states and mutate their fault
    /// schedules; write each failing run as a scenario file (see `explore/command.rs`).
    Explore(crate::explore::command::ExploreArgs),
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["seed", "seeds"]))]
struct RunArgs {
    /// Scenarios: names (see `cargo sim list`), scenario files, or folders of them.
    #[arg(required = true)]
    targets: Vec<String>,
    /// Run this one seed; its trace goes to reports/traces/NAME-seedN.jsonl.
    #[arg(long)]
    seed: Option<u64>,
    /// Run a range of seeds, both ends included: `1..100` (or `1..=100`). Traces are
    /// written for failing seeds only.
    #[arg(long)]
    seeds: Option<String>,
    /// Run each seed twice; a different trace hash fails the seed.
    #[arg(long)]
    check_determinism: bool,
    /// With --seeds: run only shard i of n, the seeds s with (s - A) % n == i.
    #[arg(long, requires = "seeds", conflicts_with = "seed")]
    shard: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Write a report (index.html, summary.json, junit.xml, traces) to DIR (default:
    /// reports/<run-id>).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "")]
    report: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReproArgs {
    /// The scenario: a name or a file.
    target: String,
    /// The seed to replay.
    #[arg(long)]
    seed: u64,
    /// Show only events that match: `node=b2`, `partition=events-0`, `name=fault_step`,
    /// `time=9.9s..10.1s` (simulated time), or any `field=value`. Repeat to narrow further.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Show only the events near the violations of this checker.
    #[arg(long)]
    around: Option<String>,
    /// With --around: how near, as a duration (`500ms`, `2s`).
    #[arg(long, default_value = "1s")]
    window: String,
}

#[derive(clap::Args)]
struct ShrinkArgs {
    /// The scenario: a name or a file (a scenario file: code scenarios have no schedule).
    target: String,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// Where to write the shrunk scenario (default: reports/shrunk/NAME-seedN.toml).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
}

/// A usage error: reported with what was wrong, exit code 2.
struct UsageError(String);

/// Parses the arguments and runs; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse(); // clap exits 2 on its own parse errors
    let result = match cli.command {
        Command::List => list(),
        Command::Run(args) => run(&args),
        Command::Sweep { seeds, jobs, report } => sweep(&seeds, jobs.unwrap_or_else(default_jobs), report),
        Command::Merge { out, inputs } => merge(&out, &inputs),
        Command::Repro(args) => repro(&args),
        Command::Shrink(args) => shrink_command(&args),
        Command::Explore(args) => resolve_file(&args.target)
            .and_then(|s| check_expectation(&s).map(|()| crate::explore::command::main(&s, &args))),
    };
    result.unwrap_or_else(|UsageError(message)| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

fn list() -> Result<ExitCode, UsageError> {
    for scenario in all_scenarios()? {
        println!("{}  expects={}  {}", scenario.name(), scenario.expectation().label(), scenario.story());
    }
    Ok(ExitCode::SUCCESS)
}

fn all_scenarios() -> Result<Vec<AnyScenario>, UsageError> {
    scenarios::all().map_err(|e| UsageError(e.to_string()))
}

/// The scenarios `targets` name: a folder gives its files, a path its file, else a name.
fn resolve(targets: &[String]) -> Result<Vec<AnyScenario>, UsageError> {
    let mut out: Vec<AnyScenario> = Vec::new();
    for target in targets {
        let path = Path::new(target);
        if path.is_dir() {
            let files = scenario_file::load_dir(path).map_err(|e| UsageError(e.to_string()))?;
            if files.is_empty() {
                return Err(UsageError(format!("no scenario files (*.toml) in {}", path.display())));
            }
            out.extend(files.into_iter().map(|s| Arc::new(s) as AnyScenario));
        } else if path.is_file() || target.ends_with(".toml") {
            let file = scenario_file::load(path).map_err(|e| UsageError(e.to_string()))?;
            out.push(Arc::new(file));
        } else {
            let found = scenarios::find(target).map_err(|e| UsageError(e.to_string()))?;
            out.push(found.ok_or_else(|| unknown_scenario(target))?);
        }
    }
    for scenario in &out {
        check_expectation(scenario.as_ref())?;
    }
    Ok(out)
}

/// The one scenario file `target` names (by path or name), for shrink.
fn resolve_file(target: &str) -> Result<FileScenario, UsageError> {
    let path = Path::new(target);
    if path.is_file() || target.ends_with(".toml") {
        return scenario_file::load(path).map_err(|e| UsageError(e.to_string()));
    }
    let files = scenario_file::load_dir(&scenarios::scenario_dir()).map_err(|e| UsageError(e.to_string()))?;
    match files.into_iter().find(|s| s.name == target) {
        Some(file) => Ok(file),
        None if scenarios::find(target).ok().flatten().is_some() => Err(UsageError(format!(
            "`{target}` is a scenario in code: only a scenario file has a fault schedule to shrink"
        ))),
        None => Err(unknown_scenario(target)),
    }
}

fn run(args: &RunArgs) -> Result<ExitCode, UsageError> {
    let scenarios = resolve(&args.targets)?;
    let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
    let which = args.seed.map_or_else(|| args.seeds.clone().unwrap_or_default(), |s| s.to_string());
    let mut report = ReportTarget::new(args.report.as_deref(), &run_id(&scenarios, &which, args.shard.as_deref()));
    if let Some(seed) = args.seed {
        let mut failed = 0;
        for scenario in &scenarios {
            let clock = WallClock::start();
            let outcome = run_once(scenario.as_ref(), seed, args.check_determinism);
            report.record(scenario.as_ref(), &outcome, clock.elapsed());
            failed += usize::from(!print_one(scenario.as_ref(), &outcome));
        }
        if scenarios.len() > 1 {
            println!(
                "{} run scenarios={} seed={seed} failed_scenarios={failed}",
                verdict(failed == 0),
                scenarios.len()
            );
        }
        report.write()?;
        return Ok(exit_code(failed == 0));
    }
    let spec = args.seeds.as_deref().unwrap_or_default();
    let range: SeedRange = spec.parse().map_err(|e| UsageError(format!("--seeds: {e}")))?;
    let shard = match &args.shard {
        Some(s) => Some(s.parse::<Shard>().map_err(|e| UsageError(format!("--shard: {e}")))?),
        None => None,
    };
    let seeds: Vec<u64> = range.seeds(shard).collect();
    let code = run_many("run", &scenarios, spec, &seeds, jobs, args.check_determinism, &mut report);
    report.write()?;
    Ok(code)
}

fn sweep(spec: &str, jobs: usize, report: Option<PathBuf>) -> Result<ExitCode, UsageError> {
    let range: SeedRange = spec.parse().map_err(|e| UsageError(format!("--seeds: {e}")))?;
    let scenarios = all_scenarios()?;
    scenarios.iter().try_for_each(|scenario| check_expectation(scenario.as_ref()))?;
    let seeds: Vec<u64> = range.seeds(None).collect();
    let mut report = ReportTarget::new(report.as_deref(), &format!("sweep-seeds{spec}"));
    let code = run_many("sweep", &scenarios, spec, &seeds, jobs.max(1), true, &mut report);
    report.write()?;
    Ok(code)
}

fn merge(out: &Path, inputs: &[PathBuf]) -> Result<ExitCode, UsageError> {
    report::merge(inputs, out).map_err(UsageError)?;
    let path = out.join("summary.json");
    let summary =
        report::summary::Summary::from_json(&read_text(&path)?, &path.display().to_string()).map_err(UsageError)?;
    println!("  report: {}", out.join("index.html").display());
    println!(
        "{} merge inputs={} seeds={} failed={}",
        verdict(summary.totals.failed == 0),
        inputs.len(),
        summary.seeds.len(),
        summary.totals.failed
    );
    Ok(exit_code(summary.totals.failed == 0))
}

/// A run's id, for its report's folder: the scenario (or how many), the seeds, the shard.
fn run_id(scenarios: &[AnyScenario], seeds: &str, shard: Option<&str>) -> String {
    let what = match scenarios {
        [one] => one.name().to_string(),
        many => format!("{}-scenarios", many.len()),
    };
    let shard = shard.map(|s| format!("-shard{}", s.replace('/', "of"))).unwrap_or_default();
    format!("{what}-seeds{seeds}{shard}")
}

/// Where a run's report goes, if it writes one, and the report being built.
struct ReportTarget(Option<(PathBuf, Report)>);

impl ReportTarget {
    /// `dir` as given on the command line: `None` for no report, empty for the default
    /// folder `reports/<run_id>`.
    fn new(dir: Option<&Path>, run_id: &str) -> Self {
        ReportTarget(dir.map(|dir| {
            let dir = if dir.as_os_str().is_empty() {
                workspace_root().join("reports").join(run_id)
            } else {
                dir.to_path_buf()
            };
            let command: Vec<String> = std::env::args().skip(1).collect();
            (dir, Report::new(run_id, &format!("cargo sim {}", command.join(" "))))
        }))
    }

    fn record(&mut self, scenario: &dyn Scenario, outcome: &SeedOutcome, wall: Duration) {
        if let Some((_, report)) = &mut self.0 {
            report.record(outcome, scenario.expectation(), wall.as_millis() as u64);
        }
    }

    fn write(&self) -> Result<(), UsageError> {
        if let Some((dir, report)) = &self.0 {
            report.write(dir).map_err(|e| UsageError(format!("cannot write the report to {}: {e}", dir.display())))?;
            println!("  report: {}", dir.join("index.html").display());
        }
        Ok(())
    }
}

/// Runs `seeds` of each scenario; one scenario ends with its own last line, several with
/// `PASS|FAIL <what> scenarios=K seeds=SPEC failed_scenarios=F`.
fn run_many(
    what: &str,
    scenarios: &[AnyScenario],
    spec: &str,
    seeds: &[u64],
    jobs: usize,
    check_determinism: bool,
    report: &mut ReportTarget,
) -> ExitCode {
    let clock = WallClock::start();
    let mut figures = Figures::default();
    let mut failed = 0;
    for scenario in scenarios {
        let single = scenarios.len() == 1;
        let (passed, f) = run_sweep(scenario.as_ref(), spec, seeds, jobs, check_determinism, single, report);
        figures.add(&f);
        if !passed {
            failed += 1;
        }
    }
    if scenarios.len() > 1 || what == "sweep" {
        figures.wall = clock.elapsed();
        if let Some(line) = figures.fault_points_line() {
            println!("  {line}");
        }
        println!("  {}", figures.line(jobs));
        println!(
            "{} {what} scenarios={} seeds={spec} failed_scenarios={failed}",
            verdict(failed == 0),
            scenarios.len()
        );
    }
    exit_code(failed == 0)
}

/// Throughput of a sweep, and which of seedlog's fault points fired in its buggify runs.
#[derive(Clone, Debug, Default)]
struct Figures {
    seeds: u64,
    sim_time_ms: u64,
    wall: Duration,
    /// Seeds that ran with buggify on.
    buggify_seeds: u64,
    /// Firings per point over those seeds (every point listed).
    fired: BTreeMap<String, u64>,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.seeds += other.seeds;
        self.sim_time_ms += other.sim_time_ms;
        self.wall += other.wall;
        self.buggify_seeds += other.buggify_seeds;
        for (point, n) in &other.fired {
            *self.fired.entry(point.clone()).or_default() += n;
        }
    }

    /// Counts one seed.
    fn count(&mut self, outcome: &SeedOutcome) {
        self.seeds += 1;
        self.sim_time_ms += outcome.sim_time_ms;
        if buggify::was_on(&outcome.trace_jsonl) {
            self.buggify_seeds += 1;
            for (point, n) in buggify::fired_points(&outcome.trace_jsonl) {
                *self.fired.entry(point).or_default() += n;
            }
        }
    }

    /// `fault points: K of N fired in S buggify seeds: a=…, b=… (never: c)`, if any seed ran
    /// with buggify on.
    fn fault_points_line(&self) -> Option<String> {
        if self.buggify_seeds == 0 {
            return None;
        }
        let fired: Vec<String> = self.fired.iter().filter(|(_, n)| **n > 0).map(|(p, n)| format!("{p}={n}")).collect();
        let never: Vec<&str> = self.fired.iter().filter(|(_, n)| **n == 0).map(|(p, _)| p.as_str()).collect();
        let never = if never.is_empty() { String::new() } else { format!(" (never: {})", never.join(", ")) };
        Some(format!(
            "fault points: {} of {} fired in {} buggify seeds: {}{never}",
            fired.len(),
            self.fired.len(),
            self.buggify_seeds,
            fired.join(", ")
        ))
    }

    /// `figures: seeds=N jobs=J wall=… seeds_per_min=… sim_to_wall=…x`.
    fn line(&self, jobs: usize) -> String {
        let wall_s = self.wall.as_secs_f64().max(1e-9);
        format!(
            "figures: seeds={} jobs={jobs} wall={} seeds_per_min={:.1} sim_to_wall={:.1}x",
            self.seeds,
            format_duration(self.wall),
            self.seeds as f64 * 60.0 / wall_s,
            self.sim_time_ms as f64 / 1_000.0 / wall_s
        )
    }
}

/// A usage error for a scenario that expects a checker it does not run (it could never pass).
fn check_expectation(scenario: &dyn Scenario) -> Result<(), UsageError> {
    let Some(expected) = scenario.expectation().checker() else { return Ok(()) };
    if scenario.checkers().iter().any(|c| c.name() == expected) {
        Ok(())
    } else {
        Err(UsageError(format!(
            "scenario `{}` expects a violation of {expected}, a checker it does not run",
            scenario.name()
        )))
    }
}

fn unknown_scenario(name: &str) -> UsageError {
    let known: Vec<String> =
        scenarios::all().map(|all| all.iter().map(|s| s.name().to_string()).collect()).unwrap_or_default();
    let known = if known.is_empty() { "(none registered)".to_string() } else { known.join(", ") };
    UsageError(format!("unknown scenario `{name}` (not a name, nor a file or folder); known scenarios: {known}"))
}

fn run_once(scenario: &dyn Scenario, seed: u64, check_determinism: bool) -> SeedOutcome {
    if check_determinism {
        run_seed_checking_determinism(scenario, seed)
    } else {
        run_seed(scenario, seed)
    }
}

/// Prints a single seed's outcome; whether it passed.
fn print_one(scenario: &dyn Scenario, outcome: &SeedOutcome) -> bool {
    print_failure_lines(outcome);
    print_trace_path(outcome);
    println!("{}", single_last_line(scenario, outcome));
    outcome.passed
}

/// `PASS|FAIL scenario=NAME seed=N events=E sim_time_ms=T trace_hash=HEX[ expected=… found=…]`.
fn single_last_line(scenario: &dyn Scenario, outcome: &SeedOutcome) -> String {
    let expected = match scenario.expectation() {
        Expectation::Pass => String::new(),
        expectation => format!(
            " expected={} found={}",
            expectation.label(),
            if outcome.verdict == SeedVerdict::Found { "yes" } else { "no" }
        ),
    };
    format!(
        "{} scenario={} seed={} events={} sim_time_ms={} trace_hash={:016x}{expected}",
        verdict(outcome.passed),
        scenario.name(),
        outcome.seed,
        outcome.events,
        outcome.sim_time_ms,
        outcome.trace_hash
    )
}

/// Runs `seeds` of one scenario; whether it passed, and its figures. With `figures_line`
/// the figures are printed before the last line.
fn run_sweep(
    scenario: &(dyn Scenario + Send),
    spec: &str,
    seeds: &[u64],
    jobs: usize,
    check_determinism: bool,
    figures_line: bool,
    report: &mut ReportTarget,
) -> (bool, Figures) {
    let expectation = scenario.expectation();
    let mut tally = SweepTally::new(expectation);
    let mut figures = Figures::default();
    let clock = WallClock::start();
    run_seeds(scenario, seeds, jobs, check_determinism, |Finished { outcome, wall }| {
        report.record(scenario, &outcome, wall);
        let seed = outcome.seed;
        figures.count(&outcome);
        let found = if outcome.verdict == SeedVerdict::Found { " found" } else { "" };
        println!("{} seed={seed} trace_hash={:016x}{found}", verdict(outcome.passed), outcome.trace_hash);
        match outcome.verdict {
            SeedVerdict::Clean => {}
            SeedVerdict::Found => {
                // The expected bug: its first report, and the first such seed's trace.
                let first = outcome.violations.iter().find(|v| Some(v.checker) == expectation.checker());
                if let Some(violation) = first {
                    println!("  expected: {violation}");
                }
                if tally.first_found.is_none() {
                    print_trace_path(&outcome);
                }
            }
            SeedVerdict::Failed => {
                print_failure_lines(&outcome);
                print_trace_path(&outcome);
                println!("  reproduce: cargo sim repro {} --seed {seed}", reproduce_target(scenario));
            }
        }
        tally.add(seed, outcome.verdict);
        let _ = std::io::stdout().flush();
    });
    figures.wall = clock.elapsed();
    if let (Some(checker), 0) = (expectation.checker(), tally.found) {
        println!("  expected a {checker} violation, and no seed of {spec} showed one");
    }
    if figures_line {
        if let Some(line) = figures.fault_points_line() {
            println!("  {line}");
        }
        println!("  {}", figures.line(jobs));
    }
    println!(
        "{} scenario={} seeds={spec} passed={} failed={}{}",
        verdict(tally.passed()),
        scenario.name(),
        tally.passed,
        tally.failed,
        tally.suffix()
    );
    (tally.passed(), figures)
}

/// How to name the scenario again on the command line: its file, or its name.
fn reproduce_target(scenario: &dyn Scenario) -> String {
    match scenario.source() {
        Some(path) if !path.starts_with(scenarios::scenario_dir()) => path.display().to_string(),
        _ => scenario.name().to_string(),
    }
}

fn repro(args: &ReproArgs) -> Result<ExitCode, UsageError> {
    let scenario = resolve(std::slice::from_ref(&args.target))?.remove(0);
    let filters = args
        .filters
        .iter()
        .map(|f| f.parse::<Filter>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UsageError(format!("--filter: {e}")))?;
    let window_ms = crate::scenario_file::parse_duration_ms(&args.window, false)
        .map(|ms| ms as u64)
        .map_err(|e| UsageError(format!("--window: {e}")))?;
    let view = View { filters, around: args.around.clone(), window_ns: window_ms * 1_000_000 };
    if let Some(checker) = &view.around {
        if !scenario.checkers().iter().any(|c| c.name() == checker) {
            return Err(UsageError(format!("--around: `{}` runs no checker called `{checker}`", scenario.name())));
        }
    }
    let outcome = run_seed(scenario.as_ref(), args.seed);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(render(&outcome.trace_jsonl, &outcome.violations, &view).as_bytes());
    drop(out);
    print_failure_lines(&outcome);
    print_trace_path(&outcome);
    println!("{}", single_last_line(scenario.as_ref(), &outcome));
    Ok(exit_code(outcome.passed))
}

fn shrink_command(args: &ShrinkArgs) -> Result<ExitCode, UsageError> {
    let scenario = resolve_file(&args.target)?;
    check_expectation(&scenario)?;
    let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
    let clock = WallClock::start();
    let shrunk = shrink::shrink(&scenario, args.seed, jobs, |steps, runs| {
        eprintln!("  shrinking: {steps} steps left after {runs} runs");
    });
    let shrunk = match shrunk {
        Ok(shrunk) => shrunk,
        Err(message) => {
            println!("{message}");
            println!("FAIL shrink scenario={} seed={} reason=no-failure", scenario.name, args.seed);
            return Ok(ExitCode::from(1));
        }
    };
    let text = read_text(&scenario.path)?;
    let file = shrink::scenario_text(&text, &scenario, args.seed, &shrunk).map_err(UsageError)?;
    let out = args.out.clone().unwrap_or_else(|| shrink::default_output(&workspace_root(), &scenario.name, args.seed));
    write_file(&out, &file).map_err(|e| UsageError(format!("cannot write {}: {e}", out.display())))?;
    for step in shrunk.minimal.steps() {
        println!("  at {:>6}ms  {}", step.at_ms, step.fault.describe());
    }
    println!("  still shows: {}", shrunk.failure);
    println!("  wrote: {}", out.display());
    println!("  replay: cargo sim run {} --seed {}", out.display(), args.seed);
    println!("  wall: {}", format_duration(clock.elapsed()));
    println!(
        "PASS shrink scenario={} seed={} steps={}->{} runs={} trace_hash={:016x}",
        scenario.name,
        args.seed,
        shrunk.original.len(),
        shrunk.minimal.len(),
        shrunk.runs,
        shrunk.outcome.trace_hash
    );
    Ok(ExitCode::SUCCESS)
}

fn print_failure_lines(outcome: &SeedOutcome) {
    let lines = outcome.failure_lines();
    for line in lines.iter().take(MAX_FAILURE_LINES) {
        println!("  {line}");
    }
    if lines.len() > MAX_FAILURE_LINES {
        println!("  … and {} more", lines.len() - MAX_FAILURE_LINES);
    }
}

fn print_trace_path(outcome: &SeedOutcome) {
    let path = trace_path(&outcome.scenario, outcome.seed);
    match write_file(&path, &outcome.trace_jsonl) {
        Ok(()) => println!("  trace: {}", path.display()),
        Err(e) => eprintln!("warning: cannot write the trace to {}: {e}", path.display()),
    }
    if let Some(nondeterminism) = &outcome.nondeterminism {
        let path = path.with_extension("second.jsonl");
        match write_file(&path, &nondeterminism.second_trace_jsonl) {
            Ok(()) => println!("  second run's trace: {}", path.display()),
            Err(e) => eprintln!("warning: cannot write the trace to {}: {e}", path.display()),
        }
    }
}

/// `<workspace>/reports/traces/NAME-seedN.jsonl`.
pub fn trace_path(scenario: &str, seed: u64) -> PathBuf {
    workspace_root().join("reports").join("traces").join(format!("{scenario}-seed{seed}.jsonl"))
}

/// A file of the simulator's own, or a usage error naming it.
fn read_text(path: &Path) -> Result<String, UsageError> {
    own_files::read_text(path).map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))
}

fn verdict(passed: bool) -> &'static str {
    if passed {
        "PASS"
    } else {
        "FAIL"
    }
}

fn exit_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
