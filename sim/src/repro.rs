//! `cargo sim repro`: one seed's trace, for a person to read.
//!
//! Each event is one line — simulated time, node, event, fields — with the checkers'
//! violations marked in place (`!!`). Filters narrow it: `node=b2` (events of one node),
//! `partition=events-0` (events that carry that topic and partition), `name=fault_step`
//! (events whose name contains it), or any `field=value`; several filters must all hold.
//! `--around CHECKER` keeps only the events within a window of that checker's violations.

use std::fmt::Write as _;

use serde_json::Value;

use crate::checker::Violation;

/// What a line of the trace must satisfy to be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// The event's node.
    Node(String),
    /// The event's `topic` and `partition` fields.
    Partition { topic: String, partition: i64 },
    /// A substring of the event's name.
    Name(String),
    /// Simulated time since the run started, an inclusive range in ns (`time=9.9s..10.1s`).
    Time { from_ns: u64, to_ns: u64 },
    /// One field, by its text.
    Field { key: String, value: String },
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (key, value) =
            s.split_once('=').ok_or_else(|| format!("filter `{s}` is not KEY=VALUE (node=b2, partition=events-0)"))?;
        if value.is_empty() {
            return Err(format!("filter `{s}` has no value"));
        }
        Ok(match key {
            "node" => Filter::Node(value.to_string()),
            "name" => Filter::Name(value.to_string()),
            "partition" => {
                let (topic, partition) = value
                    .rsplit_once('-')
                    .and_then(|(t, p)| Some((t, p.parse::<i64>().ok()?)))
                    .ok_or_else(|| format!("filter `{s}`: a partition is TOPIC-P, e.g. events-0"))?;
                Filter::Partition { topic: topic.to_string(), partition }
            }
            "time" => {
                let (from_ms, to_ms) = crate::scenario_file::values::unsigned_duration_range_ms(value)
                    .map_err(|e| format!("filter `{s}`: {e}"))?;
                Filter::Time { from_ns: from_ms * 1_000_000, to_ns: to_ms * 1_000_000 }
            }
            _ => Filter::Field { key: key.to_string(), value: value.to_string() },
        })
    }
}

impl Filter {
    fn keeps(&self, event: &Value) -> bool {
        let field = |k: &str| event.get("fields").and_then(|f| f.get(k));
        match self {
            Filter::Node(node) => event.get("node").and_then(Value::as_str) == Some(node),
            Filter::Name(name) => event.get("name").and_then(Value::as_str).is_some_and(|n| n.contains(name.as_str())),
            Filter::Partition { topic, partition } => {
                field("topic").and_then(Value::as_str) == Some(topic)
                    && field("partition").and_then(Value::as_i64) == Some(*partition)
            }
            Filter::Time { from_ns, to_ns } => {
                event.get("time_ns").and_then(Value::as_u64).is_some_and(|t| (*from_ns..=*to_ns).contains(&t))
            }
            Filter::Field { key, value } => field(key).is_some_and(|v| text(v) == *value),
        }
    }
}

/// Which lines to show: every filter holds, and (with `around`) the event lies within
/// `window_ns` of a violation of that checker.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub filters: Vec<Filter>,
    pub around: Option<String>,
    pub window_ns: u64,
}

/// The trace `jsonl` as readable lines, `violations` marked where they happened.
pub fn render(jsonl: &str, violations: &[Violation], view: &View) -> String {
    let marks: Vec<&Violation> = match &view.around {
        Some(checker) => violations.iter().filter(|v| v.checker == checker).collect(),
        None => violations.iter().collect(),
    };
    let near =
        |time_ns: u64| view.around.is_none() || marks.iter().any(|v| time_ns.abs_diff(v.time_ns) <= view.window_ns);
    let mut pending: Vec<&Violation> = marks.clone();
    pending.sort_by_key(|v| v.time_ns);
    let mut pending = pending.into_iter().peekable();
    let mut out = String::new();
    for line in jsonl.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        let time_ns = event.get("time_ns").and_then(Value::as_u64).unwrap_or(0);
        while let Some(v) = pending.next_if(|v| v.time_ns < time_ns) {
            let _ = writeln!(out, "{}  !! {v}", format_time(v.time_ns));
        }
        if near(time_ns) && view.filters.iter().all(|f| f.keeps(&event)) {
            out.push_str(&format_event(&event, time_ns));
            out.push('\n');
        }
    }
    for v in pending {
        let _ = writeln!(out, "{}  !! {v}", format_time(v.time_ns));
    }
    out
}

