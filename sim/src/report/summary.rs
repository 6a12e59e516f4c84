//! summary.json: the machine-readable result of a run (or of several shards merged), its
//! serde types, the totals computed from the seed rows, and the merge of shard summaries.
//!
//! The schema is documented in `reports/README.md`; [`FORMAT_VERSION`] changes whenever a
//! field changes meaning or disappears (adding one does not), and merge refuses a summary of
//! another version. Totals are always recomputed from the seed rows, never trusted from an
//! input, so a merged summary is the summary the whole run would have written: the union of
//! the shards' seeds (the same seed in two shards with the same trace hash counts once; with
//! different hashes the merge fails, naming the seed: the build is nondeterministic or the
//! shards ran different commits).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The summary format's version.
pub const FORMAT_VERSION: u32 = 1;

/// The whole summary.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The run's id (the report directory's name, by convention).
    pub run_id: String,
    /// The command line that made it.
    pub command: String,
    /// When it started, as the caller labelled it ("" if not given).
    pub started_at: String,
    /// The run ids of the summaries merged into this one (empty for a single run).
    pub merged_from: Vec<String>,
    /// Over every seed.
    pub totals: Totals,
    /// Seeds per minute of wall time (wall time summed over seeds: per worker when shards
    /// ran in parallel); 0 when no wall time was recorded.
    pub seeds_per_minute: f64,
    /// Simulated time per wall time, summed over seeds; 0 when no wall time was recorded.
    pub sim_to_wall_ratio: f64,
    /// Per scenario, by name.
    pub scenarios: Vec<ScenarioTotals>,
    /// One row per seed, by scenario then seed.
    pub seeds: Vec<SeedRow>,
}

/// Counts over a set of seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub seeds: u64,
    /// Clean and found seeds.
    pub passed: u64,
    pub failed: u64,
    /// Passed without any violation.
    pub clean: u64,
    /// Found the violation their scenario expects.
    pub found: u64,
    /// Traced events.
    pub events: u64,
    /// Simulated time, ms.
    pub sim_time_ms: u64,
    /// Wall-clock time, ms.
    pub wall_ms: u64,
}

impl Totals {
    fn add(&mut self, row: &SeedRow) {
        self.seeds += 1;
        match row.verdict {
            Verdict::Clean => {
                self.passed += 1;
                self.clean += 1;
            }
            Verdict::Found => {
                self.passed += 1;
                self.found += 1;
            }
            Verdict::Failed => self.failed += 1,
        }
        self.events += row.events;
        self.sim_time_ms += row.sim_time_ms;
        self.wall_ms += row.wall_ms;
    }
}

/// One scenario's seeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioTotals {
    pub scenario: String,
    /// What it expects: `pass` or `violation:CHECKER`.
    pub expects: String,
    /// As a sweep: no seed failed and, under an expected violation, some seed found it.
    pub sweep_passed: bool,
    #[serde(flatten)]
    pub totals: Totals,
}

/// A seed's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Clean,
    Found,
    Failed,
}

impl Verdict {
    /// `clean`, `found`, `failed`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Found => "found",
            Verdict::Failed => "failed",
        }
    }
}

/// One seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRow {
    pub scenario: String,
    pub seed: u64,
    pub verdict: Verdict,
    pub passed: bool,
    /// The run's fingerprint, 16 lowercase hex digits.
    pub trace_hash: String,
    pub events: u64,
    pub sim_time_ms: u64,
    pub wall_ms: u64,
    /// What the checkers found (at most `MAX_VIOLATIONS_PER_SEED` of them; see
    /// `violations_total`).
    pub violations: Vec<ViolationRow>,
    /// How many violations there were in all.
    pub violations_total: u64,
    /// The panic that ended the run.
    pub panic: Option<String>,
    /// Why it failed, one item per line, as `cargo sim` prints them (empty when it passed).
    pub failure_lines: Vec<String>,
    /// Its trace, relative to the report directory, when the report kept it.
    pub trace: Option<String>,
    /// The second run's trace when a determinism check found the two runs to differ (kept
    /// with `trace`).
    pub second_trace: Option<String>,
    /// Whether the report drew its timeline.
    pub timeline: bool,
}

/// One violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationRow {
    pub checker: String,
    /// Simulated ns since the run started.
    pub time_ns: u64,
    pub message: String,
}

/// Who ran what: the header of a summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInfo {
    pub run_id: String,
    pub command: String,
    pub started_at: String,
    pub merged_from: Vec<String>,
}

