//! The report end to end: real runs of partition-leader-crash recorded, written, read back
//! and merged as shards; index.html rendered by headless Chromium (Debian's `chromium`,
//! installed by `scripts/install-chromium.sh`) to check that the timelines are drawn; and
//! the keep policy that bounds a long sweep's report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::junit::tests::check_well_formed;
use super::*;
use crate::checker::Violation;
use crate::runner::run_seed;
use crate::scenarios;

const SCENARIO: &str = "partition-leader-crash";

/// Seeds 1–3 of partition-leader-crash, run once per test process. Seed 3 is made to fail
/// (a violation with markup in its message, in the middle of the run) so that the report
/// has a failed seed to show.
fn outcomes() -> &'static [SeedOutcome] {
    static OUTCOMES: OnceLock<Vec<SeedOutcome>> = OnceLock::new();
    OUTCOMES.get_or_init(|| {
        let scenario = scenarios::find(SCENARIO).expect("the scenarios load").expect("the scenario exists");
        let mut outcomes: Vec<SeedOutcome> = (1..=3).map(|seed| run_seed(scenario.as_ref(), seed)).collect();
        for outcome in &outcomes {
            assert!(outcome.passed, "seed {} of {SCENARIO} failed: {:?}", outcome.seed, outcome.failure_lines());
        }
        let failed = &mut outcomes[2];
        let at = failed.sim_time_ms * 1_000_000 / 2;
        failed.violations.push(Violation::new("AckedRecordsSurvive", at, "offset 5 <lost> & \"gone\""));
        failed.verdict = SeedVerdict::Failed;
        failed.passed = false;
        outcomes
    })
}

/// A fresh directory for one test's files, removed when the test passes (kept to look at
/// when it fails).
struct Scratch(PathBuf);

