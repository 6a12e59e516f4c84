//! Simulation reports: what a run of `cargo sim` leaves for a person and for CI to read.
//!
//! A report is a directory (by convention `reports/<run-id>/`, layout and schema in
//! `reports/README.md`):
//! - `index.html`: one self-contained page (no network): the run, its totals, the table of
//!   seeds, and the timelines of the seeds it kept drawn as inline SVG (`html.rs`, `svg.rs`);
//! - `summary.json`: machine-readable, every seed, mergeable across shards (`summary.rs`);
//! - `timelines.json`: the timeline data of the kept seeds, so `merge` can draw them again
//!   (`timeline.rs`);
//! - `junit.xml`: one testsuite per scenario, one testcase per seed (`junit.rs`);
//! - `traces/<scenario>-seed<N>.jsonl`: the trace of each failed seed and each seed that
//!   found its scenario's expected violation (up to [`MAX_KEPT_TRACES`]), and
//!   `traces/<scenario>-seed<N>.second.jsonl`, the second run's, when a determinism check
//!   found the seed's runs to differ.
//!
//! The interface, all the CLI needs:
//! - [`Report::new`]`(run_id, command)` (optionally [`Report::with_started_at`]), then
//!   [`Report::record`]`(&outcome, wall_ms)` for each seed as it finishes, then
//!   [`Report::write`]`(dir)`;
//! - [`merge`]`(inputs, out)` for `cargo sim merge OUT IN...`: the report of the shards'
//!   union, from their report directories (or their summary.json files).
//!
//! Memory and size stay bounded on a 10,000-seed sweep: per seed the report keeps one small
//! row; it keeps the timeline of the first seed of each scenario and of failed and found
//! seeds up to [`MAX_NOTABLE_TIMELINES`] (each timeline itself bounded, see `timeline.rs`),
//! and the trace text of failed and found seeds up to [`MAX_KEPT_TRACES`] (the CLI writes
//! every failing seed's trace to `reports/traces/` besides). A row keeps at most
//! [`MAX_VIOLATIONS_PER_SEED`] violations and [`MAX_FAILURE_LINES`] failure lines.

mod html;
mod junit;
pub mod summary;
mod svg;
#[cfg(test)]
mod tests;
pub mod timeline;
mod xml;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::expectation::{Expectation, SeedVerdict};
use crate::own_files;
use crate::runner::SeedOutcome;
use summary::{merge_summaries, RunInfo, SeedRow, Summary, Verdict, ViolationRow, FORMAT_VERSION};
use timeline::Timeline;

/// Most timelines kept of failed and found seeds (besides each scenario's first seed).
pub const MAX_NOTABLE_TIMELINES: usize = 20;
/// Most traces of failed and found seeds a report carries.
pub const MAX_KEPT_TRACES: usize = 50;
/// Most violations a seed's row keeps (`violations_total` counts them all).
pub const MAX_VIOLATIONS_PER_SEED: usize = 100;
/// Most failure lines a seed's row keeps (each cut to [`MAX_LINE_CHARS`]).
pub const MAX_FAILURE_LINES: usize = 50;
/// Longest violation message or failure line kept, in characters.
pub const MAX_LINE_CHARS: usize = 2_000;

/// One report being gathered: a run's seeds as they finish.
pub struct Report {
    info: RunInfo,
    rows: Vec<SeedRow>,
    expects: BTreeMap<String, String>,
    timelines: Vec<KeptTimeline>,
    traces: Vec<KeptTrace>,
    scenarios_seen: BTreeSet<String>,
    notable_timelines: usize,
}

/// The timeline of one kept seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptTimeline {
    pub scenario: String,
    pub seed: u64,
    pub timeline: Timeline,
}

/// timelines.json.
#[derive(Debug, Serialize, Deserialize)]
struct TimelinesFile {
    format_version: u32,
    timelines: Vec<KeptTimeline>,
}

/// A trace the report writes to `file` (relative to its directory).
struct KeptTrace {
    file: String,
    source: TraceSource,
}

enum TraceSource {
    /// The trace's text (a recorded seed).
    Text(String),
    /// An input report's trace file (a merge).
    File(PathBuf),
}

impl Report {
    /// An empty report of run `run_id`, made by the command line `command`.
    pub fn new(run_id: &str, command: &str) -> Report {
        Report {
            info: RunInfo { run_id: run_id.to_string(), command: command.to_string(), ..RunInfo::default() },
            rows: Vec::new(),
            expects: BTreeMap::new(),
            timelines: Vec::new(),
            traces: Vec::new(),
            scenarios_seen: BTreeSet::new(),
            notable_timelines: 0,
        }
    }

    /// Labels when the run started (shown as given: the report reads no clock).
    pub fn with_started_at(mut self, label: &str) -> Report {
        self.info.started_at = label.to_string();
        self
    }

