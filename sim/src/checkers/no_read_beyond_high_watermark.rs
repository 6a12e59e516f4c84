//! NoReadBeyondHighWatermark: consumers read only committed records (REPLICATION.md §3.2,
//! §3.5): a consumer fetch (`FetchServed` with replica_id -1 and no error) never returns an
//! offset at or past the high watermark it reports, and that high watermark is one a leader
//! of the partition announced (`HighWatermarkAdvanced`).
//!
//! State per topic partition, for the whole run: the highest high watermark any leader
//! announced.

use seedlog::events::FetchServed;

use super::announced_high_watermarks::AnnouncedHighWatermarks;
use super::TopicPartition;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "NoReadBeyondHighWatermark";

/// The replica id of a consumer in a fetch.
const CONSUMER: i32 = -1;

/// The highest announced high watermark of each partition.
#[derive(Default)]
pub struct NoReadBeyondHighWatermark {
    announced: AnnouncedHighWatermarks,
    violations: Vec<Violation>,
}

impl Checker for NoReadBeyondHighWatermark {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if self.announced.observe(ev) {
            return;
        }
        let Some(fetch) = ev.parse::<FetchServed>() else { return };
        if fetch.replica_id != CONSUMER || fetch.error_code != 0 {
            return;
        }
        let tp = TopicPartition::new(&fetch.topic, fetch.partition);
        let mut problems = Vec::new();
        if fetch.last_offset_returned >= fetch.high_watermark {
            problems.push(format!("returned records up to {}", fetch.last_offset_returned));
        }
        let announced = self.announced.highest(&tp);
        if fetch.high_watermark > announced {
            problems.push(format!("no leader announced it (highest {announced})"));
        }
        if !problems.is_empty() {
            let message = format!(
                "{} served a consumer fetch of {tp} at {} with high watermark {}: {}",
                ev.node,
                fetch.fetch_offset,
                fetch.high_watermark,
                problems.join(", and ")
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
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
            leader_log_end_offset: 10,
            isr: "1".into(),
            isr_log_end_offsets: "1:10".into(),
            min_insync_replicas: 1,
            replication_factor: 1,
        };
        event_on("b1", &hw)
    }

    fn served(replica_id: i32, high_watermark: i64, last_offset_returned: i64, error_code: i32) -> TraceEvent {
        let fetch = FetchServed {
            topic: "t".into(),
            partition: 0,
            replica_id,
            fetch_offset: 0,
            high_watermark,
            last_offset_returned,
            error_code,
        };
        event_on("b1", &fetch)
    }

    #[test]
    fn passes_for_reads_below_the_high_watermark() {
        let events = [
            served(-1, 0, -1, 0),
            announced(5),
            served(-1, 5, 4, 0),
            // Followers read past the high watermark: that is how it advances.
            served(2, 5, 9, 0),
            served(-1, 5, -1, 1),
        ];
        assert!(run(NoReadBeyondHighWatermark::default(), &events).is_empty());
    }

    #[test]
    fn fires_for_a_consumer_read_at_the_high_watermark() {
        let found = run(NoReadBeyondHighWatermark::default(), &[announced(5), served(-1, 5, 5, 0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("returned records up to 5"), "{}", found[0].message);
    }

    #[test]
    fn fires_for_a_high_watermark_no_leader_announced() {
        let found = run(NoReadBeyondHighWatermark::default(), &[announced(5), served(-1, 8, 6, 0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("no leader announced it (highest 5)"), "{}", found[0].message);
    }
}
