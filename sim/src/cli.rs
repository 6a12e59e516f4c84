//! The `cargo sim` command line (simulation build).
//!
//! Contract (checked by `checks/sim-contract`): `list` prints one scenario per line, name
//! first; `run NAME --seed N` ends with `PASS|FAIL scenario=NAME seed=N events=E
//! sim_time_ms=T trace_hash=HEX`; `run NAME --seeds A..B` ends with `PASS|FAIL scenario=NAME
//! seeds=A..B passed=P failed=F`. Exit 0: all passed; 1: a seed failed; 2: usage error.
//!
//! A scenario that expects a violation (`Scenario::expectation`, see [`crate::expectation`])
//! adds its expectation to these lines: a single run ends `… trace_hash=HEX
//! expected=violation:CHECKER found=yes|no` (a seed that found it passes, as does a clean
//! one); a sweep ends `… failed=F expected=violation:CHECKER found=K` and passes only when no
//! seed failed and K ≥ 1. `list` prints `NAME  expects=pass|violation:CHECKER  STORY`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::expectation::{Expectation, SeedVerdict, SweepTally};
use crate::runner::{run_seed, run_seed_checking_determinism, SeedOutcome};
use crate::scenario::Scenario;
use crate::scenarios;
use crate::seeds::{SeedRange, Shard};

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
    /// Run one seed or a range of seeds of a scenario.
    Run(RunArgs),
    /// The main job on built-in defaults: every scenario over a seed range, each seed
    /// run twice to check determinism.
    Sweep {
        /// Seeds, both ends included.
        #[arg(long, default_value = "1..100")]
        seeds: String,
    },
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["seed", "seeds"]))]
struct RunArgs {
    /// The scenario's name (see `cargo sim list`).
    name: String,
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
}

/// A usage error: reported with what was wrong, exit code 2.
struct UsageError(String);

/// Parses the arguments and runs; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse(); // clap exits 2 on its own parse errors
    let result = match cli.command {
        Command::List => {
            list();
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(&args),
        Command::Sweep { seeds } => sweep(&seeds),
    };
    result.unwrap_or_else(|UsageError(message)| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

fn list() {
    for scenario in scenarios::all() {
        println!("{}  expects={}  {}", scenario.name(), scenario.expectation().label(), scenario.story());
    }
}

fn run(args: &RunArgs) -> Result<ExitCode, UsageError> {
    let scenario = scenarios::find(&args.name).ok_or_else(|| unknown_scenario(&args.name))?;
    check_expectation(scenario)?;
    if let Some(seed) = args.seed {
        return Ok(run_one(scenario, seed, args.check_determinism));
    }
    let spec = args.seeds.as_deref().unwrap_or_default();
    let range: SeedRange = spec.parse().map_err(|e| UsageError(format!("--seeds: {e}")))?;
    let shard = match &args.shard {
        Some(s) => Some(s.parse::<Shard>().map_err(|e| UsageError(format!("--shard: {e}")))?),
        None => None,
    };
    Ok(run_sweep(scenario, spec, range, shard, args.check_determinism))
}

fn sweep(spec: &str) -> Result<ExitCode, UsageError> {
    let range: SeedRange = spec.parse().map_err(|e| UsageError(format!("--seeds: {e}")))?;
    let scenarios = scenarios::all();
    scenarios.iter().try_for_each(|scenario| check_expectation(*scenario))?;
    let mut failed = 0;
    for scenario in &scenarios {
        if run_sweep(*scenario, spec, range, None, true) != ExitCode::SUCCESS {
            failed += 1;
        }
    }
    println!("{} sweep scenarios={} seeds={spec} failed_scenarios={failed}", verdict(failed == 0), scenarios.len());
    Ok(exit_code(failed == 0))
}

/// A scenario that expects a checker it does not run could never pass: a usage error.
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
    let known: Vec<&str> = scenarios::all().iter().map(|s| s.name()).collect();
    let known = if known.is_empty() { "(none registered)".to_string() } else { known.join(", ") };
    UsageError(format!("unknown scenario `{name}`; known scenarios: {known}"))
}

fn run_once(scenario: &dyn Scenario, seed: u64, check_determinism: bool) -> SeedOutcome {
    if check_determinism {
        run_seed_checking_determinism(scenario, seed)
    } else {
        run_seed(scenario, seed)
    }
}

fn run_one(scenario: &dyn Scenario, seed: u64, check_determinism: bool) -> ExitCode {
    let outcome = run_once(scenario, seed, check_determinism);
    print_failure_lines(&outcome);
    print_trace_path(&outcome);
    let expected = match scenario.expectation() {
        Expectation::Pass => String::new(),
        expectation => format!(
            " expected={} found={}",
            expectation.label(),
            if outcome.verdict == SeedVerdict::Found { "yes" } else { "no" }
        ),
    };
    println!(
        "{} scenario={} seed={seed} events={} sim_time_ms={} trace_hash={:016x}{expected}",
        verdict(outcome.passed),
        scenario.name(),
        outcome.events,
        outcome.sim_time_ms,
        outcome.trace_hash
    );
    exit_code(outcome.passed)
}

fn run_sweep(
    scenario: &dyn Scenario,
    spec: &str,
    range: SeedRange,
    shard: Option<Shard>,
    check_determinism: bool,
) -> ExitCode {
    let expectation = scenario.expectation();
    let mut tally = SweepTally::new(expectation);
    for seed in range.seeds(shard) {
        let outcome = run_once(scenario, seed, check_determinism);
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
                println!("  reproduce: cargo sim run {} --seed {seed}", scenario.name());
            }
        }
        tally.add(seed, outcome.verdict);
        let _ = std::io::stdout().flush();
    }
    if let (Some(checker), 0) = (expectation.checker(), tally.found) {
        println!("  expected a {checker} violation, and no seed of {spec} showed one");
    }
    println!(
        "{} scenario={} seeds={spec} passed={} failed={}{}",
        verdict(tally.passed()),
        scenario.name(),
        tally.passed,
        tally.failed,
        tally.suffix()
    );
    exit_code(tally.passed())
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
    let path = trace_path(outcome.scenario, outcome.seed);
    match write_trace(&path, &outcome.trace_jsonl) {
        Ok(()) => println!("  trace: {}", path.display()),
        Err(e) => eprintln!("warning: cannot write the trace to {}: {e}", path.display()),
    }
    if let Some(nondeterminism) = &outcome.nondeterminism {
        let path = path.with_extension("second.jsonl");
        match write_trace(&path, &nondeterminism.second_trace_jsonl) {
            Ok(()) => println!("  second run's trace: {}", path.display()),
            Err(e) => eprintln!("warning: cannot write the trace to {}: {e}", path.display()),
        }
    }
}

/// `<workspace>/reports/traces/NAME-seedN.jsonl`.
pub fn trace_path(scenario: &str, seed: u64) -> PathBuf {
    workspace_root().join("reports").join("traces").join(format!("{scenario}-seed{seed}.jsonl"))
}

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The simulator's own output, not a simulated node's IO: real files are right here.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn write_trace(path: &Path, jsonl: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, jsonl)
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
