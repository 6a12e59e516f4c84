//! How many of a run's kills landed while the killed node had an fsync in flight: the
//! measure of whether a fault schedule reaches the window between an append and its
//! durability, where a crash tests recovery hardest.
//!
//! Read from the trace: a partition log's flush is in flight on a node from its
//! `log_flush_started` to its `log_flush_synced` (same node, same `dir`); a `node_killed`
//! of that node (emitted by the supervisor) while any is in flight counts. A kill, a
//! restart or a halt of the node ends its flushes (their tasks are gone).

use std::collections::BTreeSet;

use seedlog::events::{Event, LogFlushStarted, LogFlushSynced};

use crate::events::{NodeHalted, NodeKilled, NodeRestarted};
use crate::trace::TraceEvent;

/// The kills of a trace, and those that landed during an fsync of the killed node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KillWindows {
    /// Every `node_killed`.
    pub kills: u64,
    /// The kills while the node had a partition log's fsync in flight.
    pub during_fsync: u64,
}

impl std::ops::AddAssign for KillWindows {
    fn add_assign(&mut self, other: KillWindows) {
        self.kills += other.kills;
        self.during_fsync += other.during_fsync;
    }
}

/// Counts a trace's kills (one JSON event per line, as `SeedOutcome::trace_jsonl`).
pub fn kills_during_fsync(trace_jsonl: &str) -> KillWindows {
    let names = [LogFlushStarted::NAME, LogFlushSynced::NAME, NodeKilled::NAME, NodeRestarted::NAME, NodeHalted::NAME];
    let mut in_flight: BTreeSet<(String, String)> = BTreeSet::new();
    let mut windows = KillWindows::default();
    for line in trace_jsonl.lines().filter(|l| names.iter().any(|n| l.contains(n))) {
        let Some(event) = TraceEvent::from_json_line(line) else { continue };
        if let Some(started) = event.parse::<LogFlushStarted>() {
            in_flight.insert((event.node.clone(), started.dir));
        } else if let Some(synced) = event.parse::<LogFlushSynced>() {
            in_flight.remove(&(event.node.clone(), synced.dir));
        } else if let Some(killed) = event.parse::<NodeKilled>() {
            windows.kills += 1;
            if in_flight.iter().any(|(node, _)| *node == killed.node) {
                windows.during_fsync += 1;
            }
            in_flight.retain(|(node, _)| *node != killed.node);
        } else if let Some(node) =
            event.parse::<NodeRestarted>().map(|r| r.node).or_else(|| event.parse::<NodeHalted>().map(|h| h.node))
        {
            in_flight.retain(|(n, _)| *n != node);
        }
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time_ns: u64, node: &str, name: &str, fields: &str) -> String {
        format!(r#"{{"time_ns":{time_ns},"node":"{node}","name":"{name}","fields":{{{fields}}}}}"#)
    }

    #[test]
    fn counts_kills_inside_an_fsync_of_the_killed_node() {
        let trace = [
            line(1, "b1", "log_flush_started", r#""dir":"/d/t-0","log_end_offset":3"#),
            // b2 killed while b1 syncs: not in a window.
            line(2, "sim", "node_killed", r#""node":"b2""#),
            // b1 killed mid-fsync.
            line(3, "sim", "node_killed", r#""node":"b1""#),
            line(4, "sim", "node_restarted", r#""node":"b1""#),
            line(5, "b1", "log_flush_started", r#""dir":"/d/t-0","log_end_offset":3"#),
            line(6, "b1", "log_flush_synced", r#""dir":"/d/t-0","ok":true"#),
            // After the fsync ended: not in a window.
            line(7, "sim", "node_killed", r#""node":"b1""#),
            line(8, "b3", "log_flush_started", r#""dir":"/d/t-1","log_end_offset":9"#),
            line(9, "sim", "node_halted", r#""node":"b3","why":"x""#),
            // The halt ended b3's flush.
            line(10, "sim", "node_killed", r#""node":"b3""#),
        ]
        .join("\n");
        assert_eq!(kills_during_fsync(&trace), KillWindows { kills: 4, during_fsync: 1 });
    }
}