    /// Records one seed's outcome; `wall_ms` is the wall-clock time it took. Keeps its
    /// timeline if it is its scenario's first seed, or failed or found its scenario's
    /// expected violation (up to [`MAX_NOTABLE_TIMELINES`]), and the trace of a failed or
    /// found seed (up to [`MAX_KEPT_TRACES`]).
    pub fn record(&mut self, outcome: &SeedOutcome, expectation: Expectation, wall_ms: u64) {
        let scenario = outcome.scenario.to_string();
        self.expects.insert(scenario.clone(), expectation.label());
        let first_of_scenario = self.scenarios_seen.insert(scenario.clone());
        let notable = outcome.verdict != SeedVerdict::Clean;
        let keep_timeline = if notable && self.notable_timelines < MAX_NOTABLE_TIMELINES {
            self.notable_timelines += 1;
            true
        } else {
            first_of_scenario
        };
        if keep_timeline {
            let timeline = timeline::from_jsonl(
                &outcome.trace_jsonl,
                outcome.sim_time_ms.saturating_mul(1_000_000),
                &outcome.violations,
                outcome.panic.as_deref(),
            );
            self.timelines.push(KeptTimeline { scenario: scenario.clone(), seed: outcome.seed, timeline });
        }
        let kept_trace = notable && self.traces.len() < MAX_KEPT_TRACES;
        let mut keep = |suffix: &str, text: &str| {
            let file = format!("traces/{scenario}-seed{}{suffix}.jsonl", outcome.seed);
            self.traces.push(KeptTrace { file: file.clone(), source: TraceSource::Text(text.to_string()) });
            file
        };
        let trace = kept_trace.then(|| keep("", &outcome.trace_jsonl));
        let second_trace = match &outcome.nondeterminism {
            Some(nd) if kept_trace => Some(keep(".second", &nd.second_trace_jsonl)),
            _ => None,
        };
        self.rows.push(SeedRow {
            scenario,
            seed: outcome.seed,
            verdict: match outcome.verdict {
                SeedVerdict::Clean => Verdict::Clean,
                SeedVerdict::Found => Verdict::Found,
                SeedVerdict::Failed => Verdict::Failed,
            },
            passed: outcome.passed,
            trace_hash: format!("{:016x}", outcome.trace_hash),
            events: outcome.events,
            sim_time_ms: outcome.sim_time_ms,
            wall_ms,
            violations: outcome
                .violations
                .iter()
                .take(MAX_VIOLATIONS_PER_SEED)
                .map(|v| ViolationRow { checker: v.checker.to_string(), time_ns: v.time_ns, message: cut(&v.message) })
                .collect(),
            violations_total: outcome.violations.len() as u64,
            panic: outcome.panic.as_deref().map(cut),
            failure_lines: outcome.failure_lines().iter().take(MAX_FAILURE_LINES).map(|line| cut(line)).collect(),
            trace,
            second_trace,
            timeline: keep_timeline,
        });
    }

    /// The summary of the seeds recorded so far.
    pub fn summary(&self) -> Summary {
        Summary::build(self.info.clone(), self.rows.clone(), &self.expects)
    }

    /// Writes `dir/index.html`, `dir/summary.json`, `dir/timelines.json`, `dir/junit.xml`
    /// and `dir/traces/…` (creating `dir`; files of an older report there are replaced).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let summary = self.summary();
        let rank: BTreeMap<(&str, u64), u8> = summary
            .seeds
            .iter()
            .map(|r| ((r.scenario.as_str(), r.seed), if r.verdict == Verdict::Failed { 0 } else { 1 }))
            .collect();
        let mut timelines: Vec<&KeptTimeline> = self.timelines.iter().collect();
        timelines.sort_by_key(|k| (rank.get(&(k.scenario.as_str(), k.seed)).copied(), &k.scenario, k.seed));
        let timelines =
            TimelinesFile { format_version: FORMAT_VERSION, timelines: timelines.into_iter().cloned().collect() };
        let timelines_json = serde_json::to_string(&timelines).expect("timelines always serialise");

        let mut files: Vec<(String, Output<'_>)> = self
            .traces
            .iter()
            .map(|t| {
                let output = match &t.source {
                    TraceSource::Text(text) => Output::Text(text.as_str().into()),
                    TraceSource::File(path) => Output::Copy(path.clone()),
                };
                (t.file.clone(), output)
            })
            .collect();
        files.push(("summary.json".to_string(), Output::Text(summary.to_json().into())));
        files.push(("timelines.json".to_string(), Output::Text(timelines_json.into())));
        files.push(("junit.xml".to_string(), Output::Text(junit::render(&summary).into())));
        files.push(("index.html".to_string(), Output::Text(html::render(&summary, &timelines.timelines).into())));
        write_files(dir, &files)
    }

