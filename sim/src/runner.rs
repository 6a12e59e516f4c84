//! Runs one seed of a scenario on a fresh madsim runtime and reports what happened.
//!
//! Each run gets its own OS thread: madsim seeds std's `HashMap` keys per thread only on the
//! thread's first use, and `tracing`'s default subscriber is thread-local, so a fresh thread
//! makes repeated runs in one process (sweeps, the determinism check, tests) independent.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Registry;

use crate::checker::Violation;
use crate::expectation::{judge, SeedVerdict};
use crate::scenario::Scenario;
use crate::trace::TraceRecorder;

/// Stack of the thread a run executes on (every simulated task runs on it).
const RUN_STACK_BYTES: usize = 64 << 20;

/// The result of one seed.
#[derive(Debug)]
pub struct SeedOutcome {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The seed passed: no panic, deterministic (when checked), and no violation or the
    /// scenario's expected one (`verdict` says which).
    pub passed: bool,
    /// Clean, found the scenario's expected violation, or failed.
    pub verdict: SeedVerdict,
    /// What the checkers found.
    pub violations: Vec<Violation>,
    /// FNV-1a over the JSONL trace: the run's fingerprint.
    pub trace_hash: u64,
    /// Number of traced events.
    pub events: u64,
    /// Simulated duration of the run (to the last event if it panicked), ms.
    pub sim_time_ms: u64,
    /// The trace, one JSON object per line.
    pub trace_jsonl: String,
    /// The panic that ended the run (time limit, deadlock, a node's or the supervisor's).
    pub panic: Option<String>,
    /// Set by the determinism check when a second run gave another trace.
    pub nondeterminism: Option<Nondeterminism>,
}

/// Two runs of one seed that traced differently.
#[derive(Debug, Clone)]
pub struct Nondeterminism {
    /// Hash of the first run.
    pub first_hash: u64,
    /// Hash of the second run.
    pub second_hash: u64,
    /// 1-based trace line where they first differ, with both versions ("" = trace ended).
    pub first_divergence: (usize, String, String),
    /// The second run's whole trace, to diff against the first.
    pub second_trace_jsonl: String,
}

impl SeedOutcome {
    /// Why the seed failed, one item per line (empty when it passed).
    pub fn failure_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.violations.iter().map(|v| v.to_string()).collect();
        if let Some(panic) = &self.panic {
            lines.push(format!("panic: {panic}"));
        }
        if let Some(nd) = &self.nondeterminism {
            lines.push(format!(
                "nondeterministic: seed {} gave {:016x} then {:016x}",
                self.seed, nd.first_hash, nd.second_hash
            ));
            let (line, first, second) = &nd.first_divergence;
            lines.push(format!("  first divergence at trace line {line}:"));
            lines.push(format!("    first run:  {first}"));
            lines.push(format!("    second run: {second}"));
        }
        lines
    }
}

/// Runs `seed` of `scenario`: a fresh runtime seeded with `seed`, the trace layer and the
/// scenario's checkers installed, `supervise(seed)` as the main task. A panic anywhere in the
/// simulation fails the seed; it never escapes.
pub fn run_seed(scenario: &dyn Scenario, seed: u64) -> SeedOutcome {
    let recorder = TraceRecorder::new(scenario.checkers());
    let joined = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(format!("sim-{}-seed-{seed}", scenario.name()))
            .stack_size(RUN_STACK_BYTES)
            .spawn_scoped(scope, || simulate(scenario, seed, &recorder))
            .expect("cannot start the simulation thread")
            .join()
    });
    let result = joined.unwrap_or_else(|payload| Err(panic_message(payload.as_ref())));
    let summary = recorder.finish();
    let (sim_time_ns, panic) = match result {
        Ok(elapsed) => (u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), None),
        Err(message) => (summary.last_time_ns, Some(message)),
    };
    let verdict = judge(scenario.expectation(), &summary.violations, panic.is_some(), false);
    SeedOutcome {
        scenario: scenario.name().to_string(),
        seed,
        passed: verdict.passed(),
        verdict,
        violations: summary.violations,
        trace_hash: summary.hash,
        events: summary.events,
        sim_time_ms: sim_time_ns / 1_000_000,
        trace_jsonl: summary.jsonl,
        panic,
        nondeterminism: None,
    }
}

/// Runs `seed` twice; a different trace the second time fails the seed.
pub fn run_seed_checking_determinism(scenario: &dyn Scenario, seed: u64) -> SeedOutcome {
    let mut first = run_seed(scenario, seed);
    let second = run_seed(scenario, seed);
    if first.trace_hash != second.trace_hash {
        first.passed = false;
        first.verdict = SeedVerdict::Failed;
        first.nondeterminism = Some(Nondeterminism {
            first_hash: first.trace_hash,
            second_hash: second.trace_hash,
            first_divergence: first_divergence(&first.trace_jsonl, &second.trace_jsonl),
            second_trace_jsonl: second.trace_jsonl,
        });
    }
    first
}

/// The body of the run's thread: returns the simulated time the supervisor took.
fn simulate(scenario: &dyn Scenario, seed: u64, recorder: &TraceRecorder) -> Result<Duration, String> {
    let subscriber = Registry::default().with(recorder.layer());
    tracing::subscriber::with_default(subscriber, || {
        // Built inside the subscriber's scope: madsim creates its supervisor's `node` span here.
        let mut runtime = madsim::runtime::Runtime::with_seed_and_config(seed, scenario.config());
        runtime.set_time_limit(scenario.time_limit());
        let result = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async {
                scenario.supervise(seed).await;
                madsim::time::TimeHandle::current().elapsed()
            })
        }));
        recorder.close();
        // Dropping the runtime drops the nodes' remaining tasks; their destructors may panic.
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(runtime)));
        let elapsed = result.map_err(|payload| panic_message(payload.as_ref()))?;
        dropped.map_err(|payload| format!("while dropping the runtime: {}", panic_message(payload.as_ref())))?;
        Ok(elapsed)
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

fn first_divergence(a: &str, b: &str) -> (usize, String, String) {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut line = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (None, None) => return (line, String::new(), String::new()),
            (x, y) => {
                return (line, x.unwrap_or("").to_string(), y.unwrap_or("").to_string());
            }
        }
    }
}
