//! PartitionsConvergeAfterHeal: once every fault is lifted for good, every partition has a
//! leader and a full ISR (every replica back in sync) within the bound, as a client sees it
//! through Metadata (REPLICATION.md §6's liveness after the faults heal). Judged at the end of
//! the run on the last fault-free stretch, which must exist, over every partition the
//! inspector ever observed (at least one: a run that observed none fails). Only observations
//! made after the heal count (the inspector reports every partition again every second).
//!
//! State: the faults in force, each partition's last observed state, and for the current
//! fault-free stretch its start and when each partition was first seen converged in it.

use std::collections::{BTreeMap, BTreeSet};

use super::faults_in_force::FaultsInForce;
use crate::checker::{Checker, Violation};
use crate::events::PartitionObserved;
use crate::trace::TraceEvent;

const NAME: &str = "PartitionsConvergeAfterHeal";

pub struct PartitionsConvergeAfterHeal {
    bound_ns: u64,
    faults: FaultsInForce,
    last: BTreeMap<(String, i32), PartitionObserved>,
    healed_at: Option<u64>,
    converged: BTreeMap<(String, i32), u64>,
}

impl PartitionsConvergeAfterHeal {
    /// A checker giving the partitions `bound_ms` of simulated time from the heal.
    pub fn new(bound_ms: u64) -> Self {
        PartitionsConvergeAfterHeal {
            bound_ns: bound_ms * 1_000_000,
            faults: FaultsInForce::default(),
            last: BTreeMap::new(),
            healed_at: Some(0),
            converged: BTreeMap::new(),
        }
    }

    /// Marks the partition `key` converged at `time_ns` if its observation says so.
    fn note_converged(&mut self, key: (String, i32), time_ns: u64) {
        if self.healed_at.is_some() && self.last.get(&key).is_some_and(is_converged) {
            self.converged.entry(key).or_insert(time_ns);
        }
    }
}

/// A leader, and an ISR of every replica.
fn is_converged(observed: &PartitionObserved) -> bool {
    let set = |ids: &str| ids.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect::<BTreeSet<_>>();
    observed.leader >= 0 && !observed.replicas.is_empty() && set(&observed.isr) == set(&observed.replicas)
}

impl Checker for PartitionsConvergeAfterHeal {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if self.faults.on_event(ev).is_some() {
            if self.faults.any() {
                self.healed_at = None;
                self.converged.clear();
            } else if self.healed_at.is_none() {
                // Only observations made after the heal count: the last one before it may
                // be older than the faults.
                self.healed_at = Some(ev.time_ns);
            }
        } else if let Some(observed) = ev.parse::<PartitionObserved>() {
            let key = (observed.topic.clone(), observed.partition);
            self.last.insert(key.clone(), observed);
            self.note_converged(key, ev.time_ns);
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        let Some(healed_at) = self.healed_at else {
            let message = format!("the run ended with faults in force ({})", self.faults.describe());
            return vec![Violation::new(NAME, 0, message)];
        };
        if self.last.is_empty() {
            return vec![Violation::new(NAME, healed_at, "no partition was ever observed")];
        }
        let deadline = healed_at + self.bound_ns;
        let late: Vec<String> = self
            .last
            .iter()
            .filter(|(key, _)| self.converged.get(*key).is_none_or(|at| *at > deadline))
            .map(|((topic, partition), observed)| {
                format!(
                    "{topic}-{partition} (leader {}, isr [{}] of [{}])",
                    observed.leader, observed.isr, observed.replicas
                )
            })
            .collect();
        if late.is_empty() {
            return Vec::new();
        }
        let message = format!(
            "after the faults were lifted at {} ms, not every partition had a leader and a full ISR within {} ms: {}",
            healed_at / 1_000_000,
            self.bound_ns / 1_000_000,
            late.join(", ")
        );
        vec![Violation::new(NAME, deadline, message)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, restarted, run};

    const MS: u64 = 1_000_000;

    fn at(mut ev: TraceEvent, ms: u64) -> TraceEvent {
        ev.time_ns = ms * MS;
        ev
    }

    fn observed(partition: i32, leader: i32, isr: &str, ms: u64) -> TraceEvent {
        let o = PartitionObserved {
            topic: "t".into(),
            partition,
            leader,
            leader_epoch: 1,
            replicas: "1,2,3".into(),
            isr: isr.into(),
        };
        at(event_on("inspector", &o), ms)
    }

    #[test]
    fn passes_when_every_partition_converges_within_the_bound() {
        let events = [
            observed(0, 1, "1,2,3", 5),
            at(killed("b2"), 10),
            observed(0, 1, "1,3", 50),
            at(restarted("b2"), 100),
            observed(0, 1, "1,3,2", 900),
        ];
        assert!(run(PartitionsConvergeAfterHeal::new(1_000), &events).is_empty());
    }

    #[test]
    fn fires_when_a_partition_stays_short_of_its_replicas_or_leaderless() {
        let events = [
            at(killed("b2"), 10),
            observed(0, 1, "1,3", 50),
            observed(1, -1, "3", 60),
            at(restarted("b2"), 100),
            observed(0, 1, "1,3,2", 1_500), // too late
        ];
        let found = run(PartitionsConvergeAfterHeal::new(1_000), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("t-0") && found[0].message.contains("t-1"), "{}", found[0].message);
    }

    #[test]
    fn an_observation_from_before_the_faults_does_not_count() {
        let events = [observed(0, 1, "1,2,3", 5), at(killed("b2"), 10), at(restarted("b2"), 100)];
        let found = run(PartitionsConvergeAfterHeal::new(1_000), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("t-0"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_faults_remain_or_nothing_was_observed() {
        let found = run(PartitionsConvergeAfterHeal::new(1_000), &[observed(0, 1, "1,2,3", 5), at(killed("b1"), 9)]);
        assert!(found[0].message.contains("faults in force"), "{}", found[0].message);
        let found = run(PartitionsConvergeAfterHeal::new(1_000), &[]);
        assert!(found[0].message.contains("no partition"), "{}", found[0].message);
    }
}
