//! RaftCommitsAfterHeal: once every fault is lifted for good (all controllers running, none
//! paused, no partition, cut or lag), a leader appends a new entry and every controller's
//! high watermark passes it within the bound (liveness, REPLICATION.md §6's "after faults
//! heal"); judged at the end of the run on the last fault-free stretch, which must exist.
//!
//! State: the faults in force (killed and paused nodes, the partition, cuts and lags, from
//! the supervisor's events), each node's election state, and for the current fault-free
//! stretch its start, the first entry a leader appended in it and when each controller's
//! high watermark first passed that entry.

use std::collections::BTreeMap;

use seedlog::events::{RaftAppended, RaftHighWatermark, RaftState, RaftTransition};

use super::faults_in_force::FaultsInForce;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftCommitsAfterHeal";

/// Faults in force and the progress of the current fault-free stretch.
pub struct RaftCommitsAfterHeal {
    controllers: Vec<String>,
    bound_ns: u64,
    faults: FaultsInForce,
    states: BTreeMap<String, RaftState>,
    /// When the current fault-free stretch began (`None` while a fault is in force).
    healed_at: Option<u64>,
    /// The first entry (its offset) a leader appended in the stretch.
    target: Option<(String, i64, u64)>,
    /// When each controller's high watermark first passed the target.
    reached: BTreeMap<String, u64>,
}

impl RaftCommitsAfterHeal {
    /// A checker for the quorum run by the trace nodes `controllers`, with `bound_ms` of
    /// simulated time from the heal to the last controller's commit.
    pub fn new(controllers: &[&str], bound_ms: u64) -> Self {
        RaftCommitsAfterHeal {
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            bound_ns: bound_ms * 1_000_000,
            faults: FaultsInForce::default(),
            states: BTreeMap::new(),
            healed_at: Some(0),
            target: None,
            reached: BTreeMap::new(),
        }
    }

    /// Re-judges whether a fault is in force after a fault event at `time_ns`.
    fn update(&mut self, time_ns: u64) {
        if self.faults.any() {
            self.healed_at = None;
            self.target = None;
            self.reached.clear();
        } else if self.healed_at.is_none() {
            self.healed_at = Some(time_ns);
        }
    }

    fn on_fault_event(&mut self, ev: &TraceEvent) -> bool {
        match self.faults.on_event(ev) {
            Some(down) => {
                if let Some(node) = down {
                    self.states.remove(&node);
                }
                true
            }
            None => false,
        }
    }
}

impl Checker for RaftCommitsAfterHeal {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if self.on_fault_event(ev) {
            self.update(ev.time_ns);
        } else if let Some(t) = ev.parse::<RaftTransition>() {
            if let Some(state) = t.to() {
                self.states.insert(ev.node.clone(), state);
            }
        } else if let Some(a) = ev.parse::<RaftAppended>() {
            let leads = self.states.get(&ev.node) == Some(&RaftState::Leader);
            if leads && self.healed_at.is_some() && self.target.is_none() {
                self.target = Some((ev.node.clone(), a.last_offset, ev.time_ns));
            }
        } else if let Some(hw) = ev.parse::<RaftHighWatermark>() {
            if let Some((_, offset, _)) = &self.target {
                if hw.high_watermark > *offset && self.controllers.contains(&ev.node) {
                    self.reached.entry(ev.node.clone()).or_insert(ev.time_ns);
                }
            }
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        let Some(healed_at) = self.healed_at else {
            let message = format!("the run ended with faults in force ({})", self.faults.describe());
            return vec![Violation::new(NAME, 0, message)];
        };
        let deadline = healed_at + self.bound_ns;
        let bound_ms = self.bound_ns / 1_000_000;
        let Some((leader, offset, _)) = &self.target else {
            let message =
                format!("no leader appended an entry within the run after the faults were lifted at {healed_at} ns");
            return vec![Violation::new(NAME, deadline, message)];
        };
        let late: Vec<String> = self
            .controllers
            .iter()
            .filter(|c| self.reached.get(*c).is_none_or(|at| *at > deadline))
            .map(|c| match self.reached.get(c) {
                Some(at) => format!("{c} (at {} ms)", (at - healed_at) / 1_000_000),
                None => format!("{c} (never)"),
            })
            .collect();
        if late.is_empty() {
            return Vec::new();
        }
        let message = format!(
            "{leader} appended offset {offset} after the faults were lifted, but the high watermark of {} did not pass it within {bound_ms} ms",
            late.join(", ")
        );
        vec![Violation::new(NAME, deadline, message)]
    }
}

#[cfg(test)]
mod tests {
    use seedlog::events::STARTING_STATE;

    use super::*;
    use crate::checkers::test_support::{event_on, killed, restarted, run};

    const MS: u64 = 1_000_000;

    fn at(mut ev: TraceEvent, ms: u64) -> TraceEvent {
        ev.time_ns = ms * MS;
        ev
    }

    fn leads(node: &str, ms: u64) -> TraceEvent {
        let t = RaftTransition {
            from_state: STARTING_STATE.into(),
            to_state: "Leader".into(),
            epoch: 3,
            leader_id: 1,
            voted_id: 1,
        };
        at(event_on(node, &t), ms)
    }

    fn appended(node: &str, offset: i64, ms: u64) -> TraceEvent {
        at(event_on(node, &RaftAppended { epoch: 3, base_offset: offset, last_offset: offset, digest: 1 }), ms)
    }

    fn hw(node: &str, high_watermark: i64, ms: u64) -> TraceEvent {
        let hw = RaftHighWatermark {
            high_watermark,
            epoch: 3,
            is_leader: false,
            epoch_start_offset: -1,
            voter_end_offsets: String::new(),
        };
        at(event_on(node, &hw), ms)
    }

    fn checker() -> RaftCommitsAfterHeal {
        RaftCommitsAfterHeal::new(&["c1", "c2", "c3"], 1_000)
    }

    #[test]
    fn passes_when_every_controller_commits_an_entry_appended_after_the_heal() {
        let events = [
            at(killed("c2"), 10),
            leads("c1", 20),
            appended("c1", 4, 30), // during the fault: does not count
            at(restarted("c2"), 100),
            appended("c1", 5, 200),
            hw("c1", 6, 300),
            hw("c2", 6, 400),
            hw("c3", 7, 1_050),
        ];
        let found = run(checker(), &events);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_controller_does_not_commit_within_the_bound() {
        let events = [
            at(killed("c2"), 10),
            leads("c1", 20),
            at(restarted("c2"), 100),
            appended("c1", 5, 200),
            hw("c1", 6, 300),
            hw("c2", 5, 400), // not past offset 5
            hw("c3", 6, 1_200),
        ];
        let found = run(checker(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("c2 (never), c3 (at 1100 ms)"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_no_leader_appends_after_the_heal_or_faults_remain() {
        let events = [leads("c1", 20), appended("c1", 5, 30), at(killed("c1"), 40), at(restarted("c1"), 50)];
        let found = run(checker(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("no leader appended"), "{}", found[0].message);
        let found = run(checker(), &[leads("c1", 20), at(killed("c3"), 40)]);
        assert!(found[0].message.contains("faults in force"), "{}", found[0].message);
    }
}
