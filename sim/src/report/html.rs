//! index.html: the report a person reads. One self-contained page (inline CSS, inline SVG
//! drawn server-side by `svg.rs`, no script, nothing loaded from the network), so it opens
//! from a CI artifact or a `file://` URL as it is.
//!
//! Top to bottom: the run (id, command, when), its totals (seeds, passed, failed, found,
//! seeds per minute, simulated time per wall time), a table per scenario, the table of seeds
//! (failed seeds first, then seeds that found their scenario's expected violation, then the
//! rest, each with a link to its trace file and to its timeline when the report kept them),
//! and the timelines of the kept seeds. A sweep of thousands of seeds shows every failed and
//! found seed but at most [`MAX_TABLE_ROWS`] rows in all (summary.json has every seed).

use std::fmt::Write;

use crate::report::summary::{SeedRow, Summary, Verdict};
use crate::report::svg;
use crate::report::xml::escape;
use crate::report::KeptTimeline;

/// Most rows in the seed table.
pub const MAX_TABLE_ROWS: usize = 2_000;

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; }
tr.failed { background: #fde8e8; } tr.found { background: #fff6d8; }
.verdict-failed { color: #b00; font-weight: bold; } .verdict-found { color: #a60; font-weight: bold; }
.totals span { display: inline-block; margin-right: 1.4em; }
code { font-size: 0.95em; }
dl.run { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dl.run dt { font-weight: bold; } dl.run dd { margin: 0; font-family: monospace; }
section.seed { margin-top: 1.4em; }
svg.timeline { border: 1px solid #ccc; background: #fff; }
svg .node-down { fill: #d62728; } svg .node-paused { fill: #f0b400; }
svg .fault-partition { fill: #e45756; opacity: 0.55; } svg .fault-cut { fill: #f58518; opacity: 0.6; }
svg .fault-lag { fill: #eeca3b; opacity: 0.7; } svg .fault-hold { fill: #b279a2; opacity: 0.6; }
svg .fault-disk { fill: #9d755d; opacity: 0.6; }
svg .open { stroke: #000; stroke-width: 1; stroke-dasharray: 3 2; }
svg .marker-clock_jump { fill: #9467bd; } svg .marker-disk_replaced { fill: #555; }
ul.violations { font-size: 0.9em; }
";

/// The page for `summary`, drawing `timelines`.
pub fn render(summary: &Summary, timelines: &[KeptTimeline]) -> String {
    let mut out = String::new();
    let title = format!("seedlog simulation {}", summary.run_id);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    run_info(&mut out, summary);
    scenarios(&mut out, summary);
    seeds(&mut out, summary, timelines);
    if !timelines.is_empty() {
        out.push_str("<h2>Timelines</h2>\n");
        out.push_str(
            "<p>Per seed kept: nodes down (red) or paused (amber); faults shaded while in force (outlined dashed: still \
             in force at the end); per partition its leader and epoch, ISR size, and each replica's high \
             watermark (solid) and log end offset (dashed); violations as red lines. Hover for details.</p>\n",
        );
    }
    for kept in timelines {
        timeline_section(&mut out, summary, kept);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn run_info(out: &mut String, summary: &Summary) {
    out.push_str("<dl class=\"run\">\n");
    let mut item = |name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "<dt>{name}</dt><dd>{}</dd>", escape(value));
        }
    };
    item("run", &summary.run_id);
    item("command", &summary.command);
    item("started", &summary.started_at);
    item("merged from", &summary.merged_from.join(", "));
    out.push_str("</dl>\n");
    let t = &summary.totals;
    let _ = writeln!(
        out,
        "<p class=\"totals\"><span id=\"total-seeds\">seeds <b>{}</b></span><span>passed <b>{}</b></span>\
         <span class=\"verdict-failed\">failed <b>{}</b></span><span class=\"verdict-found\">found <b>{}</b></span>\
         <span>{:.1} seeds/min</span><span>simulated/wall {:.1}×</span><span>simulated {}</span>\
         <span>wall {}</span></p>",
        t.seeds,
        t.passed,
        t.failed,
        t.found,
        summary.seeds_per_minute,
        summary.sim_to_wall_ratio,
        millis(t.sim_time_ms),
        millis(t.wall_ms)
    );
}

fn scenarios(out: &mut String, summary: &Summary) {
    out.push_str(
        "<h2>Scenarios</h2>\n<table id=\"scenarios\">\n<tr><th>scenario</th><th>expects</th><th>seeds</th>\
         <th>passed</th><th>failed</th><th>found</th><th>sweep</th></tr>\n",
    );
    for s in &summary.scenarios {
        let class = if s.sweep_passed { "" } else { " class=\"failed\"" };
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&s.scenario),
            escape(&s.expects),
            s.totals.seeds,
            s.totals.passed,
            s.totals.failed,
            s.totals.found,
            if s.sweep_passed { "PASS" } else { "FAIL" }
        );
    }
    out.push_str("</table>\n");
}

fn seeds(out: &mut String, summary: &Summary, timelines: &[KeptTimeline]) {
    let rank = |row: &SeedRow| match row.verdict {
        Verdict::Failed => 0,
        Verdict::Found => 1,
        Verdict::Clean => 2,
    };
    let mut rows: Vec<&SeedRow> = summary.seeds.iter().collect();
    rows.sort_by_key(|row| rank(row)); // stable: by scenario and seed within a verdict
    let shown = rows.iter().filter(|row| row.verdict != Verdict::Clean).count().max(MAX_TABLE_ROWS.min(rows.len()));
    out.push_str(
        "<h2>Seeds</h2>\n<table id=\"seeds\">\n<tr><th>scenario</th><th>seed</th><th>verdict</th><th>trace hash</th>\
         <th>events</th><th>sim time</th><th>wall time</th><th>first violation</th><th>trace</th></tr>\n",
    );
    for row in &rows[..shown] {
        let first = row
            .violations
            .first()
            .map(|v| format!("{} at {}: {}", v.checker, svg::seconds(v.time_ns), v.message))
            .or_else(|| row.panic.as_ref().map(|p| format!("panic: {p}")))
            .or_else(|| row.failure_lines.first().cloned())
            .unwrap_or_default();
        let mut links = Vec::new();
        if let Some(trace) = &row.trace {
            links.push(format!("<a href=\"{}\">jsonl</a>", escape(trace)));
        }
        if let Some(trace) = &row.second_trace {
            links.push(format!("<a href=\"{}\">second run</a>", escape(trace)));
        }
        if timelines.iter().any(|k| k.scenario == row.scenario && k.seed == row.seed) {
            links.push(format!("<a href=\"#{}\">timeline</a>", escape(&anchor(&row.scenario, row.seed))));
        }
        let verdict = row.verdict.name();
        let _ = writeln!(
            out,
            "<tr class=\"{verdict}\"><td>{}</td><td class=\"num\">{}</td><td class=\"verdict-{verdict}\">{verdict}</td>\
             <td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&row.scenario),
            row.seed,
            escape(&row.trace_hash),
            row.events,
            millis(row.sim_time_ms),
            millis(row.wall_ms),
            escape(&first),
            links.join(" ")
        );
    }
    out.push_str("</table>\n");
    if shown < rows.len() {
        let _ = writeln!(out, "<p>… and {} more clean seeds (every seed is in summary.json).</p>", rows.len() - shown);
    }
}

fn timeline_section(out: &mut String, summary: &Summary, kept: &KeptTimeline) {
    let id = anchor(&kept.scenario, kept.seed);
    let row = summary.seeds.iter().find(|r| r.scenario == kept.scenario && r.seed == kept.seed);
    let verdict = row.map(|r| r.verdict.name()).unwrap_or("");
    let _ = writeln!(
        out,
        "<section class=\"seed\" id=\"{}\">\n<h3>{} seed {} <span class=\"verdict-{verdict}\">{verdict}</span></h3>",
        escape(&id),
        escape(&kept.scenario),
        kept.seed
    );
    if let Some(row) = row.filter(|r| !r.failure_lines.is_empty() || !r.violations.is_empty()) {
        out.push_str("<ul class=\"violations\">\n");
        let lines: Vec<String> = if row.failure_lines.is_empty() {
            row.violations
                .iter()
                .map(|v| format!("{} at {}: {}", v.checker, svg::seconds(v.time_ns), v.message))
                .collect()
        } else {
            row.failure_lines.clone()
        };
        for line in lines.iter().take(20) {
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>\n");
    }
    if kept.timeline.dropped > 0 {
        let _ = writeln!(out, "<p>{} intervals or markers left out to keep the page small.</p>", kept.timeline.dropped);
    }
    out.push_str(&svg::render(&format!("{id}-svg"), &kept.timeline));
    out.push_str("</section>\n");
}

/// The id of a seed's timeline section: `timeline-SCENARIO-seedN`.
pub fn anchor(scenario: &str, seed: u64) -> String {
    format!("timeline-{scenario}-seed{seed}")
}

/// ms as `12.345 s`.
fn millis(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1_000, ms % 1_000)
}