impl Scratch {
    #[allow(clippy::disallowed_methods)] // the test's own scratch files, not a simulated node's IO
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("seedlog-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn read(path: &Path) -> String {
    crate::own_files::read_text(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[allow(clippy::disallowed_methods)] // the test's own scratch files
fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
    std::fs::write(path, text).expect("a written file");
}

fn report_of(run_id: &str, seeds: &[u64]) -> Report {
    let mut report =
        Report::new(run_id, &format!("cargo sim run {SCENARIO} --seeds …")).with_started_at("2026-12-05T01:00Z");
    for outcome in outcomes().iter().filter(|o| seeds.contains(&o.seed)) {
        report.record(outcome, Expectation::Pass, 100 * outcome.seed);
    }
    report
}

#[test]
fn a_report_of_real_runs_has_every_file_and_reads_back() {
    let dir = Scratch::new("whole");
    let report = report_of("whole", &[1, 2, 3]);
    report.write(&dir).expect("the report is written");

    let summary = Summary::from_json(&read(&dir.join("summary.json")), "summary.json").expect("it reads back");
    assert_eq!(summary, report.summary());
    let t = &summary.totals;
    assert_eq!((t.seeds, t.passed, t.failed, t.clean, t.found, t.wall_ms), (3, 2, 1, 2, 0, 600));
    assert_eq!(summary.scenarios.len(), 1);
    assert!(!summary.scenarios[0].sweep_passed);
    for (row, outcome) in summary.seeds.iter().zip(outcomes()) {
        assert_eq!((row.seed, row.events, row.sim_time_ms), (outcome.seed, outcome.events, outcome.sim_time_ms));
        assert_eq!(row.trace_hash, format!("{:016x}", outcome.trace_hash));
        assert_eq!(row.trace_hash.len(), 16);
    }
    // Timelines: the scenario's first seed and the failed one; a trace for the failed one.
    let kept: Vec<(u64, bool, Option<&str>)> =
        summary.seeds.iter().map(|r| (r.seed, r.timeline, r.trace.as_deref())).collect();
    assert_eq!(kept, [(1, true, None), (2, false, None), (3, true, Some("traces/partition-leader-crash-seed3.jsonl"))]);
    assert_eq!(read(&dir.join("traces/partition-leader-crash-seed3.jsonl")), outcomes()[2].trace_jsonl);
    let failed = &summary.seeds[2];
    assert_eq!(failed.violations[0].message, "offset 5 <lost> & \"gone\"");
    assert_eq!(failed.failure_lines.len(), 1, "{:?}", failed.failure_lines);

    let xml = read(&dir.join("junit.xml"));
    let tags = check_well_formed(&xml);
    assert_eq!(tags.iter().filter(|t| *t == "testcase").count(), 3);
    assert!(xml.contains("<testcase name=\"seed 3\" classname=\"partition-leader-crash\" time=\"0.300\">"), "{xml}");
    assert!(xml.contains("message=\"AckedRecordsSurvive at "), "{xml}");
    assert!(xml.contains("offset 5 &lt;lost&gt; &amp; &quot;gone&quot;"), "{xml}");

    let timelines: TimelinesFile = serde_json::from_str(&read(&dir.join("timelines.json"))).expect("timelines.json");
    let seeds: Vec<u64> = timelines.timelines.iter().map(|k| k.seed).collect();
    assert_eq!(seeds, [3, 1], "failed seeds first");
    let timeline = &timelines.timelines[1].timeline;
    assert_eq!(
        timeline.partitions.len(),
        3,
        "{:?}",
        timeline.partitions.iter().map(|p| p.partition).collect::<Vec<_>>()
    );
    assert!(timeline.nodes.iter().any(|n| !n.down.is_empty()), "the scenario kills nodes");
    for partition in &timeline.partitions {
        assert!(!partition.leaders.is_empty() && !partition.isr_size.is_empty());
        assert_eq!(partition.replica_offsets.len(), 3, "three replicas' offsets");
        assert!(partition.replica_offsets.iter().all(|r| !r.high_watermark.is_empty() && !r.log_end_offset.is_empty()));
    }
}

#[test]
fn merged_shards_make_the_whole_and_a_conflict_names_the_seed() {
    let whole = report_of("whole", &[1, 2, 3]).summary();
    let (one, two, out) = (Scratch::new("shard-1"), Scratch::new("shard-2"), Scratch::new("merged"));
    report_of("shard-1", &[1, 3]).write(&one).expect("shard 1");
    report_of("shard-2", &[2]).write(&two).expect("shard 2");
    // A shard's summary.json named as a file works as well as its directory.
    merge(&[one.to_path_buf(), two.join("summary.json")], &out).expect("the merge");

    let merged = Summary::from_json(&read(&out.join("summary.json")), "merged").expect("merged summary");
    assert_eq!(merged.merged_from, ["shard-1", "shard-2"]);
    assert_eq!(merged.started_at, "2026-12-05T01:00Z");
    assert_eq!(merged.totals, whole.totals);
    assert_eq!(merged.scenarios, whole.scenarios);
    assert_eq!((merged.seeds_per_minute, merged.sim_to_wall_ratio), (whole.seeds_per_minute, whole.sim_to_wall_ratio));
    // Seed 2 was its shard's first seed, so that shard drew its timeline too.
    let without_timeline =
        |s: &Summary| s.seeds.iter().map(|r| SeedRow { timeline: false, ..r.clone() }).collect::<Vec<_>>();
    assert_eq!(without_timeline(&merged), without_timeline(&whole));
    assert!(merged.seeds.iter().all(|r| r.timeline));
    assert_eq!(read(&out.join("traces/partition-leader-crash-seed3.jsonl")), outcomes()[2].trace_jsonl);
    check_well_formed(&read(&out.join("junit.xml")));
    let html = read(&out.join("index.html"));
    for seed in 1..=3 {
        assert!(html.contains(&format!("id=\"timeline-partition-leader-crash-seed{seed}-svg\"")), "seed {seed}");
    }

    // Merging into one of the inputs keeps its trace files whole.
    merge(&[one.to_path_buf(), two.to_path_buf()], &one).expect("a merge into an input");
    assert_eq!(read(&one.join("traces/partition-leader-crash-seed3.jsonl")), outcomes()[2].trace_jsonl);

    // Seed 2 again with another hash.
    let conflict = Scratch::new("conflict");
    let hash = format!("{:016x}", outcomes()[1].trace_hash);
    write(&conflict.join("summary.json"), &read(&two.join("summary.json")).replace(&hash, "00000000deadbeef"));
    let error = merge(&[two.to_path_buf(), conflict.to_path_buf()], &Scratch::new("never")).expect_err("a conflict");
    assert!(error.contains("scenario partition-leader-crash seed 2: trace hash"), "{error}");
    assert!(error.contains("00000000deadbeef"), "{error}");

    let error = merge(&[Scratch::new("empty").to_path_buf()], &Scratch::new("never-2")).expect_err("no summary");
    assert!(error.contains("summary.json"), "{error}");
}

/// Debian's Chromium, installed by `scripts/install-chromium.sh` on first use (a no-op when
/// it is there), or a clear failure saying why not.
fn chromium() -> String {
    static BINARY: OnceLock<String> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let runs = |binary: &str| {
                Command::new(binary)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            };
            if let Ok(binary) = std::env::var("SEEDLOG_CHROMIUM") {
                assert!(runs(&binary), "SEEDLOG_CHROMIUM={binary}: `{binary} --version` does not run");
                return binary;
            }
            if !runs("chromium") {
                // The test runs in sim/; the script wants the repo root.
                let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("sim/ has a parent");
                eprintln!("report test: installing Chromium (scripts/install-chromium.sh)");
                let status = Command::new("bash")
                    .arg("scripts/install-chromium.sh")
                    .current_dir(root)
                    .status()
                    .expect("could not run scripts/install-chromium.sh");
                assert!(status.success(), "scripts/install-chromium.sh failed ({status}); see its output above");
            }
            assert!(
                runs("chromium"),
                "`chromium --version` does not run after scripts/install-chromium.sh; \
                 set SEEDLOG_CHROMIUM to a Chromium binary"
            );
            "chromium".to_string()
        })
        .clone()
}

