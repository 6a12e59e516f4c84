//! IsrShrankAndRejoined: every follower the supervisor lagged ([`FollowerLagged`]) left the
//! partition's ISR afterwards and was back in it at the end, as the partition's brokers
//! applied it ([`IsrChanged`] from AlterPartition, and the ISR a new leader starts with,
//! [`MakeLeader`]). It proves that an isr-lagging story happened (the leader shrank the ISR
//! for a lagging follower, REPLICATION.md §3.6, and expanded it once the follower caught up,
//! §3.7); a run that lagged no follower fails, so the checker cannot pass in silence.
//!
//! State: per lagged (partition, broker), whether the broker is in the ISR as last applied,
//! when it last left it after the lag began, and when it came back after that.

use std::collections::BTreeMap;

use seedlog::events::{IsrChanged, MakeLeader};

use super::{list, TopicPartition};
use crate::checker::{Checker, Violation};
use crate::events::FollowerLagged;
use crate::trace::TraceEvent;

const NAME: &str = "IsrShrankAndRejoined";

/// One lagged follower's story so far.
#[derive(Debug)]
struct Target {
    lagged_at: u64,
    in_isr: bool,
    left_at: Option<u64>,
    rejoined_at: Option<u64>,
}

/// The lagged followers, by (partition, broker id).
#[derive(Default)]
pub struct IsrShrankAndRejoined {
    targets: BTreeMap<(TopicPartition, i32), Target>,
}

impl IsrShrankAndRejoined {
    /// Takes in an ISR the partition's brokers applied at `time_ns`.
    fn on_isr(&mut self, tp: &TopicPartition, isr: &[i32], time_ns: u64) {
        for ((target_tp, broker), target) in &mut self.targets {
            if target_tp != tp {
                continue;
            }
            let in_isr = isr.contains(broker);
            if target.in_isr && !in_isr {
                target.left_at = Some(time_ns);
                target.rejoined_at = None;
            } else if !target.in_isr && in_isr && target.left_at.is_some() {
                target.rejoined_at = Some(time_ns);
            }
            target.in_isr = in_isr;
        }
    }
}

impl Checker for IsrShrankAndRejoined {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(lagged) = ev.parse::<FollowerLagged>() {
            let key = (TopicPartition::new(&lagged.topic, lagged.partition), lagged.broker);
            // In the ISR until an applied ISR says otherwise: it was a follower in sync.
            let target = Target { lagged_at: ev.time_ns, in_isr: true, left_at: None, rejoined_at: None };
            self.targets.insert(key, target);
        } else if let Some(changed) = ev.parse::<IsrChanged>() {
            let isr = list(ev, changed.parse_isr());
            self.on_isr(&TopicPartition::new(&changed.topic, changed.partition), &isr, ev.time_ns);
        } else if let Some(leader) = ev.parse::<MakeLeader>() {
            let isr = list(ev, leader.parse_isr());
            self.on_isr(&TopicPartition::new(&leader.topic, leader.partition), &isr, ev.time_ns);
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        if self.targets.is_empty() {
            return vec![Violation::new(NAME, 0, "no follower was lagged: the story did not happen")];
        }
        let mut violations = Vec::new();
        for ((tp, broker), target) in &self.targets {
            let lagged_ms = target.lagged_at / 1_000_000;
            let message = match (target.left_at, target.rejoined_at) {
                (None, _) => format!("broker {broker}, lagged at {lagged_ms} ms, never left the ISR of {tp}"),
                (Some(left_at), None) => format!(
                    "broker {broker}, lagged at {lagged_ms} ms, left the ISR of {tp} at {} ms and never rejoined it",
                    left_at / 1_000_000
                ),
                (Some(_), Some(_)) => continue,
            };
            violations.push(Violation::new(NAME, target.left_at.unwrap_or(target.lagged_at), message));
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event, event_on, run};

    fn lagged(broker: i32) -> TraceEvent {
        event_on(
            crate::trace::SUPERVISOR_NODE,
            &FollowerLagged { topic: "t".into(), partition: 0, broker, leader_id: 1 },
        )
    }

    fn changed(partition: i32, isr: &str) -> TraceEvent {
        event(&IsrChanged {
            topic: "t".into(),
            partition,
            leader_epoch: 2,
            partition_epoch: 7,
            leader_id: 1,
            isr: isr.into(),
        })
    }

    fn leader(isr: &str) -> TraceEvent {
        event(&MakeLeader { topic: "t".into(), partition: 0, leader_epoch: 3, leader_id: 1, isr: isr.into() })
    }

    #[test]
    fn passes_when_the_lagged_follower_leaves_and_rejoins() {
        let events = [lagged(2), changed(0, "1,3"), changed(0, "1,3,2")];
        assert!(run(IsrShrankAndRejoined::default(), &events).is_empty());
        // Out and in more than once, and through a new leader's ISR.
        let events = [lagged(2), changed(0, "1,3"), changed(0, "1,2,3"), leader("1,3"), changed(0, "1,3,2")];
        assert!(run(IsrShrankAndRejoined::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_the_follower_never_leaves() {
        let events = [changed(0, "1,3"), changed(0, "1,2,3"), lagged(2), changed(1, "1,3"), changed(0, "1,2,3")];
        let found = run(IsrShrankAndRejoined::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("broker 2") && found[0].message.contains("never left the ISR of t-0"));
    }

    #[test]
    fn fires_when_the_follower_is_out_at_the_end() {
        let events = [lagged(2), changed(0, "1,3"), changed(0, "1,2,3"), changed(0, "1,3")];
        let found = run(IsrShrankAndRejoined::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("never rejoined"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_no_follower_was_lagged() {
        let found = run(IsrShrankAndRejoined::default(), &[changed(0, "1,3"), changed(0, "1,2,3")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("no follower was lagged"), "{}", found[0].message);
    }
}
