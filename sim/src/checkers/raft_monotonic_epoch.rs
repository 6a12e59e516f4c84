//! RaftMonotonicEpoch: a node's Raft epoch never decreases, across transitions and restarts
//! (REPLICATION.md §6.4), as its `RaftTransition`s and `QuorumStateWritten`s report it.
//!
//! The two reports are two streams, each of which must never go back, tied together where
//! their order is certain. The driver reports a Ready's transitions once its quorum-state
//! write is durable, so the write comes first; and one Ready may hold several transitions (a
//! lone voter goes Unattached → Prospective in epoch 0 → Candidate in epoch 1 → Leader at
//! once, after writing epoch 1). So a transition may name an epoch below the last write (an
//! intermediate state of the same Ready), but:
//! - transitions never go back, nor do writes;
//! - a write never goes below a reported transition (that state was durable before it);
//! - a restart comes back (its transition from `Starting`) at no less than the last write.
//!
//! State across restarts: each node's highest epoch in each stream. A node whose disk was
//! replaced ([`DiskReplaced`]) starts over: its epoch lived in the quorum-state file it
//! lost, and it comes back as a new member at epoch 0.

use std::collections::BTreeMap;

use seedlog::events::{QuorumStateWritten, RaftTransition};

use crate::checker::{Checker, Violation};
use crate::events::DiskReplaced;
use crate::trace::TraceEvent;

const NAME: &str = "RaftMonotonicEpoch";

/// The highest epoch each node has reported, per stream.
#[derive(Default)]
pub struct RaftMonotonicEpoch {
    /// Node → highest epoch of its transitions.
    moved: BTreeMap<String, i32>,
    /// Node → highest epoch of its quorum-state writes.
    written: BTreeMap<String, i32>,
    violations: Vec<Violation>,
}

impl RaftMonotonicEpoch {
    fn check(&mut self, ev: &TraceEvent, epoch: i32, below: Option<(i32, &str)>, what: String) {
        if let Some((floor, whose)) = below.filter(|(floor, _)| epoch < *floor) {
            let message = format!("{} {what}, below its {whose} {floor}", ev.node);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }
}

/// The higher of two labelled floors; `first` on a tie.
fn higher<'a>(first: Option<(i32, &'a str)>, second: Option<(i32, &'a str)>) -> Option<(i32, &'a str)> {
    match (first, second) {
        (Some(a), Some(b)) if b.0 > a.0 => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

impl Checker for RaftMonotonicEpoch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(replaced) = ev.parse::<DiskReplaced>() {
            self.moved.remove(&replaced.node);
            self.written.remove(&replaced.node);
            return;
        }
        let node = ev.node.clone();
        if let Some(t) = ev.parse::<RaftTransition>() {
            let what = format!("moved to {} in epoch {}", t.to_state, t.epoch);
            let moved = self.moved.get(&node).copied();
            let written = self.written.get(&node).copied();
            let moved_floor = moved.map(|m| (m, "epoch"));
            let floor = if t.from_state == "Starting" {
                // A restart: back at no less than anything it reported or wrote.
                higher(moved_floor, written.map(|w| (w, "written epoch")))
            } else {
                moved_floor
            };
            self.check(ev, t.epoch, floor, what);
            self.moved.insert(node, moved.map_or(t.epoch, |m| m.max(t.epoch)));
        } else if let Some(w) = ev.parse::<QuorumStateWritten>() {
            let what = format!("wrote its quorum-state with epoch {}", w.epoch);
            let written = self.written.get(&node).copied();
            let moved = self.moved.get(&node).copied();
            let floor = higher(written.map(|a| (a, "written epoch")), moved.map(|b| (b, "epoch")));
            self.check(ev, w.epoch, floor, what);
            self.written.insert(node, written.map_or(w.epoch, |a| a.max(w.epoch)));
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
    fn a_lone_voter_reports_its_election_after_writing_the_new_epoch() {
        let write = |epoch, voted_id| event_on("c1", &QuorumStateWritten { epoch, leader_id: -1, voted_id });
        let events = [
            write(0, -1),
            moved("c1", "Starting", "Unattached", 0),
            write(1, 101),
            moved("c1", "Unattached", "Prospective", 0),
            moved("c1", "Prospective", "Candidate", 1),
            moved("c1", "Candidate", "Leader", 1),
        ];
        assert!(run(RaftMonotonicEpoch::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_a_write_goes_below_a_reported_transition() {
        let events = [
            moved("c1", "Prospective", "Candidate", 3),
            event_on("c1", &QuorumStateWritten { epoch: 2, leader_id: -1, voted_id: -1 }),
        ];
        let found = run(RaftMonotonicEpoch::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("wrote its quorum-state with epoch 2, below its epoch 3"), "{found:?}");
    }

    #[test]
    fn fires_when_a_restart_comes_back_below_its_written_epoch() {
        let events = [
            moved("c1", "Starting", "Unattached", 0),
            event_on("c1", &QuorumStateWritten { epoch: 5, leader_id: -1, voted_id: -1 }),
            killed("c1"),
            restarted("c1"),
            moved("c1", "Starting", "Unattached", 4),
        ];
        let found = run(RaftMonotonicEpoch::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("below its written epoch 5"), "{found:?}");
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
