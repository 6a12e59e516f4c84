//! RaftSingleLeader: in each Raft epoch at most one node becomes leader (REPLICATION.md
//! §6.1): every `RaftTransition` to Leader for an epoch names the same node.
//!
//! State for the whole run (epochs outlive restarts): the first leader of each epoch.

use std::collections::BTreeMap;

use seedlog::events::{RaftState, RaftTransition};

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftSingleLeader";

/// The node that led each epoch.
#[derive(Default)]
pub struct RaftSingleLeader {
    leaders: BTreeMap<i32, String>,
    violations: Vec<Violation>,
}

impl Checker for RaftSingleLeader {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let Some(transition) = ev.parse::<RaftTransition>() else { return };
        if transition.to() != Some(RaftState::Leader) {
            return;
        }
        let leader = self.leaders.entry(transition.epoch).or_insert_with(|| ev.node.clone());
        if *leader != ev.node {
            let message = format!("epoch {}: {} became leader, {leader} already led it", transition.epoch, ev.node);
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

    fn became_leader(node: &str, epoch: i32) -> TraceEvent {
        let id = node[1..].parse().unwrap();
        event_on(
            node,
            &RaftTransition {
                from_state: "Candidate".into(),
                to_state: "Leader".into(),
                epoch,
                leader_id: id,
                voted_id: id,
            },
        )
    }

    #[test]
    fn passes_with_one_leader_per_epoch() {
        let followed = event_on(
            "c2",
            &RaftTransition {
                from_state: "Unattached".into(),
                to_state: "Follower".into(),
                epoch: 1,
                leader_id: 1,
                voted_id: 1,
            },
        );
        let found = run(RaftSingleLeader::default(), &[became_leader("c1", 1), followed, became_leader("c2", 2)]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_two_nodes_lead_one_epoch() {
        let found = run(RaftSingleLeader::default(), &[became_leader("c1", 3), became_leader("c2", 3)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("epoch 3: c2 became leader, c1 already led it"), "{}", found[0].message);
    }
}
