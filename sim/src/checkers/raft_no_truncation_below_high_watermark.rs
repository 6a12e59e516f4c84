//! RaftNoTruncationBelowHighWatermark: a node never truncates its metadata log below its
//! high watermark (REPLICATION.md §1.4, §6.9): every `RaftTruncated` offset is at least the
//! high watermark the event reports and the last one the node announced.
//!
//! State: each node's last announced high watermark, forgotten at its `node_killed`.

use std::collections::BTreeMap;

use seedlog::events::{RaftHighWatermark, RaftTruncated};

use super::killed_node;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftNoTruncationBelowHighWatermark";

/// Each node's high watermark in its current process lifetime.
#[derive(Default)]
pub struct RaftNoTruncationBelowHighWatermark {
    high_watermarks: BTreeMap<String, i64>,
    violations: Vec<Violation>,
}

impl Checker for RaftNoTruncationBelowHighWatermark {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.high_watermarks.remove(&node);
        } else if let Some(hw) = ev.parse::<RaftHighWatermark>() {
            self.high_watermarks.insert(ev.node.clone(), hw.high_watermark);
        } else if let Some(t) = ev.parse::<RaftTruncated>() {
            let announced = self.high_watermarks.get(&ev.node).copied().unwrap_or(0);
            let high_watermark = t.high_watermark.max(announced);
            if t.offset < high_watermark {
                let message = format!(
                    "{} truncated its log to {}, below its high watermark {high_watermark} (reported {}, announced {announced})",
                    ev.node, t.offset, t.high_watermark
                );
                self.violations.push(Violation::new(NAME, ev.time_ns, message));
            }
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn hw(high_watermark: i64) -> TraceEvent {
        let hw = RaftHighWatermark {
            high_watermark,
            epoch: 1,
            is_leader: false,
            epoch_start_offset: -1,
            voter_end_offsets: String::new(),
        };
        event_on("c2", &hw)
    }

    fn truncated(offset: i64, high_watermark: i64) -> TraceEvent {
        event_on("c2", &RaftTruncated { offset, high_watermark })
    }

    #[test]
    fn passes_for_truncations_at_or_above_the_high_watermark() {
        let events = [hw(4), truncated(4, 4), truncated(6, 4), killed("c2"), truncated(1, 0)];
        assert!(run(RaftNoTruncationBelowHighWatermark::default(), &events).is_empty());
    }

    #[test]
    fn fires_for_a_truncation_below_the_reported_high_watermark() {
        let found = run(RaftNoTruncationBelowHighWatermark::default(), &[truncated(3, 4)]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn fires_when_the_event_understates_the_announced_high_watermark() {
        let found = run(RaftNoTruncationBelowHighWatermark::default(), &[hw(5), truncated(3, 0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("(reported 0, announced 5)"), "{}", found[0].message);
    }
}
