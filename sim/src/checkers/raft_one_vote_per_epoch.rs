//! RaftOneVotePerEpoch: a voter casts at most one real vote per epoch, across restarts
//! (REPLICATION.md §6.2): every real `VoteGranted` of a (voter, epoch), and the vote a
//! Candidate casts for itself, name the same candidate.
//!
//! State for the whole run, untouched by `node_killed`/`node_restarted` (a vote binds the
//! voter for the epoch even if it forgets it): the vote of each (voter id, epoch), and each
//! trace node's Raft id (learnt from its `VoteGranted` and Candidate transitions) so that a
//! vote a node reports in a transition (`voted_id` of a restored state) counts as well.

use std::collections::BTreeMap;

use seedlog::events::{RaftState, RaftTransition, VoteGranted};

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftOneVotePerEpoch";

/// Votes cast, by (voter id, epoch).
#[derive(Default)]
pub struct RaftOneVotePerEpoch {
    votes: BTreeMap<(i32, i32), i32>,
    ids: BTreeMap<String, i32>,
    violations: Vec<Violation>,
}

impl RaftOneVotePerEpoch {
    fn vote(&mut self, ev: &TraceEvent, voter: i32, epoch: i32, candidate: i32) {
        let first = *self.votes.entry((voter, epoch)).or_insert(candidate);
        if first != candidate {
            let message = format!("voter {voter} voted for {candidate} in epoch {epoch}, having voted for {first}");
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }
}

impl Checker for RaftOneVotePerEpoch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(granted) = ev.parse::<VoteGranted>() {
            self.ids.insert(ev.node.clone(), granted.voter_id);
            if !granted.pre_vote {
                self.vote(ev, granted.voter_id, granted.epoch, granted.candidate_id);
            }
        } else if let Some(transition) = ev.parse::<RaftTransition>() {
            if transition.to() == Some(RaftState::Candidate) {
                self.ids.insert(ev.node.clone(), transition.voted_id);
            }
            if transition.voted_id >= 0 {
                if let Some(&voter) = self.ids.get(&ev.node) {
                    self.vote(ev, voter, transition.epoch, transition.voted_id);
                }
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
    use crate::checkers::test_support::{event_on, killed, restarted, run};

    fn granted(voter: i32, candidate: i32, epoch: i32, pre_vote: bool) -> TraceEvent {
        event_on(
            &format!("c{voter}"),
            &VoteGranted {
                voter_id: voter,
                candidate_id: candidate,
                epoch,
                candidate_last_epoch: 0,
                candidate_last_offset: 0,
                voter_last_epoch: 0,
                voter_log_end_offset: 0,
                pre_vote,
            },
        )
    }

    fn candidate(id: i32, epoch: i32) -> TraceEvent {
        let to_candidate = RaftTransition {
            from_state: "Prospective".into(),
            to_state: "Candidate".into(),
            epoch,
            leader_id: -1,
            voted_id: id,
        };
        event_on(&format!("c{id}"), &to_candidate)
    }

    #[test]
    fn passes_with_one_vote_per_epoch_and_free_pre_votes() {
        let found = run(
            RaftOneVotePerEpoch::default(),
            &[
                granted(1, 2, 1, true),
                granted(1, 3, 1, true),
                granted(1, 2, 1, false),
                granted(1, 2, 1, false),
                granted(1, 3, 2, false),
                candidate(1, 3),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_on_a_second_vote_after_a_restart() {
        let found = run(
            RaftOneVotePerEpoch::default(),
            &[granted(1, 2, 4, false), killed("c1"), restarted("c1"), granted(1, 3, 4, false)],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("voter 1 voted for 3 in epoch 4, having voted for 2"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_when_a_voter_stands_in_an_epoch_it_voted_in() {
        let found = run(RaftOneVotePerEpoch::default(), &[granted(1, 2, 5, false), candidate(1, 5)]);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