impl Summary {
    /// The summary of `rows` (any order; sorted here), each scenario expecting what
    /// `expects` says (`pass` when absent).
    pub fn build(info: RunInfo, mut rows: Vec<SeedRow>, expects: &BTreeMap<String, String>) -> Summary {
        rows.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
        let mut totals = Totals::default();
        let mut per_scenario: BTreeMap<&str, Totals> = BTreeMap::new();
        for row in &rows {
            totals.add(row);
            per_scenario.entry(&row.scenario).or_default().add(row);
        }
        let scenarios = per_scenario
            .into_iter()
            .map(|(scenario, totals)| {
                let expects = expects.get(scenario).cloned().unwrap_or_else(|| "pass".to_string());
                let sweep_passed = totals.failed == 0 && (expects == "pass" || totals.found > 0);
                ScenarioTotals { scenario: scenario.to_string(), expects, sweep_passed, totals }
            })
            .collect();
        let (seeds_per_minute, sim_to_wall_ratio) = if totals.wall_ms == 0 {
            (0.0, 0.0)
        } else {
            let wall = totals.wall_ms as f64;
            (totals.seeds as f64 * 60_000.0 / wall, totals.sim_time_ms as f64 / wall)
        };
        Summary {
            format_version: FORMAT_VERSION,
            run_id: info.run_id,
            command: info.command,
            started_at: info.started_at,
            merged_from: info.merged_from,
            totals,
            seeds_per_minute,
            sim_to_wall_ratio,
            scenarios,
            seeds: rows,
        }
    }

    /// What each scenario expects, by name.
    pub fn expectations(&self) -> BTreeMap<String, String> {
        self.scenarios.iter().map(|s| (s.scenario.clone(), s.expects.clone())).collect()
    }

    /// Reads a summary.json; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Summary, String> {
        let version: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{origin}: not a summary.json: {e}"))?;
        match version.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => return Err(format!("{origin}: summary format version {v}; this build reads {FORMAT_VERSION}")),
            None => return Err(format!("{origin}: not a summary.json (no format_version)")),
        }
        serde_json::from_value(version).map_err(|e| format!("{origin}: malformed summary.json: {e}"))
    }

    /// The summary as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a Summary always serialises");
        text.push('\n');
        text
    }
}