    /// A report of an already merged summary, with the timelines and trace files its
    /// inputs carried.
    fn merged(summary: Summary, timelines: Vec<KeptTimeline>, trace_files: BTreeMap<String, PathBuf>) -> Report {
        let info = RunInfo {
            run_id: summary.run_id.clone(),
            command: summary.command.clone(),
            started_at: summary.started_at.clone(),
            merged_from: summary.merged_from.clone(),
        };
        let expects = summary.expectations();
        let scenarios_seen = summary.seeds.iter().map(|r| r.scenario.clone()).collect();
        let mut rows = summary.seeds;
        let mut traces = Vec::new();
        let mut carried = |file: Option<String>| {
            let file = file?;
            let path = trace_files.get(&file)?.clone();
            traces.push(KeptTrace { file: file.clone(), source: TraceSource::File(path) });
            Some(file)
        };
        for row in &mut rows {
            row.trace = carried(row.trace.take());
            row.second_trace = carried(row.second_trace.take());
        }
        let in_rows: BTreeSet<(String, u64)> = rows.iter().map(|r| (r.scenario.clone(), r.seed)).collect();
        let mut seen = BTreeSet::new();
        let timelines = timelines
            .into_iter()
            .filter(|k| in_rows.contains(&(k.scenario.clone(), k.seed)) && seen.insert((k.scenario.clone(), k.seed)))
            .collect::<Vec<_>>();
        for row in &mut rows {
            row.timeline = timelines.iter().any(|k| k.scenario == row.scenario && k.seed == row.seed);
        }
        Report { info, rows, expects, notable_timelines: timelines.len(), timelines, traces, scenarios_seen }
    }
}

/// `cargo sim merge OUT IN...`: merges the reports of shards (each IN a report directory or
/// its summary.json) into the report of the whole in OUT: summary.json (the union of the
/// seeds, totals recomputed), junit.xml, index.html with the seed table and the timelines
/// the inputs carried (their timelines.json), and their trace files. The same seed in two
/// inputs with different trace hashes is an error that names it.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<(), String> {
    if inputs.is_empty() {
        return Err("merge: no input reports".to_string());
    }
    let mut summaries = Vec::new();
    let mut timelines = Vec::new();
    let mut trace_files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for input in inputs {
        let (dir, file) = if input.extension().is_some_and(|e| e == "json") {
            (input.parent().unwrap_or(Path::new(".")).to_path_buf(), input.clone())
        } else {
            (input.clone(), input.join("summary.json"))
        };
        let origin = file.display().to_string();
        let text = own_files::read_text(&file).map_err(|e| format!("{origin}: {e}"))?;
        let summary = Summary::from_json(&text, &origin)?;
        let timelines_path = dir.join("timelines.json");
        if let Ok(text) = own_files::read_text(&timelines_path) {
            let file: TimelinesFile = serde_json::from_str(&text)
                .map_err(|e| format!("{}: malformed timelines.json: {e}", timelines_path.display()))?;
            timelines.extend(file.timelines);
        }
        for file in summary.seeds.iter().flat_map(|row| row.trace.iter().chain(&row.second_trace)).cloned() {
            let path = dir.join(&file);
            if path.is_file() {
                trace_files.entry(file).or_insert(path);
            }
        }
        summaries.push((origin, summary));
    }
    let run_id = out.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "merged".into());
    let command = std::iter::once(format!("cargo sim merge {}", out.display()))
        .chain(inputs.iter().map(|input| input.display().to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let merged = merge_summaries(&summaries, RunInfo { run_id, command, ..RunInfo::default() })?;
    Report::merged(merged, timelines, trace_files)
        .write(out)
        .map_err(|e| format!("cannot write the merged report to {}: {e}", out.display()))
}

/// `text` cut to [`MAX_LINE_CHARS`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => format!("{}… (cut)", &text[..end]),
        None => text.to_string(),
    }
}

/// A file of the report.
enum Output<'a> {
    Text(std::borrow::Cow<'a, str>),
    /// Copied from this file (an input's trace, in a merge).
    Copy(PathBuf),
}

/// The simulator's own output, not a simulated node's IO: real files are right here.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn write_files(dir: &Path, files: &[(String, Output<'_>)]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (file, output) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match output {
            Output::Text(text) => std::fs::write(&path, text.as_bytes())?,
            Output::Copy(from) => {
                // Merging into one of the inputs: the file is already there (copying a file
                // onto itself would empty it).
                let same = path.exists() && std::fs::canonicalize(from)? == std::fs::canonicalize(&path)?;
                if !same {
                    std::fs::copy(from, &path)?;
                }
            }
        }
    }
    Ok(())
}
