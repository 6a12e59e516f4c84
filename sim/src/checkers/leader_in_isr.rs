//! LeaderInIsr: a partition's leader is always in its ISR (REPLICATION.md §6.14): at
//! `MakeLeader` the new leader is in the committed ISR, and at `IsrChanged` the leader (when
//! there is one) is in the new ISR, which is never empty.
//!
//! No state: each event is judged alone.

use seedlog::events::{IsrChanged, MakeLeader};

use super::list;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "LeaderInIsr";

/// Violations found so far.
#[derive(Default)]
pub struct LeaderInIsr {
    violations: Vec<Violation>,
}

impl Checker for LeaderInIsr {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let message = if let Some(m) = ev.parse::<MakeLeader>() {
            if list(ev, m.parse_isr()).contains(&m.leader_id) {
                return;
            }
            format!(
                "broker {} became leader of {}-{} in leader epoch {} outside its ISR [{}]",
                m.leader_id, m.topic, m.partition, m.leader_epoch, m.isr
            )
        } else if let Some(c) = ev.parse::<IsrChanged>() {
            let isr = list(ev, c.parse_isr());
            if !isr.is_empty() && (c.leader_id == -1 || isr.contains(&c.leader_id)) {
                return;
            }
            format!(
                "{}-{} at partition epoch {} has ISR [{}] without its leader {}",
                c.topic, c.partition, c.partition_epoch, c.isr, c.leader_id
            )
        } else {
            return;
        };
        self.violations.push(Violation::new(NAME, ev.time_ns, message));
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event, run};

    fn leader(leader_id: i32, isr: &str) -> TraceEvent {
        event(&MakeLeader { topic: "t".into(), partition: 0, leader_epoch: 2, leader_id, isr: isr.into() })
    }

    fn changed(leader_id: i32, isr: &str) -> TraceEvent {
        event(&IsrChanged {
            topic: "t".into(),
            partition: 0,
            leader_epoch: 2,
            partition_epoch: 7,
            leader_id,
            isr: isr.into(),
        })
    }

    #[test]
    fn passes_when_the_leader_is_in_the_isr() {
        let events = [leader(1, "1,2,3"), changed(1, "1,3"), changed(1, "1"), changed(-1, "2")];
        assert!(run(LeaderInIsr::default(), &events).is_empty());
    }

    #[test]
    fn fires_when_the_leader_is_outside_the_isr() {
        let found = run(LeaderInIsr::default(), &[leader(3, "1,2"), changed(1, "2,3"), changed(1, "")]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].message.contains("broker 3 became leader of t-0 in leader epoch 2 outside its ISR [1,2]"));
    }
}
