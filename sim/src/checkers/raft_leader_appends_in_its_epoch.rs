//! RaftLeaderAppendsInItsEpoch: a Raft leader appends only entries of its own epoch, and a
//! Resigned node (one that stepped down, or restarted from a quorum-state naming itself
//! leader) appends nothing (REPLICATION.md §1.1, §6.10): every `RaftAppended` on a node whose
//! last `RaftTransition` entered Leader carries that epoch, and none comes from a node in
//! Resigned.
//!
//! State: each node's current election state and epoch, forgotten at its `node_killed`
//! (a restarted node reports the state it starts in).

use std::collections::BTreeMap;

use seedlog::events::{RaftAppended, RaftState, RaftTransition};

use super::killed_node;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftLeaderAppendsInItsEpoch";

/// Each node's state and epoch in its current process lifetime.
#[derive(Default)]
pub struct RaftLeaderAppendsInItsEpoch {
    states: BTreeMap<String, (Option<RaftState>, i32)>,
    violations: Vec<Violation>,
}

impl Checker for RaftLeaderAppendsInItsEpoch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.states.remove(&node);
        } else if let Some(t) = ev.parse::<RaftTransition>() {
            self.states.insert(ev.node.clone(), (t.to(), t.epoch));
        } else if let Some(a) = ev.parse::<RaftAppended>() {
            let problem = match self.states.get(&ev.node) {
                Some((Some(RaftState::Leader), epoch)) if a.epoch != *epoch => format!("as leader of epoch {epoch}"),
                Some((Some(RaftState::Resigned), epoch)) => format!("while Resigned in epoch {epoch}"),
                _ => return,
            };
            let message =
                format!("{} appended {}..={} of epoch {} {problem}", ev.node, a.base_offset, a.last_offset, a.epoch);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use seedlog::events::STARTING_STATE;

    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn moved(from: &str, to: &str, epoch: i32) -> TraceEvent {
        let transition =
            RaftTransition { from_state: from.into(), to_state: to.into(), epoch, leader_id: 1, voted_id: 1 };
        event_on("c1", &transition)
    }

    fn appended(epoch: i32, base_offset: i64) -> TraceEvent {
        event_on("c1", &RaftAppended { epoch, base_offset, last_offset: base_offset, digest: 1 })
    }

    #[test]
    fn passes_when_leaders_append_their_epoch_and_followers_copy_older_ones() {
        let events = [
            moved(STARTING_STATE, "Follower", 1),
            appended(0, 0),
            moved("Candidate", "Leader", 2),
            appended(2, 1),
            killed("c1"),
            appended(1, 2),
        ];
        assert!(run(RaftLeaderAppendsInItsEpoch::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_a_leader_appends_another_epoch() {
        let found = run(RaftLeaderAppendsInItsEpoch::default(), &[moved("Candidate", "Leader", 3), appended(2, 0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("of epoch 2 as leader of epoch 3"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_a_node_restarted_as_resigned_appends() {
        let found = run(
            RaftLeaderAppendsInItsEpoch::default(),
            &[moved("Candidate", "Leader", 3), killed("c1"), moved(STARTING_STATE, "Resigned", 3), appended(3, 5)],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("while Resigned in epoch 3"), "{}", found[0].message);
    }
}