/// Merges shard summaries (each with the name that identifies it in errors, e.g. its path)
/// into the summary of the whole: the union of their seeds, totals recomputed. The same
/// seed in two inputs must have the same trace hash.
pub fn merge_summaries(inputs: &[(String, Summary)], info: RunInfo) -> Result<Summary, String> {
    let mut rows: BTreeMap<(String, u64), (SeedRow, &str)> = BTreeMap::new();
    let mut expects: BTreeMap<String, String> = BTreeMap::new();
    let mut merged_from = info.merged_from.clone();
    let mut started_at: Option<String> = None;
    for (origin, summary) in inputs {
        merged_from.push(summary.run_id.clone());
        if !summary.started_at.is_empty() {
            started_at = Some(match started_at {
                Some(earliest) if earliest <= summary.started_at => earliest,
                _ => summary.started_at.clone(),
            });
        }
        for (scenario, expectation) in summary.expectations() {
            match expects.get(&scenario) {
                Some(known) if *known != expectation => {
                    return Err(format!(
                        "scenario {scenario} expects {known} in one input and {expectation} in {origin}"
                    ));
                }
                _ => {
                    expects.insert(scenario, expectation);
                }
            }
        }
        for row in &summary.seeds {
            let key = (row.scenario.clone(), row.seed);
            match rows.get(&key) {
                Some((known, known_origin)) if known.trace_hash != row.trace_hash => {
                    return Err(format!(
                        "scenario {} seed {}: trace hash {} in {known_origin} but {} in {origin} (the shards \
                         ran different code, or the run is nondeterministic)",
                        row.scenario, row.seed, known.trace_hash, row.trace_hash
                    ));
                }
                Some(_) => {}
                None => {
                    rows.insert(key, (row.clone(), origin));
                }
            }
        }
    }
    let info = RunInfo { started_at: started_at.unwrap_or(info.started_at), merged_from, ..info };
    Ok(Summary::build(info, rows.into_values().map(|(row, _)| row).collect(), &expects))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, seed: u64, verdict: Verdict, hash: u64) -> SeedRow {
        SeedRow {
            scenario: scenario.to_string(),
            seed,
            verdict,
            passed: verdict != Verdict::Failed,
            trace_hash: format!("{hash:016x}"),
            events: 10,
            sim_time_ms: 3_000,
            wall_ms: 500,
            violations: Vec::new(),
            violations_total: 0,
            panic: None,
            failure_lines: Vec::new(),
            trace: None,
            second_trace: None,
            timeline: false,
        }
    }

    fn info(run_id: &str) -> RunInfo {
        RunInfo { run_id: run_id.to_string(), command: "cargo sim sweep".to_string(), ..RunInfo::default() }
    }

    fn expects() -> BTreeMap<String, String> {
        [("kip".to_string(), "violation:AckedRecordsSurvive".to_string())].into_iter().collect()
    }

    #[test]
    fn totals_and_rates_come_from_the_rows() {
        let rows = vec![
            row("b", 2, Verdict::Clean, 1),
            row("a", 1, Verdict::Failed, 2),
            row("kip", 1, Verdict::Clean, 3),
            row("kip", 2, Verdict::Found, 4),
        ];
        let s = Summary::build(info("r"), rows, &expects());
        let t = &s.totals;
        assert_eq!((t.seeds, t.passed, t.failed, t.clean, t.found), (4, 3, 1, 2, 1));
        assert_eq!((t.events, t.sim_time_ms, t.wall_ms), (40, 12_000, 2_000));
        assert_eq!(s.seeds_per_minute, 120.0);
        assert_eq!(s.sim_to_wall_ratio, 6.0);
        let order: Vec<(&str, u64)> = s.seeds.iter().map(|r| (r.scenario.as_str(), r.seed)).collect();
        assert_eq!(order, [("a", 1), ("b", 2), ("kip", 1), ("kip", 2)]);
        let sweeps: Vec<(&str, &str, bool)> =
            s.scenarios.iter().map(|t| (t.scenario.as_str(), t.expects.as_str(), t.sweep_passed)).collect();
        assert_eq!(sweeps, [("a", "pass", false), ("b", "pass", true), ("kip", "violation:AckedRecordsSurvive", true)]);
    }

    #[test]
    fn an_expecting_scenario_that_found_nothing_did_not_pass_as_a_sweep() {
        let s = Summary::build(info("r"), vec![row("kip", 1, Verdict::Clean, 3)], &expects());
        assert!(!s.scenarios[0].sweep_passed);
        assert_eq!(s.totals.failed, 0);
    }

    #[test]
    fn json_round_trips_and_other_versions_are_refused() {
        let s = Summary::build(info("r"), vec![row("a", 1, Verdict::Clean, 0xab)], &BTreeMap::new());
        let json = s.to_json();
        assert!(json.contains("\"trace_hash\": \"00000000000000ab\""), "{json}");
        assert!(json.contains("\"verdict\": \"clean\""), "{json}");
        assert_eq!(Summary::from_json(&json, "x").unwrap(), s);
        let other = json.replace("\"format_version\": 1", "\"format_version\": 99");
        let error = Summary::from_json(&other, "shard-1/summary.json").unwrap_err();
        assert!(error.contains("shard-1/summary.json: summary format version 99"), "{error}");
        assert!(Summary::from_json("{}", "x").unwrap_err().contains("no format_version"));
    }

    #[test]
    fn merging_shards_gives_the_whole() {
        let all =
            vec![row("a", 1, Verdict::Clean, 1), row("a", 2, Verdict::Failed, 2), row("kip", 3, Verdict::Found, 3)];
        let whole = Summary::build(info("whole"), all.clone(), &expects());
        let one = Summary::build(info("s1"), vec![all[0].clone(), all[2].clone()], &expects());
        // Seed a/1 twice, with the same hash: counted once.
        let two = Summary::build(info("s2"), vec![all[1].clone(), all[0].clone()], &expects());
        let merged = merge_summaries(&[("one".into(), one), ("two".into(), two)], info("whole")).unwrap();
        assert_eq!(merged.merged_from, ["s1", "s2"]);
        assert_eq!(Summary { merged_from: Vec::new(), ..merged }, whole);
    }

    #[test]
    fn the_same_seed_with_another_hash_fails_the_merge_naming_it() {
        let one = Summary::build(info("s1"), vec![row("a", 7, Verdict::Clean, 1)], &BTreeMap::new());
        let two = Summary::build(info("s2"), vec![row("a", 7, Verdict::Clean, 2)], &BTreeMap::new());
        let error = merge_summaries(&[("dir1".into(), one), ("dir2".into(), two)], info("m")).unwrap_err();
        assert!(
            error.starts_with("scenario a seed 7: trace hash 0000000000000001 in dir1 but 0000000000000002 in dir2"),
            "{error}"
        );
    }
}
