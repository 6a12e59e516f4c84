//! RaftUpToDateVote: a vote or pre-vote is granted only to a candidate whose log is at
//! least as up to date as the voter's (REPLICATION.md §6.5): in every `VoteGranted`,
//! (candidate_last_epoch, candidate_last_offset) ≥ (voter_last_epoch, voter_log_end_offset),
//! epochs compared first.
//!
//! No state: each event is judged alone.

use seedlog::events::VoteGranted;

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftUpToDateVote";

/// Violations found so far.
#[derive(Default)]
pub struct RaftUpToDateVote {
    violations: Vec<Violation>,
}

impl Checker for RaftUpToDateVote {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let Some(v) = ev.parse::<VoteGranted>() else { return };
        let candidate = (v.candidate_last_epoch, v.candidate_last_offset);
        let voter = (v.voter_last_epoch, v.voter_log_end_offset);
        if candidate < voter {
            let kind = if v.pre_vote { "pre-vote" } else { "vote" };
            let message = format!(
                "voter {} granted its {kind} in epoch {} to {} whose log (epoch, end) {candidate:?} is behind its own {voter:?}",
                v.voter_id, v.epoch, v.candidate_id
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
    use crate::checkers::test_support::{event, run};

    fn granted(candidate: (i32, i64), voter: (i32, i64), pre_vote: bool) -> TraceEvent {
        event(&VoteGranted {
            voter_id: 1,
            candidate_id: 2,
            epoch: 5,
            candidate_last_epoch: candidate.0,
            candidate_last_offset: candidate.1,
            voter_last_epoch: voter.0,
            voter_log_end_offset: voter.1,
            pre_vote,
        })
    }

    #[test]
    fn passes_for_candidates_at_least_as_up_to_date() {
        let events =
            [granted((3, 10), (3, 10), false), granted((4, 1), (3, 10), true), granted((3, 11), (3, 10), false)];
        assert!(run(RaftUpToDateVote::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_the_epoch_or_the_offset_is_behind() {
        let found =
            run(RaftUpToDateVote::default(), &[granted((2, 99), (3, 10), false), granted((3, 9), (3, 10), true)]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].message.contains("granted its pre-vote"), "{}", found[1].message);
    }
}
