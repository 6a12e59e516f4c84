//! RaftMonotonicEpoch: a node's Raft epoch never decreases, across transitions and restarts
//! (REPLICATION.md §6.4), as its `RaftTransition`s and `QuorumStateWritten`s report it.
//!
//! State across restarts (a restart must come back at the epoch it left): each node's
//! highest epoch. A node whose disk was replaced ([`DiskReplaced`]) starts over: its epoch
//! lived in the quorum-state file it lost, and it comes back as a new member at epoch 0.

use std::collections::BTreeMap;

use seedlog::events::{QuorumStateWritten, RaftTransition};

use crate::checker::{Checker, Violation};
use crate::events::DiskReplaced;
use crate::trace::TraceEvent;

const NAME: &str = "RaftMonotonicEpoch";

/// The highest epoch each node has reported.
#[derive(Default)]
pub struct RaftMonotonicEpoch {
    epochs: BTreeMap<String, i32>,
    violations: Vec<Violation>,
}

impl Checker for RaftMonotonicEpoch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(replaced) = ev.parse::<DiskReplaced>() {
            self.epochs.remove(&replaced.node);
            return;
        }
        let (epoch, what) = if let Some(t) = ev.parse::<RaftTransition>() {
            (t.epoch, format!("moved to {} in epoch {}", t.to_state, t.epoch))
        } else if let Some(w) = ev.parse::<QuorumStateWritten>() {
            (w.epoch, format!("wrote its quorum-state with epoch {}", w.epoch))
        } else {
            return;
        };
        let highest = self.epochs.entry(ev.node.clone()).or_insert(epoch);
        if epoch < *highest {
            let message = format!("{} {what}, below its epoch {highest}", ev.node);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        *highest = epoch.max(*highest);
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, restarted, run};

    fn moved(node: &str, from: &str, to: &str, epoch: i32) -> TraceEvent {
        let transition =
            RaftTransition { from_state: from.into(), to_state: to.into(), epoch, leader_id: -1, voted_id: -1 };
        event_on(node, &transition)
    }

    #[test]
    fn passes_when_epochs_only_grow() {
        let found = run(
            RaftMonotonicEpoch::default(),
            &[
                moved("c1", "Starting", "Unattached", 0),
                moved("c2", "Starting", "Unattached", 5),
                moved("c1", "Prospective", "Candidate", 1),
                event_on("c1", &QuorumStateWritten { epoch: 1, leader_id: -1, voted_id: 1 }),
                killed("c1"),
                restarted("c1"),
                moved("c1", "Starting", "Unattached", 1),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_restart_forgets_the_epoch() {
        let found = run(
            RaftMonotonicEpoch::default(),
            &[moved("c1", "Prospective", "Candidate", 4), killed("c1"), moved("c1", "Starting", "Unattached", 3)],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("c1 moved to Unattached in epoch 3, below its epoch 4"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_when_a_write_goes_back() {
        let write = |epoch| event_on("c1", &QuorumStateWritten { epoch, leader_id: -1, voted_id: -1 });
        assert_eq!(run(RaftMonotonicEpoch::default(), &[write(2), write(1)]).len(), 1);
    }

    #[test]
    fn a_replaced_disk_starts_the_epoch_over() {
        let replaced = event_on(crate::trace::SUPERVISOR_NODE, &DiskReplaced { node: "b1".into() });
        let events = [
            moved("b1", "Starting", "Unattached", 4),
            killed("b1"),
            replaced,
            restarted("b1"),
            moved("b1", "Starting", "Unattached", 0),
            moved("b1", "Unattached", "Follower", 4),
        ];
        assert!(run(RaftMonotonicEpoch::default(), &events).is_empty());
    }
}