/// The DOM of `page` after headless Chromium loaded it (`--dump-dom`).
fn rendered_dom(page: &Path, profile: &Path) -> String {
    // Bounded by coreutils' `timeout`; the DOM is read while chromium writes it (waiting for
    // the exit first would block chromium on a full pipe once the page passes 64 KiB).
    let deadline_s = 120;
    let output = Command::new("timeout")
        .arg(deadline_s.to_string())
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("chromium starts");
    assert_ne!(output.status.code(), Some(124), "chromium did not render {} within {deadline_s} s", page.display());
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains("</html>"),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

/// The part of `dom` from the element with id `id` to the end of its section.
fn section<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element with id {id}"));
    let end = dom[start..].find("</section>").map_or(dom.len(), |i| start + i);
    &dom[start..end]
}

#[test]
fn index_html_draws_the_timelines_in_headless_chromium() {
    chromium(); // before the simulations: a missing browser is installed (or fails) first
    let dir = Scratch::new("chromium");
    report_of("chromium", &[1, 2, 3]).write(&dir).expect("the report");
    let dom = rendered_dom(&dir.join("index.html"), &dir.join("profile"));

    assert!(dom.contains("id=\"total-seeds\">seeds <b>3</b>"), "the header's totals");
    let table = &dom[dom.find("id=\"seeds\"").expect("the seed table")..];
    let first_row = &table[table.find("<tr class=").expect("a seed row")..];
    assert!(
        first_row.starts_with("<tr class=\"failed\"><td>partition-leader-crash</td><td class=\"num\">3</td>"),
        "failed first: {}",
        &first_row[..200]
    );
    assert!(table.contains("href=\"traces/partition-leader-crash-seed3.jsonl\""), "the failed seed's trace link");

    let count = |haystack: &str, needle: &str| haystack.matches(needle).count();
    for seed in [1, 3] {
        let svg = section(&dom, &format!("timeline-partition-leader-crash-seed{seed}-svg"));
        assert_eq!(count(svg, "<g class=\"partition\""), 3, "seed {seed}: one group per partition");
        assert!(count(svg, "<rect class=\"leader\"") >= 3, "seed {seed}: leader bars");
        assert!(count(svg, "<path class=\"isr\"") == 3, "seed {seed}: ISR lines");
        assert_eq!(count(svg, "<path class=\"hw\""), 9, "seed {seed}: a high watermark line per replica");
        assert_eq!(count(svg, "<path class=\"leo\""), 9, "seed {seed}: a log end offset line per replica");
        assert!(count(svg, "class=\"node-down") >= 2, "seed {seed}: the crashes");
        assert!(svg.contains("killed"), "seed {seed}: a down interval's tooltip");
    }
    assert!(!dom.contains("id=\"timeline-partition-leader-crash-seed2\""), "seed 2 kept no timeline");
    let clean = section(&dom, "timeline-partition-leader-crash-seed1-svg");
    assert_eq!(count(clean, "marker-violation"), 0, "a clean seed has no violation marker");
    let failed = section(&dom, "timeline-partition-leader-crash-seed3-svg");
    assert_eq!(count(failed, "<g class=\"marker marker-violation\">"), 1, "the violation is marked");
    assert!(failed.contains("<title>AckedRecordsSurvive: offset 5 &lt;lost&gt; &amp; \"gone\" at "), "its tooltip");
    assert!(!dom.contains("<script"), "no script");
    assert!(!dom.contains("src=\"http"), "nothing from the network");
}

