//! HighWatermarkBounds: a high watermark never runs ahead of the replicas that hold it
//! (REPLICATION.md §3.4, §6.20, §6.21): at each leader `HighWatermarkAdvanced`, the high
//! watermark is at most the leader's log end offset and the log end offset of every
//! maximal-ISR member, the maximal ISR contains the committed ISR, and the committed ISR has
//! at least min(`min.insync.replicas`, replication factor) members; at each
//! `FollowerHighWatermark`, the follower's high watermark is at most its log end offset.
//!
//! No state: each event is judged alone, on the offsets the leader knew.

use seedlog::events::{effective_min_isr, FollowerHighWatermark, HighWatermarkAdvanced};

use super::list;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "HighWatermarkBounds";

/// Violations found so far.
#[derive(Default)]
pub struct HighWatermarkBounds {
    violations: Vec<Violation>,
}

impl HighWatermarkBounds {
    fn leader_problems(ev: &TraceEvent, hw: &HighWatermarkAdvanced) -> Vec<String> {
        let mut problems = Vec::new();
        let high_watermark = hw.high_watermark;
        if high_watermark > hw.leader_log_end_offset {
            problems.push(format!("past the leader's log end offset {}", hw.leader_log_end_offset));
        }
        let maximal = list(ev, hw.parse_isr_log_end_offsets());
        for (replica, log_end_offset) in &maximal {
            if high_watermark > *log_end_offset {
                problems.push(format!("past ISR member {replica}'s log end offset {log_end_offset}"));
            }
        }
        let isr = list(ev, hw.parse_isr());
        for member in &isr {
            if !maximal.iter().any(|(replica, _)| replica == member) {
                problems.push(format!("with committed ISR member {member} missing from the maximal ISR"));
            }
        }
        let min_isr = effective_min_isr(hw.min_insync_replicas, hw.replication_factor);
        if (isr.len() as i64) < i64::from(min_isr) {
            problems.push(format!(
                "with {} ISR members, fewer than the effective min.insync.replicas {min_isr}",
                isr.len()
            ));
        }
        problems
    }
}

impl Checker for HighWatermarkBounds {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let message = if let Some(hw) = ev.parse::<HighWatermarkAdvanced>() {
            let problems = Self::leader_problems(ev, &hw);
            if problems.is_empty() {
                return;
            }
            format!(
                "leader {} of {}-{} moved its high watermark to {} (ISR {}, maximal ISR log ends {}) {}",
                ev.node,
                hw.topic,
                hw.partition,
                hw.high_watermark,
                hw.isr,
                hw.isr_log_end_offsets,
                problems.join(", ")
            )
        } else if let Some(hw) = ev.parse::<FollowerHighWatermark>() {
            if hw.high_watermark <= hw.log_end_offset {
                return;
            }
            format!(
                "follower {} of {}-{} has high watermark {} past its log end offset {}",
                ev.node, hw.topic, hw.partition, hw.high_watermark, hw.log_end_offset
            )
        } else {
            return;
        };
        self.violations.push(Violation::new(NAME, ev.time_ns, message));
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, run};

    fn hw(high_watermark: i64, leader_log_end_offset: i64, isr: &str, maximal: &str, min_isr: i32) -> TraceEvent {
        let hw = HighWatermarkAdvanced {
            topic: "t".into(),
            partition: 0,
            leader_epoch: 1,
            high_watermark,
            leader_log_end_offset,
            isr: isr.into(),
            isr_log_end_offsets: maximal.into(),
            min_insync_replicas: min_isr,
            replication_factor: 3,
        };
        event_on("b1", &hw)
    }

    fn follower(high_watermark: i64, log_end_offset: i64) -> TraceEvent {
        event_on("b2", &FollowerHighWatermark { topic: "t".into(), partition: 0, high_watermark, log_end_offset })
    }

    #[test]
    fn passes_within_bounds() {
        let events = [
            hw(5, 7, "1,2", "1:7,2:5", 2),
            // A pending expansion: 3 is in the maximal ISR, not yet in the committed one.
            hw(6, 7, "1,2", "1:7,2:6,3:6", 2),
            // min.insync.replicas above the replication factor is capped by it.
            hw(7, 7, "1,2,3", "1:7,2:7,3:7", 5),
            follower(5, 5),
        ];
        assert!(run(HighWatermarkBounds::default(), &events).is_empty());
    }

    #[test]
    fn fires_past_a_log_end_offset() {
        let found = run(HighWatermarkBounds::default(), &[hw(6, 7, "1,2", "1:7,2:5", 1), hw(8, 7, "1", "1:7", 1)]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("past ISR member 2's log end offset 5"), "{}", found[0].message);
        assert!(found[1].message.contains("past the leader's log end offset 7"), "{}", found[1].message);
    }

    #[test]
    fn fires_when_an_isr_member_s_offset_is_unknown() {
        // A new leader must hear from every ISR follower before its high watermark moves (§3.3).
        let found = run(HighWatermarkBounds::default(), &[hw(3, 7, "1,2", "1:7,2:-1", 1)]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn fires_below_min_isr_or_without_a_committed_member() {
        let found = run(HighWatermarkBounds::default(), &[hw(5, 7, "1", "1:7", 2), hw(5, 7, "1,2", "1:7", 1)]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("fewer than the effective min.insync.replicas 2"), "{}", found[0].message);
        assert!(found[1].message.contains("committed ISR member 2 missing"), "{}", found[1].message);
    }

    #[test]
    fn fires_when_a_follower_s_high_watermark_passes_its_log() {
        assert_eq!(run(HighWatermarkBounds::default(), &[follower(6, 5)]).len(), 1);
    }
}
