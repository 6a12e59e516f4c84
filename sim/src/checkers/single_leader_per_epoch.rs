//! SingleLeaderPerEpoch: one leader per partition and leader epoch, and epochs only move
//! forward on a broker (REPLICATION.md §6.13): across brokers at most one node reports
//! `MakeLeader` for a (topic partition, leader epoch), and a broker's leader epoch for a
//! partition (`MakeLeader`, `MakeFollower`) never decreases within its process lifetime.
//!
//! State: the leader of each (topic partition, leader epoch) for the whole run; each
//! broker's epoch per topic partition, forgotten at its `node_killed` (a restarted broker
//! rebuilds its partitions from metadata it may replay from an older point).

use std::collections::BTreeMap;

use seedlog::events::{MakeFollower, MakeLeader};

use super::{killed_node, TopicPartition};
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "SingleLeaderPerEpoch";

/// Leaders per epoch and each broker's epochs.
#[derive(Default)]
pub struct SingleLeaderPerEpoch {
    leaders: BTreeMap<(TopicPartition, i32), String>,
    epochs: BTreeMap<(String, TopicPartition), i32>,
    violations: Vec<Violation>,
}

impl SingleLeaderPerEpoch {
    fn epoch_moves(&mut self, ev: &TraceEvent, tp: TopicPartition, epoch: i32, role: &str) {
        let current = self.epochs.entry((ev.node.clone(), tp.clone())).or_insert(epoch);
        if epoch < *current {
            let message = format!("{} became {role} of {tp} in leader epoch {epoch}, after epoch {current}", ev.node);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        *current = epoch.max(*current);
    }
}

impl Checker for SingleLeaderPerEpoch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.epochs.retain(|(n, _), _| *n != node);
        } else if let Some(m) = ev.parse::<MakeLeader>() {
            let tp = TopicPartition::new(&m.topic, m.partition);
            let leader = self.leaders.entry((tp.clone(), m.leader_epoch)).or_insert_with(|| ev.node.clone());
            if *leader != ev.node {
                let message = format!(
                    "{} became leader of {tp} in leader epoch {}, which {leader} leads",
                    ev.node, m.leader_epoch
                );
                self.violations.push(Violation::new(NAME, ev.time_ns, message));
            }
            self.epoch_moves(ev, tp, m.leader_epoch, "leader");
        } else if let Some(m) = ev.parse::<MakeFollower>() {
            self.epoch_moves(ev, TopicPartition::new(&m.topic, m.partition), m.leader_epoch, "follower");
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn leader(node: &str, leader_epoch: i32) -> TraceEvent {
        let id = node[1..].parse().unwrap();
        event_on(
            node,
            &MakeLeader { topic: "t".into(), partition: 0, leader_epoch, leader_id: id, isr: id.to_string() },
        )
    }

    fn follower(node: &str, leader_epoch: i32) -> TraceEvent {
        event_on(node, &MakeFollower { topic: "t".into(), partition: 0, leader_epoch, leader_id: 1 })
    }

    #[test]
    fn passes_with_one_leader_per_epoch() {
        let other_partition = event_on(
            "b2",
            &MakeLeader { topic: "t".into(), partition: 1, leader_epoch: 0, leader_id: 2, isr: "2".into() },
        );
        let events = [
            leader("b1", 0),
            follower("b2", 0),
            other_partition,
            leader("b1", 0),
            leader("b2", 1),
            follower("b1", 1),
            killed("b1"),
            follower("b1", 0),
        ];
        assert!(run(SingleLeaderPerEpoch::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_two_brokers_lead_one_epoch() {
        let found = run(SingleLeaderPerEpoch::default(), &[leader("b1", 3), leader("b2", 3)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("b2 became leader of t-0 in leader epoch 3, which b1 leads"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_when_a_broker_s_epoch_goes_back() {
        let found = run(SingleLeaderPerEpoch::default(), &[follower("b2", 4), leader("b2", 3)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("in leader epoch 3, after epoch 4"), "{}", found[0].message);
    }
}