/// A small synthetic outcome (a trace of one kill).
fn synthetic(seed: u64, verdict: SeedVerdict) -> SeedOutcome {
    SeedOutcome {
        scenario: SCENARIO.to_string(),
        seed,
        passed: verdict.passed(),
        verdict,
        violations: if verdict == SeedVerdict::Clean { Vec::new() } else { vec![Violation::new("X", 1, "bad")] },
        trace_hash: seed,
        events: 1,
        sim_time_ms: 10,
        trace_jsonl: "{\"time_ns\":1,\"node\":\"sim\",\"name\":\"node_killed\",\"fields\":{\"node\":\"b1\"}}\n"
            .to_string(),
        panic: None,
        nondeterminism: None,
    }
}

#[test]
fn a_long_sweep_keeps_a_bounded_number_of_timelines_and_traces() {
    let mut report = Report::new("long", "cargo sim sweep");
    for seed in 1..=3_000 {
        let verdict = if seed % 2 == 0 { SeedVerdict::Failed } else { SeedVerdict::Clean };
        report.record(&synthetic(seed, verdict), Expectation::Pass, 1);
    }
    let summary = report.summary();
    assert_eq!(summary.seeds.len(), 3_000);
    assert_eq!(report.timelines.len(), 1 + MAX_NOTABLE_TIMELINES, "the first seed and the first failures");
    assert_eq!(report.timelines[0].seed, 1);
    assert_eq!(report.traces.len(), MAX_KEPT_TRACES);
    assert_eq!(summary.seeds.iter().filter(|r| r.trace.is_some()).count(), MAX_KEPT_TRACES);
    assert_eq!(summary.seeds.iter().filter(|r| r.timeline).count(), 1 + MAX_NOTABLE_TIMELINES);
    let html = html::render(&summary, &report.timelines);
    assert!(html.contains("… and 1000 more clean seeds"), "the table is cut after the failures");
    assert!(html.len() < 4 << 20, "index.html stays small: {} bytes", html.len());
}

#[test]
fn long_messages_are_cut() {
    let mut outcome = synthetic(1, SeedVerdict::Failed);
    outcome.violations = vec![Violation::new("X", 1, "é".repeat(MAX_LINE_CHARS + 10))];
    let mut report = Report::new("r", "c");
    report.record(&outcome, Expectation::Pass, 1);
    let message = &report.summary().seeds[0].violations[0].message;
    assert_eq!(message.chars().count(), MAX_LINE_CHARS + "… (cut)".chars().count());
}

#[test]
fn a_nondeterministic_seed_keeps_both_runs_traces_through_a_merge() {
    let mut outcome = synthetic(4, SeedVerdict::Failed);
    outcome.nondeterminism = Some(crate::runner::Nondeterminism {
        first_hash: 4,
        second_hash: 5,
        first_divergence: (1, "a".to_string(), "b".to_string()),
        second_trace_jsonl: "second run\n".to_string(),
    });
    let mut report = Report::new("nd", "cargo sim run x --seed 4 --check-determinism");
    report.record(&outcome, Expectation::Pass, 1);
    let row = &report.summary().seeds[0];
    assert_eq!(row.second_trace.as_deref(), Some("traces/partition-leader-crash-seed4.second.jsonl"));
    assert!(row.failure_lines.iter().any(|l| l.starts_with("nondeterministic: seed 4")), "{:?}", row.failure_lines);
    let (dir, out) = (Scratch::new("nd"), Scratch::new("nd-merged"));
    report.write(&dir).expect("the report");
    assert_eq!(read(&dir.join("traces/partition-leader-crash-seed4.second.jsonl")), "second run\n");
    assert!(read(&dir.join("index.html")).contains("href=\"traces/partition-leader-crash-seed4.second.jsonl\""));
    merge(&[dir.to_path_buf()], &out).expect("the merge");
    assert_eq!(read(&out.join("traces/partition-leader-crash-seed4.second.jsonl")), "second run\n");
    assert_eq!(read(&out.join("traces/partition-leader-crash-seed4.jsonl")), outcome.trace_jsonl);
}
