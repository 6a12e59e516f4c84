//! Runs many seeds on several worker threads and hands back their outcomes in seed order.
//!
//! Each seed runs on a fresh madsim runtime on its own OS thread (see `runner.rs`), so seeds
//! share nothing and a worker count changes nothing but the wall time: the same seed gives
//! the same trace hash with `--jobs 1` and `--jobs 8` (checked by a test). Outcomes reach the
//! caller in the order of the seeds, whatever order the workers finish in, so a sweep's
//! output is the same for every `--jobs`. Progress (passed, failed, ETA) goes to stderr.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::runner::{run_seed, run_seed_checking_determinism, SeedOutcome};
use crate::scenario::Scenario;
use crate::wall::WallClock;

/// One finished seed and the wall time it took.
pub struct Finished {
    pub outcome: SeedOutcome,
    pub wall: Duration,
}

/// The default worker count: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `seeds` of `scenario` on `jobs` workers, calling `each` with every outcome in seed
/// order; shows progress on stderr when it is a terminal (or `progress` forces it).
pub fn run_seeds(
    scenario: &(dyn Scenario + Send),
    seeds: &[u64],
    jobs: usize,
    check_determinism: bool,
    mut each: impl FnMut(Finished),
) {
    let jobs = jobs.clamp(1, seeds.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Finished)>();
    let mut progress = Progress::new(seeds.len(), scenario.name());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&seed) = seeds.get(i) else { break };
                let clock = WallClock::start();
                let outcome = if check_determinism {
                    run_seed_checking_determinism(scenario, seed)
                } else {
                    run_seed(scenario, seed)
                };
                if tx.send((i, Finished { outcome, wall: clock.elapsed() })).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Reorder: hand out seed i only once seeds 0..i are out.
        let mut pending: BTreeMap<usize, Finished> = BTreeMap::new();
        let mut handed = 0;
        for (i, finished) in rx {
            progress.add(finished.outcome.passed);
            pending.insert(i, finished);
            while let Some(finished) = pending.remove(&handed) {
                progress.clear();
                each(finished);
                handed += 1;
            }
            progress.show();
        }
        progress.clear();
    });
}

/// A one-line progress bar on stderr: `[#####.....] 50/100 passed=49 failed=1 eta=1m20s`.
struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    label: String,
    clock: WallClock,
    enabled: bool,
}

impl Progress {
    fn new(total: usize, label: &str) -> Self {
        let enabled = total > 1 && std::io::stderr().is_terminal();
        Progress { total, done: 0, failed: 0, label: label.to_string(), clock: WallClock::start(), enabled }
    }

    fn add(&mut self, passed: bool) {
        self.done += 1;
        if !passed {
            self.failed += 1;
        }
    }

    fn show(&self) {
        if !self.enabled {
            return;
        }
        const WIDTH: usize = 24;
        let filled = WIDTH * self.done / self.total.max(1);
        let elapsed = self.clock.elapsed();
        let eta = if self.done == 0 {
            "?".to_string()
        } else {
            let left = elapsed.mul_f64((self.total - self.done) as f64 / self.done as f64);
            format_duration(left)
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {}/{} passed={} failed={} eta={eta}\x1b[K",
            self.label,
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.done,
            self.total,
            self.done - self.failed,
            self.failed
        );
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// `75s` → `1m15s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}.{}s", s, d.subsec_millis() / 100)
    }
}
