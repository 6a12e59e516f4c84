//! AckedOnAllIsrMembers: an acks=all produce is acknowledged only once committed (REPLICATION.md
//! §3.11, §6.23, "acks are honest"): at each `ProduceAcked` with acks=-1 the leader's high
//! watermark is past the last offset acked, the maximal ISR has at least
//! min(`min.insync.replicas`, replication factor) members, and that high watermark is one a
//! leader of the partition announced (`HighWatermarkAdvanced`). With HighWatermarkBounds
//! (a high watermark never passes a maximal-ISR member's log end) this means every ISR
//! member held the records when they were acked.
//!
//! State per topic partition, for the whole run: the highest high watermark any leader
//! announced.

use seedlog::events::{effective_min_isr, ProduceAcked};

use super::announced_high_watermarks::AnnouncedHighWatermarks;
use super::{list, TopicPartition};
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "AckedOnAllIsrMembers";

/// The highest announced high watermark of each partition.
#[derive(Default)]
pub struct AckedOnAllIsrMembers {
    announced: AnnouncedHighWatermarks,
    violations: Vec<Violation>,
}

impl AckedOnAllIsrMembers {
    fn problems(&self, ev: &TraceEvent, ack: &ProduceAcked, tp: &TopicPartition) -> Vec<String> {
        let mut problems = Vec::new();
        if ack.high_watermark <= ack.last_offset {
            problems.push(format!("the high watermark {} does not cover it", ack.high_watermark));
        }
        let maximal_isr = list(ev, ack.parse_maximal_isr());
        let min_isr = effective_min_isr(ack.min_insync_replicas, ack.replication_factor);
        if (maximal_isr.len() as i64) < i64::from(min_isr) {
            problems.push(format!(
                "the maximal ISR [{}] is smaller than the effective min.insync.replicas {min_isr}",
                ack.maximal_isr
            ));
        }
        let announced = self.announced.highest(tp);
        if ack.high_watermark > announced {
            problems
                .push(format!("its high watermark {} was never announced (highest {announced})", ack.high_watermark));
        }
        problems
    }
}

impl Checker for AckedOnAllIsrMembers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if self.announced.observe(ev) {
            return;
        }
        if let Some(ack) = ev.parse::<ProduceAcked>() {
            if ack.acks != -1 {
                return;
            }
            let tp = TopicPartition::new(&ack.topic, ack.partition);
            let problems = self.problems(ev, &ack, &tp);
            if !problems.is_empty() {
                let message = format!(
                    "{} acked {}..={} of {tp} with acks=all, but {}",
                    ev.node,
                    ack.base_offset,
                    ack.last_offset,
                    problems.join(", and ")
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
    use seedlog::events::HighWatermarkAdvanced;

    use super::*;
    use crate::checkers::test_support::{event_on, run};

    fn announced(high_watermark: i64) -> TraceEvent {
        let hw = HighWatermarkAdvanced {
            topic: "t".into(),
            partition: 0,
            leader_epoch: 1,
            high_watermark,
            leader_log_end_offset: high_watermark,
            isr: "1,2".into(),
            isr_log_end_offsets: format!("1:{high_watermark},2:{high_watermark}"),
            min_insync_replicas: 2,
            replication_factor: 3,
        };
        event_on("b1", &hw)
    }

    fn acked(acks: i32, last_offset: i64, high_watermark: i64, maximal_isr: &str) -> TraceEvent {
        let ack = ProduceAcked {
            topic: "t".into(),
            partition: 0,
            base_offset: last_offset - 1,
            last_offset,
            acks,
            high_watermark,
            maximal_isr: maximal_isr.into(),
            min_insync_replicas: 2,
            replication_factor: 3,
        };
        event_on("b1", &ack)
    }

    #[test]
    fn passes_for_committed_acks_and_any_acks_1() {
        let events = [acked(1, 5, 0, "1"), announced(6), acked(-1, 5, 6, "1,2"), acked(-1, 3, 6, "1,2,3")];
        assert!(run(AckedOnAllIsrMembers::default(), &events).is_empty());
    }

    #[test]
    fn fires_for_an_ack_before_the_high_watermark_covers_it() {
        let found = run(AckedOnAllIsrMembers::default(), &[announced(5), acked(-1, 5, 5, "1,2")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("the high watermark 5 does not cover it"), "{}", found[0].message);
    }

    #[test]
    fn fires_for_an_ack_under_min_isr() {
        let found = run(AckedOnAllIsrMembers::default(), &[announced(6), acked(-1, 5, 6, "1")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("smaller than the effective min.insync.replicas 2"), "{}", found[0].message);
    }

    #[test]
    fn fires_for_an_ack_on_a_high_watermark_no_leader_announced() {
        let found = run(AckedOnAllIsrMembers::default(), &[announced(3), acked(-1, 5, 6, "1,2")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("was never announced (highest 3)"), "{}", found[0].message);
    }
}
