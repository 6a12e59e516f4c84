//! RaftMajorityReachedHighWatermark: a Raft leader commits only what a majority of voters
//! hold, and only once an entry of its own epoch is among it (REPLICATION.md §1.5, §6.8): at
//! each leader `RaftHighWatermark`, the high watermark exceeds the leader's
//! `epoch_start_offset` and at least ⌊n/2⌋+1 of the n voters in `voter_end_offsets` have an
//! end offset at or past it.
//!
//! No state: each event is judged alone, on what the leader says it counted.

use seedlog::events::RaftHighWatermark;

use super::list;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftMajorityReachedHighWatermark";

/// Violations found so far.
#[derive(Default)]
pub struct RaftMajorityReachedHighWatermark {
    violations: Vec<Violation>,
}

impl Checker for RaftMajorityReachedHighWatermark {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let Some(hw) = ev.parse::<RaftHighWatermark>() else { return };
        if !hw.is_leader {
            return;
        }
        let mut problems = Vec::new();
        if hw.high_watermark <= hw.epoch_start_offset {
            problems.push(format!("not past its epoch start offset {}", hw.epoch_start_offset));
        }
        let voters = list(ev, hw.parse_voter_end_offsets());
        let reached = voters.iter().filter(|(_, end)| *end >= hw.high_watermark).count();
        let majority = voters.len() / 2 + 1;
        if reached < majority {
            problems.push(format!(
                "held by {reached} of {} voters ({}), fewer than a majority of {majority}",
                voters.len(),
                hw.voter_end_offsets
            ));
        }
        if !problems.is_empty() {
            let message = format!(
                "leader {} of epoch {} moved its high watermark to {}, {}",
                ev.node,
                hw.epoch,
                hw.high_watermark,
                problems.join(" and ")
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
    use super::*;
    use crate::checkers::test_support::{event_on, run};

    fn leader_hw(high_watermark: i64, epoch_start_offset: i64, voters: &str) -> TraceEvent {
        let hw = RaftHighWatermark {
            high_watermark,
            epoch: 2,
            is_leader: true,
            epoch_start_offset,
            voter_end_offsets: voters.into(),
        };
        event_on("c1", &hw)
    }

    #[test]
    fn passes_when_a_majority_holds_an_entry_of_the_leader_s_epoch() {
        let follower = RaftHighWatermark {
            high_watermark: 3,
            epoch: 2,
            is_leader: false,
            epoch_start_offset: -1,
            voter_end_offsets: String::new(),
        };
        let events =
            [leader_hw(6, 5, "1:7,2:6,3:-1"), leader_hw(7, 5, "1:9,2:7,3:7,4:2,5:-1"), event_on("c2", &follower)];
        assert!(run(RaftMajorityReachedHighWatermark::default(), &events).is_empty());
    }

    #[test]
    fn fires_without_a_majority() {
        let found = run(RaftMajorityReachedHighWatermark::default(), &[leader_hw(7, 5, "1:9,2:7,3:6,4:2,5:-1")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("held by 2 of 5 voters"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_committing_before_an_entry_of_the_epoch() {
        // Raft's figure-8 rule: a majority holds offset 4, but only entries of older epochs.
        let found = run(RaftMajorityReachedHighWatermark::default(), &[leader_hw(5, 5, "1:6,2:5,3:5")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("not past its epoch start offset 5"), "{}", found[0].message);
    }
}
