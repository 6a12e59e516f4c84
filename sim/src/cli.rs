//! The `cargo sim` command line (simulation build).
//!
//! Contract (checked by `checks/sim-contract`): `list` prints one scenario per line, name
//! first; `run NAME --seed N` ends with `PASS|FAIL scenario=NAME seed=N events=E
//! sim_time_ms=T trace_hash=HEX`; `run NAME --seeds A..B` ends with `PASS|FAIL scenario=NAME
//! seeds=A..B passed=P failed=F`. Exit 0: all passed; 1: a seed failed; 2: usage error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// List the scenarios: name, two spaces, its story.
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
        println!("{}  {}", scenario.name(), scenario.story());
    }
}

fn run(args: &RunArgs) -> Result<ExitCode, UsageError> {
    let scenario = scenarios::find(&args.name).ok_or_else(|| unknown_scenario(&args.name))?;
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
    let mut failed = 0;
    for scenario in &scenarios {
        if run_sweep(*scenario, spec, range, None, true) != ExitCode::SUCCESS {
            failed += 1;
        }
    }
    println!("{} sweep scenarios={} seeds={spec} failed_scenarios={failed}", verdict(failed == 0), scenarios.len());
    Ok(exit_code(failed == 0))
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
    println!(
        "{} scenario={} seed={seed} events={} sim_time_ms={} trace_hash={:016x}",
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
    let (mut passed, mut failed) = (0u64, 0u64);
    for seed in range.seeds(shard) {
        let outcome = run_once(scenario, seed, check_determinism);
        println!("{} seed={seed} trace_hash={:016x}", verdict(outcome.passed), outcome.trace_hash);
        if outcome.passed {
            passed += 1;
        } else {
            failed += 1;
            print_failure_lines(&outcome);
            print_trace_path(&outcome);
            println!("  reproduce: cargo sim run {} --seed {seed}", scenario.name());
        }
        let _ = std::io::stdout().flush();
    }
    println!("{} scenario={} seeds={spec} passed={passed} failed={failed}", verdict(failed == 0), scenario.name());
    exit_code(failed == 0)
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