/// `   12.345678s  b2        event_name  key=value …`.
fn format_event(event: &Value, time_ns: u64) -> String {
    let node = event.get("node").and_then(Value::as_str).unwrap_or("?");
    let name = event.get("name").and_then(Value::as_str).unwrap_or("?");
    let mut line = format!("{}  {node:<9} {name}", format_time(time_ns));
    if let Some(fields) = event.get("fields").and_then(Value::as_object) {
        for (key, value) in fields {
            let _ = write!(line, " {key}={}", text(value));
        }
    }
    line
}

/// Seconds with microseconds, right-aligned.
fn format_time(time_ns: u64) -> String {
    format!("{:>4}.{:06}s", time_ns / 1_000_000_000, (time_ns / 1_000) % 1_000_000)
}

/// A field's value as text (strings without quotes).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_filter_keeps_the_events_of_its_range() {
        let filter: Filter = "time=9.9s..10.1s".parse().unwrap();
        let at = |ns: u64| serde_json::json!({"time_ns": ns, "node": "b2", "name": "x", "fields": {}});
        assert!(filter.keeps(&at(10_000_000_000)));
        assert!(filter.keeps(&at(9_900_000_000)) && filter.keeps(&at(10_100_000_000)));
        assert!(!filter.keeps(&at(9_899_999_999)) && !filter.keeps(&at(10_100_000_001)));
        assert!("time=10s..9s".parse::<Filter>().unwrap_err().contains("empty range"));
    }

    const TRACE: &str = r#"{"time_ns":1000000,"node":"b1","name":"leader_elected","fields":{"partition":0,"topic":"events"}}
{"time_ns":2000000000,"node":"b2","name":"log_flushed","fields":{"partition":1,"topic":"events"}}
{"time_ns":9000000000,"node":"sim","name":"node_killed","fields":{"node":"b1"}}"#;

    fn view(filters: &[&str]) -> View {
        View { filters: filters.iter().map(|f| f.parse().unwrap()).collect(), ..View::default() }
    }

    #[test]
    fn every_event_is_one_line_with_its_fields() {
        let text = render(TRACE, &[], &View::default());
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().next().unwrap().contains("0.001000s  b1        leader_elected partition=0 topic=events"));
    }

    #[test]
    fn filters_narrow_the_trace() {
        assert_eq!(render(TRACE, &[], &view(&["node=b2"])).lines().count(), 1);
        assert_eq!(render(TRACE, &[], &view(&["partition=events-0"])).lines().count(), 1);
        assert_eq!(render(TRACE, &[], &view(&["name=node_"])).lines().count(), 1);
        assert_eq!(render(TRACE, &[], &view(&["node=b1", "partition=events-1"])).lines().count(), 0);
        assert!("partition=events".parse::<Filter>().is_err());
        assert!("nodeb1".parse::<Filter>().is_err());
    }

    #[test]
    fn violations_are_marked_and_around_keeps_their_neighbourhood() {
        let v = Violation::new("AckedRecordsSurvive", 2_500_000_000, "lost");
        let text = render(TRACE, std::slice::from_ref(&v), &View::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].contains("!! AckedRecordsSurvive"), "{text}");
        let around = View { around: Some("AckedRecordsSurvive".into()), window_ns: 1_000_000_000, ..View::default() };
        let text = render(TRACE, &[v], &around);
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
