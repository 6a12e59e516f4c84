//! RaftMonotonicHighWatermark: the Raft high watermark never moves back (REPLICATION.md
//! §6.7): a node's never decreases within a process lifetime, and the leader of the newest
//! epoch never announces one below any a leader announced before (as Kafka's simulation
//! test checks it: announcements of a leader whose epoch a newer leader has replaced are
//! stale and ignored).
//!
//! State: each node's high watermark, forgotten at the node's `node_killed` (a restarted
//! node learns it afresh); for the whole run, the newest leader epoch seen and the highest
//! high watermark announced by leaders.

use std::collections::BTreeMap;

use seedlog::events::RaftHighWatermark;

use super::killed_node;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftMonotonicHighWatermark";

/// High watermarks per node and of the newest leaders.
#[derive(Default)]
pub struct RaftMonotonicHighWatermark {
    nodes: BTreeMap<String, i64>,
    newest_leader_epoch: i32,
    leader_high_watermark: i64,
    violations: Vec<Violation>,
}

impl Checker for RaftMonotonicHighWatermark {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.nodes.remove(&node);
            return;
        }
        let Some(hw) = ev.parse::<RaftHighWatermark>() else { return };
        let node_hw = self.nodes.entry(ev.node.clone()).or_insert(hw.high_watermark);
        if hw.high_watermark < *node_hw {
            let message = format!("{}'s high watermark fell from {node_hw} to {}", ev.node, hw.high_watermark);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        *node_hw = hw.high_watermark;
        if hw.is_leader && hw.epoch >= self.newest_leader_epoch {
            if hw.high_watermark < self.leader_high_watermark {
                let message = format!(
                    "leader {} of epoch {} announced high watermark {}, below the {} a leader announced before",
                    ev.node, hw.epoch, hw.high_watermark, self.leader_high_watermark
                );
                self.violations.push(Violation::new(NAME, ev.time_ns, message));
            }
            self.newest_leader_epoch = hw.epoch;
            self.leader_high_watermark = self.leader_high_watermark.max(hw.high_watermark);
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

    fn hw(node: &str, epoch: i32, is_leader: bool, high_watermark: i64) -> TraceEvent {
        let hw = RaftHighWatermark {
            high_watermark,
            epoch,
            is_leader,
            epoch_start_offset: 0,
            voter_end_offsets: String::new(),
        };
        event_on(node, &hw)
    }

    #[test]
    fn passes_when_high_watermarks_only_grow() {
        let found = run(
            RaftMonotonicHighWatermark::default(),
            &[
                hw("c1", 1, true, 5),
                hw("c2", 1, false, 5),
                hw("c2", 2, true, 9),
                // The deposed leader of epoch 1 still commits something: stale, ignored.
                hw("c1", 1, true, 7),
                killed("c3"),
                hw("c3", 2, false, 1),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_node_s_high_watermark_falls() {
        let found = run(RaftMonotonicHighWatermark::default(), &[hw("c2", 1, false, 5), hw("c2", 1, false, 4)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("c2's high watermark fell from 5 to 4"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_a_new_leader_announces_less_than_the_old_one() {
        let found = run(RaftMonotonicHighWatermark::default(), &[hw("c1", 1, true, 5), hw("c2", 2, true, 3)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("below the 5 a leader announced before"), "{}", found[0].message);
    }
}
