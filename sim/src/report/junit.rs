//! junit.xml: the summary in the JUnit XML format CI systems read.
//!
//! One `<testsuite>` per scenario (`name` = the scenario), one `<testcase>` per seed
//! (`name="seed 17"`, `classname` = the scenario, `time` = its wall time in seconds). A failed
//! seed carries `<failure message="FIRST LINE" type="failed">` with all its failure lines;
//! a seed that found the violation its scenario expects passes (its finding is in
//! `<system-out>`). A scenario that expects a violation gets one more testcase, `expects
//! violation:CHECKER`, which fails when no seed found it (the sweep's rule).

use crate::report::summary::{Summary, Verdict};
use crate::report::xml::escape;

/// The summary as junit.xml.
pub fn render(summary: &Summary) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let expectation_cases = summary.scenarios.iter().filter(|s| s.expects != "pass").count() as u64;
    let expectation_failures =
        summary.scenarios.iter().filter(|s| s.expects != "pass" && s.totals.found == 0).count() as u64;
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{}\">\n",
        escape(&format!("cargo sim {}", summary.run_id)),
        summary.totals.seeds + expectation_cases,
        summary.totals.failed + expectation_failures,
        seconds(summary.totals.wall_ms)
    ));
    for scenario in &summary.scenarios {
        let expects_violation = scenario.expects != "pass";
        let extra_failure = u64::from(expects_violation && scenario.totals.found == 0);
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{}\">\n",
            escape(&scenario.scenario),
            scenario.totals.seeds + u64::from(expects_violation),
            scenario.totals.failed + extra_failure,
            seconds(scenario.totals.wall_ms)
        ));
        for row in summary.seeds.iter().filter(|r| r.scenario == scenario.scenario) {
            let open = format!(
                "    <testcase name=\"seed {}\" classname=\"{}\" time=\"{}\"",
                row.seed,
                escape(&row.scenario),
                seconds(row.wall_ms)
            );
            match row.verdict {
                Verdict::Clean => out.push_str(&format!("{open}/>\n")),
                Verdict::Found => {
                    let found: Vec<String> =
                        row.violations.iter().map(|v| format!("{}: {}", v.checker, v.message)).collect();
                    out.push_str(&format!(
                        "{open}>\n      <system-out>found the expected violation (trace hash {})\n{}</system-out>\n    </testcase>\n",
                        row.trace_hash,
                        escape(&found.join("\n"))
                    ));
                }
                Verdict::Failed => {
                    let first = row.failure_lines.first().map(String::as_str).unwrap_or("failed");
                    out.push_str(&format!(
                        "{open}>\n      <failure message=\"{}\" type=\"failed\">{}\nreproduce: cargo sim run {} --seed {} (trace hash {})</failure>\n    </testcase>\n",
                        escape(first),
                        escape(&row.failure_lines.join("\n")),
                        escape(&row.scenario),
                        row.seed,
                        row.trace_hash
                    ));
                }
            }
        }
        if expects_violation {
            let open = format!(
                "    <testcase name=\"expects {}\" classname=\"{}\" time=\"0\"",
                escape(&scenario.expects),
                escape(&scenario.scenario)
            );
            if scenario.totals.found == 0 {
                out.push_str(&format!(
                    "{open}>\n      <failure message=\"no seed showed the expected {}\" type=\"failed\"/>\n    </testcase>\n",
                    escape(&scenario.expects)
                ));
            } else {
                out.push_str(&format!("{open}/>\n"));
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::summary::{RunInfo, SeedRow, ViolationRow};

    /// Checks that `xml` is well-formed enough for a JUnit reader: one root, every tag closed
    /// in order, attributes quoted, no raw `<` or stray `&` in text or attribute values.
    /// Returns the tag names in document order.
    pub(crate) fn check_well_formed(xml: &str) -> Vec<String> {
        let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").expect("the XML declaration");
        let mut stack: Vec<String> = Vec::new();
        let mut tags = Vec::new();
        let mut rest = body;
        let mut roots = 0;
        while let Some(start) = rest.find('<') {
            check_text(&rest[..start]);
            let end = rest[start..].find('>').map(|i| start + i).expect("an unclosed tag");
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "a raw < inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
                check_attributes(attrs);
                if stack.is_empty() {
                    roots += 1;
                }
                tags.push(name.to_string());
                if !self_closing {
                    stack.push(name.to_string());
                }
            }
            rest = &rest[end + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1, "one root element");
        tags
    }

    fn check_text(text: &str) {
        assert!(!text.contains('<'), "a raw < in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| entity.starts_with(e)),
                "a stray & or < in {text:?}"
            );
        }
    }

    fn check_attributes(attrs: &str) {
        let mut rest = attrs.trim();
        while !rest.is_empty() {
            let (name, value) = rest.split_once("=\"").expect("an attribute without a quoted value");
            assert!(!name.trim().is_empty() && !name.contains(' '), "a bad attribute name {name:?}");
            let close = value.find('"').expect("an unterminated attribute value");
            check_text(&value[..close]);
            rest = value[close + 1..].trim_start();
        }
    }

    fn row(scenario: &str, seed: u64, verdict: Verdict) -> SeedRow {
        let failed = verdict == Verdict::Failed;
        SeedRow {
            scenario: scenario.to_string(),
            seed,
            verdict,
            passed: !failed,
            trace_hash: "00000000000000ff".to_string(),
            events: 1,
            sim_time_ms: 1,
            wall_ms: 1_234,
            violations: vec![ViolationRow {
                checker: "AckedRecordsSurvive".to_string(),
                time_ns: 5,
                message: "offset 3 \"a\" <lost> & gone".to_string(),
            }],
            violations_total: 1,
            panic: None,
            failure_lines: if failed { vec!["panic: x < y && \u{1b}[0m".to_string()] } else { Vec::new() },
            trace: None,
            second_trace: None,
            timeline: false,
        }
    }

    #[test]
    fn one_suite_per_scenario_one_case_per_seed_failures_escaped() {
        let expects = [("kip".to_string(), "violation:AckedRecordsSurvive".to_string())].into_iter().collect();
        let rows = vec![row("a<b", 1, Verdict::Clean), row("a<b", 2, Verdict::Failed), row("kip", 17, Verdict::Clean)];
        let xml = render(&Summary::build(RunInfo { run_id: "r".into(), ..RunInfo::default() }, rows, &expects));
        let tags = check_well_formed(&xml);
        assert_eq!(tags.iter().filter(|t| *t == "testsuite").count(), 2);
        assert_eq!(tags.iter().filter(|t| *t == "testcase").count(), 4, "3 seeds and kip's expectation");
        assert_eq!(tags.iter().filter(|t| *t == "failure").count(), 2, "seed 2, and kip found nothing");
        assert!(xml.contains("<testcase name=\"seed 17\" classname=\"kip\" time=\"1.234\"/>"), "{xml}");
        assert!(xml.contains("<failure message=\"panic: x &lt; y &amp;&amp; \u{FFFD}[0m\""), "{xml}");
        assert!(xml.contains("reproduce: cargo sim run a&lt;b --seed 2"), "{xml}");
        assert!(xml.contains("<testsuites name=\"cargo sim r\" tests=\"4\" failures=\"2\""), "{xml}");
    }

    #[test]
    fn a_found_seed_passes_and_shows_its_finding() {
        let expects = [("kip".to_string(), "violation:AckedRecordsSurvive".to_string())].into_iter().collect();
        let summary = Summary::build(RunInfo::default(), vec![row("kip", 3, Verdict::Found)], &expects);
        let xml = render(&summary);
        check_well_formed(&xml);
        assert!(!xml.contains("<failure"), "{xml}");
        assert!(xml.contains("AckedRecordsSurvive: offset 3 &quot;a&quot; &lt;lost&gt; &amp; gone"), "{xml}");
    }
}
