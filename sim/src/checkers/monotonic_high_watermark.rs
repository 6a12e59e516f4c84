//! MonotonicHighWatermark: a partition leader's high watermark never moves back within its
//! leader epoch (REPLICATION.md §3.4, §6.21): successive `HighWatermarkAdvanced` of a
//! (broker, topic partition, leader epoch) never decrease.
//!
//! State per (broker, topic partition, leader epoch), forgotten at the broker's
//! `node_killed`: a restarted broker reloads its high watermark from a checkpoint that may
//! be older (followers' high watermarks may fall too, after a leader change: §3.1).

use std::collections::BTreeMap;

use seedlog::events::HighWatermarkAdvanced;

use super::{killed_node, TopicPartition};
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "MonotonicHighWatermark";

/// The last high watermark of each leader in each epoch.
#[derive(Default)]
pub struct MonotonicHighWatermark {
    high_watermarks: BTreeMap<(String, TopicPartition, i32), i64>,
    violations: Vec<Violation>,
}

impl Checker for MonotonicHighWatermark {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.high_watermarks.retain(|(n, _, _), _| *n != node);
            return;
        }
        let Some(hw) = ev.parse::<HighWatermarkAdvanced>() else { return };
        let tp = TopicPartition::new(&hw.topic, hw.partition);
        let last =
            self.high_watermarks.entry((ev.node.clone(), tp.clone(), hw.leader_epoch)).or_insert(hw.high_watermark);
        if hw.high_watermark < *last {
            let message = format!(
                "leader {} of {tp} moved its high watermark back from {last} to {} in leader epoch {}",
                ev.node, hw.high_watermark, hw.leader_epoch
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        *last = hw.high_watermark;
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn hw(node: &str, leader_epoch: i32, high_watermark: i64) -> TraceEvent {
        let hw = HighWatermarkAdvanced {
            topic: "t".into(),
            partition: 0,
            leader_epoch,
            high_watermark,
            leader_log_end_offset: 100,
            isr: "1".into(),
            isr_log_end_offsets: "1:100".into(),
            min_insync_replicas: 1,
            replication_factor: 1,
        };
        event_on(node, &hw)
    }

    #[test]
    fn passes_when_each_leader_epoch_only_advances() {
        let events = [hw("b1", 0, 3), hw("b1", 0, 5), hw("b2", 1, 4), hw("b2", 1, 9), killed("b2"), hw("b2", 1, 6)];
        assert!(run(MonotonicHighWatermark::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_a_leader_moves_back() {
        let found = run(MonotonicHighWatermark::default(), &[hw("b1", 0, 5), hw("b1", 0, 4)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("moved its high watermark back from 5 to 4 in leader epoch 0"),
            "{}",
            found[0].message
        );
    }
}
